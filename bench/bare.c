/* bench/bare.c - the reference "bare binding" of bench/core-vs-peers: the
 * least a Lua binding of libcurl can be.  One easy handle, made once and
 * reused (keep-alive), the request headers the accelerate client sends
 * (tenant-id, auth-type, auth-value from the environment, Content-Type),
 * and get(url) returning the body as a Lua string: no retries, no error
 * objects, no decoding (the driver hands the body to cjson.decode).  Not
 * shipped; what task_detail is measured against, instruction for
 * instruction.
 *
 *   local bare = require "bare"; local body = bare.get(url)
 *
 * Built by bench/core-vs-peers:
 *   gcc -O2 -shared -fPIC -o build/bench/bare.so bench/bare.c \
 *       $(pkg-config --cflags lua5.4) $(pkg-config --cflags --libs libcurl) */
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <lua.h>
#include <lauxlib.h>

static CURL *easy;
static struct curl_slist *headers;
static char *buf;
static size_t len, cap;

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    size_t n = size * nmemb;
    (void)ud;
    if (len + n > cap) {
        size_t c = cap ? cap : 4096;
        char *b;
        while (c < len + n)
            c *= 2;
        b = realloc(buf, c);
        if (b == NULL)
            return 0;
        buf = b;
        cap = c;
    }
    memcpy(buf + len, p, n);
    len += n;
    return n;
}

static int add_header(lua_State *L, const char *name, const char *env)
{
    const char *v = getenv(env);
    struct curl_slist *h;
    lua_pushfstring(L, "%s: %s", name, v ? v : "");
    h = curl_slist_append(headers, lua_tostring(L, -1));
    lua_pop(L, 1);
    if (h == NULL)
        return luaL_error(L, "bare: out of memory");
    headers = h;
    return 0;
}

/* bare.get(url) -> body | error raised on a transport failure or non-200 */
static int bare_get(lua_State *L)
{
    const char *url = luaL_checkstring(L, 1);
    long status = 0;
    CURLcode rc;
    len = 0;
    curl_easy_setopt(easy, CURLOPT_URL, url);
    rc = curl_easy_perform(easy);
    if (rc != CURLE_OK)
        return luaL_error(L, "bare: %s", curl_easy_strerror(rc));
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200)
        return luaL_error(L, "bare: HTTP %d", (int)status);
    lua_pushlstring(L, buf ? buf : "", len);
    return 1;
}

int luaopen_bare(lua_State *L)
{
    static const luaL_Reg fns[] = {{"get", bare_get}, {NULL, NULL}};
    if (easy == NULL) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        easy = curl_easy_init();
        if (easy == NULL)
            return luaL_error(L, "bare: curl_easy_init failed");
        add_header(L, "tenant-id", "ACCELERATE_TENANT_ID");
        add_header(L, "auth-type", "ACCELERATE_AUTH_TYPE");
        add_header(L, "auth-value", "ACCELERATE_AUTH_VALUE");
        add_header(L, "Content-Type", "application/json");
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
    }
    luaL_newlib(L, fns);
    return 1;
}
