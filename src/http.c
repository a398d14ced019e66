/* libcurl transfers: handle setup, callbacks that only collect bytes, and
 * the mapping of curl failures to error objects with their facts. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http.h"

static size_t acc_http_on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    acc_xfer *x = ud;
    size_t n = size * nmemb;
    if (x->body.len + n > x->max_body) {
        x->too_big = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (acc_buf_append(&x->body, p, n) != 0) {
        x->oom = 1;
        return 0;
    }
    return n;
}

static void acc_http_copy_value(const char *p, size_t n, char *dst,
                                size_t cap, size_t *len)
{
    while (n > 0 && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n' ||
                     p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    /* a value too long for dst is dropped, never cut: a cut could keep a
     * fragment of a secret the server echoed, which redaction (later, on
     * the whole value) could no longer recognise */
    if (n >= cap)
        n = 0;
    memcpy(dst, p, n);
    dst[n] = '\0';
    *len = n;
}

/* Called for every header line of every answer: the first byte rules out
 * most lines (Server, Date, Content-Type, ...) before any comparison. */
static size_t acc_http_on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    acc_xfer *x = ud;
    size_t n = size * nmemb;
    int c = n > 0 ? (unsigned char)p[0] | 0x20 : 0;
    if (c != 'h' && c != 'x' && c != 'r')
        return n;
    if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        /* a new response (after a 100 Continue): forget the previous one */
        x->trace_len = 0;
        x->trace_id[0] = '\0';
        x->retry_after = -1;
    } else if (n > 11 && strncasecmp(p, "x-trace-id:", 11) == 0) {
        acc_http_copy_value(p + 11, n - 11, x->trace_id, sizeof x->trace_id,
                            &x->trace_len);
    } else if (n > 12 && strncasecmp(p, "retry-after:", 12) == 0 &&
               x->retry_after < 0) {
        /* a repeated header: the first readable value wins */
        char v[64];
        size_t len;
        acc_http_copy_value(p + 12, n - 12, v, sizeof v, &len);
        x->retry_after = acc_retry_after_parse(v, len);
    }
    return n;
}

/* Called often during a transfer (about once a second while it waits):
 * a stop asked of the command (SIGINT, SIGTERM) cuts the transfer. */
static int acc_http_on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow,
                                curl_off_t ultotal, curl_off_t ulnow)
{
    (void)ud;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return acc_process_stopping() ? 1 : 0;
}

int acc_http_open(acc_xfer *x, const acc_config *cfg)
{
    CURL *e;
    memset(x, 0, sizeof *x);
    x->item = -1;
    x->retry_after = -1;
    x->set_connect_ms = -1;
    x->max_body = cfg->max_body;
    e = curl_easy_init();
    if (e == NULL)
        return -1;
    x->easy = e;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS,
                     (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS,
                     (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, cfg->insecure ? 0L : 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, cfg->insecure ? 0L : 2L);
    if (cfg->ca_file != NULL)
        curl_easy_setopt(e, CURLOPT_CAINFO, cfg->ca_file);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cfg->max_body);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, acc_http_on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, acc_http_on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)x);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, acc_http_on_progress);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    return 0;
}

void acc_http_close(acc_xfer *x)
{
    if (x->easy != NULL) {
        curl_easy_cleanup(x->easy);
        x->easy = NULL;
    }
    acc_buf_free(&x->body);
}

static long acc_ms(double s)
{
    double ms = s * 1000.0;
    if (ms < 1)
        return 1;
    if (ms > 2147483647.0)
        return 2147483647L;
    return (long)ms;
}

/* The body is borrowed (POSTFIELDS does not copy): the caller keeps the
 * Lua string on its stack until the transfer ends.  libcurl keeps options
 * across transfers, so what equals the last transfer's is not set again
 * (nothing else sets these on the handle). */
void acc_http_setup(acc_xfer *x, struct curl_slist *headers, const char *url,
                    const char *body, size_t body_len, int fresh,
                    double timeout, double connect_timeout)
{
    CURL *e = x->easy;
    long connect_ms = acc_ms(connect_timeout < timeout ? connect_timeout
                                                       : timeout);
    acc_buf_reset(&x->body);
    x->too_big = x->oom = 0;
    x->trace_len = 0;
    x->retry_after = -1;
    x->trace_id[0] = x->errbuf[0] = '\0';
    curl_easy_setopt(e, CURLOPT_URL, url);
    if (headers != x->set_headers) {
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
        x->set_headers = headers;
    }
    /* libcurl silently re-sends a request whose reused connection closed
     * without an answer; for a create that could be a second backfill, so
     * a create (fresh) always gets a connection of its own. */
    if (fresh != x->set_fresh) {
        curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, fresh ? 1L : 0L);
        x->set_fresh = fresh;
    }
    if (body != NULL) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        x->set_get = 0;
    } else if (!x->set_get) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        x->set_get = 1;
    }
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, acc_ms(timeout));
    if (connect_ms != x->set_connect_ms) {
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
        x->set_connect_ms = connect_ms;
    }
}

