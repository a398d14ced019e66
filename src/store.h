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
 * its poll saw.  All memory is owned through the userdata (its __gc frees
 * it), so a Lua error at any point leaks nothing. */
#ifndef ACC_STORE_H
#define ACC_STORE_H

#include <stdint.h>

#include "acc.h"

#define ACC_STORE_MT "accelerate.store"
#define ACC_NO_TIME INT64_MIN
#define ACC_NO_ID UINT32_MAX
#define ACC_STATUS_MAX 64 /* longer statuses are OTHER (status.lua) */

/* Statuses interned first, at these indexes; 0 is "none". */
enum {
    ACC_ST_SUCCESS = 1,
    ACC_ST_FAILED,
    ACC_ST_RUNNING,
    ACC_ST_WAITING,
    ACC_ST_UNKNOWN, /* no status at all */
    ACC_ST_OTHER    /* a status that is not a plain name */
};

/* What a name means as a status. */
enum { ACC_KIND_OPEN = 0, ACC_KIND_SUCCESS, ACC_KIND_FAILED };

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
    int64_t time[ACC_NT];     /* seconds, or ACC_NO_TIME */
    uint32_t id_off, id_len;  /* in the page's ids; id_len ACC_NO_ID: none */
    uint32_t name[ACC_NF];    /* interned, 0: none */
    uint32_t status;          /* interned status name */
} acc_rec;

typedef struct acc_page {
    int refs;
    uint32_t n, cap;
    acc_rec *rec;
    char *ids;
    size_t ids_len, ids_cap;
    uint32_t nsuccess; /* records whose status is SUCCESS */
    uint32_t listed;   /* instances the list call gave, duplicates too */
} acc_page;

/* A span of the body holding one instance object (reduce.c). */
typedef struct acc_span {
    size_t start, end;
} acc_span;

enum { ACC_MODE_NONE = 0, ACC_MODE_APPEND, ACC_MODE_REPLACE };

typedef struct acc_store {
    acc_names *names;
    acc_page **pages; /* page k at pages[k - 1]; NULL: not listed */
    uint32_t npages, cap;
    uint32_t count;      /* records over every page */
    acc_page *pending;   /* the page being reduced */
    acc_span *spans;     /* per pending record (reduce.c) */
    uint32_t spans_cap;
    uint32_t expect;     /* the page index the next commit goes to */
    int mode;            /* ACC_MODE_* of that commit */
    uint64_t *seen;      /* the sweep's ids: (page << 32 | record) + 1 */
    uint32_t seen_cap, seen_n;
    uint32_t *order;     /* report order as global indexes, or NULL */
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
acc_page *acc_page_new(void);
void acc_page_release(acc_page *p);
int acc_page_push(acc_page *p, const acc_rec *r, const char *id, size_t len);
const char *acc_page_id(const acc_page *p, uint32_t i, size_t *len);
void acc_store_free(acc_store *s);
int acc_store_pending_reset(acc_store *s);
int acc_store_spans(acc_store *s, uint32_t n);
int acc_store_wants_whole(const acc_store *s, const acc_rec *r);
int acc_store_commit_append(acc_store *s, uint32_t *keep, uint32_t *fresh);
int acc_store_commit_replace(acc_store *s, int *same);
int acc_store_fork(acc_store *dst, const acc_store *src);
int acc_store_base(acc_store *s);
void acc_store_seal(acc_store *s);
const acc_rec *acc_store_rec(const acc_store *s, uint32_t g, uint32_t *page,
                             uint32_t *index);

/* days.c */
int64_t acc_time_parse(const char *s, size_t len);
int acc_time_format(int64_t t, char *buf, size_t size);
int64_t acc_days_from_civil(int64_t y, int64_t m, int64_t d);

/* order.c */
int acc_order_build(acc_store *s);

/* items.c */
int acc_items_reduce(lua_State *L, acc_store *s, int page, int pending);

/* store_read.c */
int acc_store_lua_get(lua_State *L);
int acc_store_lua_each(lua_State *L);
int acc_store_lua_failures(lua_State *L);
int acc_store_lua_list(lua_State *L);

/* store_lua.c */
acc_store *acc_store_check(lua_State *L, int idx);
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
