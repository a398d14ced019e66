/* Interned strings: each distinct table name, partition, resource group and
 * status of a watch is kept once and named by a small integer.  A 10-year
 * backfill of 50 tables has about 3,700 of them for 180,000 instances.
 * Functions return 0 (or a name index) on success and -1 (or 0) when out
 * of memory. */
#include <stdlib.h>
#include <string.h>

#include "store.h"

static uint32_t acc_names_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    size_t i;
    for (i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static int acc_names_rehash(acc_names *n)
{
    uint32_t ns = n->nslots ? n->nslots * 2 : 256, i;
    uint32_t *slots = calloc(ns, sizeof *slots);
    if (slots == NULL)
        return -1;
    for (i = 1; i < n->n; i++) {
        uint32_t h = acc_names_hash(n->bytes + n->off[i], n->slen[i]);
        while (slots[h & (ns - 1)] != 0)
            h++;
        slots[h & (ns - 1)] = i;
    }
    free(n->slots);
    n->slots = slots;
    n->nslots = ns;
    return 0;
}

static int acc_names_reserve(acc_names *n, size_t len)
{
    if (n->n + 1 > n->ncap) {
        uint32_t cap = n->ncap * 2;
        uint32_t *p;
        unsigned char *k;
        if ((p = realloc(n->off, cap * sizeof *p)) == NULL)
            return -1;
        n->off = p;
        if ((p = realloc(n->slen, cap * sizeof *p)) == NULL)
            return -1;
        n->slen = p;
        if ((k = realloc(n->kind, cap)) == NULL)
            return -1;
        n->kind = k;
        n->ncap = cap;
    }
    if (len > UINT32_MAX - n->len)
        return -1; /* offsets are 32-bit */
    if (n->len + len > n->bytes_cap) {
        size_t cap = n->bytes_cap * 2;
        char *b;
        while (cap < n->len + len)
            cap *= 2;
        if ((b = realloc(n->bytes, cap)) == NULL)
            return -1;
        n->bytes = b;
        n->bytes_cap = cap;
    }
    if ((n->n + 1) * 2 > n->nslots)
        return acc_names_rehash(n);
    return 0;
}

/* The index of s, interned if new; 0 when out of memory. */
uint32_t acc_names_intern(acc_names *n, const char *s, size_t len)
{
    uint32_t h = acc_names_hash(s, len), i;
    for (;; h++) {
        i = n->slots[h & (n->nslots - 1)];
        if (i == 0)
            break;
        if (n->slen[i] == len && memcmp(n->bytes + n->off[i], s, len) == 0)
            return i;
    }
    if (acc_names_reserve(n, len) != 0)
        return 0;
    i = n->n++;
    if (len > 0)
        memcpy(n->bytes + n->len, s, len);
    n->off[i] = (uint32_t)n->len;
    n->slen[i] = (uint32_t)len;
    n->kind[i] = ACC_KIND_OPEN;
    n->len += len;
    h = acc_names_hash(s, len);
    while (n->slots[h & (n->nslots - 1)] != 0)
        h++;
    n->slots[h & (n->nslots - 1)] = i;
    return i;
}

/* A status as statuses.of (lua/accelerate/statuses.lua) names it: the string when it is a plain name
 * (letters, digits, _ and -, at most ACC_STATUS_MAX bytes), else OTHER. */
uint32_t acc_names_status(acc_names *n, const char *s, size_t len)
{
    size_t i;
    if (len == 0 || len > ACC_STATUS_MAX)
        return ACC_ST_OTHER;
    for (i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return ACC_ST_OTHER;
    }
    return acc_names_intern(n, s, len);
}

void acc_names_set_kind(acc_names *n, uint32_t i, int kind)
{
    if (i > 0 && i < n->n)
        n->kind[i] = (unsigned char)kind;
}

const char *acc_names_get(const acc_names *n, uint32_t i, size_t *len)
{
    *len = n->slen[i];
    return n->bytes + n->off[i];
}

void acc_names_release(acc_names *n)
{
    if (n == NULL || --n->refs > 0)
        return;
    free(n->bytes);
    free(n->off);
    free(n->slen);
    free(n->kind);
    free(n->slots);
    free(n);
}

/* A new table with the statuses at their fixed indexes, and the failed
 * ones marked failed (status.h). */
acc_names *acc_names_new(void)
{
    static const char *const fixed[] = {ACC_STATUS_DOCUMENTED, "UNKNOWN",
                                        "OTHER"};
    static const char *const failed[] = {ACC_STATUS_FAILED};
    acc_names *n = calloc(1, sizeof *n);
    size_t i;
    if (n == NULL)
        return NULL;
    n->refs = 1;
    n->ncap = 64;
    n->bytes_cap = 1024;
    n->n = 1; /* index 0: none */
    n->off = calloc(n->ncap, sizeof *n->off);
    n->slen = calloc(n->ncap, sizeof *n->slen);
    n->kind = calloc(n->ncap, 1);
    n->bytes = malloc(n->bytes_cap);
    if (n->off == NULL || n->slen == NULL || n->kind == NULL ||
        n->bytes == NULL || acc_names_rehash(n) != 0)
        goto fail;
    for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (acc_names_intern(n, fixed[i], strlen(fixed[i])) != i + 1)
            goto fail;
    n->kind[ACC_ST_SUCCESS] = ACC_KIND_SUCCESS;
    for (i = 0; i < sizeof failed / sizeof failed[0]; i++) {
        uint32_t k = acc_names_intern(n, failed[i], strlen(failed[i]));
        if (k == 0)
            goto fail;
        n->kind[k] = ACC_KIND_FAILED;
    }
    return n;
fail:
    acc_names_release(n);
    return NULL;
}
