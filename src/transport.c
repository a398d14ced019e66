/* The blocking transport: a userdata owning one easy handle (kept alive
 * for connection reuse), a curl multi engine for many requests at once, and
 * copies of the connection options.  It makes exchanges and nothing more:
 * what is retried, the whole-call deadline and paging are the call policy's
 * (lua/accelerate/client.lua), the same for every transport.
 *
 *   t:request(call, args, budget [, store]) -> result | nil, err, retry_after
 *   t:request_many(call, items, concurrency, budget)
 *   t:check(call, args)           -> true | nil, err     (nothing sent)
 *   t:close()
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "multi.h"
#include "store.h"

typedef struct acc_transport {
    acc_xfer main;
    acc_multi multi;
    struct curl_slist *headers;
    char *url;
    char *tenant_id;
    char *auth_value;
    char *ca_file;
    size_t url_len, tenant_id_len, auth_value_len;
    char auth_type[8];
    double timeout, connect_timeout;
    int retries, insecure;
    size_t max_body;
    int closed;
} acc_transport;

static void acc_transport_config(const acc_transport *t, acc_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->url = t->url;
    cfg->url_len = t->url_len;
    cfg->tenant_id = t->tenant_id;
    cfg->tenant_id_len = t->tenant_id_len;
    memcpy(cfg->auth_type, t->auth_type, sizeof cfg->auth_type);
    cfg->auth_value = t->auth_value;
    cfg->auth_value_len = t->auth_value_len;
    cfg->ca_file = t->ca_file;
    cfg->timeout = t->timeout;
    cfg->connect_timeout = t->connect_timeout;
    cfg->retries = t->retries;
    cfg->insecure = t->insecure;
    cfg->max_body = t->max_body;
}

/* Idempotent: serves close, __gc and __close, and a half-built transport. */
static void acc_transport_cleanup(acc_transport *t)
{
    acc_multi_close(&t->multi);
    acc_http_close(&t->main);
    if (t->headers != NULL) {
        acc_http_wipe_headers(t->headers);
        curl_slist_free_all(t->headers);
        t->headers = NULL;
    }
    if (t->auth_value != NULL) {
        memset(t->auth_value, 0, t->auth_value_len);
        free(t->auth_value);
        t->auth_value = NULL;
    }
    free(t->url);
    free(t->tenant_id);
    free(t->ca_file);
    t->url = t->tenant_id = t->ca_file = NULL;
    t->closed = 1;
}

static acc_transport *acc_transport_check(lua_State *L, int idx)
{
    acc_transport *t = luaL_checkudata(L, idx, ACC_TRANSPORT_MT);
    if (t->closed)
        luaL_error(L, "accelerate: attempt to use a closed client");
    return t;
}

static char *acc_strndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int acc_transport_add_header(acc_transport *t, const char *name,
                                    const char *value, size_t len)
{
    char line[ACC_MAX_HEADER_VALUE + 64];
    struct curl_slist *h;
    int n = snprintf(line, sizeof line, "%s: %.*s", name, (int)len, value);
    if (n < 0 || (size_t)n >= sizeof line)
        return -1;
    h = curl_slist_append(t->headers, line);
    memset(line, 0, sizeof line);
    if (h == NULL)
        return -1;
    t->headers = h;
    return 0;
}

/* Copies what the validated options borrow; 0 or -1 (out of memory). */
static int acc_transport_copy(acc_transport *t, const acc_config *cfg)
{
    t->url = acc_strndup(cfg->url, cfg->url_len);
    t->tenant_id = acc_strndup(cfg->tenant_id, cfg->tenant_id_len);
    t->auth_value = acc_strndup(cfg->auth_value, cfg->auth_value_len);
    t->ca_file = cfg->ca_file ? acc_strndup(cfg->ca_file, strlen(cfg->ca_file))
                              : NULL;
    t->url_len = cfg->url_len;
    t->tenant_id_len = cfg->tenant_id_len;
    t->auth_value_len = cfg->auth_value_len;
    memcpy(t->auth_type, cfg->auth_type, sizeof t->auth_type);
    t->timeout = cfg->timeout;
    t->connect_timeout = cfg->connect_timeout;
    t->retries = cfg->retries;
    t->insecure = cfg->insecure;
    t->max_body = cfg->max_body;
    if (t->url == NULL || t->tenant_id == NULL || t->auth_value == NULL ||
        (cfg->ca_file != NULL && t->ca_file == NULL))
        return -1;
    /* Exactly the documented headers, built once per client; "Accept:"
     * and "Expect:" remove what libcurl would add on its own. */
    if (acc_transport_add_header(t, "tenant-id", t->tenant_id,
                                 t->tenant_id_len) != 0 ||
        acc_transport_add_header(t, "auth-type", t->auth_type,
                                 strlen(t->auth_type)) != 0 ||
        acc_transport_add_header(t, "auth-value", t->auth_value,
                                 t->auth_value_len) != 0 ||
        acc_transport_add_header(t, "Content-Type", "application/json",
                                 16) != 0 ||
        acc_transport_add_header(t, "Accept", "", 0) != 0 ||
        acc_transport_add_header(t, "Expect", "", 0) != 0)
        return -1;
    return 0;
}

