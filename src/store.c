/* The store's pages and the page being reduced.  A list call's instances
 * are reduced into the pending page (reduce.c, items.c), then committed:
 * appended as page k of a sweep (ids seen earlier in the sweep dropped, as
 * the pager drops them), or put in place of page k when it holds exactly
 * the ids it held before (a partial sweep).  Functions returning int give
 * 0, or -1 when out of memory. */
#include <stdlib.h>
#include <string.h>

#include "store.h"

acc_page *acc_page_new(void)
{
    acc_page *p = calloc(1, sizeof *p);
    if (p != NULL)
        p->refs = 1;
    return p;
}

void acc_page_release(acc_page *p)
{
    if (p == NULL || --p->refs > 0)
        return;
    free(p->rec);
    free(p->ids);
    free(p);
}

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

/* The id of record i, or NULL when it has none. */
const char *acc_page_id(const acc_page *p, uint32_t i, size_t *len)
{
    const acc_rec *r = &p->rec[i];
    *len = 0;
    if (r->id_len == ACC_NO_ID)
        return NULL;
    *len = r->id_len;
    return p->ids + r->id_off;
}

static void acc_store_unorder(acc_store *s)
{
    free(s->order);
    free(s->base);
    s->order = NULL;
    s->base = NULL;
}

void acc_store_seal(acc_store *s)
{
    free(s->seen);
    s->seen = NULL;
    s->seen_cap = s->seen_n = 0;
}

void acc_store_free(acc_store *s)
{
    uint32_t k;
    for (k = 0; k < s->npages; k++)
        acc_page_release(s->pages[k]);
    free(s->pages);
    s->pages = NULL;
    s->npages = s->cap = s->count = 0;
    acc_page_release(s->pending);
    s->pending = NULL;
    free(s->spans);
    s->spans = NULL;
    s->spans_cap = 0;
    acc_store_seal(s);
    acc_store_unorder(s);
    acc_names_release(s->names);
    s->names = NULL;
}

int acc_store_pending_reset(acc_store *s)
{
    if (s->pending == NULL && (s->pending = acc_page_new()) == NULL)
        return -1;
    s->pending->n = 0;
    s->pending->ids_len = 0;
    s->pending->nsuccess = 0;
    return 0;
}

/* Room for n spans (reduce.c) and n entries of the commit's map. */
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

/* The slot of id in the sweep's set: its entry, or an empty one. */
static uint64_t *acc_seen_slot(acc_store *s, const char *id, size_t len)
{
    uint32_t h = acc_id_hash(id, len);
    for (;; h++) {
        uint64_t *e = &s->seen[h & (s->seen_cap - 1)];
        const char *other;
        size_t olen;
        if (*e == 0)
            return e;
        other = acc_page_id(s->pages[(*e - 1) >> 32],
                            (uint32_t)((*e - 1) & 0xffffffffu), &olen);
        if (olen == len && memcmp(other, id, len) == 0)
            return e;
    }
}

static int acc_seen_grow(acc_store *s)
{
    uint32_t old = s->seen_cap, i;
    uint64_t *prev = s->seen;
    if (s->seen != NULL && (s->seen_n + 1) * 2 <= s->seen_cap)
        return 0;
    s->seen_cap = old ? old * 2 : 1024;
    s->seen = calloc(s->seen_cap, sizeof *s->seen);
    if (s->seen == NULL) {
        s->seen = prev;
        s->seen_cap = old;
        return -1;
    }
    for (i = 0; i < old; i++) {
        if (prev[i] != 0) {
            const acc_page *p = s->pages[(prev[i] - 1) >> 32];
            size_t len;
            const char *id = acc_page_id(
                p, (uint32_t)((prev[i] - 1) & 0xffffffffu), &len);
            *acc_seen_slot(s, id, len) = prev[i];
        }
    }
    free(prev);
    return 0;
}

/* Page k (1-based) in place, the array grown with empty pages as needed. */
static int acc_store_put(acc_store *s, uint32_t k, acc_page *p)
{
    acc_page *old;
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
    old = s->pages[k - 1];
    if (old != NULL)
        s->count -= old->n;
    s->pages[k - 1] = p;
    s->count += p->n;
    acc_page_release(old);
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

/* Appends the pending page as page `expect` of the sweep: the records whose
 * id the sweep has not seen (and those without an id).  keep[i] is the new
 * index + 1 of pending record i, or 0 when it was dropped.  The page is put
 * in place first, so that the id set can name its records. */
int acc_store_commit_append(acc_store *s, uint32_t *keep, uint32_t *fresh)
{
    acc_page *src = s->pending, *dst = acc_page_new();
    uint32_t i, k = s->expect;
    if (dst == NULL)
        return -1;
    if (acc_store_put(s, k, dst) != 0) {
        acc_page_release(dst);
        return -1;
    }
    for (i = 0; i < src->n; i++) {
        size_t len;
        const char *id = acc_page_id(src, i, &len);
        uint64_t *slot = NULL;
        keep[i] = 0;
        if (id != NULL) {
            if (acc_seen_grow(s) != 0)
                return -1;
            slot = acc_seen_slot(s, id, len);
            if (*slot != 0)
                continue; /* seen earlier in this sweep */
        }
        if (acc_page_push(dst, &src->rec[i], id, len) != 0)
            return -1;
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

/* Puts the pending page in place of page `expect` when both hold the same
 * ids in the same order (*same = 1); otherwise changes nothing. */
int acc_store_commit_replace(acc_store *s, int *same)
{
    acc_page *src = s->pending, *old;
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
    s->pending = NULL; /* the page now */
    *same = 1;
    return acc_store_put(s, k, src);
}

/* A version of src sharing its names and pages (a partial sweep forks the
 * store and replaces the pages it fetches again). */
int acc_store_fork(acc_store *dst, const acc_store *src)
{
    uint32_t k;
    if (src->npages > 0) {
        dst->pages = calloc(src->npages, sizeof *dst->pages);
        if (dst->pages == NULL)
            return -1;
    }
    dst->cap = dst->npages = src->npages;
    for (k = 0; k < src->npages; k++) {
        dst->pages[k] = src->pages[k];
        if (dst->pages[k] != NULL)
            dst->pages[k]->refs++;
    }
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
