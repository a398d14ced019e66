/* Decoding of answers: status, trace id and body to a result table or an
 * error object.  Both shapes the documentation shows are accepted: the
 * envelope {data, success, code, errorMsg, detailErrorMsg, traceId} and the
 * bare list and detail objects. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "acc.h"

/* cjson decodes every number as a double, so an id above 2^53 would come
 * back with other digits.  When json.c's reader leaves a body to cjson,
 * integer values of the id keys are first turned into JSON strings,
 * keeping the digits as the server sent them (json.c does the same while
 * it reads).  Returns 1 and pushes the rewritten body if anything
 * changed. */
static int acc_key_is_id(const char *k, size_t n)
{
    return (n == 2 && memcmp(k, "id", 2) == 0) ||
           (n == 14 && memcmp(k, "taskInstanceId", 14) == 0);
}

static int acc_isdigit(char c)
{
    return c >= '0' && c <= '9';
}

static int acc_isspace(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The closing quote of the JSON string whose contents start at s + i, or n
 * if it is not closed.  memchr finds each candidate (the scan runs over
 * every answer, so it must not cost a branch per byte); a quote after an
 * odd run of backslashes is escaped. */
static size_t acc_string_end(const char *s, size_t i, size_t n)
{
    while (i < n) {
        const char *q = memchr(s + i, '"', n - i);
        size_t e, bs = 0;
        if (q == NULL)
            return n;
        e = (size_t)(q - s);
        while (e - bs > i && s[e - bs - 1] == '\\')
            bs++;
        if (bs % 2 == 0)
            return e;
        i = e + 1;
    }
    return n;
}

/* The rewrite is built in C memory, on the C stack when it fits here, else
 * in a userdata sized once, and copied once into the Lua string handed to
 * cjson: no luaL_Buffer growing, copying and freeing its box per answer. */
#define ACC_QUOTE_STACK 8192

static int acc_decode_quote_ids(lua_State *L, const char *s, size_t n)
{
    char stackbuf[ACC_QUOTE_STACK];
    char *d = NULL;
    size_t i = 0, last = 0, dl = 0;

    while (i < n) {
        size_t ks, kl, j, k;
        const char *q = memchr(s + i, '"', n - i);
        if (q == NULL)
            break;
        ks = (size_t)(q - s) + 1;
        i = acc_string_end(s, ks, n);
        if (i >= n)
            break;
        kl = i - ks;
        i++;
        if (!acc_key_is_id(s + ks, kl))
            continue;
        j = i;
        while (j < n && acc_isspace(s[j]))
            j++;
        if (j >= n || s[j] != ':')
            continue;
        j++;
        while (j < n && acc_isspace(s[j]))
            j++;
        k = j;
        if (k < n && s[k] == '-')
            k++;
        if (k >= n || !acc_isdigit(s[k]))
            continue;
        while (k < n && acc_isdigit(s[k]))
            k++;
        if (k < n && (s[k] == '.' || s[k] == 'e' || s[k] == 'E'))
            continue; /* not a plain integer: left to the number path */
        if (d == NULL) {
            /* Each rewrite adds 2 bytes and needs at least 6 ("id":0),
             * so the result is at most n + n/3 bytes. */
            size_t cap = n + n / 3 + 1;
            if (cap < n)
                cap = (size_t)-1; /* cannot be allocated: a memory error */
            if (cap <= ACC_QUOTE_STACK)
                d = stackbuf;
            else
                d = lua_newuserdata(L, cap);
        }
        memcpy(d + dl, s + last, j - last);
        dl += j - last;
        d[dl++] = '"';
        memcpy(d + dl, s + j, k - j);
        dl += k - j;
        d[dl++] = '"';
        last = i = k;
    }
    if (d == NULL)
        return 0;
    memcpy(d + dl, s + last, n - last);
    dl += n - last;
    lua_pushlstring(L, d, dl);
    if (d != stackbuf)
        lua_remove(L, -2); /* the userdata */
    return 1;
}

/* Formats the number or string at idx as an id string (see
 * acc_request_id for why tostring is never used). */
void acc_decode_push_id(lua_State *L, int idx)
{
    char buf[64];
    if (lua_type(L, idx) == LUA_TNUMBER) {
#if ACC_HAS_INTEGERS
        if (acc_isinteger(L, idx)) {
            snprintf(buf, sizeof buf, LUA_INTEGER_FMT, lua_tointeger(L, idx));
            lua_pushstring(L, buf);
            return;
        }
#endif
        {
            /* every digit fits the buffer below 1e60; beyond that no id
             * is real, and %.17g at least reads back as the same number */
            double d = (double)lua_tonumber(L, idx);
            if (d == floor(d) && fabs(d) < 1e60)
                snprintf(buf, sizeof buf, "%.0f", d);
            else
                snprintf(buf, sizeof buf, "%.17g", d);
            lua_pushstring(L, buf);
        }
        return;
    }
    lua_pushvalue(L, idx);
}

/* A JSON null field of an object (cjson.null) becomes nil, and on 5.3+
 * integral floats become integers so that pageIndex prints as 1, not 1.0.
 * A null element of an array stays where it is (the lightuserdata NULL,
 * equal to cjson.null): made nil, it would be a hole where ipairs and #
 * stop, and every element after it would be lost unseen.  cjson gives
 * arrays number keys and objects string keys.  Depth is bounded by the
 * decoder's own nesting limit.  One lua_type per value: this walk visits
 * every value of every answer. */
static void acc_decode_clean(lua_State *L, int t)
{
    luaL_checkstack(L, 4, "JSON nested too deeply");
    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
        switch (lua_type(L, -1)) {
        case LUA_TLIGHTUSERDATA:
            if (lua_touserdata(L, -1) == NULL &&
                lua_type(L, -2) == LUA_TSTRING) { /* a null field */
                lua_pop(L, 1);
                lua_pushvalue(L, -1);
                lua_pushnil(L);
                lua_rawset(L, t); /* clearing an existing field is allowed */
                continue;
            }
            break;
        case LUA_TTABLE:
            acc_decode_clean(L, lua_gettop(L));
            break;
#if ACC_HAS_INTEGERS
        case LUA_TNUMBER:
            if (!acc_isinteger(L, -1)) {
                lua_Number d = lua_tonumber(L, -1);
                lua_Integer i;
                if (d == floor(d) && lua_numbertointeger(d, &i)) {
                    lua_pushvalue(L, -2);
                    lua_pushinteger(L, i);
                    lua_rawset(L, t);
                }
            }
            break;
#endif
        default:
            break;
        }
        lua_pop(L, 1);
    }
}