long acc_http_status(acc_xfer *x)
{
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* Failures before the request left this host (err.sent = false). */
static int acc_http_not_sent(acc_xfer *x, CURLcode rc)
{
    long sent = 0;
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return 1;
    default:
        break;
    }
    curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &sent);
    return sent == 0;
}

static int acc_http_tls_failure(CURLcode rc)
{
    switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
        return 1;
    default:
        return 0;
    }
}

/* The system's reason for a failed connection, or NULL. */
static const char *acc_http_os_error(acc_xfer *x)
{
    long e = 0;
    if (curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &e) != CURLE_OK ||
        e <= 0)
        return NULL;
    return strerror((int)e);
}

/* Which step of the exchange failed (err.failure). */
static const char *acc_http_failure(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return "connect";
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_SEND_ERROR:
        return "send";
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
        return "reset";
    case CURLE_ABORTED_BY_CALLBACK:
        return "interrupted";
    default:
        return acc_http_tls_failure(rc) ? "tls" : "receive";
    }
}

/* Pushes the error of a call the command's stop cut, with its facts (sent:
 * whether the request may have left this host).  Whether it may have
 * happened is the call policy's decision. */
void acc_http_interrupted(lua_State *L, acc_call call, int sent, int answered)
{
    acc_error_newf(L, "interrupted", "%s: interrupted (the command was "
                   "asked to stop)%s", acc_request_call_name(call),
                   sent && call == ACC_CALL_CREATE
                       ? " after the request was sent"
                       : "");
    acc_error_facts(L, -1, "interrupted", sent, answered);
}

/* Pushes the error object for a failed transfer: its kind, its message and
 * the facts (failure, sent, answered); nothing here decides a retry. */
void acc_http_error(lua_State *L, acc_xfer *x, CURLcode rc, acc_call call,
                    double timeout)
{
    const char *what = acc_request_call_name(call);
    const char *why = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
    int sent = !acc_http_not_sent(x, rc);
    long status = acc_http_status(x);
    const char *kind = rc == CURLE_OPERATION_TIMEDOUT ? "timeout" : "network";

    if (x->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
        /* an answer did arrive: keep its status and trace id, as every
         * other decode error does */
        acc_error_newf(L, "decode", "%s: the answer is larger than max_body "
                       "(%lu bytes)", what, (unsigned long)x->max_body);
        if (status > 0)
            acc_error_setint(L, -1, "status", status);
        acc_error_setstr(L, -1, "trace_id", x->trace_id, x->trace_len);
        acc_error_setbool(L, -1, "sent", 1);
        acc_error_setbool(L, -1, "answered", status > 0);
        return;
    }
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        acc_http_interrupted(L, call, sent, status > 0);
        return;
    }
    if (x->oom) {
        acc_error_newf(L, "network", "%s: out of memory reading the answer",
                       what);
        acc_error_facts(L, -1, "memory", 1, 1);
        return;
    }
    if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT)
        acc_error_newf(L, "invalid", "%s: %s", what, why);
    else if (sent && call == ACC_CALL_CREATE)
        /* the words of a lost answer; the policy says what it means */
        acc_error_newf(L, kind, "create_task: %s after the request was sent",
                       rc == CURLE_OPERATION_TIMEDOUT ? "timed out" : why);
    else if (rc == CURLE_OPERATION_TIMEDOUT)
        acc_error_newf(L, kind, "%s: no complete answer within %.3g s (%s)",
                       what, timeout, why);
    else if (acc_http_os_error(x) != NULL)
        /* "Couldn't connect to server" hides whether the port was closed
         * or the host unreachable: the system's word says which */
        acc_error_newf(L, kind, "%s: %s (%s)", what, why,
                       acc_http_os_error(x));
    else
        acc_error_newf(L, kind, "%s: %s", what, why);
    acc_error_facts(L, -1, acc_http_failure(rc), sent, status > 0);
}

/* The header lines carry the auth value: scrub them before they go back to
 * the allocator. */
void acc_http_wipe_headers(struct curl_slist *h)
{
    for (; h != NULL; h = h->next)
        if (h->data != NULL)
            memset(h->data, 0, strlen(h->data));
}
