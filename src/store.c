/* The store's pages and the page being reduced.  A list call's instances
 * are reduced into the pending page (reduce.c, items.c), then committed:
 * appended as page k of a sweep (ids seen earlier in the sweep dropped, as
 * the pager drops them), or put in place of page k when it holds exactly
 * the ids it held before (a partial sweep).  The page blocks themselves are
 * Lua userdata made by store_lua.c; here they are only pointed at.
 * Functions returning int give 0, or -1 when out of memory. */
#include <stdlib.h>
#include <string.h>

#include "store.h"

/* A store is a userdata without a finalizer holding a pointer to its
 * acc_store, which lives in another userdata (its C memory's owner, with
 * the __gc) referenced from the store's user value.  The pages hang off the
 * store, not off the object with the finalizer, so the collector frees
 * them in the cycle that finds the store unreachable: an object with a
 * finalizer keeps what it references for one cycle more at least. */
acc_store *acc_store_check(lua_State *L, int idx)
{
    acc_store **p = luaL_checkudata(L, idx, ACC_STORE_MT);
    if (*p == NULL || (*p)->names == NULL)
        luaL_error(L, "accelerate: attempt to use a released store");
    return *p;
}

/* Appends a record to a page in C memory (pending, scratch). */
int acc_page_push(acc_page *p, const acc_rec *r, const char *id, size_t len)
{
    acc_rec *slot;
    if (p->n == p->cap) {
        uint32_t cap = p->cap ? p->cap * 2 : 64;
        acc_rec *rec = realloc(p->rec, cap * sizeof *rec);
        if (rec == NULL)
            return -1;
        p->rec = rec;
        p->cap = cap;
    }
    slot = &p->rec[p->n];
    *slot = *r;
    slot->id_off = 0;
    slot->id_len = ACC_NO_ID;
    if (id != NULL) {
        if (len >= ACC_NO_ID || len > UINT32_MAX - p->ids_len)
            return -1;
        if (p->ids_len + len > p->ids_cap) {
            size_t cap = p->ids_cap ? p->ids_cap * 2 : 1024;
            char *ids;
            while (cap < p->ids_len + len)
                cap *= 2;
            if ((ids = realloc(p->ids, cap)) == NULL)
                return -1;
            p->ids = ids;
            p->ids_cap = cap;
        }
        if (len > 0)
            memcpy(p->ids + p->ids_len, id, len);
        slot->id_off = (uint32_t)p->ids_len;
        slot->id_len = (uint32_t)len;
        p->ids_len += len;
    }
    p->n++;
    return 0;
}

void acc_page_clear(acc_page *p)
{
    p->n = 0;
    p->ids_len = 0;
    p->nsuccess = p->listed = 0;
}

/* Frees a page in C memory. */
void acc_page_free(acc_page *p)
{
    free(p->rec);
    free(p->ids);
    memset(p, 0, sizeof *p);
}

/* The bytes of one block holding p, header included. */
size_t acc_page_size(const acc_page *p)
{
    return sizeof(acc_page) + (size_t)p->n * sizeof(acc_rec) + p->ids_len;
}

/* src copied into block (acc_page_size(src) bytes): header, records, ids. */
acc_page *acc_page_copy(void *block, const acc_page *src)
{
    acc_page *p = block;
    *p = *src;
    p->cap = src->n;
    p->ids_cap = src->ids_len;
    p->rec = (acc_rec *)(p + 1);
    p->ids = (char *)(p->rec + src->n);
    if (src->n > 0)
        memcpy(p->rec, src->rec, (size_t)src->n * sizeof(acc_rec));
    if (src->ids_len > 0)
        memcpy(p->ids, src->ids, src->ids_len);
    return p;
}

/* The id of record i, or NULL when it has none. */
const char *acc_page_id(const acc_page *p, uint32_t i, size_t *len)
{
    const acc_rec *r = &p->rec[i];
    *len = 0;
    if (r->id_len == ACC_NO_ID)
        return NULL;
    *len = r->id_len;
    if (r->id_len == 0)
        return ""; /* an empty id: a page may have no id bytes at all */
    return p->ids + r->id_off;
}

