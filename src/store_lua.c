/* The store as a Lua userdata (store.h).  Its user value is a table:
 *   names    name index -> Lua string, filled as instances are built
 *   whole    page k -> {record index -> the instance's whole table}
 *   pending  position on the pending page -> whole table
 *
 *   accelerate.store{failed = {...}, full = bool} -> store
 *   store:empty()           a new store with the same names and options
 *   store:fork()            the same pages (a partial sweep replaces some)
 *   store:expect(k, mode)   the next page commits as page k, "append" or "replace"
 *   store:add(items)        a page of decoded instance tables -> result
 *   store:seal()            forgets the sweep's id set
 *   store:set_full(bool)    whether every instance is kept whole
 *   store:counts([k])       counts, terminal, failed, seen (k: one page)
 *   store:is_full()         whether it is
 *   store:stale_pages()     pages that may still change: not all SUCCESS,
 *                           empty, or holding an id twice
 *   store:pages()           the highest page index
 *   #store, store:get(i), store:each(), store:failures(), store:list()
 *
 * A commit's result: {count = instances on the page, total = the page's
 * total, fresh = instances not seen before (append) | same = bool
 * (replace)}. */
#include <stdio.h>
#include <string.h>

#include "store.h"

static void acc_store_oom(lua_State *L)
{
    luaL_error(L, "accelerate: out of memory");
}

/* Pushes field `name` of the store's user value. */
static void acc_store_uv(lua_State *L, int sidx, const char *name)
{
    acc_getuservalue(L, sidx);
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
}

void acc_store_push_pending(lua_State *L, int sidx)
{
    acc_store_uv(L, sidx, "pending");
}

/* A new userdata with its user value; s->names is set by the caller. */
static acc_store *acc_store_push(lua_State *L)
{
    static const char *const fields[] = {"names", "pages", "whole", "pending",
                                         NULL};
    acc_store **p = lua_newuserdata(L, sizeof *p), *s;
    int i;
    *p = NULL;
    luaL_getmetatable(L, ACC_STORE_MT);
    lua_setmetatable(L, -2);
    lua_createtable(L, 0, 7);
    for (i = 0; fields[i] != NULL; i++) {
        lua_newtable(L);
        lua_setfield(L, -2, fields[i]);
    }
    s = lua_newuserdata(L, sizeof *s); /* the C memory's owner */
    memset(s, 0, sizeof *s);
    luaL_getmetatable(L, ACC_STORE_MEM_MT);
    lua_setmetatable(L, -2);
    lua_setfield(L, -2, "memory");
    acc_setuservalue(L, -2);
    *p = s;
    return s;
}

/* Copies the table field `name` of the user value at src into the one at
 * dst (the tables of pages are shared by reference). */
static void acc_store_copy_uv(lua_State *L, int src, int dst,
                              const char *name)
{
    acc_store_uv(L, src, name);
    acc_store_uv(L, dst, name);
    lua_pushnil(L);
    while (lua_next(L, -3) != 0) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -4);
    }
    lua_pop(L, 2);
}

/* accelerate.statuses() -> {documented = {...}, failed = {...}}: the
 * vocabulary of status.h, for the spec that compares it with
 * accelerate.statuses (Lua). */
