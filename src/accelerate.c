/* luaopen_accelerate: the module table, the sans-I/O functions (config,
 * prepare, decode, error, retry_delay) and the clock helpers used by the
 * workflow layer.  The blocking client lives in client.c. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "acc.h"

/* ---- time ------------------------------------------------------------- */

double acc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void acc_sleep(double seconds)
{
    struct timespec ts, rem;
    if (!(seconds > 0))
        return;
    if (seconds > 1e9)
        seconds = 1e9;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &rem) != 0 && errno == EINTR)
        ts = rem;
}

/* Jitter needs no quality, only independence between processes and calls;
 * mixing the clock keeps the host's rand() state untouched. */
static double acc_random01(void)
{
    struct timespec ts;
    uint64_t z;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    z = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
        (uint64_t)(uintptr_t)&ts;
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}

/* Seconds to wait before retry number `attempt` (1-based).  A server's
 * Retry-After wins (capped); otherwise exponential backoff, capped, with
 * the upper half jittered so that clients do not retry in lockstep. */
double acc_retry_delay(int attempt, double retry_after)
{
    double d;
    if (retry_after >= 0)
        return retry_after > ACC_RETRY_AFTER_CAP ? ACC_RETRY_AFTER_CAP
                                                 : retry_after;
    if (attempt < 1)
        attempt = 1;
    if (attempt > 30)
        attempt = 30;
    d = ACC_BACKOFF_BASE * ldexp(1.0, attempt - 1);
    if (d > ACC_BACKOFF_CAP)
        d = ACC_BACKOFF_CAP;
    return d * (0.5 + 0.5 * acc_random01());
}

/* Retry-After is delta-seconds or an HTTP date; -1 when absent or
 * unreadable. */
double acc_retry_after_parse(const char *s, size_t len)
{
    char buf[64];
    size_t i;
    double v = 0;
    time_t t, now;

    if (s == NULL || len == 0 || len >= sizeof buf)
        return -1;
    for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
        v = v * 10 + (s[i] - '0');
    if (i == len)
        return v;
    memcpy(buf, s, len);
    buf[len] = '\0';
    t = curl_getdate(buf, NULL);
    if (t == (time_t)-1)
        return -1;
    now = time(NULL);
    return t > now ? (double)(t - now) : 0;
}

/* ---- Lua functions ---------------------------------------------------- */

static int acc_fail(lua_State *L)
{
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

/* accelerate.config(opts) -> normalised options table | nil, err */
static int acc_lua_config(lua_State *L)
{
    acc_config cfg;
    if (!acc_request_config(L, 1, &cfg))
        return acc_fail(L);
    acc_request_push_config(L, &cfg);
    return 1;
}

static const char *acc_methods[] = {"POST", "GET", "GET"};

/* accelerate.prepare(config, call, args) -> request | nil, err */
static int acc_lua_prepare(lua_State *L)
{
    acc_config cfg;
    acc_call call;
    int top, i;

    call = (acc_call)acc_request_call_check(L, 2);
    if (!acc_request_config(L, 1, &cfg))
        return acc_fail(L);
    top = lua_gettop(L);
    if (!acc_request_prepare(L, &cfg, call, 3))
        return acc_fail(L);
    /* top+1 path, top+2 query, top+3 url, top+4 body */
    lua_createtable(L, 0, 8);
    lua_pushstring(L, acc_request_call_name(call));
    lua_setfield(L, -2, "call");
    lua_pushstring(L, acc_methods[call]);
    lua_setfield(L, -2, "method");
    lua_pushvalue(L, top + 3);
    lua_setfield(L, -2, "url");
    lua_pushvalue(L, top + 1);
    lua_setfield(L, -2, "path");
    lua_pushvalue(L, top + 2);
    lua_setfield(L, -2, "query");
    lua_pushvalue(L, top + 4);
    lua_setfield(L, -2, "body");
    lua_pushboolean(L, call != ACC_CALL_CREATE);
    lua_setfield(L, -2, "idempotent");
    lua_createtable(L, 0, 4);
    lua_pushlstring(L, cfg.tenant_id, cfg.tenant_id_len);
    lua_setfield(L, -2, "tenant-id");
    lua_pushstring(L, cfg.auth_type);
    lua_setfield(L, -2, "auth-type");
    lua_pushlstring(L, cfg.auth_value, cfg.auth_value_len);
    lua_setfield(L, -2, "auth-value");
    lua_pushliteral(L, "application/json");
    lua_setfield(L, -2, "Content-Type");
    lua_setfield(L, -2, "headers");
    for (i = 0; i < 4; i++)
        lua_remove(L, top + 1);
    return 1;
}

/* Finds a header by case-insensitive name in a {name = value} table; a
 * value that is an array (several lines) gives its first element. */
static const char *acc_header_get(lua_State *L, int t, const char *name,
                                  size_t *len)
{
    *len = 0;
    if (!lua_istable(L, t))
        return NULL;
    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
        if (lua_type(L, -2) == LUA_TSTRING &&
            strcasecmp(lua_tostring(L, -2), name) == 0) {
            const char *s = NULL;
            if (lua_istable(L, -1))
                lua_rawgeti(L, -1, 1);
            else
                lua_pushvalue(L, -1);
            if (lua_type(L, -1) == LUA_TSTRING)
                s = lua_tolstring(L, -1, len);
            /* s stays referenced by the headers table after the pops */
            lua_pop(L, 3);
            return s;
        }
        lua_pop(L, 1);
    }
    return NULL;
}