/* accelerate.transport(opts) -> transport | nil, err */
static int acc_transport_new(lua_State *L)
{
    acc_config cfg;
    acc_transport *t;

    if (!acc_config_read(L, 1, &cfg)) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    /* Allocate, zero and attach the metatable before acquiring anything:
     * a raise below leaves a userdata whose __gc frees what was made. */
    t = lua_newuserdata(L, sizeof *t);
    memset(t, 0, sizeof *t);
    t->closed = 1;
    luaL_getmetatable(L, ACC_TRANSPORT_MT);
    lua_setmetatable(L, -2);
    if (acc_transport_copy(t, &cfg) != 0)
        return luaL_error(L, "accelerate: out of memory");
    acc_transport_config(t, &cfg);
    if (acc_http_open(&t->main, &cfg) != 0)
        return luaL_error(L, "accelerate: curl_easy_init failed");
    t->closed = 0;
    return 1;
}

/* Inside nginx's Lua module every libcurl call stops the whole worker and
 * every request on it.  That cannot be refused outright (init phases and
 * tools that accept it are legitimate), so the first blocking call made
 * where cosockets would work logs a warning naming the fix, once per
 * process.  Outside nginx there is no `ngx` global and this costs one
 * lookup. */
static void acc_transport_warn_in_nginx(lua_State *L)
{
    static int warned = 0;
    const char *phase;
    int top = lua_gettop(L);

    if (warned)
        return;
    lua_getglobal(L, "ngx");
    if (!lua_istable(L, -1))
        goto done;
    lua_getfield(L, -1, "get_phase");
    if (!lua_isfunction(L, -1) || lua_pcall(L, 0, 1, 0) != 0)
        goto done;
    phase = lua_tostring(L, -1);
    if (phase == NULL || strcmp(phase, "init") == 0 ||
        strcmp(phase, "init_worker") == 0)
        goto done;
    warned = 1;
    lua_getfield(L, top + 1, "log");
    lua_getfield(L, top + 1, "WARN");
    lua_pushfstring(L, "accelerate: the blocking client was called in "
                       "nginx's %s phase: each call blocks this worker and "
                       "every request on it; use require \"accelerate.ngx\" "
                       "(cosockets) instead", phase);
    if (lua_isfunction(L, -3))
        lua_pcall(L, 2, 0, 0);
done:
    lua_settop(L, top);
}

/* The error of a call that has no time left: nothing is sent. */
static void acc_transport_no_time(lua_State *L, acc_call call, double timeout)
{
    acc_error_newf(L, "timeout", "%s: no time left of the call's %.3g s",
                   acc_request_call_name(call), timeout);
    acc_error_facts(L, -1, "no_time", 0, 0);
}

/* The answer of one exchange: decoded, or reduced into the store at sidx
 * (0: none).  Pushes the result (1) or an error (0). */
static int acc_transport_answer(lua_State *L, acc_transport *t, acc_call call,
                                int sidx)
{
    long status = acc_http_status(&t->main);
    if (sidx != 0)
        return acc_reduce_response(L, sidx, status, t->main.body.data,
                                   t->main.body.len, t->main.trace_id,
                                   t->main.trace_len, t->auth_value,
                                   t->auth_value_len);
    return acc_decode_response(L, call, status, t->main.body.data,
                               t->main.body.len, t->main.trace_id,
                               t->main.trace_len, t->auth_value,
                               t->auth_value_len);
}

/* t:request(call, args, budget [, store]) -> result | nil, err,
 * retry_after.  One exchange within budget seconds: prepare, perform,
 * decode; a list_instances answer given a store is reduced into it
 * instead (reduce.c), and the result is the commit's. */
