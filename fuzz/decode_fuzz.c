/* libFuzzer target: decoding of answers.  An input is written like an HTTP
 * answer with a first line that picks the call:
 *
 *     list 200 [auth-value]          call (c/l/d), status, optional secret
 *     X-Trace-Id: 0ea6b005           header lines, as the server sent them
 *     Retry-After: 3
 *                                    an empty line ends the headers
 *     {"success":true,"data":...}    the body: every remaining byte
 *
 * Each header line goes through the libcurl header callback of the client
 * (acc_http_on_header, the C reader of X-Trace-Id and Retry-After), the
 * Retry-After it kept through acc_retry_after_parse/acc_retry_delay, and
 * all of them into a {name = value} table (a repeated name gives an array)
 * for accelerate.decode(call, status, headers, body, {auth_value=secret}).
 * Without an empty line the body is nil.
 *
 * Beyond what the sanitizers see, the documented promises are checked:
 * decode raises only for a bad status argument, and an error object has a
 * known kind, a one-line message of at most ~300 bytes and no auth value.
 *
 * http.c is included rather than linked so that its static header
 * callback can be called; the Makefile leaves it out of the sources. */
#include <math.h>

#include "fuzz_common.h"
#include "../src/http.c"

static const char *const fuzz_call_names[] = {"create_task",
                                              "list_instances",
                                              "task_detail"};

/* headers[name] = value, or an array of values for a repeated name. */
static void fuzz_add_header(lua_State *L, int t, const char *line, size_t n)
{
    const char *colon = memchr(line, ':', n);
    const char *v;
    size_t vn;
    if (colon == NULL)
        return;
    v = colon + 1;
    vn = n - (size_t)(v - line);
    while (vn > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        vn--;
    }
    if (vn > 0 && v[vn - 1] == '\r')
        vn--;
    lua_pushlstring(L, line, (size_t)(colon - line));
    lua_pushvalue(L, -1);
    lua_rawget(L, t);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushlstring(L, v, vn);
    } else {
        if (!lua_istable(L, -1)) {
            lua_createtable(L, 2, 0);
            lua_insert(L, -2);
            lua_rawseti(L, -2, 1);
        }
        lua_pushlstring(L, v, vn);
        lua_rawseti(L, -2, (int)lua_rawlen(L, -2) + 1);
    }
    lua_rawset(L, t);
}

/* The part of text between two "[REDACTED]" markers must not hold the
 * secret (the marker itself may, for a secret like "ACT"). */
static int fuzz_leaks(const char *text, size_t tn, const char *sec, size_t sn)
{
    static const char mark[] = "[REDACTED]";
    const char *p = text, *end = text + tn;
    while (p < end) {
        const char *m = NULL, *q;
        size_t i, piece;
        for (q = p; q + sizeof mark - 1 <= end; q++)
            if (memcmp(q, mark, sizeof mark - 1) == 0) {
                m = q;
                break;
            }
        piece = (size_t)((m ? m : end) - p);
        for (i = 0; i + sn <= piece; i++)
            if (memcmp(p + i, sec, sn) == 0)
                return 1;
        if (m == NULL)
            break;
        p = m + sizeof mark - 1;
    }
    return 0;
}

