/* Shared by the libFuzzer targets (fuzz/decode_fuzz.c, fuzz/prepare_fuzz.c):
 * one Lua 5.4 state per process with the module opened once, a protected
 * call helper, and the small text framing the seed corpora are written in.
 * Included by exactly one translation unit per binary, so all static. */
#ifndef ACC_FUZZ_COMMON_H
#define ACC_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "../src/acc.h"

/* Debian's lua-cjson for 5.4; override with -DFUZZ_LUA_CPATH=... */
#ifndef FUZZ_LUA_CPATH
#define FUZZ_LUA_CPATH "/usr/lib/x86_64-linux-gnu/lua/5.4/?.so"
#endif

/* A full collection every so many inputs keeps the RSS flat; Lua's
 * incremental collector does the rest. */
#define FUZZ_GC_EVERY 4096

static lua_State *fuzz_L;
static unsigned long fuzz_runs;

/* Something a sanitizer would not see but the documentation promises was
 * broken: report it as a crash so the input is kept. */
static void fuzz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz invariant violated: %s%s%s\n", what,
            detail ? ": " : "", detail ? detail : "");
    abort();
}

static lua_State *fuzz_lua(void)
{
    lua_State *L;
    static const char *const env[] = {"ACCELERATE_URL", "ACCELERATE_TENANT_ID",
                                      "ACCELERATE_AUTH_TYPE",
                                      "ACCELERATE_AUTH_VALUE", NULL};
    int i;

    if (fuzz_L != NULL)
        return fuzz_L;
    /* options come from the input only */
    for (i = 0; env[i] != NULL; i++)
        unsetenv(env[i]);
    L = luaL_newstate();
    if (L == NULL)
        fuzz_fail("luaL_newstate", NULL);
    luaL_openlibs(L);
    if (luaL_dostring(L, "package.cpath = '" FUZZ_LUA_CPATH
                         ";' .. package.cpath") != 0)
        fuzz_fail("package.cpath", lua_tostring(L, -1));
    lua_pushcfunction(L, luaopen_accelerate_core);
    if (lua_pcall(L, 0, 1, 0) != 0)
        fuzz_fail("luaopen_accelerate_core", lua_tostring(L, -1));
    lua_setglobal(L, "accelerate");
    fuzz_L = L;
    return L;
}

/* Pushes accelerate[name]. */
static inline void fuzz_getfunc(lua_State *L, const char *name)
{
    lua_getglobal(L, "accelerate");
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
}

/* FUZZ_VERBOSE=1 in the environment prints what each call returned, to
 * see what a seed reaches (build/fuzz/decode_fuzz seed-file). */
static void fuzz_trace(lua_State *L, const char *what, int ok, int base)
{
    static int verbose = -1;
    int i;
    if (verbose < 0)
        verbose = getenv("FUZZ_VERBOSE") != NULL;
    if (!verbose)
        return;
    fprintf(stderr, "%s: %s", what, ok ? "returned" : "raised");
    for (i = base; i <= lua_gettop(L); i++) {
        lua_getglobal(L, "tostring");
        lua_pushvalue(L, i);
        lua_call(L, 1, 1);
        fprintf(stderr, " %s", lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    fputc('\n', stderr);
}

/* Ends an input: an empty stack and, now and then, a full collection. */
static void fuzz_done(lua_State *L)
{
    lua_settop(L, 0);
    if (++fuzz_runs % FUZZ_GC_EVERY == 0)
        lua_gc(L, LUA_GCCOLLECT, 0);
}

/* Next line of [*p, end): returns its start and length (without the
 * '\n'; a trailing '\r' is kept) and moves *p past it.  NULL at the end. */
static const char *fuzz_line(const char **p, const char *end, size_t *len)
{
    const char *s = *p, *nl;
    if (s >= end)
        return NULL;
    nl = memchr(s, '\n', (size_t)(end - s));
    if (nl == NULL) {
        *len = (size_t)(end - s);
        *p = end;
    } else {
        *len = (size_t)(nl - s);
        *p = nl + 1;
    }
    return s;
}

static inline int fuzz_hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Pushes s with the escapes \n \r \t \0 \\ \xHH decoded, so that a line of
 * a seed file can carry any byte (other escapes stay as written). */
static inline void fuzz_push_unescaped(lua_State *L, const char *s, size_t len)
{
    luaL_Buffer b;
    size_t i;
    luaL_buffinit(L, &b);
    for (i = 0; i < len; i++) {
        char c = s[i];
        if (c == '\\' && i + 1 < len) {
            char e = s[i + 1];
            if (e == 'n' || e == 'r' || e == 't' || e == '0' || e == '\\') {
                luaL_addchar(&b, e == 'n'   ? '\n'
                                 : e == 'r' ? '\r'
                                 : e == 't' ? '\t'
                                 : e == '0' ? '\0'
                                            : '\\');
                i++;
                continue;
            }
            if (e == 'x' && i + 3 < len && fuzz_hex(s[i + 2]) >= 0 &&
                fuzz_hex(s[i + 3]) >= 0) {
                luaL_addchar(&b, (char)(fuzz_hex(s[i + 2]) * 16 +
                                        fuzz_hex(s[i + 3])));
                i += 3;
                continue;
            }
        }
        luaL_addchar(&b, c);
    }
    luaL_pushresult(&b);
}

/* 1 when the string at idx has a byte below 0x20 or 0x7f. */
static inline int fuzz_has_ctl(lua_State *L, int idx)
{
    size_t n, i;
    const char *s = lua_tolstring(L, idx, &n);
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 1;
    return 0;
}

/* A call selector: the first byte of the first line, by letter when it is
 * one of c/l/d (create, list, detail), otherwise by value. */
static inline acc_call fuzz_call(const char *line, size_t len)
{
    unsigned char c = len > 0 ? (unsigned char)line[0] : 0;
    if (c == 'c' || c == 'C')
        return ACC_CALL_CREATE;
    if (c == 'l' || c == 'L')
        return ACC_CALL_LIST;
    if (c == 'd' || c == 'D')
        return ACC_CALL_DETAIL;
    return (acc_call)(c % 3);
}

#endif