static int acc_transport_request(lua_State *L)
{
    acc_transport *t = acc_transport_check(L, 1);
    acc_call call = (acc_call)acc_request_call_check(L, 2);
    double budget = (double)luaL_checknumber(L, 4);
    int sidx = lua_isnoneornil(L, 5) ? 0 : 5;
    acc_config cfg;
    const char *url, *body = NULL;
    size_t body_len = 0;
    CURLcode rc;
    int top;

    luaL_argcheck(L, sidx == 0 || call == ACC_CALL_LIST, 5,
                  "only list_instances answers reduce into a store");
    if (sidx != 0)
        acc_store_check(L, sidx);
    lua_settop(L, 5);
    luaL_checkstack(L, 16, "accelerate: request");
    acc_transport_warn_in_nginx(L);
    acc_transport_config(t, &cfg);
    top = lua_gettop(L);
    if (!acc_request_prepare(L, &cfg, call, 3))
        goto fail;
    if (!(budget > 0)) {
        acc_transport_no_time(L, call, t->timeout);
        goto fail;
    }
    if (acc_process_stopping()) {
        /* the command was asked to stop: nothing more is sent */
        acc_http_interrupted(L, call, 0, 0);
        goto fail;
    }
    url = lua_tostring(L, top + 3);
    if (lua_isstring(L, top + 4))
        body = lua_tolstring(L, top + 4, &body_len);
    acc_http_setup(&t->main, t->headers, url, body, body_len,
                   call == ACC_CALL_CREATE, budget, t->connect_timeout);
    rc = curl_easy_perform(t->main.easy);
    if (rc == CURLE_OK) {
        int ok = acc_transport_answer(L, t, call, sidx);
        acc_buf_reset(&t->main.body);
        if (ok)
            return 1;
    } else {
        acc_http_error(L, &t->main, rc, call, t->timeout);
        acc_buf_reset(&t->main.body);
    }
    acc_error_redact(L, -1, t->auth_value, t->auth_value_len);
    lua_pushnil(L);
    lua_insert(L, -2);
    if (t->main.retry_after >= 0)
        lua_pushnumber(L, (lua_Number)t->main.retry_after);
    else
        lua_pushnil(L);
    return 3;
fail:
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

/* t:request_many(call, items, concurrency, budget): each item {args =,
 * deadline = (absolute, accelerate.now's clock) or nil} gets result, or err
 * and retry_after.  An item without a deadline gets now + budget when it
 * starts. */
static int acc_transport_request_many(lua_State *L)
{
    acc_transport *t = acc_transport_check(L, 1);
    acc_call call = (acc_call)acc_request_call_check(L, 2);
    int conc = (int)luaL_checkinteger(L, 4);
    double budget = (double)luaL_checknumber(L, 5);
    acc_config cfg;

    luaL_checktype(L, 3, LUA_TTABLE);
    luaL_argcheck(L, conc >= 1 && conc <= ACC_MAX_CONCURRENCY, 4,
                  "concurrency out of range");
    luaL_argcheck(L, call != ACC_CALL_CREATE && call != ACC_CALL_LIST_PLANS, 2,
                  "only calls sent as GET");
    lua_settop(L, 5);
    acc_transport_warn_in_nginx(L);
    acc_transport_config(t, &cfg);
    acc_multi_run(L, &t->multi, &cfg, t->headers, call, 3, conc, budget);
    return 0;
}

/* t:check(call, args) -> true | nil, err: validation alone */
static int acc_transport_check_args(lua_State *L)
{
    acc_transport *t = acc_transport_check(L, 1);
    acc_call call = (acc_call)acc_request_call_check(L, 2);
    acc_config cfg;

    lua_settop(L, 3);
    acc_transport_config(t, &cfg);
    if (!acc_request_prepare(L, &cfg, call, 3)) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* ---- lifecycle and metatable ------------------------------------------ */

static int acc_transport_close(lua_State *L)
{
    acc_transport *t = luaL_checkudata(L, 1, ACC_TRANSPORT_MT);
    acc_transport_cleanup(t);
    return 0;
}

static int acc_transport_closed(lua_State *L)
{
    acc_transport *t = luaL_checkudata(L, 1, ACC_TRANSPORT_MT);
    lua_pushboolean(L, t->closed);
    return 1;
}

static int acc_transport_tostring(lua_State *L)
{
    acc_transport *t = luaL_checkudata(L, 1, ACC_TRANSPORT_MT);
    if (t->closed || t->url == NULL)
        lua_pushfstring(L, "accelerate.transport (closed): %p", (void *)t);
    else
        lua_pushfstring(L, "accelerate.transport{url=%s}: %p", t->url,
                        (void *)t);
    return 1;
}

static const luaL_Reg acc_transport_methods[] = {
    {"request", acc_transport_request},
    {"request_many", acc_transport_request_many},
    {"check", acc_transport_check_args},
    {"close", acc_transport_close},
    {"closed", acc_transport_closed},
    {NULL, NULL}};

static const luaL_Reg acc_transport_meta[] = {
    {"__gc", acc_transport_close},
    {"__tostring", acc_transport_tostring},
#if ACC_HAS_CLOSE
    {"__close", acc_transport_close},
#endif
    {NULL, NULL}};

/* Expects the ACC_NUP upvalues on the stack top and pops them. */
void acc_transport_create_meta(lua_State *L)
{
    luaL_newmetatable(L, ACC_TRANSPORT_MT); /* uv1 uv2 mt */
    lua_newtable(L);                        /* uv1 uv2 mt methods */
    lua_pushvalue(L, -4);
    lua_pushvalue(L, -4);
    acc_setfuncs(L, acc_transport_methods, ACC_NUP);
    lua_setfield(L, -2, "__index");
    lua_pushvalue(L, -3);
    lua_pushvalue(L, -3);
    acc_setfuncs(L, acc_transport_meta, ACC_NUP);
    lua_pushliteral(L, ACC_TRANSPORT_MT);
    lua_setfield(L, -2, "__name");
    lua_pop(L, 3);
}

const luaL_Reg acc_transport_lib[] = {
    {"transport", acc_transport_new},
    {NULL, NULL}};
