/* The retry arithmetic of the call policy: back-off with jitter, and the
 * reading of Retry-After.  Which errors are retried is decided in
 * lua/accelerate/client.lua; how long to wait is decided here, once, for
 * both transports. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "acc.h"

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
 * Retry-After wins, within [ACC_RETRY_FLOOR, ACC_RETRY_AFTER_CAP]: a
 * "Retry-After: 0" must not turn the retries into a burst.  Otherwise
 * exponential backoff, capped, with the upper half jittered so that
 * clients do not retry in lockstep. */
double acc_retry_delay(int attempt, double retry_after)
{
    double d;
    if (retry_after >= 0) {
        if (retry_after > ACC_RETRY_AFTER_CAP)
            return ACC_RETRY_AFTER_CAP;
        return retry_after < ACC_RETRY_FLOOR ? ACC_RETRY_FLOOR : retry_after;
    }
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

    if (s == NULL)
        return -1;
    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= sizeof buf)
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

/* The first readable value of a Retry-After given as a string, a number,
 * or an array of the lines a server repeated; -1 when there is none. */
static double acc_retry_after_value(lua_State *L, int idx)
{
    size_t len, i, n;
    const char *s;
    double v;

    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
        v = (double)lua_tonumber(L, idx);
        return v >= 0 ? v : -1;
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &len);
        return acc_retry_after_parse(s, len);
    case LUA_TTABLE:
        n = acc_rawlen(L, idx);
        for (i = 1; i <= n && i <= 16; i++) {
            lua_rawgeti(L, idx, (int)i);
            v = lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER
                    ? acc_retry_after_value(L, lua_gettop(L))
                    : -1;
            lua_pop(L, 1);
            if (v >= 0)
                return v;
        }
        return -1;
    default:
        return -1;
    }
}

/* accelerate.retry_after(value) -> seconds | nil.  Never raises: what a
 * server sends is data, not an argument error. */
static int acc_retry_lua_after(lua_State *L)
{
    double v = acc_retry_after_value(L, 1);
    if (v < 0)
        lua_pushnil(L);
    else
        lua_pushnumber(L, (lua_Number)v);
    return 1;
}

/* accelerate.retry_delay(attempt [, retry_after]) -> seconds */
static int acc_retry_lua_delay(lua_State *L)
{
    lua_Number at = luaL_checknumber(L, 1);
    int attempt = at > 1000 ? 1000 : (at >= 1 ? (int)at : 1);
    lua_pushnumber(L, (lua_Number)acc_retry_delay(attempt,
                                                 acc_retry_after_value(L, 2)));
    return 1;
}

const luaL_Reg acc_retry_lib[] = {
    {"retry_delay", acc_retry_lua_delay},
    {"retry_after", acc_retry_lua_after},
    {NULL, NULL}};