static void acc_store_unorder(acc_store *s)
{
    free(s->base);
    s->order = NULL; /* its block is the user value's, left to the collector */
    s->base = NULL;
}

void acc_store_free(acc_store *s)
{
    free(s->pages);
    s->pages = NULL;
    s->npages = s->cap = s->count = 0;
    acc_page_free(&s->pending);
    acc_page_free(&s->scratch);
    free(s->spans);
    s->spans = NULL;
    s->spans_cap = 0;
    s->seen = NULL;
    acc_store_unorder(s);
    acc_names_release(s->names);
    s->names = NULL;
}

/* Room for n spans (reduce.c). */
int acc_store_spans(acc_store *s, uint32_t n)
{
    if (n > s->spans_cap) {
        uint32_t cap = s->spans_cap ? s->spans_cap : 64;
        acc_span *sp;
        while (cap < n)
            cap *= 2;
        if ((sp = realloc(s->spans, cap * sizeof *sp)) == NULL)
            return -1;
        s->spans = sp;
        s->spans_cap = cap;
    }
    return 0;
}

/* Whether the report shows this instance whole (a Lua table is kept). */
int acc_store_wants_whole(const acc_store *s, const acc_rec *r)
{
    return s->full || s->names->kind[r->status] == ACC_KIND_FAILED;
}

static uint32_t acc_id_hash(const char *id, size_t len)
{
    uint32_t h = 2166136261u;
    size_t i;
    for (i = 0; i < len; i++) {
        h ^= (unsigned char)id[i];
        h *= 16777619u;
    }
    return h;
}

static const char *acc_seen_id(const acc_store *s, uint64_t e, size_t *len)
{
    return acc_page_id(s->pages[(e - 1) >> 32],
                       (uint32_t)((e - 1) & 0xffffffffu), len);
}

/* The slot of id in the set (mem, cap): its entry, or an empty one. */
static uint64_t *acc_seen_slot(const acc_store *s, uint64_t *mem,
                               uint32_t cap, const char *id, size_t len)
{
    uint32_t h = acc_id_hash(id, len);
    for (;; h++) {
        uint64_t *e = &mem[h & (cap - 1)];
        const char *other;
        size_t olen;
        if (*e == 0)
            return e;
        other = acc_seen_id(s, *e, &olen);
        if (olen == len && memcmp(other, id, len) == 0)
            return e;
    }
}

/* The capacity the id set needs for `more` ids (a power of two, at most
 * half full), or 0 when the one it has will do. */
uint32_t acc_store_seen_wanted(const acc_store *s, uint32_t more)
{
    uint32_t need = s->seen_n + more, cap = 1024;
    if (s->seen != NULL && need * 2 <= s->seen_cap)
        return 0;
    while (cap < need * 2)
        cap *= 2;
    return cap;
}

/* The id set moved to mem (cap zeroed slots). */
void acc_store_seen_move(acc_store *s, uint64_t *mem, uint32_t cap)
{
    uint32_t i;
    for (i = 0; s->seen != NULL && i < s->seen_cap; i++) {
        if (s->seen[i] != 0) {
            size_t len;
            const char *id = acc_seen_id(s, s->seen[i], &len);
            *acc_seen_slot(s, mem, cap, id, len) = s->seen[i];
        }
    }
    s->seen = mem;
    s->seen_cap = cap;
}

/* Page k (1-based) in place, the array grown with empty pages as needed. */
int acc_store_put(acc_store *s, uint32_t k, acc_page *p)
{
    if (k > s->cap) {
        uint32_t cap = s->cap ? s->cap : 16;
        acc_page **pages;
        while (cap < k)
            cap *= 2;
        if ((pages = realloc(s->pages, cap * sizeof *pages)) == NULL)
            return -1;
        memset(pages + s->cap, 0, (cap - s->cap) * sizeof *pages);
        s->pages = pages;
        s->cap = cap;
    }
    if (k > s->npages)
        s->npages = k;
    if (s->pages[k - 1] != NULL)
        s->count -= s->pages[k - 1]->n;
    s->pages[k - 1] = p;
    if (p != NULL)
        s->count += p->n;
    acc_store_unorder(s);
    return 0;
}

