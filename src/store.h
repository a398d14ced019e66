/* The compact instance store of a watch: the instances of a backfill kept
 * as fixed-size records in pages (one page per list call), their strings
 * (table names, partitions, resource groups, statuses) interned, their
 * times as seconds.  A whole Lua table is kept only for the instances a
 * report shows whole: failed ones, and every one while the store is in
 * "full" mode (a small backfill).
 *
 *   names.c      interned strings shared by the versions of one watch
 *   days.c       times as seconds, as lua/accelerate/dates.lua counts them
 *   store.c      pages, the page being reduced, commit, the id set
 *   order.c      the report order (partition, table, id)
 *   items.c      decoded Lua instance tables -> the page being reduced
 *   reduce.c     list_instances bodies (yajl) -> the page being reduced
 *   store_lua.c  the userdata and its methods
 *   store_read.c reading it in report order, instances as tables
 *
 * Pages are shared between store versions (a partial sweep forks the
 * store and replaces the pages it fetched again), so a report keeps what
 * its poll saw.  The big blocks (pages, the sweep's id set, the report
 * order) are Lua userdata without finalizers, in the store's user value:
 * the collector counts them and frees them with the store, whereas memory
 * behind a finalizer is invisible to it and, in Lua 5.4, freed late.  The
 * rest (names, the pending page) is C memory the store's __gc frees, so a
 * Lua error at any point leaks nothing. */
#ifndef ACC_STORE_H
#define ACC_STORE_H

#include <stdint.h>

#include "acc.h"
#include "status.h"

#define ACC_STORE_MT "accelerate.store"
#define ACC_STORE_MEM_MT "accelerate.store.memory"
/* Times are kept as 32-bit seconds from 2000-01-01T00:00:00 (1931-12-13 to
 * 2068-01-19: the times of task runs); any other is kept as no time. */
#define ACC_TIME_EPOCH 946684800
#define ACC_NO_TIME INT32_MIN
#define ACC_NO_ID UINT32_MAX

/* Interned string fields of a record, and its times. */
enum { ACC_F_TABLE, ACC_F_START, ACC_F_END, ACC_F_GROUP, ACC_NF };
enum { ACC_T_CREATE, ACC_T_START, ACC_T_END, ACC_NT };

typedef struct acc_names {
    int refs;
    char *bytes;
    size_t len, bytes_cap;
    uint32_t *off, *slen; /* per name */
    unsigned char *kind;  /* per name, as a status */
    uint32_t n, ncap;     /* names, index 0 unused */
    uint32_t *slots;      /* open addressing: name index, 0 empty */
    uint32_t nslots;
} acc_names;

typedef struct acc_rec {
    int32_t time[ACC_NT];     /* seconds from ACC_TIME_EPOCH, or ACC_NO_TIME */
    uint32_t id_off, id_len;  /* in the page's ids; id_len ACC_NO_ID: none */
    uint32_t name[ACC_NF];    /* interned, 0: none */
    uint32_t status;          /* interned status name */
} acc_rec;

/* A page of records.  A page in a store is one Lua userdata block (its
 * records and id bytes follow the header), referenced from the store's user
 * value and shared by the versions of a store; the collector frees it, and
 * counts it, like any other Lua object.  The page being reduced and the
 * one being appended are C memory the store reuses (rec and ids growable). */
typedef struct acc_page {
    uint32_t n, cap;
    uint32_t nsuccess; /* records whose status is SUCCESS */
    uint32_t listed;   /* instances the list call gave, duplicates too */
    size_t ids_len, ids_cap;
    acc_rec *rec;
    char *ids;
} acc_page;

/* A span of the body holding one instance object (reduce.c). */
typedef struct acc_span {
    size_t start, end;
} acc_span;

enum { ACC_MODE_NONE = 0, ACC_MODE_APPEND, ACC_MODE_REPLACE };

typedef struct acc_store {
    acc_names *names;
    acc_page **pages; /* page k at pages[k - 1] (a userdata); NULL: none */
    uint32_t npages, cap;
    uint32_t count;      /* records over every page */
    acc_page pending;    /* the page being reduced (C memory) */
    acc_page scratch;    /* the page being appended (C memory) */
    acc_span *spans;     /* per pending record (reduce.c) */
    uint32_t spans_cap;
    uint32_t expect;     /* the page index the next commit goes to */
    int mode;            /* ACC_MODE_* of that commit */
    uint64_t *seen;      /* the sweep's ids: (page << 32 | record) + 1, in a
                            userdata of the user value */
    uint32_t seen_cap, seen_n;
    uint32_t *order;     /* report order as global indexes (a userdata of the
                            user value), or NULL */
    uint32_t *base;      /* global index of each page's first record */
    int full;            /* keep every instance whole */
} acc_store;

/* names.c */
acc_names *acc_names_new(void);
void acc_names_release(acc_names *n);
uint32_t acc_names_intern(acc_names *n, const char *s, size_t len);
uint32_t acc_names_status(acc_names *n, const char *s, size_t len);
void acc_names_set_kind(acc_names *n, uint32_t i, int kind);
const char *acc_names_get(const acc_names *n, uint32_t i, size_t *len);

/* store.c */
acc_store *acc_store_check(lua_State *L, int idx);
int acc_page_push(acc_page *p, const acc_rec *r, const char *id, size_t len);
void acc_page_clear(acc_page *p);
void acc_page_free(acc_page *p);
size_t acc_page_size(const acc_page *p);
acc_page *acc_page_copy(void *block, const acc_page *src);
const char *acc_page_id(const acc_page *p, uint32_t i, size_t *len);
void acc_store_free(acc_store *s);
int acc_store_spans(acc_store *s, uint32_t n);
int acc_store_wants_whole(const acc_store *s, const acc_rec *r);
uint32_t acc_store_seen_wanted(const acc_store *s, uint32_t more);
void acc_store_seen_move(acc_store *s, uint64_t *mem, uint32_t cap);
int acc_store_commit_append(acc_store *s, uint32_t *keep, uint32_t *fresh);
int acc_store_commit_replace(acc_store *s, int *same);
int acc_store_put(acc_store *s, uint32_t k, acc_page *p);
int acc_store_fork(acc_store *dst, const acc_store *src);
int acc_store_base(acc_store *s);
const acc_rec *acc_store_rec(const acc_store *s, uint32_t g, uint32_t *page,
                             uint32_t *index);

/* days.c */
int32_t acc_time_parse(const char *s, size_t len);
int acc_time_format(int32_t t, char *buf, size_t size);
int64_t acc_days_from_civil(int64_t y, int64_t m, int64_t d);
void acc_days_push_timestamp(lua_State *L, int idx);

/* order.c */
int acc_order_build(acc_store *s, uint32_t *order);

/* items.c */
int acc_items_reduce(lua_State *L, acc_store *s, int page, int pending);

/* store_read.c */
int acc_store_lua_get(lua_State *L);
int acc_store_lua_each(lua_State *L);
int acc_store_lua_scan(lua_State *L);
int acc_store_lua_failures(lua_State *L);
int acc_store_lua_list(lua_State *L);

/* store_lua.c */
void acc_store_push_pending(lua_State *L, int sidx);
int acc_store_commit_lua(lua_State *L, int sidx, int total);
void acc_store_create_meta(lua_State *L);
extern const luaL_Reg acc_store_lib[];

/* reduce.c */
int acc_reduce_response(lua_State *L, int sidx, long status, const char *body,
                        size_t len, const char *trace, size_t trace_len,
                        const char *secret, size_t secret_len);
extern const luaL_Reg acc_reduce_lib[];

#endif
