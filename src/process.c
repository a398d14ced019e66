/* What the command needs from its process: holding off an interrupt across
 * a window that must not be cut (a create's answer is in hand and not yet
 * journaled), and the size of its terminal. */
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "acc.h"

static int acc_process_mask(int how)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    return sigprocmask(how, &set, NULL);
}

/* accelerate.defer_signals() -> true | nil: SIGINT, SIGTERM and SIGHUP are
 * held (not lost) until allow_signals. */
static int acc_process_defer(lua_State *L)
{
    if (acc_process_mask(SIG_BLOCK) != 0)
        lua_pushnil(L);
    else
        lua_pushboolean(L, 1);
    return 1;
}

/* accelerate.allow_signals() -> true | nil: a signal that arrived in the
 * window is delivered now (the interpreter's SIGINT hook then raises at the
 * next Lua instruction). */
static int acc_process_allow(lua_State *L)
{
    if (acc_process_mask(SIG_UNBLOCK) != 0)
        lua_pushnil(L);
    else
        lua_pushboolean(L, 1);
    return 1;
}

/* The state whose next Lua instruction a trapped SIGTERM interrupts. */
static lua_State *volatile acc_term_state = NULL;

/* The hook a trapped SIGTERM sets: the same error the interpreter raises
 * for SIGINT, so one code path handles both. */
static void acc_process_term_stop(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted!");
}

/* As lua.c does for SIGINT: a second signal ends the process at once. */
static void acc_process_term_action(int sig)
{
    signal(sig, SIG_DFL);
    if (acc_term_state != NULL)
        lua_sethook(acc_term_state, acc_process_term_stop,
                    LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT, 1);
}

/* accelerate.interrupt_on_sigterm() -> true | nil: from now on SIGTERM
 * interrupts the calling Lua thread as Ctrl-C does ("interrupted!" raised at
 * its next instruction) instead of ending the process, so that a command
 * can write down where it stands and exit 130.  For a command's main
 * thread only (never inside nginx). */
static int acc_process_interrupt_on_term(lua_State *L)
{
    struct sigaction sa;
    acc_term_state = L;
    sa.sa_handler = acc_process_term_action;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGTERM, &sa, NULL) != 0)
        lua_pushnil(L);
    else
        lua_pushboolean(L, 1);
    return 1;
}

/* accelerate.term_width([fd = 1]) -> columns | nil when fd is not a
 * terminal (asked anew each time, so that a resize is followed). */
static int acc_process_term_width(lua_State *L)
{
    struct winsize ws;
    int fd = (int)luaL_optinteger(L, 1, 1);
    if (ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0)
        lua_pushnil(L);
    else
        lua_pushinteger(L, (lua_Integer)ws.ws_col);
    return 1;
}

const luaL_Reg acc_process_lib[] = {
    {"defer_signals", acc_process_defer},
    {"allow_signals", acc_process_allow},
    {"term_width", acc_process_term_width},
    {"interrupt_on_sigterm", acc_process_interrupt_on_term},
    {NULL, NULL}};