static void acc_page_tally(acc_page *p)
{
    uint32_t i;
    p->nsuccess = 0;
    for (i = 0; i < p->n; i++)
        p->nsuccess += p->rec[i].status == ACC_ST_SUCCESS;
}

/* Builds page `expect` of the sweep in s->scratch: the pending records
 * whose id the sweep has not seen (and those without an id).  The id set
 * has room for them (acc_store_seen_wanted).  keep[i] is the new index + 1
 * of pending record i, or 0 when it was dropped.  The scratch page is in
 * place while it is built, so that the set can name its records; the
 * caller then puts a block of it in its place. */
int acc_store_commit_append(acc_store *s, uint32_t *keep, uint32_t *fresh)
{
    acc_page *src = &s->pending, *dst = &s->scratch;
    uint32_t i, k = s->expect;
    acc_page_clear(dst);
    if (acc_store_put(s, k, dst) != 0)
        return -1;
    for (i = 0; i < src->n; i++) {
        size_t len;
        const char *id = acc_page_id(src, i, &len);
        uint64_t *slot = NULL;
        keep[i] = 0;
        if (id != NULL) {
            slot = acc_seen_slot(s, s->seen, s->seen_cap, id, len);
            if (*slot != 0)
                continue; /* seen earlier in this sweep */
        }
        if (acc_page_push(dst, &src->rec[i], id, len) != 0) {
            acc_store_put(s, k, NULL);
            return -1;
        }
        s->count++;
        if (slot != NULL) {
            *slot = (((uint64_t)(k - 1) << 32) | (dst->n - 1)) + 1;
            s->seen_n++;
        }
        keep[i] = dst->n;
    }
    acc_page_tally(dst);
    dst->listed = src->n;
    *fresh = dst->n;
    return 0;
}

/* Whether the pending page holds the ids page `expect` holds, in the same
 * order (then the caller puts a block of it in place). */
int acc_store_commit_replace(acc_store *s, int *same)
{
    acc_page *src = &s->pending, *old;
    uint32_t i, k = s->expect;
    *same = 0;
    old = k >= 1 && k <= s->npages ? s->pages[k - 1] : NULL;
    if (old == NULL || old->n != src->n)
        return 0;
    for (i = 0; i < src->n; i++) {
        size_t a, b;
        const char *x = acc_page_id(src, i, &a), *y = acc_page_id(old, i, &b);
        if (x == NULL || y == NULL || a != b || memcmp(x, y, a) != 0)
            return 0;
    }
    acc_page_tally(src);
    src->listed = src->n;
    *same = 1;
    return 0;
}

/* A version of src with its names and pages (a partial sweep forks the
 * store and replaces the pages it fetches again). */
int acc_store_fork(acc_store *dst, const acc_store *src)
{
    if (src->npages > 0) {
        dst->pages = malloc(src->npages * sizeof *dst->pages);
        if (dst->pages == NULL)
            return -1;
        memcpy(dst->pages, src->pages, src->npages * sizeof *dst->pages);
    }
    dst->cap = dst->npages = src->npages;
    dst->count = src->count;
    dst->names = src->names;
    dst->names->refs++;
    dst->full = src->full;
    return 0;
}

/* base[k]: the global index of page k + 1's first record; base[npages] is
 * the count. */
int acc_store_base(acc_store *s)
{
    uint32_t k;
    if (s->base != NULL)
        return 0;
    s->base = malloc((s->npages + 1) * sizeof *s->base);
    if (s->base == NULL)
        return -1;
    s->base[0] = 0;
    for (k = 0; k < s->npages; k++)
        s->base[k + 1] = s->base[k] + (s->pages[k] ? s->pages[k]->n : 0);
    return 0;
}

/* Record g (0-based, in page order; acc_store_base first). */
const acc_rec *acc_store_rec(const acc_store *s, uint32_t g, uint32_t *page,
                             uint32_t *index)
{
    uint32_t lo = 0, hi = s->npages; /* base[lo] <= g < base[hi] */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->base[mid] <= g)
            lo = mid;
        else
            hi = mid;
    }
    *page = lo;
    *index = g - s->base[lo];
    return &s->pages[lo]->rec[*index];
}