static void acc_store_push_names(lua_State *L, const char *const *v, int n)
{
    int i;
    lua_createtable(L, n, 0);
    for (i = 0; i < n; i++) {
        lua_pushstring(L, v[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

static int acc_store_statuses(lua_State *L)
{
    static const char *const documented[] = {ACC_STATUS_DOCUMENTED};
    static const char *const failed[] = {ACC_STATUS_FAILED};
    lua_createtable(L, 0, 2);
    acc_store_push_names(L, documented,
                         (int)(sizeof documented / sizeof documented[0]));
    lua_setfield(L, -2, "documented");
    acc_store_push_names(L, failed, (int)(sizeof failed / sizeof failed[0]));
    lua_setfield(L, -2, "failed");
    return 1;
}

/* accelerate.store{failed = names (array or set), full = bool}: the
 * failed statuses of status.h are failed whatever `failed` adds. */
static int acc_store_new(lua_State *L)
{
    acc_store *s;
    int opts = 1;
    if (lua_isnoneornil(L, 1)) {
        lua_newtable(L);
        lua_replace(L, 1);
    }
    luaL_checktype(L, opts, LUA_TTABLE);
    lua_settop(L, 1);
    s = acc_store_push(L); /* 2 */
    if ((s->names = acc_names_new()) == NULL)
        acc_store_oom(L);
    lua_getfield(L, opts, "full");
    s->full = lua_toboolean(L, -1);
    lua_getfield(L, opts, "failed"); /* 3, 4 */
    if (lua_istable(L, 4)) {
        lua_pushnil(L);
        while (lua_next(L, 4) != 0) {
            int v = lua_type(L, -1) == LUA_TSTRING ? -1 : -2;
            if (lua_type(L, v) == LUA_TSTRING) {
                size_t len;
                const char *name = lua_tolstring(L, v, &len);
                uint32_t i = acc_names_status(s->names, name, len);
                if (i == 0)
                    acc_store_oom(L);
                if (i != ACC_ST_OTHER)
                    acc_names_set_kind(s->names, i, ACC_KIND_FAILED);
            }
            lua_pop(L, 1);
        }
    }
    lua_settop(L, 2);
    return 1;
}

/* store:empty() -> a new store sharing the names and options */
static int acc_store_lua_empty(lua_State *L)
{
    acc_store *s = acc_store_check(L, 1), *e = acc_store_push(L);
    e->names = s->names;
    e->names->refs++;
    e->full = s->full;
    return 1;
}

/* store:fork() -> a store with the same pages and whole tables */
static int acc_store_lua_fork(lua_State *L)
{
    acc_store *s = acc_store_check(L, 1), *f = acc_store_push(L);
    int dst = lua_gettop(L);
    luaL_checkstack(L, 8, "accelerate: store");
    if (acc_store_fork(f, s) != 0)
        acc_store_oom(L);
    acc_store_copy_uv(L, 1, dst, "pages");
    acc_store_copy_uv(L, 1, dst, "whole");
    return 1;
}

/* store:expect(k, "append" | "replace") */
static int acc_store_lua_expect(lua_State *L)
{
    static const char *const modes[] = {"append", "replace", NULL};
    acc_store *s = acc_store_check(L, 1);
    lua_Number k = luaL_checknumber(L, 2);
    int mode = luaL_checkoption(L, 3, NULL, modes) + ACC_MODE_APPEND;
    luaL_argcheck(L, k >= 1 && k <= 1000000 && k == (lua_Number)(long)k, 2,
                  "page index out of range");
    if (mode == ACC_MODE_APPEND && (uint32_t)k <= s->npages &&
        s->pages[(uint32_t)k - 1] != NULL)
        return luaL_error(L, "accelerate: page %d is already in the store",
                          (int)k);
    s->expect = (uint32_t)k;
    s->mode = mode;
    return 0;
}

/* Moves the pending whole tables of kept records to page k's table. */
static void acc_store_move_whole(lua_State *L, int sidx, const uint32_t *keep,
                                 uint32_t n, uint32_t k)
{
    uint32_t i;
    acc_store_uv(L, sidx, "whole");
    acc_store_push_pending(L, sidx);
    lua_newtable(L);
    for (i = 0; i < n; i++) {
        if (keep != NULL && keep[i] == 0)
            continue;
        lua_rawgeti(L, -2, (int)i + 1);
        if (lua_isnil(L, -1))
            lua_pop(L, 1);
        else
            lua_rawseti(L, -2, (int)(keep ? keep[i] : i + 1));
    }
    lua_rawseti(L, -3, (int)k);
    lua_pop(L, 2);
}

/* A block for page k (room for src, or for the whole pending page before
 * duplicates are dropped) and its user value entry; pushes nothing. */
static void *acc_store_block(lua_State *L, int sidx, uint32_t k, size_t size)
{
    void *block = lua_newuserdata(L, size);
    acc_store_uv(L, sidx, "pages");
    lua_insert(L, -2);
    lua_rawseti(L, -2, (int)k);
    lua_pop(L, 1);
    return block;
}

/* The id set grown to take the pending page's ids (a new block). */
static void acc_store_seen_reserve(lua_State *L, int sidx, acc_store *s)
{
    uint32_t cap = acc_store_seen_wanted(s, s->pending.n);
    uint64_t *mem;
    if (cap == 0)
        return;
    mem = lua_newuserdata(L, cap * sizeof *mem);
    memset(mem, 0, cap * sizeof *mem);
    acc_store_seen_move(s, mem, cap);
    acc_getuservalue(L, sidx);
    lua_insert(L, -2);
    lua_setfield(L, -2, "seen");
    lua_pop(L, 1);
}

/* Appends the pending page as page k: the result's fresh. */
static uint32_t acc_store_append(lua_State *L, int sidx, acc_store *s,
                                 uint32_t k)
{
    uint32_t n = s->pending.n, fresh = 0;
    uint32_t *keep = lua_newuserdata(L, (n ? n : 1) * sizeof *keep);
    void *block = acc_store_block(L, sidx, k, acc_page_size(&s->pending));
    acc_store_seen_reserve(L, sidx, s);
    if (acc_store_commit_append(s, keep, &fresh) != 0 ||
        acc_store_put(s, k, acc_page_copy(block, &s->scratch)) != 0)
        acc_store_oom(L);
    acc_store_move_whole(L, sidx, keep, n, k);
    lua_pop(L, 1); /* keep */
    return fresh;
}

/* Commits the pending page as store:expect said; pushes the result.  The
 * value at `total` is the page's total (any Lua value). */
int acc_store_commit_lua(lua_State *L, int sidx, int total)
{
    acc_store *s = acc_store_check(L, sidx);
    uint32_t n = s->pending.n, k = s->expect;
    int same = 0;
    luaL_checkstack(L, 8, "accelerate: store");
    if (k == 0)
        return luaL_error(L, "accelerate: store: no page expected");
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, total);
    lua_setfield(L, -2, "total");
    lua_pushinteger(L, (lua_Integer)n);
    lua_setfield(L, -2, "count");
    if (s->mode == ACC_MODE_APPEND) {
        lua_pushinteger(L, (lua_Integer)acc_store_append(L, sidx, s, k));
        lua_setfield(L, -2, "fresh");
    } else {
        acc_store_commit_replace(s, &same);
        if (same) {
            void *block = acc_store_block(L, sidx, k, acc_page_size(&s->pending));
            if (acc_store_put(s, k, acc_page_copy(block, &s->pending)) != 0)
                acc_store_oom(L);
            acc_store_move_whole(L, sidx, NULL, n, k);
        }
        lua_pushboolean(L, same);
        lua_setfield(L, -2, "same");
    }
    acc_getuservalue(L, sidx);
    lua_newtable(L);
    lua_setfield(L, -2, "pending");
    lua_pushnil(L);
    lua_setfield(L, -2, "order");
    lua_pop(L, 1);
    s->expect = 0;
    return 1;
}

/* store:add(page) -> result: page is a decoded list answer */
static int acc_store_lua_add(lua_State *L)
{
    acc_store *s = acc_store_check(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    if (s->expect == 0)
        return luaL_error(L, "accelerate: store: no page expected");
    lua_getfield(L, 2, "instances"); /* 3 */
    if (lua_isnil(L, 3)) {
        lua_newtable(L);
        lua_replace(L, 3);
    }
    luaL_argcheck(L, lua_istable(L, 3), 2, "instances must be an array");
    acc_store_push_pending(L, 1); /* 4 */
    if (acc_items_reduce(L, s, 3, 4) != 0)
        acc_store_oom(L);
    lua_getfield(L, 2, "total"); /* 5 */
    return acc_store_commit_lua(L, 1, 5);
}

/* store:seal(): the sweep is over, its id set is dropped */
static int acc_store_lua_seal(lua_State *L)
{
    acc_store *s = acc_store_check(L, 1);
    s->seen = NULL;
    s->seen_cap = s->seen_n = 0;
    acc_getuservalue(L, 1);
    lua_pushnil(L);
    lua_setfield(L, -2, "seen");
    return 0;
}

/* store:set_full(bool): turning it off drops the whole tables of every
 * instance that did not fail. */
static int acc_store_lua_set_full(lua_State *L)
{
    acc_store *s = acc_store_check(L, 1);
    uint32_t k, i;
    s->full = lua_toboolean(L, 2);
    if (s->full)
        return 0;
    acc_store_uv(L, 1, "whole");
    for (k = 0; k < s->npages; k++) {
        const acc_page *p = s->pages[k];
        if (p == NULL)
            continue;
        lua_rawgeti(L, -1, (int)k + 1);
        if (lua_istable(L, -1)) {
            for (i = 0; i < p->n; i++) {
                if (s->names->kind[p->rec[i].status] == ACC_KIND_FAILED)
                    continue;
                lua_pushnil(L);
                lua_rawseti(L, -2, (int)i + 1);
            }
        }
        lua_pop(L, 1);
    }
    return 0;
}

/* store:counts([k]) -> counts, terminal, failed, seen (status.count's),
 * of every page, or of page k alone: a full sweep reads each page's
 * make-up as it adds it, which over the whole store would be quadratic in
 * the pages. */
static int acc_store_lua_counts(lua_State *L)
{
    acc_store *s = acc_store_check(L, 1);
    const acc_names *nm = s->names;
    uint32_t *c, k, i, from = 0, to = s->npages;
    lua_Integer terminal = 0, failed = 0, seen = 0;
    if (!lua_isnoneornil(L, 2)) {
        lua_Number n = luaL_checknumber(L, 2);
        luaL_argcheck(L, n >= 1 && n <= 4294967295.0 &&
                             n == (lua_Number)(uint32_t)n,
                      2, "a page number");
        from = (uint32_t)n - 1;
        to = from < s->npages ? from + 1 : from;
    }
    c = lua_newuserdata(L, nm->n * sizeof *c);
    memset(c, 0, nm->n * sizeof *c);
    for (k = from; k < to; k++) {
        const acc_page *p = s->pages[k];
        for (i = 0; p != NULL && i < p->n; i++)
            c[p->rec[i].status]++;
        if (p != NULL)
            seen += p->n;
    }
    lua_createtable(L, 0, 6);
    for (i = ACC_ST_SUCCESS; i <= ACC_ST_WAITING; i++) {
        size_t len;
        const char *name = acc_names_get(nm, i, &len);
        lua_pushlstring(L, name, len);
        lua_pushinteger(L, 0);
        lua_rawset(L, -3);
    }
    for (i = 1; i < nm->n; i++) {
        size_t len;
        const char *name;
        if (c[i] == 0)
            continue;
        name = acc_names_get(nm, i, &len);
        lua_pushlstring(L, name, len);
        lua_pushinteger(L, (lua_Integer)c[i]);
        lua_rawset(L, -3);
        if (nm->kind[i] != ACC_KIND_OPEN)
            terminal += c[i];
        if (nm->kind[i] == ACC_KIND_FAILED)
            failed += c[i];
    }
    lua_pushinteger(L, terminal);
    lua_pushinteger(L, failed);
    lua_pushinteger(L, lua_isnoneornil(L, 2) ? (lua_Integer)s->count : seen);
    return 4;
}

/* store:stale_pages() -> {k, ...}: pages a partial sweep fetches again */
static int acc_store_lua_stale(lua_State *L)
{
    acc_store *s = acc_store_check(L, 1);
    uint32_t k;
    int n = 0;
    lua_newtable(L);
    for (k = 0; k < s->npages; k++) {
        const acc_page *p = s->pages[k];
        if (p == NULL || p->n == 0 || p->nsuccess < p->n ||
            p->listed != p->n) {
            lua_pushinteger(L, (lua_Integer)k + 1);
            lua_rawseti(L, -2, ++n);
        }
    }
    return 1;
}

/* store:is_full() -> whether every instance is kept whole */
static int acc_store_lua_is_full(lua_State *L)
{
    lua_pushboolean(L, acc_store_check(L, 1)->full);
    return 1;
}

static int acc_store_lua_pages(lua_State *L)
{
    acc_store *s = acc_store_check(L, 1);
    lua_pushinteger(L, (lua_Integer)s->npages);
    return 1;
}

static int acc_store_lua_len(lua_State *L)
{
    acc_store *s = acc_store_check(L, 1);
    lua_pushinteger(L, (lua_Integer)s->count);
    return 1;
}

static int acc_store_gc(lua_State *L)
{
    acc_store *s = luaL_checkudata(L, 1, ACC_STORE_MEM_MT);
    acc_store_free(s);
    return 0;
}

static int acc_store_tostring(lua_State *L)
{
    acc_store *s = acc_store_check(L, 1);
    lua_pushfstring(L, "accelerate.store (%d instances): %p", (int)s->count,
                    (void *)s);
    return 1;
}

static const luaL_Reg acc_store_methods[] = {
    {"empty", acc_store_lua_empty},
    {"fork", acc_store_lua_fork},
    {"expect", acc_store_lua_expect},
    {"add", acc_store_lua_add},
    {"seal", acc_store_lua_seal},
    {"set_full", acc_store_lua_set_full},
    {"is_full", acc_store_lua_is_full},
    {"counts", acc_store_lua_counts},
    {"stale_pages", acc_store_lua_stale},
    {"pages", acc_store_lua_pages},
    {"get", acc_store_lua_get},
    {"each", acc_store_lua_each},
    {"scan", acc_store_lua_scan},
    {"failures", acc_store_lua_failures},
    {"list", acc_store_lua_list},
    {NULL, NULL}};

static const luaL_Reg acc_store_meta[] = {
    {"__len", acc_store_lua_len},
    {"__tostring", acc_store_tostring},
    {NULL, NULL}};

void acc_store_create_meta(lua_State *L)
{
    luaL_newmetatable(L, ACC_STORE_MEM_MT);
    lua_pushcfunction(L, acc_store_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    luaL_newmetatable(L, ACC_STORE_MT);
    acc_setfuncs(L, acc_store_meta, 0);
    lua_newtable(L);
    acc_setfuncs(L, acc_store_methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, ACC_STORE_MT);
    lua_setfield(L, -2, "__name");
    lua_pop(L, 1);
}

const luaL_Reg acc_store_lib[] = {
    {"store", acc_store_new},
    {"statuses", acc_store_statuses},
    {NULL, NULL}};
