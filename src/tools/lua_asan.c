/* A Lua 5.4 interpreter built with AddressSanitizer and UBSan, for
 * `make asan-core`.  Preloading the sanitizer runtime into the stock lua5.4
 * would also preload it into every child (the simulator's nginx, the
 * shell), so the spec runner gets an instrumented host of its own instead.
 * Usage: lua_asan script [args...]  (arg is set as the stock lua sets it) */
#include <stdio.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

static int traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
    return 1;
}

int main(int argc, char **argv)
{
    lua_State *L;
    int i, status;

    if (argc < 2) {
        fprintf(stderr, "usage: %s script [args...]\n", argv[0]);
        return 2;
    }
    L = luaL_newstate();
    if (L == NULL)
        return 1;
    luaL_openlibs(L);
    lua_createtable(L, argc, 1);
    for (i = 1; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - 1);
    }
    lua_pushstring(L, argv[0]);
    lua_rawseti(L, -2, -1);
    lua_setglobal(L, "arg");

    lua_pushcfunction(L, traceback);
    status = luaL_loadfile(L, argv[1]);
    if (status == LUA_OK) {
        for (i = 2; i < argc; i++)
            lua_pushstring(L, argv[i]);
        status = lua_pcall(L, argc - 2, 0, 1);
    }
    if (status != LUA_OK)
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
    lua_close(L);
    return status == LUA_OK ? 0 : 1;
}