/* Pushes the value of a JSON text and a message (nil when read): first by
 * acc_json_decode, which drops null fields and keeps ids and integers as
 * it reads (returns 1); else, on anything it leaves to cjson, by quoting
 * the ids and calling cjson, whose value still wants acc_decode_clean and
 * whose message says what is wrong (returns 0). */
static int acc_decode_json(lua_State *L, const char *s, size_t n)
{
    if (acc_json_decode(L, s, n)) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushvalue(L, ACC_UV_DECODE);
    if (!acc_decode_quote_ids(L, s, n))
        lua_pushlstring(L, s, n);
    lua_call(L, 1, 2);
    return 0;
}

static void acc_decode_fix_id(lua_State *L, int t, const char *field)
{
    lua_getfield(L, t, field);
    if (lua_type(L, -1) == LUA_TNUMBER) {
        acc_decode_push_id(L, -1);
        lua_setfield(L, t, field);
    }
    lua_pop(L, 1);
}

/* One instance object of a list answer, from its own text (the reducer
 * keeps the failed ones whole): decoded as acc_decode_list would give it,
 * null fields dropped and its id a string.  Pushes the table, or nil. */
void acc_decode_instance(lua_State *L, const char *s, size_t n)
{
    int cleaned;
    luaL_checkstack(L, 8, "accelerate: decode");
    cleaned = acc_decode_json(L, s, n);
    lua_pop(L, 1);
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        lua_pushnil(L);
        return;
    }
    if (!cleaned)
        acc_decode_clean(L, lua_gettop(L));
    acc_decode_fix_id(L, lua_gettop(L), "id");
}

/* A non-JSON body (a proxy's HTML page) is summarised: its <title> if it
 * has one, otherwise its first bytes.  The constructor caps and cleans. */
static void acc_decode_snippet(const char *body, size_t len, const char **s,
                               size_t *n)
{
    size_t i;
    *s = body;
    *n = len > 120 ? 120 : len;
    for (i = 0; i + 7 < len && i < 4096; i++) {
        if (body[i] == '<' && strncasecmp(body + i, "<title>", 7) == 0) {
            size_t e = i + 7;
            while (e < len && body[e] != '<')
                e++;
            *s = body + i + 7;
            *n = e - (i + 7);
            if (*n > 120)
                *n = 120;
            return;
        }
    }
}

