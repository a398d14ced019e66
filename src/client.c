/* The blocking client: a userdata owning one easy handle (kept alive for
 * connection reuse), a multi handle and a pool of easy handles for
 * task_details, and copies of its options.  Every call is prepare
 * (request.c), perform (http.c), decode (decode.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

typedef struct acc_client {
    acc_xfer main;
    acc_xfer **pool; /* pointers: curl keeps the address of each slot */
    int pool_n;
    CURLM *multi;
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
} acc_client;

static void acc_client_config(const acc_client *c, acc_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->url = c->url;
    cfg->url_len = c->url_len;
    cfg->tenant_id = c->tenant_id;
    cfg->tenant_id_len = c->tenant_id_len;
    memcpy(cfg->auth_type, c->auth_type, sizeof cfg->auth_type);
    cfg->auth_value = c->auth_value;
    cfg->auth_value_len = c->auth_value_len;
    cfg->ca_file = c->ca_file;
    cfg->timeout = c->timeout;
    cfg->connect_timeout = c->connect_timeout;
    cfg->retries = c->retries;
    cfg->insecure = c->insecure;
    cfg->max_body = c->max_body;
}

/* Idempotent: serves close, __gc and __close, and a half-built client. */
static void acc_client_cleanup(acc_client *c)
{
    int i;
    if (c->multi != NULL) {
        for (i = 0; i < c->pool_n; i++)
            if (c->pool[i]->easy != NULL)
                curl_multi_remove_handle(c->multi, c->pool[i]->easy);
    }
    for (i = 0; i < c->pool_n; i++) {
        acc_http_close(c->pool[i]);
        free(c->pool[i]);
    }
    free(c->pool);
    c->pool = NULL;
    c->pool_n = 0;
    if (c->multi != NULL) {
        curl_multi_cleanup(c->multi);
        c->multi = NULL;
    }
    acc_http_close(&c->main);
    if (c->headers != NULL) {
        acc_http_wipe_headers(c->headers);
        curl_slist_free_all(c->headers);
        c->headers = NULL;
    }
    if (c->auth_value != NULL) {
        memset(c->auth_value, 0, c->auth_value_len);
        free(c->auth_value);
        c->auth_value = NULL;
    }
    free(c->url);
    free(c->tenant_id);
    free(c->ca_file);
    c->url = c->tenant_id = c->ca_file = NULL;
    c->closed = 1;
}

static acc_client *acc_client_check(lua_State *L, int idx)
{
    acc_client *c = luaL_checkudata(L, idx, ACC_CLIENT_MT);
    if (c->closed)
        luaL_error(L, "accelerate: attempt to use a closed client");
    return c;
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

static int acc_client_add_header(acc_client *c, const char *name,
                                 const char *value, size_t len)
{
    char line[ACC_MAX_HEADER_VALUE + 64];
    struct curl_slist *h;
    int n = snprintf(line, sizeof line, "%s: %.*s", name, (int)len, value);
    if (n < 0 || (size_t)n >= sizeof line)
        return -1;
    h = curl_slist_append(c->headers, line);
    memset(line, 0, sizeof line);
    if (h == NULL)
        return -1;
    c->headers = h;
    return 0;
}

/* accelerate.new(opts) -> client | nil, err */
int acc_client_new(lua_State *L)
{
    acc_config cfg;
    acc_client *c;

    if (!acc_request_config(L, 1, &cfg)) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    /* Allocate, zero and attach the metatable before acquiring anything:
     * a raise below leaves a userdata whose __gc frees what was made. */
    c = lua_newuserdata(L, sizeof *c);
    memset(c, 0, sizeof *c);
    c->closed = 1;
    luaL_getmetatable(L, ACC_CLIENT_MT);
    lua_setmetatable(L, -2);

    c->url = acc_strndup(cfg.url, cfg.url_len);
    c->tenant_id = acc_strndup(cfg.tenant_id, cfg.tenant_id_len);
    c->auth_value = acc_strndup(cfg.auth_value, cfg.auth_value_len);
    c->ca_file = cfg.ca_file ? acc_strndup(cfg.ca_file, strlen(cfg.ca_file))
                             : NULL;
    c->url_len = cfg.url_len;
    c->tenant_id_len = cfg.tenant_id_len;
    c->auth_value_len = cfg.auth_value_len;
    memcpy(c->auth_type, cfg.auth_type, sizeof c->auth_type);
    c->timeout = cfg.timeout;
    c->connect_timeout = cfg.connect_timeout;
    c->retries = cfg.retries;
    c->insecure = cfg.insecure;
    c->max_body = cfg.max_body;
    if (c->url == NULL || c->tenant_id == NULL || c->auth_value == NULL ||
        (cfg.ca_file != NULL && c->ca_file == NULL))
        return luaL_error(L, "accelerate: out of memory");

    /* Exactly the documented headers; "Accept:" and "Expect:" remove what
     * libcurl would add on its own. */
    if (acc_client_add_header(c, "tenant-id", c->tenant_id,
                              c->tenant_id_len) != 0 ||
        acc_client_add_header(c, "auth-type", c->auth_type,
                              strlen(c->auth_type)) != 0 ||
        acc_client_add_header(c, "auth-value", c->auth_value,
                              c->auth_value_len) != 0 ||
        acc_client_add_header(c, "Content-Type", "application/json", 16) != 0 ||
        acc_client_add_header(c, "Accept", "", 0) != 0 ||
        acc_client_add_header(c, "Expect", "", 0) != 0)
        return luaL_error(L, "accelerate: out of memory");

    acc_client_config(c, &cfg);
    if (acc_http_open(&c->main, &cfg) != 0)
        return luaL_error(L, "accelerate: curl_easy_init failed");
    c->closed = 0;
    return 1;
}

/* ---- one call with retries -------------------------------------------- */

static int acc_err_retryable(lua_State *L, int err)
{
    int r;
    lua_getfield(L, err, "retryable");
    r = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return r;
}

static int acc_err_kind_is(lua_State *L, int err, const char *kind)
{
    int r;
    lua_getfield(L, err, "kind");
    r = lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), kind) == 0;
    lua_pop(L, 1);
    return r;
}

