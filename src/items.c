/* Decoded instance tables into the store's pending page: what a client
 * that hands back Lua tables (list_instances of a fake, a page the
 * reducer could not read and the full decoder could) reduces to.  The
 * same rules as the reducer's and as statuses.lua's: an id is a string, or a
 * number as accelerate.id_key writes it; a status that is not a plain name
 * is OTHER, a missing one UNKNOWN. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "status.h"
#include "store.h"

static const char *const acc_item_names[ACC_NF] = {
    "mtGuid", "startPartition", "endPartition", "resourceGroup"};
static const char *const acc_item_times[ACC_NT] = {"createTime", "startTime",
                                                   "endTime"};

/* The id of the item at t as id_key gives it, in buf or borrowed from the
 * table; NULL when it has none. */
static const char *acc_item_id(lua_State *L, int t, char *buf, size_t size,
                               size_t *len)
{
    const char *id = NULL;
    lua_getfield(L, t, "id");
    if (lua_type(L, -1) == LUA_TSTRING) {
        id = lua_tolstring(L, -1, len); /* stays referenced by the item */
    } else if (lua_type(L, -1) == LUA_TNUMBER) {
#if ACC_HAS_INTEGERS
        if (acc_isinteger(L, -1)) {
            lua_Integer v = lua_tointeger(L, -1);
            if (v >= 0) {
                snprintf(buf, size, LUA_INTEGER_FMT, v);
                id = buf;
            }
        } else
#endif
        {
            double d = (double)lua_tonumber(L, -1);
            if (d >= 0 && d == floor(d) && d <= 9007199254740992.0) {
                snprintf(buf, size, "%.0f", d);
                id = buf;
            }
        }
        if (id != NULL)
            *len = strlen(id);
    }
    lua_pop(L, 1);
    return id;
}

static uint32_t acc_item_status(lua_State *L, int t, acc_names *n)
{
    uint32_t st = ACC_ST_UNKNOWN;
    lua_getfield(L, t, "status");
    if (lua_type(L, -1) == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        st = acc_names_status(n, s, len);
    } else if (!lua_isnil(L, -1)) {
        st = ACC_ST_OTHER;
    }
    lua_pop(L, 1);
    return st;
}

/* One item (a table) as a record; 0, or -1 when out of memory. */
static int acc_item_record(lua_State *L, int t, acc_names *n, acc_rec *r)
{
    int f;
    memset(r, 0, sizeof *r);
    r->status = acc_item_status(L, t, n);
    if (r->status == 0)
        return -1;
    for (f = 0; f < ACC_NF; f++) {
        lua_getfield(L, t, acc_item_names[f]);
        if (lua_type(L, -1) == LUA_TSTRING) {
            size_t len;
            const char *s = lua_tolstring(L, -1, &len);
            if ((r->name[f] = acc_names_intern(n, s, len)) == 0)
                return -1;
        }
        lua_pop(L, 1);
    }
    for (f = 0; f < ACC_NT; f++) {
        r->time[f] = ACC_NO_TIME;
        lua_getfield(L, t, acc_item_times[f]);
        if (lua_type(L, -1) == LUA_TSTRING) {
            size_t len;
            const char *s = lua_tolstring(L, -1, &len);
            r->time[f] = acc_time_parse(s, len);
        }
        lua_pop(L, 1);
    }
    return 0;
}

/* Every item of the array at `items` into the pending page; the items the
 * report shows whole go into the table at `pending`, by position.
 * 0, or -1 when out of memory. */
int acc_items_reduce(lua_State *L, acc_store *s, int items, int pending)
{
    size_t i, n = acc_rawlen(L, items);
    luaL_checkstack(L, 4, "accelerate: store");
    acc_page_clear(&s->pending);
    for (i = 1; i <= n; i++) {
        acc_rec r;
        size_t len = 0;
        int t;
        lua_rawgeti(L, items, (int)i);
        t = lua_gettop(L);
        memset(&r, 0, sizeof r);
        r.status = ACC_ST_UNKNOWN;
        r.time[0] = r.time[1] = r.time[2] = ACC_NO_TIME;
        if (lua_istable(L, t)) {
            char buf[64];
            const char *id;
            if (acc_item_record(L, t, s->names, &r) != 0)
                return -1;
            id = acc_item_id(L, t, buf, sizeof buf, &len);
            if (acc_page_push(&s->pending, &r, id, len) != 0)
                return -1;
        } else if (acc_page_push(&s->pending, &r, NULL, 0) != 0) {
            return -1;
        }
        if (lua_istable(L, t) && acc_store_wants_whole(s, &r)) {
            lua_pushvalue(L, t);
            lua_rawseti(L, pending, (int)s->pending.n);
        }
        lua_pop(L, 1);
    }
    return 0;
}