static int acc_is_html(const char *body, size_t len)
{
    size_t i = 0;
    while (i < len && acc_isspace(body[i]))
        i++;
    return i < len && body[i] == '<';
}

/* Whether the envelope at env gives a reason: a non-blank errorMsg or
 * detailErrorMsg. */
static int acc_decode_has_reason(lua_State *L, int env)
{
    static const char *const fields[] = {"errorMsg", "detailErrorMsg", NULL};
    int i, found = 0;
    for (i = 0; fields[i] != NULL && !found; i++) {
        lua_getfield(L, env, fields[i]);
        if (lua_type(L, -1) == LUA_TSTRING) {
            size_t n, k;
            const char *s = lua_tolstring(L, -1, &n);
            for (k = 0; k < n && !found; k++)
                found = !acc_isspace(s[k]);
        }
        lua_pop(L, 1);
    }
    return found;
}

/* Copies code, errorMsg, detailErrorMsg and traceId of an envelope at env
 * into the error at err, with two facts for the call policy: the
 * envelope's success flag, and whether it explained itself (explained: a
 * non-blank errorMsg or detailErrorMsg). */
static void acc_decode_envelope_fields(lua_State *L, int env, int err,
                                       int set_message)
{
    size_t len;
    const char *s;

    lua_getfield(L, env, "code");
    if (lua_type(L, -1) == LUA_TNUMBER || lua_type(L, -1) == LUA_TSTRING) {
        acc_decode_push_id(L, -1);
        s = lua_tolstring(L, -1, &len);
        acc_error_setstr(L, err, "code", s, len);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_getfield(L, env, "errorMsg");
    if (set_message && lua_type(L, -1) == LUA_TSTRING) {
        s = lua_tolstring(L, -1, &len);
        acc_error_setstr(L, err, "message", s, len);
    }
    lua_pop(L, 1);
    lua_getfield(L, env, "detailErrorMsg");
    if (lua_type(L, -1) == LUA_TSTRING) {
        s = lua_tolstring(L, -1, &len);
        acc_error_setstr(L, err, "detail", s, len);
    }
    lua_pop(L, 1);
    lua_getfield(L, env, "traceId");
    if (lua_type(L, -1) == LUA_TSTRING) {
        s = lua_tolstring(L, -1, &len);
        acc_error_setstr(L, err, "trace_id", s, len);
    }
    lua_pop(L, 1);
    lua_getfield(L, env, "success");
    if (lua_isboolean(L, -1)) {
        acc_error_setbool(L, err, "success", lua_toboolean(L, -1));
        acc_error_setbool(L, err, "explained", acc_decode_has_reason(L, env));
    }
    lua_pop(L, 1);
}

static int acc_is_envelope(lua_State *L, int t)
{
    int r;
    lua_getfield(L, t, "success");
    r = lua_isboolean(L, -1);
    lua_pop(L, 1);
    return r;
}

static int acc_decode_fail(lua_State *L, int base, long status, int err,
                           const char *trace, size_t trace_len)
{
    lua_pushvalue(L, err);
    lua_getfield(L, -1, "status");
    if (lua_isnil(L, -1))
        acc_error_setint(L, -2, "status", status);
    lua_pop(L, 1);
    if (trace_len > 0) {
        lua_getfield(L, -1, "trace_id");
        if (lua_isnil(L, -1))
            acc_error_setstr(L, -2, "trace_id", trace, trace_len);
        lua_pop(L, 1);
    }
    lua_replace(L, base + 1);
    lua_settop(L, base + 1);
    return 0;
}

static int acc_decode_ok(lua_State *L, int base, int res)
{
    lua_pushvalue(L, res);
    lua_replace(L, base + 1);
    lua_settop(L, base + 1);
    return 1;
}

/* The error of a non-2xx answer, on the stack top.  Its message is the
 * envelope's errorMsg, else a Spring error's message or error (what a
 * gateway in front of the API answers), else the HTML title or first bytes
 * of the body. */
static void acc_decode_http_error(lua_State *L, long status, int json,
                                  const char *body, size_t len)
{
    const char *s;
    size_t n;
    int err;

    acc_error_newf(L, "http", "HTTP %ld", status);
    err = lua_gettop(L);
    acc_error_setint(L, err, "status", status);
    if (lua_istable(L, json)) {
        lua_getfield(L, json, "errorMsg");
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 1);
            lua_getfield(L, json, "message");
        }
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 1);
            lua_getfield(L, json, "error");
        }
        acc_decode_envelope_fields(L, json, err, 0);
        if (lua_type(L, -1) == LUA_TSTRING) {
            lua_pushfstring(L, "HTTP %d: %s", (int)status, lua_tostring(L, -1));
            s = lua_tolstring(L, -1, &n);
            acc_error_setstr(L, err, "message", s, n);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    } else if (len > 0) {
        char msg[200];
        int m;
        acc_decode_snippet(body, len, &s, &n);
        m = snprintf(msg, sizeof msg, "HTTP %ld: %.*s", status, (int)n, s);
        acc_error_setstr(L, err, "message", msg,
                         (size_t)(m < (int)sizeof msg ? m : (int)sizeof msg - 1));
    }
    if (status >= 300 && status < 400) {
        acc_error_newf(L, "http", "HTTP %ld: redirects are not followed; "
                       "check the url option", status);
        lua_getfield(L, -1, "message");
        lua_setfield(L, err, "message");
        lua_pop(L, 1);
    }
    lua_settop(L, err);
}

