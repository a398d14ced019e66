/* The campaign notifier's sender for the command: JSON POSTs to a
 * notify URL (docs/campaign.md, "notify") that never block the caller.
 * post() hands a transfer to a libcurl multi handle and returns at once;
 * pump(wait) drives the transfers for up to `wait` seconds and returns
 * those that ended.  Retries, the queue and the payloads are Lua's
 * (lua/accelerate/notify.lua): this file only moves bytes.
 *
 *   local n = core.notifier()
 *   local id, err = n:post(url, body, timeout)
 *   local done = n:pump(wait)   -- {{id =, ok =, status =, error =}, ...}
 *   n:pending()  n:close()      -- close (and __gc) cut what is in flight
 *
 * A wait ends early when a transfer ends or the command is asked to stop
 * (SIGINT/SIGTERM: acc_process_stopping), so a Ctrl-C is as prompt as in
 * the plain sleep.  Every transfer is C memory in a list the userdata
 * owns, linked before anything can raise, so __gc frees all of it. */
#include <stdlib.h>
#include <string.h>

#include "acc.h"

#define ACC_NOTIFY_MT "accelerate.notifier"
#define ACC_NOTIFY_SLICE_MS 100 /* the longest wait without a stop check */
#define ACC_NOTIFY_MAX_BODY (1024u * 1024u)

typedef struct acc_notify_xfer {
    struct acc_notify_xfer *next;
    CURL *easy;
    struct curl_slist *headers;
    lua_Integer id;
    char errbuf[CURL_ERROR_SIZE];
} acc_notify_xfer;

typedef struct acc_notify {
    CURLM *multi;
    acc_notify_xfer *head;
    lua_Integer next_id;
    int count;
} acc_notify;

/* The answer's body is not wanted: swallowed. */
static size_t acc_notify_discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

static void acc_notify_free_xfer(acc_notify *n, acc_notify_xfer *x)
{
    acc_notify_xfer **pp;
    for (pp = &n->head; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == x) {
            *pp = x->next;
            n->count--;
            break;
        }
    }
    if (x->easy != NULL) {
        if (n->multi != NULL)
            curl_multi_remove_handle(n->multi, x->easy);
        curl_easy_cleanup(x->easy);
    }
    curl_slist_free_all(x->headers);
    free(x);
}

static void acc_notify_close_all(acc_notify *n)
{
    while (n->head != NULL)
        acc_notify_free_xfer(n, n->head);
    if (n->multi != NULL) {
        curl_multi_cleanup(n->multi);
        n->multi = NULL;
    }
}

static acc_notify *acc_notify_check(lua_State *L)
{
    acc_notify *n = (acc_notify *)luaL_checkudata(L, 1, ACC_NOTIFY_MT);
    if (n->multi == NULL)
        luaL_error(L, "accelerate: the notifier is closed");
    return n;
}

/* The options of one POST; 0, or -1 when libcurl refused one. */
static int acc_notify_setup(acc_notify_xfer *x, const char *url,
                            const char *body, size_t len, double timeout)
{
    CURL *e = x->easy;
    long ms = (long)(timeout * 1000.0);
    int bad = 0;
    bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
    bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
#else
    bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS,
                            (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) != CURLE_OK;
#endif
    bad |= curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, "accelerate/" ACC_VERSION) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ms) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, acc_notify_discard) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)x) != CURLE_OK;
    return bad ? -1 : 0;
}

/* n:post(url, body, timeout) -> id | nil, message: the transfer started
 * (nothing sent yet: pump sends it). */