/* After a failed attempt: the error on top of the stack gets the final
 * retryable flag; returns the delay before the next attempt or -1 to stop.
 * Only GETs are retried: a duplicate backfill costs real compute.  Among
 * answered calls only HTTP 5xx/429/408 are; an api or decode error would
 * repeat. */
static double acc_client_next_delay(lua_State *L, acc_xfer *x, acc_call call,
                                    int attempt, int retries, double deadline)
{
    int err = lua_gettop(L);
    double delay, ra = -1;
    int retryable = acc_err_retryable(L, err);

    if (call == ACC_CALL_CREATE)
        return -1; /* decode and http.c already set retryable for create */
    if (!retryable || acc_err_kind_is(L, err, "api") ||
        acc_err_kind_is(L, err, "decode") || attempt >= retries)
        return -1;
    if (acc_err_kind_is(L, err, "http"))
        ra = acc_retry_after_parse(x->retry_after, x->retry_after_len);
    delay = acc_retry_delay(attempt + 1, ra);
    if (acc_now() + delay + ACC_MIN_ATTEMPT > deadline)
        return -1;
    return delay;
}

/* Leaves the result (returns 1) or an error (returns 0) on top. */
static int acc_client_perform(lua_State *L, acc_client *c, acc_call call,
                              const char *url, const char *body,
                              size_t body_len)
{
    double deadline = acc_now() + c->timeout;
    int attempt, top = lua_gettop(L);

    for (attempt = 0;; attempt++) {
        double remaining = deadline - acc_now(), delay;
        CURLcode rc;

        lua_settop(L, top);
        acc_http_setup(&c->main, c->headers, url, body, body_len, remaining,
                       c->connect_timeout);
        rc = curl_easy_perform(c->main.easy);
        if (rc == CURLE_OK) {
            long status = acc_http_status(&c->main);
            int ok = acc_decode_response(L, call, status, c->main.body.data,
                                         c->main.body.len, c->main.trace_id,
                                         c->main.trace_len);
            acc_buf_reset(&c->main.body);
            if (ok)
                return 1;
        } else {
            acc_http_error(L, &c->main, rc, call, c->timeout);
            acc_buf_reset(&c->main.body);
        }
        acc_error_redact(L, -1, c->auth_value, c->auth_value_len);
        delay = acc_client_next_delay(L, &c->main, call, attempt, c->retries,
                                      deadline);
        if (delay < 0)
            return 0;
        acc_sleep(delay);
    }
}

/* Inside nginx's Lua module every libcurl call stops the whole worker and
 * every request on it.  That cannot be refused outright (init phases and
 * tools that accept it are legitimate), so the first blocking call made
 * where cosockets would work logs a warning naming the fix, once per
 * process.  Outside nginx there is no `ngx` global and this costs one
 * lookup. */
