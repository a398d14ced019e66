/* What the command needs from its process: signals turned into a flag that
 * its loops check at safe points (docs/core-api.md, "Stopping"), holding
 * off a signal across a window that must not be cut (a create's answer is
 * in hand and not yet journaled), and its terminal (size, isatty).
 *
 * Only the command installs the handler (bin/accelerate, first thing):
 * a library user's process, and nginx, keep their own signal handling. */
#include <errno.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <unistd.h>

#include "acc.h"

/* The signal that asked the command to stop (0: none), and whether the
 * handler that sets it is installed. */
static volatile sig_atomic_t acc_stop_signal = 0;
static volatile sig_atomic_t acc_stop_installed = 0;

int acc_process_stopping(void)
{
    return acc_stop_signal != 0;
}

static void acc_process_signals(sigset_t *set, int hup)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    if (hup)
        sigaddset(set, SIGHUP);
}

/* Sleeps ts unless a stop is (or becomes) requested: the signals are
 * blocked while the flag is read, and pselect unblocks them atomically,
 * so a signal between the test and the wait cannot be missed.  Returns 0
 * after the whole wait, -1 when a signal cut it short (or a stop was
 * requested already).  Within a defer_signals window the signals stay
 * held and the whole wait is slept. */
int acc_process_wait(const struct timespec *ts)
{
    sigset_t set, old;
    int rc;

    if (!acc_stop_installed) {
        /* not the command: as ever, any signal cuts the sleep */
        if (nanosleep(ts, NULL) != 0 && errno == EINTR)
            return -1;
        return 0;
    }
    acc_process_signals(&set, 0);
    if (sigprocmask(SIG_BLOCK, &set, &old) != 0)
        return acc_stop_signal ? -1 : (nanosleep(ts, NULL) != 0 ? -1 : 0);
    if (acc_stop_signal) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        return -1;
    }
    rc = pselect(0, NULL, NULL, NULL, ts, &old);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return (rc < 0 && errno == EINTR) || acc_stop_signal ? -1 : 0;
}

/* Sets the flag.  SA_RESETHAND: as lua.c does for SIGINT, a second
 * signal ends the process at once (a way out of anything stuck). */
static void acc_process_on_signal(int sig)
{
    acc_stop_signal = sig;
}

/* accelerate.core.stop_on_signals() -> true | nil: from now on SIGINT and
 * SIGTERM set the stop flag (stop_requested) instead of ending the process
 * or raising "interrupted!" inside whatever runs: the command's loops stop
 * at their next safe point, the blocking sleep returns at once and a
 * transfer in progress is cut.  For the command only, never at require
 * time, never inside nginx. */
static int acc_process_stop_on_signals(lua_State *L)
{
    struct sigaction sa;
    sa.sa_handler = acc_process_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND; /* no SA_RESTART: a wait ends at once */
    acc_stop_installed = 1;
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        lua_pushnil(L);
    else
        lua_pushboolean(L, 1);
    return 1;
}

/* accelerate.core.stop_requested() -> signal | false, installed: the
 * number of the signal that asked the command to stop, and whether
 * stop_on_signals was called in this process. */
static int acc_process_stop_requested(lua_State *L)
{
    int sig = (int)acc_stop_signal;
    if (sig != 0)
        lua_pushinteger(L, (lua_Integer)sig);
    else
        lua_pushboolean(L, 0);
    lua_pushboolean(L, acc_stop_installed != 0);
    return 2;
}

static int acc_process_mask(int how)
{
    sigset_t set;
    acc_process_signals(&set, 1);
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
 * window is delivered now (it sets the stop flag under stop_on_signals;
 * otherwise the interpreter's SIGINT hook raises at the next Lua
 * instruction). */
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
 * thread only (never inside nginx).  Under stop_on_signals it changes
 * nothing: SIGTERM sets the stop flag already. */
static int acc_process_interrupt_on_term(lua_State *L)
{
    struct sigaction sa;
    if (acc_stop_installed) {
        lua_pushboolean(L, 1);
        return 1;
    }
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

/* accelerate.core.isatty(fd) -> bool: asked of the process itself (a
 * child such as `test -t` would hold off SIGINT while it runs). */
static int acc_process_isatty(lua_State *L)
{
    int fd = (int)luaL_checkinteger(L, 1);
    lua_pushboolean(L, fd >= 0 && isatty(fd) == 1);
    return 1;
}

const luaL_Reg acc_process_lib[] = {
    {"defer_signals", acc_process_defer},
    {"allow_signals", acc_process_allow},
    {"term_width", acc_process_term_width},
    {"isatty", acc_process_isatty},
    {"interrupt_on_sigterm", acc_process_interrupt_on_term},
    {"stop_on_signals", acc_process_stop_on_signals},
    {"stop_requested", acc_process_stop_requested},
    {NULL, NULL}};
