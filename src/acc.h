/* Internal declarations shared by the C core.  Nothing here is exported:
 * the library is built with -fvisibility=hidden and only
 * luaopen_accelerate carries ACC_EXPORT. */
#ifndef ACC_H
#define ACC_H

#include <stddef.h>
#include <curl/curl.h>

#include "lua.h"
#include "lauxlib.h"
#include "compat.h"
#include "buffer.h"

/* The version, in one place: accelerate.VERSION, workflow._VERSION,
 * accelerate.ngx's User-Agent and `accelerate --version` all read it; CHANGELOG.md's top
 * entry names it (spec/packaging_spec.lua checks). */
#define ACC_VERSION "0.5.0"
#define ACC_TRANSPORT_MT "accelerate.transport"

#if defined(_WIN32)
#define ACC_EXPORT __declspec(dllexport)
#else
#define ACC_EXPORT __attribute__((visibility("default")))
#endif

/* Every C function of the module (methods and metamethods) shares
 * these upvalues, so no state lives in C globals or the registry's
 * lightuserdata keys. */
#define ACC_UV_ERRMT lua_upvalueindex(1)  /* metatable of error objects   */
#define ACC_UV_DECODE lua_upvalueindex(2) /* private cjson.safe decode    */
#define ACC_NUP 2

/* Defaults.  Timeouts are seconds. */
#define ACC_DEFAULT_TIMEOUT 30.0
#define ACC_DEFAULT_CONNECT_TIMEOUT 5.0
#define ACC_DEFAULT_RETRIES 2
#define ACC_MAX_RETRIES 10
#define ACC_DEFAULT_MAX_BODY (8u * 1024u * 1024u)
#define ACC_MIN_MAX_BODY 1024u
#define ACC_DEFAULT_PAGE_SIZE 20 /* list_instances, list_plans without one */
#define ACC_MAX_CONCURRENCY 64    /* request_many; exported to the policy */
#define ACC_MAX_HEADER_VALUE 1024
#define ACC_MAX_ID 256
#define ACC_MAX_URL 2048
#define ACC_BACKOFF_BASE 0.2
#define ACC_BACKOFF_CAP 5.0
#define ACC_RETRY_AFTER_CAP 60.0
#define ACC_RETRY_FLOOR 0.25
#define ACC_MESSAGE_CAP 300
#define ACC_DETAIL_CAP 8192
#define ACC_REDACT_MIN 3
#define ACC_JSON_MAX_DEPTH 100

/* The calls, in the order of acc_call_names (request.c).  Only create is
 * not idempotent; list_plans is a read sent as a POST. */
typedef enum acc_call {
    ACC_CALL_CREATE = 0,
    ACC_CALL_LIST,
    ACC_CALL_DETAIL,
    ACC_CALL_LIST_PLANS,
    ACC_CALL_PLAN_DETAIL
} acc_call;

/* Validated, normalised client options.  Strings are borrowed (from the
 * caller's table, the environment or the client's own copies) and valid
 * only while their owner is. */
typedef struct acc_config {
    const char *url;
    size_t url_len; /* without a trailing slash */
    const char *tenant_id;
    size_t tenant_id_len;
    char auth_type[8];
    const char *auth_value;
    size_t auth_value_len;
    const char *ca_file;
    double timeout;
    double connect_timeout;
    int retries;
    int insecure;
    size_t max_body;
} acc_config;

/* error.c */
void acc_error_new(lua_State *L, const char *kind, const char *msg, size_t len);
void acc_error_newf(lua_State *L, const char *kind, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void acc_error_setstr(lua_State *L, int err, const char *field, const char *s,
                      size_t len);
void acc_error_setint(lua_State *L, int err, const char *field, long v);
void acc_error_setbool(lua_State *L, int err, const char *field, int v);
void acc_error_redact(lua_State *L, int err, const char *secret, size_t len);
void acc_error_facts(lua_State *L, int err, const char *failure, int sent,
                     int answered);
int acc_error_tostring(lua_State *L);
void acc_error_create_meta(lua_State *L);
extern const luaL_Reg acc_error_lib[];

/* config.c */
int acc_config_read(lua_State *L, int idx, acc_config *cfg);
void acc_config_push(lua_State *L, const acc_config *cfg);
int acc_config_check_value(const char *s, size_t len, size_t max);
extern const luaL_Reg acc_config_lib[];

/* request.c */
int acc_request_call_check(lua_State *L, int idx);
int acc_request_prepare(lua_State *L, const acc_config *cfg, acc_call call,
                        int args);
int acc_request_id(lua_State *L, int idx);
const char *acc_request_call_name(acc_call call);
extern const luaL_Reg acc_request_lib[];

/* redact.c */
int acc_redact_wanted(const char *secret, size_t slen);
int acc_redact_push(lua_State *L, const char **s, size_t *len,
                    const char *secret, size_t slen);

/* decode.c */
/* What accelerate.decode and accelerate.reduce are given: status (arg 2),
 * headers (3: the X-Trace-Id), body (4) and config (5: the auth value). */
typedef struct acc_answer_args {
    long status;
    const char *body, *trace, *secret;
    size_t len, trace_len, secret_len;
} acc_answer_args;
void acc_decode_args(lua_State *L, acc_answer_args *a);
int acc_decode_response(lua_State *L, acc_call call, long status,
                        const char *body, size_t len, const char *trace_hdr,
                        size_t trace_len, const char *secret,
                        size_t secret_len);
void acc_decode_push_id(lua_State *L, int idx);
void acc_decode_instance(lua_State *L, const char *s, size_t n);
extern const luaL_Reg acc_decode_lib[];

/* json.c */
int acc_json_decode(lua_State *L, const char *s, size_t n);

/* clock.c */
double acc_now(void);
int acc_sleep(double seconds);
extern const luaL_Reg acc_clock_lib[];

/* retry.c */
double acc_retry_delay(int attempt, double retry_after);
double acc_retry_after_parse(const char *s, size_t len);
extern const luaL_Reg acc_retry_lib[];

/* file.c */
extern const luaL_Reg acc_file_lib[];

/* process.c */
struct timespec;
int acc_process_stopping(void); /* a stop requested by SIGINT/SIGTERM */
int acc_process_wait(const struct timespec *ts);
extern const luaL_Reg acc_process_lib[];

/* transport.c */
void acc_transport_create_meta(lua_State *L);
extern const luaL_Reg acc_transport_lib[];

/* notify.c */
extern const luaL_Reg acc_notify_lib[];
/* days.c: dates.parse_timestamp in C */
extern const luaL_Reg acc_days_lib[];
/* numbers.c: packed arrays of numbers, sorted in C */
void acc_numbers_create_meta(lua_State *L);

/* accelerate.c */
ACC_EXPORT int luaopen_accelerate_core(lua_State *L);

#endif
