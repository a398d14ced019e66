/* The curl multi engine behind request_many: a pool of easy handles (kept
 * across calls for connection reuse), each running one item at a time.
 * Results go into the items' tables: result, or err and retry_after. */
#include <stdlib.h>
#include <string.h>

#include "multi.h"

/* Idempotent. */
void acc_multi_close(acc_multi *m)
{
    int i;
    if (m->handle != NULL) {
        for (i = 0; i < m->pool_n; i++)
            if (m->pool[i]->easy != NULL)
                curl_multi_remove_handle(m->handle, m->pool[i]->easy);
    }
    for (i = 0; i < m->pool_n; i++) {
        acc_http_close(m->pool[i]);
        free(m->pool[i]);
    }
    free(m->pool);
    m->pool = NULL;
    m->pool_n = 0;
    if (m->handle != NULL) {
        curl_multi_cleanup(m->handle);
        m->handle = NULL;
    }
}

/* Grows the pool to n handles.  luaL_error does not return; the explicit
 * returns are for readers and static analysers. */
static void acc_multi_pool(lua_State *L, acc_multi *m, const acc_config *cfg,
                           int n)
{
    acc_xfer **p;

    if (m->handle == NULL) {
        m->handle = curl_multi_init();
        if (m->handle == NULL) {
            luaL_error(L, "accelerate: curl_multi_init failed");
            return;
        }
    }
    if (m->pool_n >= n)
        return;
    p = realloc(m->pool, (size_t)n * sizeof *p);
    if (p == NULL) {
        luaL_error(L, "accelerate: out of memory");
        return;
    }
    m->pool = p;
    while (m->pool_n < n) {
        acc_xfer *x = malloc(sizeof *x);
        if (x == NULL) {
            luaL_error(L, "accelerate: out of memory");
            return;
        }
        if (acc_http_open(x, cfg) != 0) {
            free(x);
            luaL_error(L, "accelerate: curl_easy_init failed");
            return;
        }
        m->pool[m->pool_n++] = x;
    }
}

/* Stores the error on the stack top into item i (popping it), with the
 * transfer's Retry-After when there was an answer. */
static void acc_multi_fail(lua_State *L, int items, int i, const acc_config *cfg,
                           double retry_after)
{
    acc_error_redact(L, -1, cfg->auth_value, cfg->auth_value_len);
    lua_rawgeti(L, items, i + 1);
    lua_insert(L, -2);
    lua_setfield(L, -2, "err");
    if (retry_after >= 0) {
        lua_pushnumber(L, (lua_Number)retry_after);
        lua_setfield(L, -2, "retry_after");
    }
    lua_pop(L, 1);
}

/* The item's deadline, set to now + budget when it has none. */
static double acc_multi_deadline(lua_State *L, int item, double now,
                                 double budget)
{
    double d;
    lua_getfield(L, item, "deadline");
    if (lua_type(L, -1) == LUA_TNUMBER) {
        d = (double)lua_tonumber(L, -1);
    } else {
        d = now + budget;
        lua_pushnumber(L, (lua_Number)d);
        lua_setfield(L, item, "deadline");
    }
    lua_pop(L, 1);
    return d;
}

/* Starts item i on slot x; returns 1 when started, 0 when the item ended
 * at once (invalid, or no time left). */
static int acc_multi_start(lua_State *L, acc_multi *m, acc_xfer *x,
                           const acc_config *cfg, struct curl_slist *headers,
                           acc_call call, int items, int i, double budget)
{
    int top = lua_gettop(L), item;
    double now = acc_now(), deadline;

    lua_rawgeti(L, items, i + 1);
    item = top + 1;
    lua_getfield(L, item, "args"); /* top + 2 */
    if (!acc_request_prepare(L, cfg, call, top + 2)) {
        acc_multi_fail(L, items, i, cfg, -1);
        lua_settop(L, top);
        return 0;
    }
    if (acc_process_stopping()) {
        /* the command was asked to stop: nothing more is started */
        acc_http_interrupted(L, call, 0, 0);
        acc_multi_fail(L, items, i, cfg, -1);
        lua_settop(L, top);
        return 0;
    }
    deadline = acc_multi_deadline(L, item, now, budget);
    if (!(deadline - now > 0)) {
        acc_error_newf(L, "timeout", "%s: no time left of the call's %.3g s",
                       acc_request_call_name(call), cfg->timeout);
        acc_error_facts(L, -1, "no_time", 0, 0);
        acc_multi_fail(L, items, i, cfg, -1);
        lua_settop(L, top);
        return 0;
    }
    /* top+3 path, top+4 query, top+5 url (CURLOPT_URL copies it) */
    acc_http_setup(x, headers, lua_tostring(L, top + 5), NULL, 0, 0,
                   deadline - now, cfg->connect_timeout);
    lua_settop(L, top);
    x->item = i;
    if (curl_multi_add_handle(m->handle, x->easy) != CURLM_OK) {
        x->item = -1;
        luaL_error(L, "accelerate: curl_multi_add_handle failed");
    }
    return 1;
}

/* One finished transfer: its result or error goes into its item. */
static void acc_multi_done(lua_State *L, acc_multi *m, CURLMsg *msg,
                           const acc_config *cfg, acc_call call, int items)
{
    acc_xfer *x = NULL;
    int i, ok;

    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
    curl_multi_remove_handle(m->handle, msg->easy_handle);
    i = x->item;
    x->item = -1;
    if (msg->data.result == CURLE_OK) {
        ok = acc_decode_response(L, call, acc_http_status(x), x->body.data,
                                 x->body.len, x->trace_id, x->trace_len,
                                 cfg->auth_value, cfg->auth_value_len);
    } else {
        ok = 0;
        acc_http_error(L, x, msg->data.result, call, cfg->timeout);
    }
    acc_buf_reset(&x->body);
    if (ok) {
        lua_rawgeti(L, items, i + 1);
        lua_insert(L, -2);
        lua_setfield(L, -2, "result");
        lua_pop(L, 1);
    } else {
        acc_multi_fail(L, items, i, cfg, x->retry_after);
    }
}

void acc_multi_run(lua_State *L, acc_multi *m, const acc_config *cfg,
                   struct curl_slist *headers, acc_call call, int items,
                   int conc, double budget)
{
    int n = (int)acc_rawlen(L, items), next = 0, finished = 0, i;

    if (n == 0)
        return;
    luaL_checkstack(L, 32, "accelerate: request_many");
    if (conc > n)
        conc = n;
    acc_multi_pool(L, m, cfg, conc);
    for (i = 0; i < m->pool_n; i++) {
        curl_multi_remove_handle(m->handle, m->pool[i]->easy);
        m->pool[i]->item = -1;
    }
    while (finished < n) {
        int running = 0, left;
        CURLMsg *msg;

        for (i = 0; i < conc; i++) {
            acc_xfer *x = m->pool[i];
            while (x->item < 0 && next < n)
                if (!acc_multi_start(L, m, x, cfg, headers, call, items,
                                     next++, budget))
                    finished++;
        }
        if (finished >= n)
            break;
        curl_multi_perform(m->handle, &running);
        while ((msg = curl_multi_info_read(m->handle, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            acc_multi_done(L, m, msg, cfg, call, items);
            finished++;
        }
        if (finished < n && running > 0)
            curl_multi_poll(m->handle, NULL, 0, 1000, NULL);
    }
}
