/* Version shims for Lua 5.1-5.4 and LuaJIT, chosen only by LUA_VERSION_NUM.
 * Every shim carries the acc_ prefix and is static, so the linker never sees
 * a lua_* or luaL_* symbol of ours that could clash with the host's. */
#ifndef ACC_COMPAT_H
#define ACC_COMPAT_H

#include "lua.h"
#include "lauxlib.h"

#if LUA_VERSION_NUM >= 502
#define acc_rawlen(L, i) lua_rawlen((L), (i))
#define acc_absindex(L, i) lua_absindex((L), (i))
#define acc_setfuncs(L, r, n) luaL_setfuncs((L), (r), (n))
#define acc_testudata(L, i, t) luaL_testudata((L), (i), (t))
#define acc_setuservalue(L, i) lua_setuservalue((L), (i))
#define acc_getuservalue(L, i) ((void)lua_getuservalue((L), (i)))
#else
#define acc_setuservalue(L, i) lua_setfenv((L), (i))
#define acc_getuservalue(L, i) lua_getfenv((L), (i))
#define acc_rawlen(L, i) lua_objlen((L), (i))
#define acc_absindex(L, i) \
    (((i) > 0 || (i) <= LUA_REGISTRYINDEX) ? (i) : lua_gettop(L) + (i) + 1)

static inline void acc_setfuncs(lua_State *L, const luaL_Reg *r, int nup)
{
    int i;
    luaL_checkstack(L, nup + 1, "too many upvalues");
    for (; r->name != NULL; r++) {
        for (i = 0; i < nup; i++)
            lua_pushvalue(L, -nup);
        lua_pushcclosure(L, r->func, nup);
        lua_setfield(L, -(nup + 2), r->name);
    }
    lua_pop(L, nup);
}

static inline void *acc_testudata(lua_State *L, int i, const char *tname)
{
    void *p = lua_touserdata(L, i);
    if (p == NULL || !lua_getmetatable(L, i))
        return NULL;
    lua_getfield(L, LUA_REGISTRYINDEX, tname);
    if (!lua_rawequal(L, -1, -2))
        p = NULL;
    lua_pop(L, 2);
    return p;
}
#endif

/* Integers exist as a subtype from 5.3 on; before that every number is a
 * double and integral values are exact only below 2^53. */
#if LUA_VERSION_NUM >= 503
#define ACC_HAS_INTEGERS 1
#define acc_isinteger(L, i) lua_isinteger((L), (i))
#else
#define ACC_HAS_INTEGERS 0
#define acc_isinteger(L, i) 0
#endif

#if LUA_VERSION_NUM >= 504
#define ACC_HAS_CLOSE 1
#else
#define ACC_HAS_CLOSE 0
#endif

#endif
