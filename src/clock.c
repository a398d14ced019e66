/* The monotonic clock and the sleep of the blocking transport.  The call
 * policy (lua/accelerate/client.lua) measures deadlines and waits between
 * retries with these. */
#include <time.h>

#include "acc.h"

double acc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Returns 0 after the whole wait, -1 when a signal cut it short or the
 * command was asked to stop (acc_process_wait: then it returns at once).
 * It does not resume after EINTR: the interpreter's SIGINT hook runs only
 * once control is back in Lua, so a restarted sleep would hold Ctrl-C for
 * up to a whole back-off. */
int acc_sleep(double seconds)
{
    struct timespec ts;
    if (acc_process_stopping())
        return -1;
    if (!(seconds > 0))
        return 0;
    if (seconds > 1e9)
        seconds = 1e9;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    return acc_process_wait(&ts);
}

/* accelerate.sleep(seconds) -> true, or false when a signal ended it */
static int acc_clock_lua_sleep(lua_State *L)
{
    lua_pushboolean(L, acc_sleep((double)luaL_checknumber(L, 1)) == 0);
    return 1;
}

/* accelerate.now() -> seconds of a monotonic clock */
static int acc_clock_lua_now(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)acc_now());
    return 1;
}

const luaL_Reg acc_clock_lib[] = {
    {"sleep", acc_clock_lua_sleep},
    {"now", acc_clock_lua_now},
    {NULL, NULL}};
