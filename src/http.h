/* The libcurl transport of the blocking client. */
#ifndef ACC_HTTP_H
#define ACC_HTTP_H

#include "acc.h"

/* One transfer slot: an easy handle with its response buffer and the two
 * response headers the core reads.  Callbacks only copy bytes into C
 * memory; Lua values are built after the transfer ends. */
typedef struct acc_xfer {
    CURL *easy;
    acc_buf body;
    size_t max_body;
    int too_big;
    int oom;
    char trace_id[ACC_MAX_HEADER_VALUE + 1]; /* cut only after redaction */
    size_t trace_len;
    double retry_after; /* the first readable Retry-After, or -1 */
    char errbuf[CURL_ERROR_SIZE];
    int item; /* request_many: index of the item in flight, or -1 */
    /* what acc_http_setup last set on the handle, so that a request like
     * the one before costs no setopt for it */
    struct curl_slist *set_headers;
    long set_connect_ms;
    int set_get; /* 1: GET set; 0: POST or not yet */
    int set_fresh; /* CURLOPT_FRESH_CONNECT as last set (libcurl: 0) */
} acc_xfer;

int acc_http_open(acc_xfer *x, const acc_config *cfg);
void acc_http_close(acc_xfer *x);
void acc_http_setup(acc_xfer *x, struct curl_slist *headers, const char *url,
                    const char *body, size_t body_len, int fresh,
                    double timeout, double connect_timeout);
long acc_http_status(acc_xfer *x);
void acc_http_error(lua_State *L, acc_xfer *x, CURLcode rc, acc_call call,
                    double timeout);
void acc_http_interrupted(lua_State *L, acc_call call, int sent, int answered);
void acc_http_wipe_headers(struct curl_slist *h);

#endif