/* accelerate.decode(call, status, headers, body [, config]) -> result |
 * nil, err */
static int acc_lua_decode(lua_State *L)
{
    acc_call call = (acc_call)acc_request_call_check(L, 1);
    lua_Number st = luaL_checknumber(L, 2);
    const char *body, *trace, *secret = NULL;
    size_t len, trace_len, secret_len = 0;
    long status;

    luaL_argcheck(L, st >= 0 && st <= 999, 2, "HTTP status expected");
    status = (long)st;

    if (!lua_isnoneornil(L, 3))
        luaL_checktype(L, 3, LUA_TTABLE);
    body = luaL_optlstring(L, 4, "", &len);
    if (!lua_isnoneornil(L, 5)) {
        luaL_checktype(L, 5, LUA_TTABLE);
        lua_getfield(L, 5, "auth_value");
        if (lua_type(L, -1) == LUA_TSTRING)
            secret = lua_tolstring(L, -1, &secret_len);
        lua_pop(L, 1);
    }
    trace = acc_header_get(L, 3, "x-trace-id", &trace_len);
    if (acc_decode_response(L, call, status, body, len, trace, trace_len))
        return 1;
    acc_error_redact(L, -1, secret, secret_len);
    return acc_fail(L);
}

/* accelerate.error(kind, message [, fields]) -> err: for transports
 * written in Lua, so their failures look like the core's. */
static int acc_lua_error(lua_State *L)
{
    static const char *const kinds[] = {"invalid", "network", "timeout",
                                        "http", "api", "decode", NULL};
    int k = luaL_checkoption(L, 1, NULL, kinds);
    size_t len;
    const char *msg = luaL_checklstring(L, 2, &len);
    if (!lua_isnoneornil(L, 3))
        luaL_checktype(L, 3, LUA_TTABLE);
    acc_error_new(L, kinds[k], msg, len);
    if (lua_istable(L, 3)) {
        static const char *const fields[] = {"status", "code", "trace_id",
                                             "detail", "retryable",
                                             "outcome_unknown", NULL};
        int i;
        for (i = 0; fields[i] != NULL; i++) {
            lua_getfield(L, 3, fields[i]);
            lua_setfield(L, -2, fields[i]);
        }
    }
    return 1;
}

/* accelerate.retry_delay(attempt [, retry_after]) -> seconds */
static int acc_lua_retry_delay(lua_State *L)
{
    lua_Number at = luaL_checknumber(L, 1);
    int attempt = at > 1000 ? 1000 : (at >= 1 ? (int)at : 1);
    double ra = -1;
    if (lua_type(L, 2) == LUA_TNUMBER) {
        ra = (double)lua_tonumber(L, 2);
        if (!(ra >= 0))
            ra = -1;
    } else if (lua_type(L, 2) == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, 2, &len);
        ra = acc_retry_after_parse(s, len);
    } else if (!lua_isnoneornil(L, 2)) {
        return luaL_argerror(L, 2, "string or number expected");
    }
    lua_pushnumber(L, (lua_Number)acc_retry_delay(attempt, ra));
    return 1;
}

static int acc_lua_sleep(lua_State *L)
{
    acc_sleep((double)luaL_checknumber(L, 1));
    return 0;
}

static int acc_lua_now(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)acc_now());
    return 1;
}

/* ---- files for the journal ---------------------------------------------- */

static int acc_push_errno(lua_State *L, const char *what, const char *path)
{
    int e = errno;
    lua_pushnil(L);
    lua_pushfstring(L, "%s %s: %s", what, path, strerror(e));
    return 2;
}

/* accelerate.create_private(path) -> true | nil, msg.  Creates the file
 * (if missing) readable and writable by its owner only, from the start:
 * no window where another user could open it.  An existing file keeps its
 * mode and content. */
