/* Reading a store in report order: each instance as a table, its whole
 * table when the store keeps one, else built from the record (id, status,
 * mtGuid, startPartition, endPartition, resourceGroup and the times
 * createTime, startTime and endTime written YYYY-MM-DDThh:mm:ss).
 *
 *   store:get(i)      the i-th instance, or nil
 *   store:each()      an iterator over every instance
 *   store:scan()      an iterator over what the reports read of each one,
 *                     as values, no table built (see acc_store_scan_next)
 *   store:failures()  the failed instances, whole
 *   store:list()      every instance, as an array */
#include <string.h>

#include "store.h"

static const char *const acc_read_names[ACC_NF] = {
    "mtGuid", "startPartition", "endPartition", "resourceGroup"};
static const char *const acc_read_times[ACC_NT] = {"createTime", "startTime",
                                                   "endTime"};

/* Pushes name i as a Lua string, cached in the table at `names`. */
static void acc_read_name(lua_State *L, const acc_store *s, int names,
                          uint32_t i)
{
    lua_rawgeti(L, names, (int)i);
    if (lua_isnil(L, -1)) {
        size_t len;
        const char *str = acc_names_get(s->names, i, &len);
        lua_pop(L, 1);
        lua_pushlstring(L, str, len);
        lua_pushvalue(L, -1);
        lua_rawseti(L, names, (int)i);
    }
}

static void acc_read_build(lua_State *L, const acc_store *s, int names,
                           uint32_t page, uint32_t index)
{
    const acc_page *p = s->pages[page];
    const acc_rec *r = &p->rec[index];
    size_t len;
    const char *id = acc_page_id(p, index, &len);
    int f;
    lua_createtable(L, 0, 9);
    if (id != NULL) {
        lua_pushlstring(L, id, len);
        lua_setfield(L, -2, "id");
    }
    if (r->status != ACC_ST_UNKNOWN) {
        acc_read_name(L, s, names, r->status);
        lua_setfield(L, -2, "status");
    }
    for (f = 0; f < ACC_NF; f++) {
        if (r->name[f] == 0)
            continue;
        acc_read_name(L, s, names, r->name[f]);
        lua_setfield(L, -2, acc_read_names[f]);
    }
    for (f = 0; f < ACC_NT; f++) {
        char buf[48];
        int n;
        if (r->time[f] == ACC_NO_TIME)
            continue;
        n = acc_time_format(r->time[f], buf, sizeof buf);
        lua_pushlstring(L, buf, (size_t)n);
        lua_setfield(L, -2, acc_read_times[f]);
    }
}

/* Pushes the whole table kept for record `index` of `page` and answers 1;
 * pushes nothing and answers 0 when none is kept. */
static int acc_read_whole(lua_State *L, int whole, uint32_t page,
                          uint32_t index)
{
    lua_rawgeti(L, whole, (int)page + 1);
    if (lua_istable(L, -1)) {
        lua_rawgeti(L, -1, (int)index + 1);
        lua_remove(L, -2);
        if (lua_istable(L, -1))
            return 1;
    }
    lua_pop(L, 1);
    return 0;
}

/* Pushes record g (page order) as a table: the whole one if kept. */
static void acc_read_push(lua_State *L, const acc_store *s, int whole,
                          int names, uint32_t g)
{
    uint32_t page, index;
    acc_store_rec(s, g, &page, &index);
    if (!acc_read_whole(L, whole, page, index))
        acc_read_build(L, s, names, page, index);
}

/* The report order of the store at sidx, built once (a block of the user
 * value) until a page changes. */
static void acc_read_order(lua_State *L, int sidx, acc_store *s)
{
    uint32_t *order;
    if (s->order != NULL)
        return;
    order = lua_newuserdata(L, (s->count ? s->count : 1) * sizeof *order);
    if (acc_order_build(s, order) != 0)
        luaL_error(L, "accelerate: out of memory");
    acc_getuservalue(L, sidx);
    lua_insert(L, -2);
    lua_setfield(L, -2, "order");
    lua_pop(L, 1);
}

/* The store at 1 in report order; pushes its whole and names tables. */
static acc_store *acc_read_open(lua_State *L)
{
    acc_store *s = acc_store_check(L, 1);
    luaL_checkstack(L, 8, "accelerate: store");
    acc_read_order(L, 1, s);
    acc_getuservalue(L, 1);
    lua_getfield(L, -1, "whole");
    lua_getfield(L, -2, "names");
    lua_remove(L, -3);
    return s;
}

int acc_store_lua_get(lua_State *L)
{
    lua_Number i = luaL_checknumber(L, 2);
    acc_store *s;
    int top;
    lua_settop(L, 2);
    s = acc_read_open(L);
    top = lua_gettop(L);
    if (!(i >= 1 && i <= (lua_Number)s->count) || i != (lua_Number)(long)i) {
        lua_pushnil(L);
        return 1;
    }
    acc_read_push(L, s, top - 1, top, s->order[(uint32_t)i - 1]);
    return 1;
}

