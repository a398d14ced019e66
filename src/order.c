/* The report order of a store's records, as the watch has always sorted its
 * instances: by startPartition, then mtGuid, then id, each compared as a
 * string (a missing one as ""), in byte order.  Built when a report first
 * reads the store in order, kept until a page changes. */
#include <stdlib.h>
#include <string.h>

#include "store.h"

typedef struct acc_named {
    const char *s;
    uint32_t len, index;
} acc_named;

typedef struct acc_key {
    uint32_t start, table; /* ranks of the names */
    uint32_t global, id_len;
    const char *id;
} acc_key;

static int acc_bytes_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c != 0)
        return c;
    return al < bl ? -1 : (al > bl);
}

static int acc_named_cmp(const void *x, const void *y)
{
    const acc_named *a = x, *b = y;
    return acc_bytes_cmp(a->s, a->len, b->s, b->len);
}

static int acc_key_cmp(const void *x, const void *y)
{
    const acc_key *a = x, *b = y;
    int c;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    if (a->table != b->table)
        return a->table < b->table ? -1 : 1;
    c = acc_bytes_cmp(a->id ? a->id : "", a->id_len, b->id ? b->id : "",
                      b->id_len);
    if (c != 0)
        return c;
    return a->global < b->global ? -1 : (a->global > b->global);
}

/* rank[i] of every name in byte order; "" and "none" (0) rank 0. */
static uint32_t *acc_order_ranks(const acc_names *n)
{
    uint32_t *rank = calloc(n->n, sizeof *rank), i, r = 0;
    acc_named *v = malloc(n->n * sizeof *v);
    if (rank == NULL || v == NULL) {
        free(rank);
        free(v);
        return NULL;
    }
    for (i = 1; i < n->n; i++) {
        size_t len;
        v[i - 1].s = acc_names_get(n, i, &len);
        v[i - 1].len = (uint32_t)len;
        v[i - 1].index = i;
    }
    qsort(v, n->n - 1, sizeof *v, acc_named_cmp);
    for (i = 0; i + 1 < n->n; i++) {
        if (v[i].len > 0)
            r++;
        rank[v[i].index] = r;
    }
    free(v);
    return rank;
}

/* Fills order (s->count entries, memory of the caller's) and points
 * s->order at it (s->base too); 0, or -1 when out of memory. */
int acc_order_build(acc_store *s, uint32_t *order)
{
    uint32_t *rank, g, page, index;
    acc_key *keys;
    if (acc_store_base(s) != 0 || (rank = acc_order_ranks(s->names)) == NULL)
        return -1;
    keys = malloc((s->count ? s->count : 1) * sizeof *keys);
    if (keys == NULL) {
        free(rank);
        return -1;
    }
    for (g = 0; g < s->count; g++) {
        const acc_rec *r = acc_store_rec(s, g, &page, &index);
        size_t len;
        keys[g].start = rank[r->name[ACC_F_START]];
        keys[g].table = rank[r->name[ACC_F_TABLE]];
        keys[g].global = g;
        keys[g].id = acc_page_id(s->pages[page], index, &len);
        keys[g].id_len = (uint32_t)len;
    }
    qsort(keys, s->count, sizeof *keys, acc_key_cmp);
    for (g = 0; g < s->count; g++)
        order[g] = keys[g].global;
    free(keys);
    free(rank);
    s->order = order;
    return 0;
}
