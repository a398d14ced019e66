/* libFuzzer target: preparation of requests (options, dates, ids, header
 * values, percent-encoding, url).  An input is lines:
 *
 *     list                           call (c/l/d), then name=value lines
 *     url=http://127.0.0.1:8083/gw
 *     tenant_id=t1
 *     auth_type=uid
 *     auth_value=u-1
 *     dagName=d\r\nX-Injected: 1
 *     pageSize=#20
 *
 * Names and values take the escapes \n \r \t \0 \\ \xHH.  A value is a
 * string, or a number when written #... (Lua's own reading: #12, #1.5,
 * #0x10, #1e400), or !t / !f (booleans), !{} (a table), !nan, !inf.  The
 * option names of accelerate.config go to the options table, every other
 * name to the argument table, and the name @ makes the arguments that value
 * itself (a dagName or an id).  Each input runs accelerate.config(opts)
 * and accelerate.prepare(opts, call, args); a wrong Lua type may raise,
 * nothing may crash.
 *
 * What a request carries to the wire is checked too: no control byte or
 * space in the url, a query of unreserved and %XX bytes only, header
 * values and body without control bytes (issue 6, item 7). */
#include <math.h>

#include "fuzz_common.h"

static const char *const fuzz_options[] = {
    "url",     "tenant_id", "auth_type", "auth_value", "ca_file", "timeout",
    "connect_timeout", "retries", "max_body", "insecure", NULL};

static const char *const fuzz_call_names[] = {"create_task",
                                              "list_instances",
                                              "task_detail"};

/* Pushes the value of a name=value line (see the top of the file). */
static void fuzz_push_value(lua_State *L, const char *v, size_t n)
{
    if (n >= 1 && v[0] == '#') {
        fuzz_push_unescaped(L, v + 1, n - 1);
        if (lua_stringtonumber(L, lua_tostring(L, -1)) != 0) {
            lua_remove(L, -2);
            return;
        }
        lua_pop(L, 1);
    } else if (n == 2 && v[0] == '!' && (v[1] == 't' || v[1] == 'f')) {
        lua_pushboolean(L, v[1] == 't');
        return;
    } else if (n == 3 && memcmp(v, "!{}", 3) == 0) {
        lua_newtable(L);
        return;
    } else if (n == 4 && memcmp(v, "!nan", 4) == 0) {
        lua_pushnumber(L, (lua_Number)NAN);
        return;
    } else if (n == 4 && memcmp(v, "!inf", 4) == 0) {
        lua_pushnumber(L, (lua_Number)HUGE_VAL);
        return;
    }
    fuzz_push_unescaped(L, v, n);
}

static int fuzz_is_option(lua_State *L, int key)
{
    int i;
    const char *k = lua_tostring(L, key);
    size_t n;
    lua_tolstring(L, key, &n);
    for (i = 0; fuzz_options[i] != NULL; i++)
        if (strlen(fuzz_options[i]) == n && strcmp(k, fuzz_options[i]) == 0)
            return 1;
    return 0;
}

/* The query is built by percent-encoding: unreserved bytes, '%', '&', '='. */
static int fuzz_query_ok(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
              (c >= 'A' && c <= 'Z') || c == '-' || c == '.' || c == '_' ||
              c == '~' || c == '%' || c == '&' || c == '='))
            return 0;
        if (c == '%' && (i + 2 >= n || fuzz_hex(s[i + 1]) < 0 ||
                         fuzz_hex(s[i + 2]) < 0))
            return 0;
    }
    return 1;
}

static void fuzz_check_string(lua_State *L, int t, const char *field,
                              int allow_nil)
{
    lua_getfield(L, t, field);
    if (lua_isnil(L, -1) && allow_nil) {
        lua_pop(L, 1);
        return;
    }
    if (lua_type(L, -1) != LUA_TSTRING)
        fuzz_fail("request field is not a string", field);
    if (fuzz_has_ctl(L, -1))
        fuzz_fail("control byte in the request", field);
    lua_pop(L, 1);
}