static void acc_client_warn_in_nginx(lua_State *L)
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

static int acc_client_call(lua_State *L, acc_client *c, acc_call call,
                           int args)
{
    acc_config cfg;
    int top = lua_gettop(L);
    const char *url, *body = NULL;
    size_t body_len = 0;

    luaL_checkstack(L, 16, "accelerate: call");
    acc_client_warn_in_nginx(L);
    acc_client_config(c, &cfg);
    if (!acc_request_prepare(L, &cfg, call, args))
        return 0;
    url = lua_tostring(L, top + 3);
    if (lua_isstring(L, top + 4))
        body = lua_tolstring(L, top + 4, &body_len);
    if (acc_client_perform(L, c, call, url, body, body_len)) {
        lua_replace(L, top + 1);
        lua_settop(L, top + 1);
        return 1;
    }
    lua_replace(L, top + 1);
    lua_settop(L, top + 1);
    return 0;
}

static int acc_client_method(lua_State *L, acc_call call)
{
    acc_client *c = acc_client_check(L, 1);
    lua_settop(L, 2);
    if (acc_client_call(L, c, call, 2))
        return 1;
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

static int acc_client_create_task(lua_State *L)
{
    return acc_client_method(L, ACC_CALL_CREATE);
}

static int acc_client_list_instances(lua_State *L)
{
    return acc_client_method(L, ACC_CALL_LIST);
}

static int acc_client_task_detail(lua_State *L)
{
    return acc_client_method(L, ACC_CALL_DETAIL);
}

/* ---- instances iterator ----------------------------------------------- */

#define ACC_IT_CLIENT lua_upvalueindex(ACC_NUP + 1)
#define ACC_IT_ARGS lua_upvalueindex(ACC_NUP + 2)
#define ACC_IT_STATE lua_upvalueindex(ACC_NUP + 3)

static lua_Number acc_state_num(lua_State *L, const char *f)
{
    lua_Number n;
    lua_getfield(L, ACC_IT_STATE, f);
    n = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return n;
}

static void acc_state_set(lua_State *L, const char *f, lua_Number n)
{
    lua_pushnumber(L, n);
    lua_setfield(L, ACC_IT_STATE, f);
}

static int acc_client_instances_next(lua_State *L)
{
    acc_client *c = luaL_checkudata(L, ACC_IT_CLIENT, ACC_CLIENT_MT);

    for (;;) {
        lua_Number i, n, seen, total, size, page;
        lua_getfield(L, ACC_IT_STATE, "page");
        i = acc_state_num(L, "i");
        n = lua_istable(L, -1) ? (lua_Number)acc_rawlen(L, -1) : 0;
        if (i < n) {
            acc_state_set(L, "i", i + 1);
            lua_rawgeti(L, -1, (int)(i + 1));
            return 1;
        }
        lua_pop(L, 1);
        if (acc_state_num(L, "done") != 0)
            return 0;
        seen = acc_state_num(L, "seen");
        total = acc_state_num(L, "total");
        lua_getfield(L, ACC_IT_ARGS, "pageSize");
        size = lua_tonumber(L, -1);
        lua_getfield(L, ACC_IT_ARGS, "pageIndex");
        page = lua_tonumber(L, -1);
        lua_pop(L, 2);
        if (acc_state_num(L, "fetched") != 0) {
            /* total, when given, decides; otherwise a short page ends */
            if (n == 0 || (total > 0 && seen >= total) ||
                (total <= 0 && n < size)) {
                acc_state_set(L, "done", 1);
                return 0;
            }
            lua_pushnumber(L, page + 1);
            lua_setfield(L, ACC_IT_ARGS, "pageIndex");
        }
        if (c->closed)
            return luaL_error(L, "accelerate: attempt to use a closed client");
        if (!acc_client_call(L, c, ACC_CALL_LIST, ACC_IT_ARGS)) {
            acc_state_set(L, "done", 1);
            return lua_error(L);
        }
        lua_getfield(L, -1, "total");
        acc_state_set(L, "total", lua_isnumber(L, -1) ? lua_tonumber(L, -1) : 0);
        lua_pop(L, 1);
        lua_getfield(L, -1, "instances");
        acc_state_set(L, "seen", seen + (lua_Number)acc_rawlen(L, -1));
        lua_setfield(L, ACC_IT_STATE, "page");
        lua_pop(L, 1);
        acc_state_set(L, "i", 0);
        acc_state_set(L, "fetched", 1);
    }
}

/* client:instances(dagName [, {pageSize = 100}]) -> iterator; raises err */
static int acc_client_instances(lua_State *L)
{
    acc_client *c = acc_client_check(L, 1);
    acc_config cfg;
    int top;

    luaL_checkstring(L, 2);
    if (!lua_isnoneornil(L, 3))
        luaL_checktype(L, 3, LUA_TTABLE);
    lua_settop(L, 3);
    lua_createtable(L, 0, 3); /* 4: the list_instances arguments */
    lua_pushvalue(L, 2);
    lua_setfield(L, 4, "dagName");
    lua_pushinteger(L, 1);
    lua_setfield(L, 4, "pageIndex");
    if (lua_istable(L, 3))
        lua_getfield(L, 3, "pageSize");
    else
        lua_pushnil(L);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushinteger(L, ACC_DEFAULT_ITER_PAGE_SIZE);
    }
    lua_setfield(L, 4, "pageSize");
    /* validate now, so that a bad argument fails here, not mid-loop */
    acc_client_config(c, &cfg);
    top = lua_gettop(L);
    if (!acc_request_prepare(L, &cfg, ACC_CALL_LIST, 4))
        return lua_error(L);
    lua_settop(L, top);

    lua_pushvalue(L, ACC_UV_ERRMT);
    lua_pushvalue(L, ACC_UV_DECODE);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 4);
    lua_createtable(L, 0, 6);
    lua_pushcclosure(L, acc_client_instances_next, ACC_NUP + 3);
    return 1;
}

