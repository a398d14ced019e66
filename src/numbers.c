/* accelerate.numbers([capacity]) -> v: a growing array of numbers kept
 * packed (8 bytes each; a Lua 5.4 array takes 16, and doubles as it
 * grows).  The timing line of a 200,000-instance report keeps 800,000 of
 * them (queue and run times, the concurrency events): as Lua arrays, with
 * table.sort's copy, they were the report's peak, 25 MB above the store.
 *
 *   v:push(x)   appends x (a number; anything else raises, a numeric
 *               string too)
 *   #v, v[i]    how many; the i-th (nil out of range), an integer when
 *               every value pushed was one (Lua 5.3+; exact to 2^53)
 *   v:sort()    ascending in place (qsort; a NaN sorts last)
 *
 * The values are in one userdata block, held by the array's user value:
 * the collector counts it and frees it with the array, with no finalizer.
 * capacity (a count the caller knows) sizes it once; else it doubles. */
#include <stdlib.h>
#include <string.h>

#include "acc.h"

#define ACC_NUMBERS_MT "accelerate.numbers"

typedef struct acc_numbers {
    size_t n, cap;
    int all_int;
    lua_Number *v; /* the block in the user value */
} acc_numbers;

/* The array at idx: every function of the type has its metatable as
 * upvalue 1 (a pointer compare; luaL_checkudata looks the name up in the
 * registry, a cost a report pays 1.6 million times). */
static acc_numbers *acc_numbers_check(lua_State *L, int idx)
{
    acc_numbers *a = lua_touserdata(L, idx);
    int ok = a != NULL && lua_getmetatable(L, idx);
    if (ok) {
        ok = lua_rawequal(L, -1, lua_upvalueindex(1));
        lua_pop(L, 1);
    }
    if (!ok)
        luaL_argerror(L, idx, ACC_NUMBERS_MT " expected");
    return a;
}

/* A block of cap numbers as the array's values, the first n copied. */
static void acc_numbers_block(lua_State *L, int idx, acc_numbers *a,
                              size_t cap)
{
    lua_Number *v;
    if (cap > ((size_t)-1) / sizeof *v)
        luaL_error(L, "accelerate: numbers: out of memory");
    v = lua_newuserdata(L, cap * sizeof *v);
    if (a->n > 0)
        memcpy(v, a->v, a->n * sizeof *v);
    acc_getuservalue(L, idx);
    lua_insert(L, -2);
    lua_rawseti(L, -2, 1);
    lua_pop(L, 1);
    a->v = v;
    a->cap = cap;
}

static int acc_numbers_new(lua_State *L)
{
    lua_Number hint = luaL_optnumber(L, 1, 0);
    size_t cap = hint >= 1 && hint <= 1e9 ? (size_t)hint : 16;
    acc_numbers *a = lua_newuserdata(L, sizeof *a);
    memset(a, 0, sizeof *a);
    a->all_int = 1;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_setmetatable(L, -2);
    lua_createtable(L, 1, 0);
    acc_setuservalue(L, -2);
    acc_numbers_block(L, lua_gettop(L), a, cap);
    return 1;
}

static int acc_numbers_push(lua_State *L)
{
    acc_numbers *a = acc_numbers_check(L, 1);
    lua_Number x;
    if (lua_type(L, 2) != LUA_TNUMBER) /* not even a numeric string */
        return luaL_argerror(L, 2, "number expected");
    x = lua_tonumber(L, 2);
#if ACC_HAS_INTEGERS
    if (!lua_isinteger(L, 2))
        a->all_int = 0;
#endif
    if (a->n == a->cap)
        acc_numbers_block(L, 1, a, a->cap * 2);
    a->v[a->n++] = x;
    return 0;
}

/* Ascending, a NaN after every number: a total order, as qsort needs. */
static int acc_numbers_cmp(const void *pa, const void *pb)
{
    lua_Number x = *(const lua_Number *)pa, y = *(const lua_Number *)pb;
    if (x != x || y != y)
        return (x != x) - (y != y);
    return (x > y) - (x < y);
}

static int acc_numbers_sort(lua_State *L)
{
    acc_numbers *a = acc_numbers_check(L, 1);
    qsort(a->v, a->n, sizeof *a->v, acc_numbers_cmp);
    return 0;
}

static int acc_numbers_len(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)acc_numbers_check(L, 1)->n);
    return 1;
}

/* v[i] for a number key; the methods (upvalue 2) for any other. */
static int acc_numbers_index(lua_State *L)
{
    acc_numbers *a = acc_numbers_check(L, 1);
    if (lua_type(L, 2) == LUA_TNUMBER) {
        lua_Number i = lua_tonumber(L, 2);
        if (i >= 1 && i <= (lua_Number)a->n && i == (lua_Number)(size_t)i) {
            lua_Number x = a->v[(size_t)i - 1];
            if (ACC_HAS_INTEGERS && a->all_int)
                lua_pushinteger(L, (lua_Integer)x);
            else
                lua_pushnumber(L, x);
        } else {
            lua_pushnil(L);
        }
        return 1;
    }
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(2));
    return 1;
}

static int acc_numbers_tostring(lua_State *L)
{
    acc_numbers *a = acc_numbers_check(L, 1);
    lua_pushfstring(L, ACC_NUMBERS_MT " (%d numbers): %p", (int)a->n,
                    (void *)a);
    return 1;
}

static const luaL_Reg acc_numbers_methods[] = {{"push", acc_numbers_push},
                                               {"sort", acc_numbers_sort},
                                               {NULL, NULL}};

/* The metatable, and accelerate.numbers (upvalue: the metatable) in the
 * module table at the top. */
void acc_numbers_create_meta(lua_State *L)
{
    luaL_newmetatable(L, ACC_NUMBERS_MT);
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, acc_numbers_new, 1);
    lua_setfield(L, -3, "numbers");
    lua_newtable(L);
    lua_pushvalue(L, -2);
    acc_setfuncs(L, acc_numbers_methods, 1);
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_pushcclosure(L, acc_numbers_index, 2);
    lua_setfield(L, -2, "__index");
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, acc_numbers_len, 1);
    lua_setfield(L, -2, "__len");
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, acc_numbers_tostring, 1);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, ACC_NUMBERS_MT);
    lua_setfield(L, -2, "__name");
    lua_pop(L, 1);
}