/* The next record of an iterator over the store at upvalue 1, the
 * position at upvalue 4: its index in page order in *g, advanced; 0 at
 * the end. */
static int acc_read_next(lua_State *L, acc_store **sp, uint32_t *g)
{
    acc_store *s = acc_store_check(L, lua_upvalueindex(1));
    lua_Number at = lua_tonumber(L, lua_upvalueindex(4));
    uint32_t i = (uint32_t)at;
    luaL_checkstack(L, 12, "accelerate: store");
    acc_read_order(L, lua_upvalueindex(1), s);
    if (i >= s->count)
        return 0;
    lua_pushnumber(L, at + 1);
    lua_replace(L, lua_upvalueindex(4));
    *sp = s;
    *g = s->order[i];
    return 1;
}

/* The iterator of store:each(): upvalues store, whole, names, position. */
static int acc_store_each_next(lua_State *L)
{
    acc_store *s;
    uint32_t g;
    if (!acc_read_next(L, &s, &g))
        return 0;
    acc_read_push(L, s, lua_upvalueindex(2), lua_upvalueindex(3), g);
    return 1;
}

/* An iterator `next` over the store at 1, with acc_read_next's upvalues. */
static int acc_read_iterator(lua_State *L, lua_CFunction next)
{
    lua_settop(L, 1);
    acc_read_open(L);
    lua_pushnumber(L, 0);
    lua_pushcclosure(L, next, 4);
    return 1;
}

int acc_store_lua_each(lua_State *L)
{
    return acc_read_iterator(L, acc_store_each_next);
}

/* The values of store:scan() for the whole table at the top, popped:
 * its own fields, the times read as dates.parse_timestamp reads them. */
static void acc_scan_whole(lua_State *L)
{
    int t = lua_gettop(L), f;
    lua_getfield(L, t, "id");
    lua_getfield(L, t, "status");
    for (f = ACC_F_START; f <= ACC_F_END; f++)
        lua_getfield(L, t, acc_read_names[f]);
    for (f = 0; f < ACC_NT; f++) {
        lua_getfield(L, t, acc_read_times[f]);
        acc_days_push_timestamp(L, -1);
        lua_remove(L, -2);
    }
    lua_remove(L, t);
}

/* The iterator of store:scan(): i, id, status, startPartition,
 * endPartition, and createTime, startTime, endTime in seconds
 * (dates.parse_timestamp's clock), each nil when absent: what
 * store:each() gives, with no table built and no time written out and read
 * back.  A report of 200,000 instances reads them twice (calendar, timing).
 * Upvalues: store, whole, names, position. */
static int acc_store_scan_next(lua_State *L)
{
    acc_store *s;
    uint32_t g, page, index;
    const acc_rec *r;
    int f;
    if (!acc_read_next(L, &s, &g))
        return 0;
    lua_pushinteger(L, lua_tointeger(L, lua_upvalueindex(4)));
    r = acc_store_rec(s, g, &page, &index);
    if (acc_read_whole(L, lua_upvalueindex(2), page, index)) {
        acc_scan_whole(L);
        return 8;
    }
    {
        size_t len;
        const char *id = acc_page_id(s->pages[page], index, &len);
        if (id != NULL)
            lua_pushlstring(L, id, len);
        else
            lua_pushnil(L);
    }
    if (r->status != ACC_ST_UNKNOWN)
        acc_read_name(L, s, lua_upvalueindex(3), r->status);
    else
        lua_pushnil(L);
    for (f = ACC_F_START; f <= ACC_F_END; f++) {
        if (r->name[f] != 0)
            acc_read_name(L, s, lua_upvalueindex(3), r->name[f]);
        else
            lua_pushnil(L);
    }
    for (f = 0; f < ACC_NT; f++) {
        if (r->time[f] != ACC_NO_TIME)
            lua_pushinteger(L, (lua_Integer)r->time[f] + ACC_TIME_EPOCH);
        else
            lua_pushnil(L);
    }
    return 8;
}

int acc_store_lua_scan(lua_State *L)
{
    return acc_read_iterator(L, acc_store_scan_next);
}

/* store:failures() and store:list(): an array in report order. */
static int acc_read_array(lua_State *L, int failed_only)
{
    acc_store *s;
    uint32_t g, page, index;
    int top, n = 0;
    lua_settop(L, 1);
    s = acc_read_open(L);
    top = lua_gettop(L);
    lua_createtable(L, failed_only ? 0 : (int)s->count, 0);
    for (g = 0; g < s->count; g++) {
        const acc_rec *r = acc_store_rec(s, s->order[g], &page, &index);
        if (failed_only && s->names->kind[r->status] != ACC_KIND_FAILED)
            continue;
        acc_read_push(L, s, top - 1, top, s->order[g]);
        lua_rawseti(L, -2, ++n);
    }
    return 1;
}

int acc_store_lua_failures(lua_State *L)
{
    return acc_read_array(L, 1);
}

int acc_store_lua_list(lua_State *L)
{
    return acc_read_array(L, 0);
}