/* ---- task_details over a curl multi ------------------------------------ */

typedef struct acc_item {
    int attempt;
    int active;
    int done;
    double deadline;
    double not_before; /* > 0: waiting for a retry */
} acc_item;

/* luaL_error does not return; the explicit returns are for readers and
 * static analysers. */
static void acc_client_pool(lua_State *L, acc_client *c, int n)
{
    acc_config cfg;
    acc_xfer **p;

    acc_client_config(c, &cfg);
    if (c->multi == NULL) {
        c->multi = curl_multi_init();
        if (c->multi == NULL) {
            luaL_error(L, "accelerate: curl_multi_init failed");
            return;
        }
    }
    if (c->pool_n >= n)
        return;
    p = realloc(c->pool, (size_t)n * sizeof *p);
    if (p == NULL) {
        luaL_error(L, "accelerate: out of memory");
        return;
    }
    c->pool = p;
    while (c->pool_n < n) {
        acc_xfer *x = malloc(sizeof *x);
        if (x == NULL) {
            luaL_error(L, "accelerate: out of memory");
            return;
        }
        if (acc_http_open(x, &cfg) != 0) {
            free(x);
            luaL_error(L, "accelerate: curl_easy_init failed");
            return;
        }
        c->pool[c->pool_n++] = x;
    }
}

/* Starts the next item that may run now on the free slot x.  Waiting
 * retries go first, then new ids in order. */
static int acc_multi_start(lua_State *L, acc_client *c, acc_xfer *x,
                           acc_item *items, int m, int *next, int *waiting,
                           int urls, double now)
{
    int i, pick = -1;
    for (i = 0; *waiting > 0 && i < *next; i++) {
        if (!items[i].done && !items[i].active && items[i].not_before > 0 &&
            items[i].not_before <= now) {
            pick = i;
            (*waiting)--;
            break;
        }
    }
    if (pick < 0 && *next < m) {
        pick = (*next)++;
        items[pick].deadline = now + c->timeout;
    }
    if (pick < 0)
        return 0;
    lua_rawgeti(L, urls, pick + 1);
    acc_http_setup(x, c->headers, lua_tostring(L, -1), NULL, 0,
                   items[pick].deadline - now, c->connect_timeout);
    lua_pop(L, 1); /* CURLOPT_URL copied the string */
    items[pick].active = 1;
    items[pick].not_before = 0;
    x->item = pick;
    if (curl_multi_add_handle(c->multi, x->easy) != CURLM_OK) {
        items[pick].active = 0;
        x->item = -1;
        luaL_error(L, "accelerate: curl_multi_add_handle failed");
    }
    return 1;
}