static void fuzz_check_request(lua_State *L, int req, acc_call call)
{
    static const char *const headers[] = {"tenant-id", "auth-type",
                                          "auth-value", "Content-Type", NULL};
    const char *s;
    size_t n, i;
    int h;

    fuzz_check_string(L, req, "url", 0);
    fuzz_check_string(L, req, "path", 0);
    fuzz_check_string(L, req, "query", 0);
    fuzz_check_string(L, req, "body", call != ACC_CALL_CREATE);
    lua_getfield(L, req, "url");
    s = lua_tolstring(L, -1, &n);
    for (i = 0; i < n; i++)
        if (s[i] == ' ' || s[i] == '#' || s[i] == '@')
            fuzz_fail("space, # or @ in the url", s);
    lua_pop(L, 1);
    lua_getfield(L, req, "query");
    s = lua_tolstring(L, -1, &n);
    if (!fuzz_query_ok(s, n))
        fuzz_fail("query not percent-encoded", s);
    lua_pop(L, 1);
    lua_getfield(L, req, "headers");
    if (!lua_istable(L, -1))
        fuzz_fail("request without headers", NULL);
    h = lua_gettop(L);
    for (i = 0; headers[i] != NULL; i++) {
        fuzz_check_string(L, h, headers[i], 0);
        lua_getfield(L, h, headers[i]);
        lua_tolstring(L, -1, &n);
        if (n == 0 || n > ACC_MAX_HEADER_VALUE)
            fuzz_fail("header value length", headers[i]);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lua_State *L = fuzz_lua();
    const char *p = (const char *)data, *end = p + size, *line;
    size_t n;
    acc_call call;
    int rc;

    line = fuzz_line(&p, end, &n);
    if (line == NULL)
        return 0;
    call = fuzz_call(line, n);

    lua_settop(L, 0);
    lua_newtable(L); /* 1: options */
    lua_newtable(L); /* 2: arguments (replaced by a value named @) */
    while ((line = fuzz_line(&p, end, &n)) != NULL) {
        const char *eq = memchr(line, '=', n);
        if (eq == NULL)
            continue;
        if (eq == line + 1 && line[0] == '@') {
            fuzz_push_value(L, eq + 1, n - 2);
            lua_replace(L, 2);
            continue;
        }
        fuzz_push_unescaped(L, line, (size_t)(eq - line));
        fuzz_push_value(L, eq + 1, n - (size_t)(eq + 1 - line));
        if (fuzz_is_option(L, -2)) {
            lua_rawset(L, 1);
        } else if (lua_istable(L, 2)) {
            lua_rawset(L, 2);
        } else {
            lua_pop(L, 2);
        }
    }

    fuzz_getfunc(L, "config");
    lua_pushvalue(L, 1);
    rc = lua_pcall(L, 1, 2, 0);
    fuzz_trace(L, "config", rc == 0, 3);
    if (rc == 0 && lua_istable(L, -2)) {
        fuzz_check_string(L, lua_gettop(L) - 1, "url", 0);
        fuzz_check_string(L, lua_gettop(L) - 1, "tenant_id", 0);
        fuzz_check_string(L, lua_gettop(L) - 1, "auth_value", 0);
    }
    lua_settop(L, 2);

    fuzz_getfunc(L, "prepare");
    lua_pushvalue(L, 1);
    lua_pushstring(L, fuzz_call_names[call]);
    lua_pushvalue(L, 2);
    rc = lua_pcall(L, 3, 2, 0);
    fuzz_trace(L, "prepare", rc == 0, 3);
    if (rc == 0) {
        if (lua_istable(L, 3))
            fuzz_check_request(L, 3, call);
        else if (!lua_isnil(L, 3) || !lua_istable(L, 4))
            fuzz_fail("prepare returned neither a request nor nil, err",
                      NULL);
    }
    fuzz_done(L);
    return 0;
}