/* The error of a 2xx answer that is not JSON at all, on the stack top. */
static void acc_decode_unreadable(lua_State *L, const char *what, long status,
                                  int json, const char *body, size_t len)
{
    const char *s;
    size_t n;
    if (len == 0) {
        acc_error_newf(L, "decode", "%s: empty response body (HTTP %ld)", what,
                       status);
    } else if (acc_is_html(body, len)) {
        acc_decode_snippet(body, len, &s, &n);
        acc_error_newf(L, "decode", "%s: the answer is an HTML page, not "
                       "JSON: %.*s", what, (int)n, s);
    } else {
        acc_error_newf(L, "decode", "%s: the answer is not valid JSON: %s",
                       what, lua_isstring(L, json + 1)
                                 ? lua_tostring(L, json + 1)
                                 : "?");
    }
}

/* An envelope whose success is false: the api error, on the stack top. */
static void acc_decode_refused(lua_State *L, acc_call call, int json)
{
    acc_error_newf(L, "api", "%s failed", acc_request_call_name(call));
    acc_decode_envelope_fields(L, json, lua_gettop(L), 1);
}

/* A plausible dagName: what acc_config_check_value accepts (1-ACC_MAX_ID
 * bytes, no control byte), and visible ASCII only: a server's id (a UUID)
 * has no space, and a blank or odd "dagName" is no backfill one can watch. */
static int acc_decode_plausible_id(const char *s, size_t n)
{
    size_t i;
    if (acc_config_check_value(s, n, ACC_MAX_ID) != 0)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f)
            return 0;
    }
    return 1;
}

/* A create's answer: a dagName, bare or as the envelope's data.  Pushes
 * the dagName (returns 1) or the error (returns 0). */
static int acc_decode_create(lua_State *L, int json)
{
    size_t n = 0;
    const char *s = NULL;
    int err;

    if (lua_type(L, json) == LUA_TSTRING) {
        s = lua_tolstring(L, json, &n);
        if (acc_decode_plausible_id(s, n)) {
            lua_pushvalue(L, json);
            return 1;
        }
    }
    if (!lua_istable(L, json) || !acc_is_envelope(L, json)) {
        acc_error_newf(L, "decode", "create_task: the answer is neither an "
                                    "envelope nor a dagName");
        return 0;
    }
    lua_getfield(L, json, "data");
    if (lua_type(L, -1) == LUA_TSTRING) {
        s = lua_tolstring(L, -1, &n);
        if (acc_decode_plausible_id(s, n))
            return 1;
    }
    /* Older servers answered a refusal as success with data=null and an
     * errorMsg; without one (data=true, null, a blank or odd string) the
     * answer does not rule the create out.  The facts (success, explained)
     * go on the error; the call policy reads them. */
    acc_error_newf(L, "api", "create_task: the answer carries no usable "
                             "dagName");
    err = lua_gettop(L);
    acc_decode_envelope_fields(L, json, err, acc_decode_has_reason(L, json));
    return 0;
}