/* client:task_details(ids [, {concurrency = 8}]) -> details, errors|nil */
static int acc_client_task_details(lua_State *L)
{
    acc_client *c = acc_client_check(L, 1);
    acc_config cfg;
    int n, m = 0, i, conc = ACC_DEFAULT_CONCURRENCY, next = 0, finished = 0;
    int waiting = 0; /* ids waiting for a retry: scanned only when > 0 */
    int details, errors, keys, urls, seen;
    acc_item *items;

    luaL_checktype(L, 2, LUA_TTABLE);
    acc_client_warn_in_nginx(L);
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        lua_getfield(L, 3, "concurrency");
        if (!lua_isnil(L, -1)) {
            lua_Number d;
            if (lua_type(L, -1) != LUA_TNUMBER)
                return luaL_error(L, "accelerate: task_details: concurrency "
                                     "must be a number");
            d = lua_tonumber(L, -1);
            if (!(d >= 1 && d <= ACC_MAX_CONCURRENCY && d == floor(d))) {
                lua_pushnil(L);
                acc_error_newf(L, "invalid", "task_details: concurrency must "
                               "be an integer from 1 to %d",
                               ACC_MAX_CONCURRENCY);
                return 2;
            }
            conc = (int)d;
        }
        lua_pop(L, 1);
    }
    lua_settop(L, 2);
    luaL_checkstack(L, 48, "accelerate: task_details");
    n = (int)acc_rawlen(L, 2);
    lua_newtable(L);
    details = lua_gettop(L);
    lua_newtable(L);
    errors = lua_gettop(L);
    lua_newtable(L);
    keys = lua_gettop(L);
    lua_newtable(L);
    urls = lua_gettop(L);
    lua_newtable(L);
    seen = lua_gettop(L);

    /* Prepare every request first: invalid ids are reported, not sent, and
     * a wrong type raises before any transfer starts. */
    acc_client_config(c, &cfg);
    for (i = 1; i <= n; i++) {
        int top;
        lua_rawgeti(L, 2, i);
        top = lua_gettop(L);
        if (lua_type(L, top) != LUA_TSTRING && lua_type(L, top) != LUA_TNUMBER)
            return luaL_error(L, "accelerate: task_details: ids[%d] must be a "
                                 "string or an integer, got %s",
                              i, luaL_typename(L, top));
        if (!acc_request_prepare(L, &cfg, ACC_CALL_DETAIL, top)) {
            lua_pushvalue(L, top);
            if (lua_type(L, -1) == LUA_TNUMBER) {
                char buf[64];
                snprintf(buf, sizeof buf, "%.17g", (double)lua_tonumber(L, -1));
                lua_pop(L, 1);
                lua_pushstring(L, buf);
            }
            lua_insert(L, -2);
            lua_rawset(L, errors);
            lua_settop(L, top - 1);
            continue;
        }
        /* top+1 path, top+2 query, top+3 url, top+4 body */
        acc_request_id(L, top);
        lua_pushvalue(L, -1);
        lua_rawget(L, seen);
        if (!lua_isnil(L, -1)) { /* duplicate id: one request */
            lua_settop(L, top - 1);
            continue;
        }
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushboolean(L, 1);
        lua_rawset(L, seen);
        m++;
        lua_rawseti(L, keys, m);
        lua_pushvalue(L, top + 3);
        lua_rawseti(L, urls, m);
        lua_settop(L, top - 1);
    }
    if (m == 0)
        goto done;
    if (conc > m)
        conc = m;
    acc_client_pool(L, c, conc);
    items = lua_newuserdata(L, (size_t)m * sizeof *items); /* GC-owned */
    memset(items, 0, (size_t)m * sizeof *items);
    for (i = 0; i < c->pool_n; i++) {
        curl_multi_remove_handle(c->multi, c->pool[i]->easy);
        c->pool[i]->item = -1;
    }

    while (finished < m) {
        double now = acc_now();
        int running = 0, active = 0, left;
        CURLMsg *msg;

        for (i = 0; i < conc; i++) {
            acc_xfer *x = c->pool[i];
            if (x->item < 0)
                acc_multi_start(L, c, x, items, m, &next, &waiting, urls,
                                now);
            if (x->item >= 0)
                active++;
        }
        if (active == 0) {
            /* only retries waiting for their time */
            double wake = 0;
            for (i = 0; i < m; i++)
                if (!items[i].done && items[i].not_before > 0 &&
                    (wake == 0 || items[i].not_before < wake))
                    wake = items[i].not_before;
            acc_sleep(wake - now);
            continue;
        }
        curl_multi_perform(c->multi, &running);
        while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
            acc_xfer *x = NULL;
            acc_item *it;
            int item, ok;
            CURLcode rc = msg->data.result;
            double delay;

            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            curl_multi_remove_handle(c->multi, msg->easy_handle);
            item = x->item;
            x->item = -1;
            it = &items[item];
            it->active = 0;
            if (rc == CURLE_OK) {
                ok = acc_decode_response(L, ACC_CALL_DETAIL, acc_http_status(x),
                                         x->body.data, x->body.len,
                                         x->trace_id, x->trace_len);
            } else {
                ok = 0;
                acc_http_error(L, x, rc, ACC_CALL_DETAIL, c->timeout);
            }
            acc_buf_reset(&x->body);
            lua_rawgeti(L, keys, item + 1);
            lua_insert(L, -2); /* key, value */
            if (ok) {
                lua_rawset(L, details);
                it->done = 1;
                finished++;
                continue;
            }
            acc_error_redact(L, -1, c->auth_value, c->auth_value_len);
            delay = acc_client_next_delay(L, x, ACC_CALL_DETAIL, it->attempt,
                                          c->retries, it->deadline);
            if (delay >= 0) {
                it->attempt++;
                it->not_before = acc_now() + delay;
                if (it->not_before <= 0)
                    it->not_before = 1e-9;
                waiting++;
                lua_pop(L, 2);
                continue;
            }
            lua_rawset(L, errors);
            it->done = 1;
            finished++;
        }
        if (finished < m && running > 0) {
            int ms = 1000;
            now = acc_now();
            for (i = 0; waiting > 0 && i < m; i++)
                if (!items[i].done && !items[i].active &&
                    items[i].not_before > 0) {
                    double w = (items[i].not_before - now) * 1000.0;
                    if (w < ms)
                        ms = w < 0 ? 0 : (int)w;
                }
            curl_multi_poll(c->multi, NULL, 0, ms, NULL);
        }
    }