static int fuzz_plain_secret(const char *s, size_t n)
{
    size_t i;
    if (n < ACC_REDACT_MIN)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
              (c >= 'A' && c <= 'Z') || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static void fuzz_check_error(lua_State *L, int err, const char *sec,
                             size_t sn)
{
    static const char *const kinds[] = {"invalid", "network", "timeout",
                                        "http", "api", "decode", NULL};
    static const char *const redacted[] = {"message", "detail", "code",
                                           "trace_id", NULL};
    const char *kind;
    size_t n;
    int i;

    if (!lua_istable(L, err))
        fuzz_fail("decode returned nil and a non-table", NULL);
    lua_getfield(L, err, "kind");
    kind = lua_tostring(L, -1);
    for (i = 0; kind != NULL && kinds[i] != NULL; i++)
        if (strcmp(kind, kinds[i]) == 0)
            break;
    if (kind == NULL || kinds[i] == NULL)
        fuzz_fail("error kind", kind);
    lua_pop(L, 1);
    lua_getfield(L, err, "message");
    if (lua_type(L, -1) != LUA_TSTRING)
        fuzz_fail("error message is not a string", kind);
    lua_tolstring(L, -1, &n);
    if (n > ACC_MESSAGE_CAP + 3 || fuzz_has_ctl(L, -1))
        fuzz_fail("error message not one capped line", lua_tostring(L, -1));
    lua_pop(L, 1);
    for (i = 0; redacted[i] != NULL; i++) {
        lua_getfield(L, err, redacted[i]);
        if (lua_type(L, -1) == LUA_TSTRING) {
            const char *s = lua_tolstring(L, -1, &n);
            /* detail keeps its newlines and tabs, and has a larger cap */
            if (i == 1 ? n > ACC_DETAIL_CAP + 3
                       : n > ACC_MESSAGE_CAP + 3 || fuzz_has_ctl(L, -1))
                fuzz_fail("error field not capped or not one line",
                          redacted[i]);
            if (sec != NULL && fuzz_leaks(s, n, sec, sn))
                fuzz_fail("auth value in an error field", redacted[i]);
        } else if (!lua_isnil(L, -1)) {
            fuzz_fail("error field is not a string", redacted[i]);
        }
        lua_pop(L, 1);
    }
    /* __tostring builds one line from these fields and the status (a
     * number of ours, so a secret "429" may show there) */
    lua_getglobal(L, "tostring");
    lua_pushvalue(L, err);
    if (lua_pcall(L, 1, 1, 0) != 0 || lua_type(L, -1) != LUA_TSTRING ||
        fuzz_has_ctl(L, -1))
        fuzz_fail("tostring(err)", lua_tostring(L, -1));
    lua_pop(L, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lua_State *L = fuzz_lua();
    const char *p = (const char *)data, *end = p + size, *line, *q, *qe;
    const char *sec = NULL, *body = NULL;
    size_t n, sn = 0;
    acc_call call;
    double status = 200, ra, delay;
    int headers = 0, nres, rc;
    acc_xfer x;

    line = fuzz_line(&p, end, &n);
    if (line == NULL)
        return 0;
    call = fuzz_call(line, n);
    /* "<call> <status> [secret]": any bytes up to the end of the line */
    q = memchr(line, ' ', n);
    qe = line + n;
    if (q != NULL) {
        int digits = 0;
        q++;
        if (q < qe && (*q >= '0' && *q <= '9'))
            status = 0;
        while (q < qe && *q >= '0' && *q <= '9' && digits++ < 12)
            status = status * 10 + (*q++ - '0');
        while (q < qe && *q >= '0' && *q <= '9')
            q++;
        if (q < qe && *q == ' ') {
            sec = q + 1;
            sn = (size_t)(qe - sec);
            if (sn > 0 && sec[sn - 1] == '\r')
                sn--;
        }
    }

    memset(&x, 0, sizeof x);
    x.retry_after = -1;
    lua_settop(L, 0);
    lua_newtable(L); /* 1: headers */
    while ((line = fuzz_line(&p, end, &n)) != NULL) {
        if (n == 0 || (n == 1 && line[0] == '\r')) {
            body = p;
            break;
        }
        /* libcurl hands the callback each line with its CRLF */
        acc_http_on_header((char *)line, 1, n + (line + n < end), &x);
        fuzz_add_header(L, 1, line, n);
        headers = 1;
    }

    if (x.trace_len >= sizeof x.trace_id)
        fuzz_fail("header copy overran its buffer", NULL);
    /* the header callback keeps the first readable Retry-After */
    ra = x.retry_after;
    delay = acc_retry_delay(1, ra);
    if (!(ra == -1 || ra >= 0) || !(delay >= 0 && delay <= ACC_RETRY_AFTER_CAP))
        fuzz_fail("retry delay out of range", NULL);

    fuzz_getfunc(L, "decode");
    lua_pushstring(L, fuzz_call_names[call]);
    lua_pushnumber(L, (lua_Number)status);
    if (headers)
        lua_pushvalue(L, 1);
    else
        lua_pushnil(L);
    if (body != NULL)
        lua_pushlstring(L, body, (size_t)(end - body));
    else
        lua_pushnil(L);
    if (sec != NULL) {
        lua_createtable(L, 0, 1);
        lua_pushlstring(L, sec, sn);
        lua_setfield(L, -2, "auth_value");
    } else {
        lua_pushnil(L);
    }
    rc = lua_pcall(L, 5, LUA_MULTRET, 0);
    fuzz_trace(L, "decode", rc == 0, 2);
    if (rc != 0) {
        /* only a status outside 0-999 is a caller's mistake */
        if (status >= 0 && status <= 999)
            fuzz_fail("decode raised", lua_tostring(L, -1));
        fuzz_done(L);
        return 0;
    }
    nres = lua_gettop(L) - 1;
    if (nres == 2 && lua_isnil(L, 2)) {
        fuzz_check_error(L, 3, fuzz_plain_secret(sec, sn) ? sec : NULL, sn);
    } else if (nres != 1 || (call == ACC_CALL_CREATE
                                 ? lua_type(L, 2) != LUA_TSTRING
                                 : !lua_istable(L, 2))) {
        fuzz_fail("decode returned neither a result nor nil, err", NULL);
    } else if (call == ACC_CALL_LIST) {
        lua_getfield(L, 2, "instances");
        if (!lua_istable(L, -1))
            fuzz_fail("list result without an instances table", NULL);
    }
    fuzz_done(L);
    return 0;
}