/* list_instances: instances always an array of objects, ids strings. */
static int acc_decode_list(lua_State *L, int data)
{
    size_t i, n;
    lua_getfield(L, data, "instances");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, data, "instances");
    }
    if (!lua_istable(L, -1)) {
        acc_error_newf(L, "decode", "list_instances: instances is not an "
                                    "array");
        return 0;
    }
    n = acc_rawlen(L, -1);
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, (int)i);
        if (!lua_istable(L, -1)) {
            acc_error_newf(L, "decode", "list_instances: instance %u is not "
                           "an object", (unsigned)i);
            return 0;
        }
        acc_decode_fix_id(L, lua_gettop(L), "id");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_pushvalue(L, data);
    return 1;
}

/* list_plans: {plans = data (each plan an object, its id a string),
 * hasNext, total, pageNumber, pageSize} from beside data at the top level,
 * whether or not the envelope's fields are there. */
static int acc_decode_plans(lua_State *L, int json, int cleaned)
{
    static const char *const paging[] = {"hasNext", "total", "pageNumber",
                                         "pageSize", NULL};
    size_t i, n;
    int plans, res;

    if (!cleaned)
        acc_decode_clean(L, json); /* null fields dropped, integers kept */
    lua_getfield(L, json, "data");
    plans = lua_gettop(L);
    if (lua_isnil(L, plans)) {
        lua_newtable(L);
        lua_replace(L, plans);
    }
    if (!lua_istable(L, plans)) {
        acc_error_newf(L, "decode", "list_plans: data is not an array");
        return 0;
    }
    n = acc_rawlen(L, plans);
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, plans, (int)i);
        if (!lua_istable(L, -1)) {
            acc_error_newf(L, "decode", "list_plans: plan %u is not an object",
                           (unsigned)i);
            return 0;
        }
        acc_decode_fix_id(L, lua_gettop(L), "id");
        lua_pop(L, 1);
    }
    lua_createtable(L, 0, 5);
    res = lua_gettop(L);
    lua_pushvalue(L, plans);
    lua_setfield(L, res, "plans");
    for (i = 0; paging[i] != NULL; i++) {
        lua_getfield(L, json, paging[i]);
        lua_setfield(L, res, paging[i]);
    }
    return 1;
}

/* A successful JSON answer shaped for its call.  Pushes the result
 * (returns 1) or the error (returns 0). */
static int acc_decode_shape(lua_State *L, acc_call call, int json,
                            int cleaned)
{
    const char *what = acc_request_call_name(call);
    int data = json, envelope;

    if (call == ACC_CALL_CREATE && lua_type(L, json) == LUA_TSTRING)
        return acc_decode_create(L, json);
    if (!lua_istable(L, json)) {
        acc_error_newf(L, "decode", "%s: unexpected JSON %s in the answer",
                       what, luaL_typename(L, json));
        return 0;
    }
    envelope = acc_is_envelope(L, json);
    if (envelope) {
        lua_getfield(L, json, "success");
        if (!lua_toboolean(L, -1)) {
            acc_decode_refused(L, call, json);
            return 0;
        }
        lua_pop(L, 1);
    }
    if (call == ACC_CALL_CREATE)
        return acc_decode_create(L, json);
    if (call == ACC_CALL_LIST_PLANS)
        return acc_decode_plans(L, json, cleaned);
    if (envelope) {
        lua_getfield(L, json, "data");
        data = lua_gettop(L);
        if (!lua_istable(L, data)) {
            int err;
            acc_error_newf(L, "api", "%s: the answer carries no data", what);
            err = lua_gettop(L);
            acc_decode_envelope_fields(L, json, err, 1);
            return 0;
        }
    }
    if (acc_rawlen(L, data) > 0) {
        acc_error_newf(L, "decode", "%s: expected a JSON object, got an "
                       "array", what);
        return 0;
    }
    if (!cleaned)
        acc_decode_clean(L, data);
    if (call == ACC_CALL_LIST)
        return acc_decode_list(L, data);
    if (call == ACC_CALL_DETAIL)
        acc_decode_fix_id(L, data, "taskInstanceId");
    else
        acc_decode_fix_id(L, data, "id");
    lua_pushvalue(L, data);
    return 1;
}

/* Leaves exactly one value at base + 1: the result (returns 1) or an error
 * object (returns 0). */