static int acc_notify_post(lua_State *L)
{
    acc_notify *n = acc_notify_check(L);
    size_t ulen, len;
    const char *url = luaL_checklstring(L, 2, &ulen);
    const char *body = luaL_checklstring(L, 3, &len);
    double timeout = (double)luaL_checknumber(L, 4);
    acc_notify_xfer *x;
    struct curl_slist *h;

    if (ulen == 0 || ulen > ACC_MAX_URL || strlen(url) != ulen ||
        (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
        return luaL_argerror(L, 2, "an http(s) URL");
    if (len > ACC_NOTIFY_MAX_BODY || strlen(body) != len)
        return luaL_argerror(L, 3, "a JSON text up to 1 MiB");
    if (!(timeout > 0) || timeout > 3600)
        return luaL_argerror(L, 4, "seconds, > 0 and <= 3600");
    x = (acc_notify_xfer *)calloc(1, sizeof(*x));
    if (x == NULL) {
        lua_pushnil(L);
        lua_pushliteral(L, "out of memory");
        return 2;
    }
    x->next = n->head; /* owned from here on: close frees it */
    n->head = x;
    n->count++;
    x->easy = curl_easy_init();
    h = curl_slist_append(NULL, "Content-Type: application/json");
    if (h != NULL) {
        x->headers = h;
        h = curl_slist_append(h, "Expect:"); /* no 100-continue wait */
    }
    if (x->easy == NULL || h == NULL ||
        acc_notify_setup(x, url, body, len, timeout) != 0 ||
        curl_multi_add_handle(n->multi, x->easy) != CURLM_OK) {
        acc_notify_free_xfer(n, x);
        lua_pushnil(L);
        lua_pushliteral(L, "libcurl refused the transfer");
        return 2;
    }
    x->id = ++n->next_id;
    lua_pushinteger(L, x->id);
    return 1;
}

/* Appends the transfers that ended to the table on top; returns how many. */
static int acc_notify_collect(lua_State *L, acc_notify *n)
{
    CURLMsg *msg;
    int left, got = 0;
    while ((msg = curl_multi_info_read(n->multi, &left)) != NULL) {
        acc_notify_xfer *x = NULL;
        long status = 0;
        CURLcode code;
        char why[CURL_ERROR_SIZE + 64];
        lua_Integer id;
        if (msg->msg != CURLMSG_DONE)
            continue;
        code = msg->data.result;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        if (x == NULL)
            continue;
        id = x->id;
        if (code != CURLE_OK)
            snprintf(why, sizeof(why), "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(code));
        else if (status < 200 || status > 299)
            snprintf(why, sizeof(why), "HTTP %ld", status);
        else
            why[0] = '\0';
        acc_notify_free_xfer(n, x); /* before anything below may raise */
        lua_createtable(L, 0, 4);
        lua_pushinteger(L, id);
        lua_setfield(L, -2, "id");
        lua_pushboolean(L, why[0] == '\0');
        lua_setfield(L, -2, "ok");
        lua_pushinteger(L, (lua_Integer)status);
        lua_setfield(L, -2, "status");
        if (why[0] != '\0') {
            lua_pushstring(L, why);
            lua_setfield(L, -2, "error");
        }
        lua_rawseti(L, -2, (int)acc_rawlen(L, -2) + 1);
        got++;
    }
    return got;
}

/* n:pump([wait = 0[, through_stop]]) -> {{id, ok, status, error}, ...}:
 * drives the transfers, waiting on their sockets for up to `wait` seconds,
 * or sleeping it (acc_sleep) when none is in flight; returns early once
 * one ends or a stop is requested.  through_stop: a stop requested does
 * not end the wait on the sockets (the bounded flush after a Ctrl-C). */
static int acc_notify_pump(lua_State *L)
{
    acc_notify *n = acc_notify_check(L);
    double wait = (double)luaL_optnumber(L, 2, 0);
    int through_stop = lua_toboolean(L, 3);
    double until;
    int running = 0;

    if (!(wait >= 0))
        wait = 0;
    if (wait > 86400)
        wait = 86400;
    until = acc_now() + wait;
    lua_newtable(L);
    for (;;) {
        double left;
        curl_multi_perform(n->multi, &running);
        if (acc_notify_collect(L, n) > 0 ||
            (acc_process_stopping() && !through_stop))
            break;
        left = until - acc_now();
        if (left <= 0)
            break;
        if (n->count == 0) {
            acc_sleep(left); /* at once when a stop is requested */
            break;
        }
        if (left > ACC_NOTIFY_SLICE_MS / 1000.0)
            left = ACC_NOTIFY_SLICE_MS / 1000.0;
#if LIBCURL_VERSION_NUM >= 0x074200
        curl_multi_poll(n->multi, NULL, 0, (int)(left * 1000.0) + 1, NULL);
#else
        curl_multi_wait(n->multi, NULL, 0, (int)(left * 1000.0) + 1, NULL);
#endif
    }
    return 1;
}

/* n:pending() -> the transfers in flight */
static int acc_notify_pending(lua_State *L)
{
    acc_notify *n = (acc_notify *)luaL_checkudata(L, 1, ACC_NOTIFY_MT);
    lua_pushinteger(L, (lua_Integer)n->count);
    return 1;
}

/* n:close() and __gc: what is in flight is cut, everything freed. */
static int acc_notify_close(lua_State *L)
{
    acc_notify *n = (acc_notify *)luaL_checkudata(L, 1, ACC_NOTIFY_MT);
    acc_notify_close_all(n);
    return 0;
}

static const luaL_Reg acc_notify_methods[] = {
    {"post", acc_notify_post},
    {"pump", acc_notify_pump},
    {"pending", acc_notify_pending},
    {"close", acc_notify_close},
    {NULL, NULL}};

/* core.notifier() -> a notifier (its metatable made on first use) */
static int acc_notify_new(lua_State *L)
{
    acc_notify *n = (acc_notify *)lua_newuserdata(L, sizeof(*n));
    memset(n, 0, sizeof(*n));
    if (luaL_newmetatable(L, ACC_NOTIFY_MT)) {
        lua_pushcfunction(L, acc_notify_close);
        lua_setfield(L, -2, "__gc");
        lua_newtable(L);
        acc_setfuncs(L, acc_notify_methods, 0);
        lua_setfield(L, -2, "__index");
        lua_pushliteral(L, ACC_NOTIFY_MT);
        lua_setfield(L, -2, "__name");
    }
    lua_setmetatable(L, -2);
    n->multi = curl_multi_init(); /* after setmetatable: __gc frees it */
    if (n->multi == NULL)
        return luaL_error(L, "accelerate: curl_multi_init failed");
    return 1;
}

const luaL_Reg acc_notify_lib[] = {
    {"notifier", acc_notify_new},
    {NULL, NULL}};