done:
    lua_pushvalue(L, details);
    lua_pushnil(L);
    if (lua_next(L, errors) != 0) {
        lua_pop(L, 2);
        lua_pushvalue(L, errors);
    } else {
        lua_pushnil(L);
    }
    return 2;
}

/* ---- lifecycle and metatable ------------------------------------------ */

static int acc_client_close(lua_State *L)
{
    acc_client *c = luaL_checkudata(L, 1, ACC_CLIENT_MT);
    acc_client_cleanup(c);
    return 0;
}

static int acc_client_gc(lua_State *L)
{
    acc_client *c = luaL_checkudata(L, 1, ACC_CLIENT_MT);
    acc_client_cleanup(c);
    return 0;
}

static int acc_client_tostring(lua_State *L)
{
    acc_client *c = luaL_checkudata(L, 1, ACC_CLIENT_MT);
    if (c->closed || c->url == NULL)
        lua_pushfstring(L, "accelerate.client (closed): %p", (void *)c);
    else
        lua_pushfstring(L, "accelerate.client{url=%s, tenant_id=%s, "
                           "auth_type=%s}: %p",
                        c->url, c->tenant_id, c->auth_type, (void *)c);
    return 1;
}

static const luaL_Reg acc_client_methods[] = {
    {"create_task", acc_client_create_task},
    {"list_instances", acc_client_list_instances},
    {"task_detail", acc_client_task_detail},
    {"instances", acc_client_instances},
    {"task_details", acc_client_task_details},
    {"close", acc_client_close},
    {NULL, NULL}};

static const luaL_Reg acc_client_meta[] = {
    {"__gc", acc_client_gc},
    {"__tostring", acc_client_tostring},
#if ACC_HAS_CLOSE
    {"__close", acc_client_gc},
#endif
    {NULL, NULL}};

/* Expects the ACC_NUP upvalues on the stack top and pops them. */
void acc_client_create_meta(lua_State *L)
{
    luaL_newmetatable(L, ACC_CLIENT_MT); /* uv1 uv2 mt */
    lua_newtable(L);                     /* uv1 uv2 mt methods */
    lua_pushvalue(L, -4);
    lua_pushvalue(L, -4);
    acc_setfuncs(L, acc_client_methods, ACC_NUP);
    lua_setfield(L, -2, "__index");
    lua_pushvalue(L, -3);
    lua_pushvalue(L, -3);
    acc_setfuncs(L, acc_client_meta, ACC_NUP);
    lua_pushliteral(L, ACC_CLIENT_MT);
    lua_setfield(L, -2, "__name");
    lua_pop(L, 3);
}