static int acc_lua_create_private(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return acc_push_errno(L, "cannot create", path);
    close(fd);
    lua_pushboolean(L, 1);
    return 1;
}

/* The FILE* of an open Lua file handle, or NULL.  Lua 5.2+ keep a
 * luaL_Stream (closed when closef is NULL); 5.1 and LuaJIT a userdata whose
 * first member is the FILE* (NULL once closed). */
static FILE *acc_tofile(lua_State *L, int i)
{
#if LUA_VERSION_NUM >= 502
    luaL_Stream *p = (luaL_Stream *)acc_testudata(L, i, LUA_FILEHANDLE);
    return (p != NULL && p->closef != NULL) ? p->f : NULL;
#else
    /* LUA_FILEHANDLE is in lualib.h there; the name is the same */
    FILE **p = (FILE **)acc_testudata(L, i, "FILE*");
    return p != NULL ? *p : NULL;
#endif
}

/* accelerate.fsync(file | path) -> true | nil, msg.  Flushes an open Lua
 * file handle and fsyncs it, or fsyncs the file at path, so that what was
 * written survives a power cut. */
static int acc_lua_fsync(lua_State *L)
{
    if (lua_type(L, 1) == LUA_TSTRING) {
        const char *path = lua_tostring(L, 1);
        int rc, fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0)
            return acc_push_errno(L, "cannot open", path);
        rc = fsync(fd);
        close(fd);
        if (rc != 0)
            return acc_push_errno(L, "cannot fsync", path);
    } else {
        FILE *f = acc_tofile(L, 1);
        luaL_argcheck(L, f != NULL, 1, "open file or path expected");
        if (fflush(f) != 0 || fsync(fileno(f)) != 0)
            return acc_push_errno(L, "cannot fsync", "file");
    }
    lua_pushboolean(L, 1);
    return 1;
}

static const luaL_Reg acc_functions[] = {
    {"new", acc_client_new},
    {"config", acc_lua_config},
    {"prepare", acc_lua_prepare},
    {"decode", acc_lua_decode},
    {"error", acc_lua_error},
    {"retry_delay", acc_lua_retry_delay},
    {"sleep", acc_lua_sleep},
    {"now", acc_lua_now},
    {"create_private", acc_lua_create_private},
    {"fsync", acc_lua_fsync},
    {NULL, NULL}};

/* libcurl's global init is not thread-safe and must happen once per
 * process; an embedder that already did it can opt out. */
static void acc_curl_init(lua_State *L)
{
    static int done = 0;
    const char *skip = getenv("ACCELERATE_NO_CURL_INIT");
    if (done || (skip != NULL && skip[0] != '\0' && strcmp(skip, "0") != 0))
        return;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        luaL_error(L, "accelerate: curl_global_init failed");
    done = 1;
}

ACC_EXPORT int luaopen_accelerate(lua_State *L)
{
    acc_curl_init(L);

    lua_createtable(L, 0, 16); /* module */

    /* upvalue 1: error metatable */
    acc_error_create_meta(L);
    /* upvalue 2: decode of a private cjson instance, never the shared one
     * whose settings other code (OpenResty) may change */
    lua_getglobal(L, "require");
    lua_pushliteral(L, "cjson.safe");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "new");
    if (!lua_isfunction(L, -1))
        return luaL_error(L, "accelerate: lua-cjson 2.1 or later is required");
    lua_call(L, 0, 1);
    lua_getfield(L, -1, "decode_max_depth");
    if (lua_isfunction(L, -1)) {
        lua_pushinteger(L, ACC_JSON_MAX_DEPTH);
        lua_call(L, 1, 0);
    } else {
        lua_pop(L, 1);
    }
    lua_getfield(L, -1, "decode_invalid_numbers");
    if (lua_isfunction(L, -1)) {
        lua_pushboolean(L, 0);
        lua_call(L, 1, 0);
    } else {
        lua_pop(L, 1);
    }
    lua_getfield(L, -1, "decode");
    lua_replace(L, -2); /* instance -> its decode */
    lua_remove(L, -2);  /* the cjson.safe module */
    /* stack: module, errmt, decode */

    lua_pushvalue(L, -2);
    lua_pushvalue(L, -2);
    acc_client_create_meta(L); /* consumes the two upvalue copies */

    lua_pushvalue(L, -2);
    lua_setfield(L, -4, "error_mt");
    acc_setfuncs(L, acc_functions, ACC_NUP);
    lua_pushliteral(L, ACC_VERSION);
    lua_setfield(L, -2, "VERSION");
    lua_pushliteral(L, "AnyMetrics backfill API client (C core)");
    lua_setfield(L, -2, "_DESCRIPTION");
    return 1;
}