static int acc_decode_answer(lua_State *L, acc_call call, long status,
                             const char *body, size_t len, const char *trace,
                             size_t trace_len)
{
    int base = lua_gettop(L), json, cleaned = 0;

    /* 5.1 does not grow a C function's stack beyond LUA_MINSTACK by itself */
    luaL_checkstack(L, 24, "accelerate: decode");
    lua_pushnil(L); /* base+1: the slot for the single return value */
    json = base + 2;
    if (len > 0 && !acc_is_html(body, len)) {
        cleaned = acc_decode_json(L, body, len);
        /* base+2: value or nil, base+3: cjson's message or nil */
    } else {
        lua_pushnil(L);
        lua_pushliteral(L, "not JSON");
    }
    if (status < 200 || status > 299) {
        acc_decode_http_error(L, status, json, body, len);
        return acc_decode_fail(L, base, status, lua_gettop(L), trace,
                               trace_len);
    }
    if (len == 0 || lua_isnil(L, json)) {
        acc_decode_unreadable(L, acc_request_call_name(call), status, json,
                              body, len);
        return acc_decode_fail(L, base, status, lua_gettop(L), trace,
                               trace_len);
    }
    if (!acc_decode_shape(L, call, json, cleaned))
        return acc_decode_fail(L, base, status, lua_gettop(L), trace,
                               trace_len);
    return acc_decode_ok(L, base, lua_gettop(L));
}

/* Leaves exactly one value on the stack: the result (returns 1) or an
 * error object (returns 0) carrying the answer's facts (status, code,
 * success, explained).  What they mean for a retry, or for a create that
 * may have happened, is the call policy's (lua/accelerate/client.lua). */
int acc_decode_response(lua_State *L, acc_call call, long status,
                        const char *body, size_t len, const char *trace,
                        size_t trace_len, const char *secret,
                        size_t secret_len)
{
    int copies;
    if (acc_decode_answer(L, call, status, body, len, trace, trace_len))
        return 1; /* data is the server's, ids included: never redacted */
    /* An error is built from what the server sent: when that holds the
     * secret, it is built again from copies the secret has left, so that
     * no cut made on the way can keep a fragment of it. */
    copies = acc_redact_push(L, &body, &len, secret, secret_len);
    copies += acc_redact_push(L, &trace, &trace_len, secret, secret_len);
    if (copies > 0) {
        lua_remove(L, -1 - copies); /* the first error, below the copies */
        acc_decode_answer(L, call, status, body, len, trace, trace_len);
        lua_insert(L, -1 - copies); /* the new error below the copies */
        lua_pop(L, copies);
    }
    return 0;
}

/* ---- Lua function ------------------------------------------------------ */

/* Finds a header by case-insensitive name in a {name = value} table; a
 * value that is an array (several lines) gives its first element. */
static const char *acc_decode_header(lua_State *L, int t, const char *name,
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

/* Reads the arguments shared by accelerate.decode and accelerate.reduce;
 * the strings stay referenced by the arguments themselves. */
void acc_decode_args(lua_State *L, acc_answer_args *a)
{
    lua_Number st = luaL_checknumber(L, 2);

    memset(a, 0, sizeof *a);
    luaL_argcheck(L, st >= 0 && st <= 999, 2, "HTTP status expected");
    a->status = (long)st;
    if (!lua_isnoneornil(L, 3))
        luaL_checktype(L, 3, LUA_TTABLE);
    a->body = luaL_optlstring(L, 4, "", &a->len);
    if (!lua_isnoneornil(L, 5)) {
        luaL_checktype(L, 5, LUA_TTABLE);
        lua_getfield(L, 5, "auth_value");
        if (lua_type(L, -1) == LUA_TSTRING)
            a->secret = lua_tolstring(L, -1, &a->secret_len);
        lua_pop(L, 1); /* still referenced by the config table */
    }
    a->trace = acc_decode_header(L, 3, "x-trace-id", &a->trace_len);
}

/* accelerate.decode(call, status, headers, body [, config]) -> result |
 * nil, err */
static int acc_decode_lua(lua_State *L)
{
    acc_call call = (acc_call)acc_request_call_check(L, 1);
    acc_answer_args a;

    acc_decode_args(L, &a);
    if (acc_decode_response(L, call, a.status, a.body, a.len, a.trace,
                            a.trace_len, a.secret, a.secret_len))
        return 1;
    acc_error_redact(L, -1, a.secret, a.secret_len);
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

const luaL_Reg acc_decode_lib[] = {
    {"decode", acc_decode_lua},
    {NULL, NULL}};
