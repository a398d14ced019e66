/* A list_instances answer reduced into a store's pending page: only the
 * fields a watch needs (id, status, mtGuid, the partitions, resourceGroup,
 * the three times) are read, nothing else of the body becomes a Lua value.
 * A scanner specialised to the answer as the server writes it reads it in
 * one pass (at about a fifth of cjson's CPU); on anything it does not
 * expect it gives up, and yajl's event parser reads the body, the general
 * way.  The failed instances (every instance while
 * the store is in full mode) are decoded whole from their own span of the
 * body by the usual decoder.
 *
 * Both shapes are read: the bare list object and the envelope whose data
 * holds it.  Anything else (not JSON, an error envelope, an instance that
 * is not an object, instances that is not an array, a repeated key of the
 * list object, nesting beyond the decoder's limit) is left to the full
 * decoder, which gives the same error as any other call, or a page that
 * the store reduces from Lua tables (items.c): the two paths agree. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "store.h"

/* What an open container is. */
enum { RD_SKIP, RD_TOP, RD_DATA, RD_LIST, RD_INST };

/* Keys that matter, by container. */
enum {
    K_OTHER,
    K_SUCCESS,
    K_DATA,
    K_INSTANCES,
    K_TOTAL,
    K_ID,
    K_STATUS,
    K_NAME,   /* + ACC_F_* */
    K_TIME = K_NAME + ACC_NF, /* + ACC_T_* */
    K_END = K_TIME + ACC_NT
};

/* A total as the answer gave it. */
typedef struct acc_rd_total {
    int type; /* LUA_TNIL, LUA_TNUMBER or LUA_TSTRING */
    acc_buf text;
} acc_rd_total;

typedef struct acc_rd {
    yajl_handle h;
    acc_store *s;
    const char *body;          /* the text parsed, to tell an escaped key */
    size_t len;
    int key_raw;               /* the last key is as written (no escape) */
    size_t top_end;            /* where the top-level object ended */
    int depth;
    unsigned char ctx[ACC_JSON_MAX_DEPTH + 2];
    int key;                   /* the key of the value to come */
    unsigned top_seen, data_seen; /* keys met, as bits */
    int success;               /* -1: no boolean success, 0, 1 */
    int data_map;              /* data is an object */
    int src;                   /* the list being read: 0 bare, 1 data */
    int bad, oom;
    acc_rd_total total[2];
    acc_rec rec;               /* the instance being read */
    int has_id;
    acc_buf id;
    size_t start;
    unsigned char *tags;       /* per pending record: its list (0 or 1) */
    uint32_t tags_cap;
} acc_rd;

static const char *const acc_rd_inst_keys[K_END] = {
    NULL, NULL, NULL, NULL, NULL, "id", "status",
    "mtGuid", "startPartition", "endPartition", "resourceGroup",
    "createTime", "startTime", "endTime"};

/* Out of memory: the parse stops (0), and the caller raises. */
static int acc_rd_oom(acc_rd *rd)
{
    rd->oom = 1;
    return 0;
}

/* A shape left to the full decoder: the parse stops (0). */
static int acc_rd_bad(acc_rd *rd)
{
    rd->bad = 1;
    return 0;
}

static int acc_rd_is(const unsigned char *k, size_t n, const char *name)
{
    return n == strlen(name) && memcmp(k, name, n) == 0;
}

static int acc_rd_key(void *ctx, const unsigned char *k, size_t n)
{
    acc_rd *rd = ctx;
    int c = rd->ctx[rd->depth];
    unsigned *seen = c == RD_TOP ? &rd->top_seen : &rd->data_seen;
    rd->key = K_OTHER;
    rd->key_raw = (const char *)k >= rd->body &&
                  (const char *)k + n <= rd->body + rd->len;
    if (c == RD_INST) {
        int i;
        for (i = K_ID; i < K_END; i++)
            if (acc_rd_is(k, n, acc_rd_inst_keys[i]))
                rd->key = i;
        return 1;
    }
    if (c != RD_TOP && c != RD_DATA)
        return 1;
    if (acc_rd_is(k, n, "instances"))
        rd->key = K_INSTANCES;
    else if (acc_rd_is(k, n, "total"))
        rd->key = K_TOTAL;
    else if (c == RD_TOP && acc_rd_is(k, n, "success"))
        rd->key = K_SUCCESS;
    else if (c == RD_TOP && acc_rd_is(k, n, "data"))
        rd->key = K_DATA;
    if (rd->key != K_OTHER) {
        if (*seen & (1u << rd->key))
            rd->bad = 1; /* a repeated key: the decoder keeps the last */
        *seen |= 1u << rd->key;
    }
    return !rd->bad;
}

/* An instance's id from a JSON number: a plain integer as written (the
 * decoder quotes those: its key written "id", not escaped), any other
 * number as the decoder writes it. */
static int acc_rd_number_id(acc_rd *rd, const char *s, size_t n)
{
    size_t i = (n > 0 && s[0] == '-');
    char buf[64];
    double d;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        ;
    rd->id.len = 0;
    if (acc_buf_append(&rd->id, s, n) != 0)
        return acc_rd_oom(rd);
    if (i == n && rd->key_raw)
        return 1;
    d = strtod(rd->id.data, NULL); /* the buffer ends with a NUL */
    if (d == floor(d) && fabs(d) < 1e60)
        snprintf(buf, sizeof buf, "%.0f", d);
    else
        snprintf(buf, sizeof buf, "%.17g", d);
    rd->id.len = 0;
    return acc_buf_append(&rd->id, buf, strlen(buf)) == 0 ? 1 : acc_rd_oom(rd);
}

/* A scalar value of an instance's field: type is LUA_TSTRING,
 * LUA_TNUMBER, LUA_TBOOLEAN or LUA_TNIL (null, which the decoder drops). */
static int acc_rd_field(acc_rd *rd, int type, const char *s, size_t n)
{
    acc_rec *r = &rd->rec;
    int k = rd->key;
    if (k == K_ID) {
        rd->has_id = type == LUA_TSTRING || type == LUA_TNUMBER;
        rd->id.len = 0;
        if (type == LUA_TNUMBER)
            return acc_rd_number_id(rd, s, n);
        if (type == LUA_TSTRING && acc_buf_append(&rd->id, s, n) != 0)
            return acc_rd_oom(rd);
    } else if (k == K_STATUS) {
        r->status = type == LUA_TSTRING ? acc_names_status(rd->s->names, s, n)
                    : type == LUA_TNIL  ? ACC_ST_UNKNOWN
                                        : ACC_ST_OTHER;
    } else if (k >= K_NAME && k < K_TIME) {
        r->name[k - K_NAME] =
            type == LUA_TSTRING ? acc_names_intern(rd->s->names, s, n) : 0;
        if (type == LUA_TSTRING && r->name[k - K_NAME] == 0)
            return acc_rd_oom(rd);
    } else if (k >= K_TIME && k < K_END) {
        r->time[k - K_TIME] =
            type == LUA_TSTRING ? acc_time_parse(s, n) : ACC_NO_TIME;
    }
    if (r->status == 0)
        return acc_rd_oom(rd);
    return 1;
}

static void acc_rd_set_total(acc_rd *rd, int src, int type, const char *s,
                             size_t n)
{
    acc_rd_total *t = &rd->total[src];
    t->type = type == LUA_TNUMBER || type == LUA_TSTRING ? type : LUA_TNIL;
    t->text.len = 0;
    if (t->type != LUA_TNIL && acc_buf_append(&t->text, s, n) != 0)
        rd->oom = 1;
}

/* Any scalar value. */
static int acc_rd_scalar(acc_rd *rd, int type, const char *s, size_t n)
{
    int c = rd->depth == 0 ? RD_SKIP : rd->ctx[rd->depth];
    if (rd->depth == 0)
        return acc_rd_bad(rd); /* not an object */
    if (c == RD_INST)
        return acc_rd_field(rd, type, s, n);
    if (c == RD_LIST)
        return acc_rd_bad(rd); /* an instance that is not an object */
    if (c != RD_TOP && c != RD_DATA)
        return 1;
    if (rd->key == K_TOTAL)
        acc_rd_set_total(rd, c == RD_DATA, type, s, n);
    else if (rd->key == K_SUCCESS)
        rd->success = type == LUA_TBOOLEAN ? (s != NULL) : -1;
    else if (rd->key == K_INSTANCES && type != LUA_TNIL)
        rd->bad = 1; /* instances is not an array */
    return !rd->bad && !rd->oom;
}

static int acc_rd_null(void *ctx)
{
    return acc_rd_scalar(ctx, LUA_TNIL, NULL, 0);
}

static int acc_rd_boolean(void *ctx, int v)
{
    return acc_rd_scalar(ctx, LUA_TBOOLEAN, v ? "" : NULL, 0);
}

static int acc_rd_number(void *ctx, const char *s, size_t n)
{
    return acc_rd_scalar(ctx, LUA_TNUMBER, s, n);
}

static int acc_rd_string(void *ctx, const unsigned char *s, size_t n)
{
    return acc_rd_scalar(ctx, LUA_TSTRING, (const char *)s, n);
}

/* An instance object opens at offset start of the body. */
static void acc_rd_begin_instance(acc_rd *rd, size_t start)
{
    memset(&rd->rec, 0, sizeof rd->rec);
    rd->rec.status = ACC_ST_UNKNOWN;
    rd->rec.time[0] = rd->rec.time[1] = rd->rec.time[2] = ACC_NO_TIME;
    rd->has_id = 0;
    rd->id.len = 0;
    rd->start = start;
}

/* What a container opened in the current one is. */
static int acc_rd_child(acc_rd *rd, int map)
{
    int c = rd->depth == 0 ? -1 : rd->ctx[rd->depth], k = rd->key;
    if (c == -1)
        return map ? RD_TOP : (rd->bad = 1, RD_SKIP);
    if (c == RD_TOP && k == K_DATA) {
        rd->data_map = map;
        return map ? RD_DATA : RD_SKIP;
    }
    if ((c == RD_TOP || c == RD_DATA) && k == K_INSTANCES) {
        rd->src = c == RD_DATA;
        return map ? (rd->bad = 1, RD_SKIP) : RD_LIST;
    }
    if (c == RD_LIST) {
        if (!map)
            return (rd->bad = 1, RD_SKIP);
        acc_rd_begin_instance(rd, yajl_get_bytes_consumed(rd->h) - 1);
        return RD_INST;
    }
    if (c == RD_INST) /* a field holding an object or array */
        acc_rd_field(rd, LUA_TTABLE, NULL, 0);
    return RD_SKIP;
}

static int acc_rd_open(acc_rd *rd, int map)
{
    int child = acc_rd_child(rd, map);
    if (rd->bad || rd->oom)
        return 0;
    if (rd->depth >= ACC_JSON_MAX_DEPTH)
        return acc_rd_bad(rd); /* the decoder refuses it too */
    rd->ctx[++rd->depth] = (unsigned char)child;
    return 1;
}

static int acc_rd_start_map(void *ctx)
{
    return acc_rd_open(ctx, 1);
}

static int acc_rd_start_array(void *ctx)
{
    return acc_rd_open(ctx, 0);
}

/* The end of an instance (end: the offset just past its '}'): its record,
 * span and list on the pending page. */
static int acc_rd_end_instance(acc_rd *rd, size_t end)
{
    acc_store *s = rd->s;
    uint32_t n = s->pending.n;
    if (acc_store_spans(s, n + 1) != 0)
        return acc_rd_oom(rd);
    if (n + 1 > rd->tags_cap) {
        uint32_t cap = rd->tags_cap ? rd->tags_cap * 2 : 256;
        unsigned char *t = realloc(rd->tags, cap);
        if (t == NULL)
            return acc_rd_oom(rd);
        rd->tags = t;
        rd->tags_cap = cap;
    }
    /* an empty id is an id: its buffer may not even be allocated */
    if (acc_page_push(&s->pending, &rd->rec,
                      !rd->has_id ? NULL : rd->id.data ? rd->id.data : "",
                      rd->has_id ? rd->id.len : 0) != 0)
        return acc_rd_oom(rd);
    s->spans[n].start = rd->start;
    s->spans[n].end = end;
    rd->tags[n] = (unsigned char)rd->src;
    return 1;
}

static int acc_rd_close(void *ctx)
{
    acc_rd *rd = ctx;
    if (rd->ctx[rd->depth] == RD_INST &&
        !acc_rd_end_instance(rd, yajl_get_bytes_consumed(rd->h)))
        return 0;
    if (--rd->depth == 0)
        rd->top_end = yajl_get_bytes_consumed(rd->h);
    return 1;
}

static const yajl_callbacks acc_rd_callbacks = {
    acc_rd_null,   acc_rd_boolean,     NULL,         NULL,
    acc_rd_number, acc_rd_string,      acc_rd_start_map, acc_rd_key,
    acc_rd_close,  acc_rd_start_array, acc_rd_close};

static void acc_rd_free(acc_rd *rd)
{
    if (rd->h != NULL)
        yajl_free(rd->h);
    rd->h = NULL;
    acc_buf_free(&rd->id);
    acc_buf_free(&rd->total[0].text);
    acc_buf_free(&rd->total[1].text);
    free(rd->tags);
    rd->tags = NULL;
}

/* Keeps the pending records of list `src` (and their spans), in order. */
static void acc_rd_keep(acc_rd *rd, int src)
{
    acc_page *p = &rd->s->pending;
    uint32_t i, n = 0;
    size_t ids = 0;
    for (i = 0; i < p->n; i++) {
        acc_rec r = p->rec[i];
        if (rd->tags[i] != src)
            continue;
        if (r.id_len != ACC_NO_ID && r.id_len > 0) { /* ids move down */
            memmove(p->ids + ids, p->ids + r.id_off, r.id_len);
            r.id_off = (uint32_t)ids;
            ids += r.id_len;
        }
        p->rec[n] = r;
        rd->s->spans[n] = rd->s->spans[i];
        n++;
    }
    p->n = n;
    p->ids_len = ids;
}

/* Whether yajl would read the text otherwise than lua-cjson: yajl takes \v
 * and \f for blanks and turns a lone UTF-16 surrogate escape into '?',
 * where lua-cjson refuses the answer.  Such a body is left to the full
 * decoder (a false alarm, say a \f inside a string, costs only the slower
 * path). */
static int acc_rd_unlike_cjson(const char *s, size_t n)
{
    const char *end = s + n, *p = s;
    if (memchr(s, '\v', n) != NULL || memchr(s, '\f', n) != NULL)
        return 1;
    while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
        if (end - p >= 4 && p[1] == 'u' && (p[2] == 'd' || p[2] == 'D') &&
            p[3] != '\0' && strchr("89abcdefABCDEF", p[3]) != NULL)
            return 1;
        if (++p >= end)
            break;
    }
    return 0;
}

/* Whether s[from, n) is JSON blanks only: yajl takes an unfinished token
 * after the top-level value (a lone quote) for more to come, and accepts. */
static int acc_rd_blank(const char *s, size_t from, size_t n)
{
    size_t i;
    if (from == 0)
        return 0;
    for (i = from; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return 0;
    return 1;
}

/* ---- the scanner: the list answer's known shape, read in one pass ------ */

/* A scanner over the body: reads what the yajl reader above reads, the
 * same way, for a body shaped as the server writes it (strict JSON, keys
 * without escapes, the wanted string values without escapes), and skips
 * everything else without a callback per value.  On anything else it
 * gives up (0) and the yajl reader reads the body from the start: what
 * the scanner reads, it reads as that reader does; what it does not, it
 * leaves alone. */
/* The few helpers called for every key and value are inlined. */
#if defined(__GNUC__)
#define ACC_SC_INLINE __inline__ __attribute__((always_inline))
#else
#define ACC_SC_INLINE
#endif

/* Deeper than this (far below the decoder's limit) is the yajl reader's. */
#define ACC_SC_MAX_DEPTH 32

/* Instances are written alike: the same keys in the same order, and many
 * values (a status, a partition, a resource group, a creation time) the
 * same as the previous instance's.  The scanner remembers where the
 * previous instance had each (they stay in the body while it is read):
 * bytes equal to a remembered key or value, closing quote included, are
 * that key or value, read already. */
#define ACC_SC_KEYS 24

typedef struct acc_sc_seen {
    const char *s; /* key: from its opening quote; value: its contents */
    size_t n;      /* key: up to its closing quote included */
    long long v;   /* key: its K_*; value: what the record got from it */
    long hms;      /* a time's seconds of the day (acc_sc_hms) */
} acc_sc_seen;

typedef struct acc_sc {
    const char *p, *end, *body;
    acc_rd *rd;
    int depth;
    acc_sc_seen keys[ACC_SC_KEYS], vals[K_END];
} acc_sc;

static int acc_sc_skip_value(acc_sc *sc);

static void acc_sc_ws(acc_sc *sc)
{
    while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\n' ||
                               *sc->p == '\r' || *sc->p == '\t'))
        sc->p++;
}

/* Whether the next byte is c (after blanks), then past it. */
static ACC_SC_INLINE int acc_sc_byte(acc_sc *sc, char c)
{
    if (sc->p < sc->end && *sc->p == c) { /* no blank: the server's way */
        sc->p++;
        return 1;
    }
    acc_sc_ws(sc);
    if (sc->p >= sc->end || *sc->p != c)
        return 0;
    sc->p++;
    return 1;
}

#if defined(__GNUC__) && defined(__SSE2__)
#include <emmintrin.h>
#define ACC_SC_SSE2 1
#else
#define ACC_SC_SSE2 0
#endif
#if !ACC_SC_SSE2
/* A byte of 8 equal to x, or below 0x20, in the word w (SWAR). */
#define ACC_SC_ONES 0x0101010101010101ULL
#define ACC_SC_HIGH 0x8080808080808080ULL
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ACC_SC_FIRST(m) (__builtin_ctzll(m) >> 3)
#else
#define ACC_SC_FIRST(m) 0 /* the byte loop below finds it */
#endif
static uint64_t acc_sc_has(uint64_t w, unsigned char x)
{
    uint64_t v = w ^ (ACC_SC_ONES * x);
    return (v - ACC_SC_ONES) & ~v & ACC_SC_HIGH;
}
#endif

/* The length of the escape at p (a backslash) as yajl checks it, or 0:
 * unknown, cut short, or a surrogate (the yajl reader leaves those to the
 * full decoder).  Apart, so that the common path keeps its registers. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static size_t acc_sc_escape(const char *p, const char *e)
{
    int i;
    if (e - p < 2)
        return 0;
    if (p[1] != 'u')
        return p[1] != '\0' && strchr("\"\\/bfnrt", p[1]) != NULL ? 2 : 0;
    if (e - p < 6 || p[2] == 'd' || p[2] == 'D')
        return 0;
    for (i = 2; i < 6; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') ||
              (p[i] >= 'A' && p[i] <= 'F')))
            return 0;
    return 6;
}

/* The string whose opening quote is at sc->p: *s and *n its contents as
 * written, *esc whether it holds an escape (each checked as yajl checks
 * it; a surrogate escape gives up, as the yajl reader leaves those to the
 * full decoder); sc->p past its closing quote.  0: a control byte, a bad
 * escape, no closing quote. */
static int acc_sc_string(acc_sc *sc, const char **s, size_t *n, int *esc)
{
    const char *p = sc->p + 1, *e = sc->end;
    size_t k;
    *s = p;
    *esc = 0;
    for (;;) {
        /* 8 bytes at a time: the lowest flagged byte of a word is exact
         * (the flags above it may be false), and a little-endian load puts
         * the first byte lowest */
#if ACC_SC_SSE2
        while (e - p >= 16) { /* 16 at a time where SSE2 is (x86-64) */
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
            __m128i c = _mm_set1_epi8(0x1F);
            int m = _mm_movemask_epi8(_mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                             _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
                _mm_cmpeq_epi8(_mm_max_epu8(x, c), c)));
            if (m != 0) {
                p += __builtin_ctz((unsigned)m);
                goto found;
            }
            p += 16;
        }
#else
        while (e - p >= 8) {
            uint64_t w, m;
            memcpy(&w, p, 8);
            m = acc_sc_has(w, '"') | acc_sc_has(w, '\\') |
                ((w - ACC_SC_ONES * 0x20) & ~w & ACC_SC_HIGH);
            if (m != 0) {
                p += ACC_SC_FIRST(m);
                break;
            }
            p += 8;
        }
#endif
        while (p < e && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
            p++;
#if ACC_SC_SSE2
    found:
#endif
        if (p >= e || (unsigned char)*p < 0x20)
            return 0;
        if (*p == '"')
            break;
        *esc = 1;
        if ((k = acc_sc_escape(p, e)) == 0)
            return 0;
        p += k;
    }
    *n = (size_t)(p - *s);
    sc->p = p + 1;
    return 1;
}

/* A number at sc->p, strict JSON as yajl reads it: *s, *n its text. */
static int acc_sc_number(acc_sc *sc, const char **s, size_t *n)
{
    const char *p = sc->p, *e = sc->end;
    *s = p;
    if (p < e && *p == '-')
        p++;
    if (p >= e || *p < '0' || *p > '9')
        return 0;
    if (*p == '0')
        p++;
    else
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    if (p < e && *p == '.') {
        if (++p >= e || *p < '0' || *p > '9')
            return 0;
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        if (++p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || *p < '0' || *p > '9')
            return 0;
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    /* what follows is the container's to check ("01": '1' is no ',') */
    *n = (size_t)(p - *s);
    sc->p = p;
    return 1;
}

static int acc_sc_word(acc_sc *sc, const char *w, size_t n)
{
    if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, w, n) != 0)
        return 0;
    sc->p += n;
    return 1;
}

/* A scalar at sc->p: its type (LUA_TSTRING, LUA_TNUMBER, LUA_TBOOLEAN,
 * LUA_TNIL), text (a string's contents, a number's digits; for a boolean
 * non-NULL when true, as the yajl reader passes it), or -1 to give up;
 * LUA_TTABLE when a container opens there (not read). */
static int acc_sc_scalar(acc_sc *sc, const char **s, size_t *n, int *esc)
{
    *esc = 0;
    *s = NULL;
    *n = 0;
    acc_sc_ws(sc);
    if (sc->p >= sc->end)
        return -1;
    switch (*sc->p) {
    case '"':
        return acc_sc_string(sc, s, n, esc) ? LUA_TSTRING : -1;
    case '{':
    case '[':
        return LUA_TTABLE;
    case 't':
        *s = "";
        return acc_sc_word(sc, "true", 4) ? LUA_TBOOLEAN : -1;
    case 'f':
        return acc_sc_word(sc, "false", 5) ? LUA_TBOOLEAN : -1;
    case 'n':
        return acc_sc_word(sc, "null", 4) ? LUA_TNIL : -1;
    default:
        return acc_sc_number(sc, s, n) ? LUA_TNUMBER : -1;
    }
}

/* Skips the rest of a container whose opening byte was just read. */
static int acc_sc_skip_items(acc_sc *sc, char close, int object)
{
    if (++sc->depth >= ACC_SC_MAX_DEPTH)
        return 0;
    if (acc_sc_byte(sc, close)) {
        sc->depth--;
        return 1;
    }
    do {
        if (object) {
            const char *s;
            size_t n;
            int esc;
            acc_sc_ws(sc);
            if (sc->p >= sc->end || *sc->p != '"' ||
                !acc_sc_string(sc, &s, &n, &esc) || !acc_sc_byte(sc, ':'))
                return 0;
        }
        if (!acc_sc_skip_value(sc))
            return 0;
    } while (acc_sc_byte(sc, ','));
    sc->depth--;
    return acc_sc_byte(sc, close);
}

static int acc_sc_skip_value(acc_sc *sc)
{
    const char *s;
    size_t n;
    int esc, t = acc_sc_scalar(sc, &s, &n, &esc);
    if (t != LUA_TTABLE)
        return t >= 0;
    sc->p++;
    return acc_sc_skip_items(sc, sc->p[-1] == '{' ? '}' : ']',
                             sc->p[-1] == '{');
}

/* A key at sc->p (no escape) and its colon: *s, *n its text. */
static int acc_sc_key(acc_sc *sc, const char **s, size_t *n)
{
    int esc;
    acc_sc_ws(sc);
    return sc->p < sc->end && *sc->p == '"' && acc_sc_string(sc, s, n, &esc) &&
           !esc && acc_sc_byte(sc, ':');
}

/* Which of the instance keys the watch reads (K_OTHER for the rest). */
static int acc_sc_inst_key(const char *k, size_t n)
{
#define ACC_SC_IS(name) (memcmp(k, name, n) == 0)
    switch (n) {
    case 2: return ACC_SC_IS("id") ? K_ID : K_OTHER;
    case 6: return ACC_SC_IS("status")   ? K_STATUS
                   : ACC_SC_IS("mtGuid") ? K_NAME + ACC_F_TABLE
                                         : K_OTHER;
    case 7: return ACC_SC_IS("endTime") ? K_TIME + ACC_T_END : K_OTHER;
    case 9: return ACC_SC_IS("startTime") ? K_TIME + ACC_T_START : K_OTHER;
    case 10: return ACC_SC_IS("createTime") ? K_TIME + ACC_T_CREATE : K_OTHER;
    case 12: return ACC_SC_IS("endPartition") ? K_NAME + ACC_F_END : K_OTHER;
    case 13: return ACC_SC_IS("resourceGroup") ? K_NAME + ACC_F_GROUP : K_OTHER;
    case 14: return ACC_SC_IS("startPartition") ? K_NAME + ACC_F_START : K_OTHER;
    default: return K_OTHER;
    }
#undef ACC_SC_IS
}

/* What the record holds from the value of key k (a status, a name or a
 * time), and the other way round. */
static long long acc_sc_got(const acc_rec *r, int k)
{
    if (k == K_STATUS)
        return r->status;
    if (k < K_TIME)
        return r->name[k - K_NAME];
    return r->time[k - K_TIME];
}

static void acc_sc_put(acc_rec *r, int k, long long v)
{
    if (k == K_STATUS)
        r->status = (int)v;
    else if (k < K_TIME)
        r->name[k - K_NAME] = (uint32_t)v;
    else
        r->time[k - K_TIME] = (int32_t)v;
}

/* memcmp(a, b, n) == 0 for 8 <= n <= 16: two overlapping 8-byte loads
 * each. */
static ACC_SC_INLINE int acc_sc_eq16(const char *a, const char *b, size_t n)
{
    uint64_t x, y, u, v;
    memcpy(&x, a, 8);
    memcpy(&y, b, 8);
    memcpy(&u, a + n - 8, 8);
    memcpy(&v, b + n - 8, 8);
    return ((x ^ y) | (u ^ v)) == 0;
}

/* memcmp(a, b, n) == 0, without a call for the 4 to 32 bytes of most keys
 * and values. */
static ACC_SC_INLINE int acc_sc_eq(const char *a, const char *b, size_t n)
{
    if (n >= 8 && n <= 16) {
        uint64_t x, y, u, v;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        memcpy(&u, a + n - 8, 8);
        memcpy(&v, b + n - 8, 8);
        return ((x ^ y) | (u ^ v)) == 0;
    }
    if (n > 16 && n <= 32) /* the first 16 bytes, then the last 16 */
        return acc_sc_eq16(a, b, 16) && acc_sc_eq16(a + n - 16, b + n - 16, 16);
    if (n >= 4 && n < 8) {
        uint32_t x, y, u, v;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        memcpy(&u, a + n - 4, 4);
        memcpy(&v, b + n - 4, 4);
        return ((x ^ y) | (u ^ v)) == 0;
    }
    return memcmp(a, b, n) == 0;
}

/* Whether the bytes at sc->p are those of seen (n of them from s, then
 * `after`); past them if so. */
static ACC_SC_INLINE int acc_sc_again(acc_sc *sc, const acc_sc_seen *seen, char after)
{
    const char *p = sc->p;
    size_t n = seen->n;
    if (seen->s == NULL || (size_t)(sc->end - p) <= n + 1 ||
        p[n] != after || !acc_sc_eq(p, seen->s, n))
        return 0;
    sc->p = p + n + 1;
    return 1;
}

/* The key of the i-th member of an instance: its K_*, or -1. */
static int acc_sc_inst_member_key(acc_sc *sc, int i)
{
    const char *k;
    size_t n;
    acc_sc_seen *seen = i < ACC_SC_KEYS ? &sc->keys[i] : NULL;
    if (seen != NULL && acc_sc_again(sc, seen, ':'))
        return (int)seen->v;
    acc_sc_ws(sc);
    if (seen != NULL)
        seen->s = sc->p;
    if (!acc_sc_key(sc, &k, &n))
        return -1;
    if (seen != NULL) { /* `"key"` as written, colon apart */
        seen->n = (size_t)(k + n + 1 - seen->s);
        seen->v = acc_sc_inst_key(k, n);
        if (seen->s[seen->n] != ':')
            seen->s = NULL; /* a blank before the colon */
        return (int)seen->v;
    }
    return acc_sc_inst_key(k, n);
}

/* The seconds of the day of a full time "YYYY-MM-DD[T ]hh:mm:ss...", as
 * acc_time_parse reads it, or -1 when it is not one. */
static long acc_sc_hms(const char *s, size_t n)
{
    unsigned h1, h2, m1, m2, s1, s2;
    if (n < 19 || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' ||
        s[16] != ':')
        return -1;
    h1 = (unsigned)(s[11] - '0'), h2 = (unsigned)(s[12] - '0');
    m1 = (unsigned)(s[14] - '0'), m2 = (unsigned)(s[15] - '0');
    s1 = (unsigned)(s[17] - '0'), s2 = (unsigned)(s[18] - '0');
    if ((h1 | h2 | m1 | m2 | s1 | s2) > 9) /* each a digit */
        return -1;
    return (long)((h1 * 10 + h2) * 3600 + (m1 * 10 + m2) * 60 + s1 * 10 + s2);
}

/* A time on the day of the remembered one (most times of a page share
 * their day): its seconds from the remembered seconds, without the
 * calendar; 0 when it is not that simple (acc_time_parse then). */
static int acc_sc_time_near(const acc_sc_seen *seen, const char *s, long b,
                            int32_t *out)
{
    int64_t t;
    if (seen->s == NULL || seen->v == ACC_NO_TIME || seen->hms < 0 || b < 0 ||
        !acc_sc_eq(s, seen->s, 10))
        return 0;
    t = (int64_t)seen->v - seen->hms + b;
    *out = t <= INT32_MIN || t > INT32_MAX ? ACC_NO_TIME : (int32_t)t;
    return 1;
}

/* The value of wanted key k of an instance into the record. */
static int acc_sc_inst_value(acc_sc *sc, int k)
{
    acc_rd *rd = sc->rd;
    acc_sc_seen *seen = &sc->vals[k];
    const char *s;
    size_t n;
    long hms;
    int esc, t;
    if (k != K_ID && sc->p < sc->end && *sc->p == '"') {
        sc->p++;
        if (acc_sc_again(sc, seen, '"')) {
            acc_sc_put(&rd->rec, k, seen->v);
            return 1;
        }
        sc->p--;
    }
    rd->key = k;
    t = acc_sc_scalar(sc, &s, &n, &esc);
    if (t < 0 || esc) /* an escaped value: the yajl reader's */
        return 0;
    hms = t == LUA_TSTRING && k >= K_TIME ? acc_sc_hms(s, n) : -1;
    if (hms >= 0 && acc_sc_time_near(seen, s, hms, &rd->rec.time[k - K_TIME]))
        ; /* read from the remembered time */
    else if (!acc_rd_field(rd, t, s, n))
        return 0; /* out of memory, rd->oom says */
    if (t == LUA_TSTRING && k != K_ID) {
        seen->s = s;
        seen->n = n;
        seen->v = acc_sc_got(&rd->rec, k);
        seen->hms = hms;
    }
    if (t != LUA_TTABLE)
        return 1;
    sc->depth++;
    if (!acc_sc_skip_value(sc))
        return 0;
    sc->depth--;
    return 1;
}

/* One instance object, its '{' at sc->p: the fields read as the yajl
 * reader reads them, into a record on the pending page. */
static int acc_sc_instance(acc_sc *sc)
{
    acc_rd *rd = sc->rd;
    acc_rd_begin_instance(rd, (size_t)(sc->p - sc->body));
    sc->p++;
    if (sc->depth + 1 >= ACC_SC_MAX_DEPTH)
        return 0;
    if (!acc_sc_byte(sc, '}')) {
        int i = 0;
        do {
            int k = acc_sc_inst_member_key(sc, i++);
            if (k < 0)
                return 0;
            if (k == K_OTHER ? !acc_sc_skip_value(sc)
                             : !acc_sc_inst_value(sc, k))
                return 0;
        } while (acc_sc_byte(sc, ','));
        if (!acc_sc_byte(sc, '}'))
            return 0;
    }
    return acc_rd_end_instance(rd, (size_t)(sc->p - sc->body));
}

/* The instances array, its '[' at sc->p; src: 1 in data, 0 bare. */
static int acc_sc_list(acc_sc *sc, int src)
{
    sc->rd->src = src;
    sc->p++;
    if (acc_sc_byte(sc, ']'))
        return 1;
    sc->depth++;
    do {
        acc_sc_ws(sc);
        if (sc->p >= sc->end || *sc->p != '{' || !acc_sc_instance(sc))
            return 0;
    } while (acc_sc_byte(sc, ','));
    sc->depth--;
    return acc_sc_byte(sc, ']');
}

/* A value of the top object or of data: key is its K_*; in_data 1 in
 * data. */
static int acc_sc_member(acc_sc *sc, int key, int in_data);

/* The top object or data, its '{' at sc->p. */
static int acc_sc_object(acc_sc *sc, int in_data)
{
    unsigned seen = 0;
    sc->p++;
    if (acc_sc_byte(sc, '}'))
        return 1;
    sc->depth++;
    do {
        const char *k;
        size_t n;
        int key = K_OTHER;
        if (!acc_sc_key(sc, &k, &n))
            return 0;
        if (n == 9 && memcmp(k, "instances", 9) == 0)
            key = K_INSTANCES;
        else if (n == 5 && memcmp(k, "total", 5) == 0)
            key = K_TOTAL;
        else if (!in_data && n == 7 && memcmp(k, "success", 7) == 0)
            key = K_SUCCESS;
        else if (!in_data && n == 4 && memcmp(k, "data", 4) == 0)
            key = K_DATA;
        if (key != K_OTHER) {
            if (seen & (1u << key))
                return 0; /* a repeated key: the yajl reader's to refuse */
            seen |= 1u << key;
        }
        if (!acc_sc_member(sc, key, in_data))
            return 0;
    } while (acc_sc_byte(sc, ','));
    sc->depth--;
    return acc_sc_byte(sc, '}');
}

static int acc_sc_member(acc_sc *sc, int key, int in_data)
{
    acc_rd *rd = sc->rd;
    const char *s;
    size_t n;
    int esc, t;
    if (key == K_OTHER)
        return acc_sc_skip_value(sc);
    t = acc_sc_scalar(sc, &s, &n, &esc);
    if (t < 0 || esc)
        return 0;
    if (t == LUA_TTABLE) {
        if (key == K_DATA && *sc->p == '{') {
            rd->data_map = 1;
            return acc_sc_object(sc, 1);
        }
        if (key == K_INSTANCES)
            return *sc->p == '[' && acc_sc_list(sc, in_data);
        return acc_sc_skip_value(sc); /* total or success: not read */
    }
    if (key == K_TOTAL) {
        acc_rd_set_total(rd, in_data, t, s, n);
        return !rd->oom;
    }
    if (key == K_SUCCESS)
        rd->success = t == LUA_TBOOLEAN ? (s != NULL) : -1;
    else if (key == K_INSTANCES && t != LUA_TNIL)
        return 0; /* instances is not an array */
    return 1;
}

/* Reads the body into the pending page as the yajl reader would: 1, or 0
 * when the body is not one the scanner takes (rd->oom: out of memory). */
static int acc_sc_parse(acc_rd *rd, const char *body, size_t len)
{
    acc_sc sc;
    memset(&sc, 0, sizeof sc);
    sc.p = sc.body = body;
    sc.end = body + len;
    sc.rd = rd;
    sc.depth = 0;
    rd->key_raw = 1; /* keys with an escape give up */
    acc_sc_ws(&sc);
    if (sc.p >= sc.end || *sc.p != '{' || !acc_sc_object(&sc, 0))
        return 0;
    acc_sc_ws(&sc);
    return sc.p == sc.end;
}

/* What both readers end with: the list chosen (1), or 0 for an error
 * envelope or one without data (the full decoder's). */
static int acc_rd_choose(acc_rd *rd)
{
    int src = rd->success >= 0;
    if (src && (rd->success == 0 || !rd->data_map))
        return 0;
    if (rd->s->pending.n > 0)
        acc_rd_keep(rd, src);
    rd->src = src;
    return 1;
}

/* The general reader: yajl's events over the whole body.  1: read; 0:
 * left to the full decoder.  Frees the parser. */
static int acc_rd_parse_yajl(lua_State *L, acc_rd *rd, const char *body,
                             size_t len)
{
    yajl_status st;
    if (len > 0 && acc_rd_unlike_cjson(body, len))
        return 0;
    acc_page_clear(&rd->s->pending);
    if ((rd->h = yajl_alloc(&acc_rd_callbacks, NULL, rd)) == NULL) {
        acc_rd_free(rd);
        luaL_error(L, "accelerate: out of memory");
        return 0;
    }
    /* as lax as lua-cjson: strings are not checked to be UTF-8 */
    yajl_config(rd->h, yajl_dont_validate_strings, 1);
    st = yajl_parse(rd->h, (const unsigned char *)body, len);
    if (st == yajl_status_ok)
        st = yajl_complete_parse(rd->h);
    yajl_free(rd->h);
    rd->h = NULL;
    if (rd->oom) {
        acc_rd_free(rd);
        luaL_error(L, "accelerate: out of memory");
        return 0;
    }
    if (st != yajl_status_ok || rd->bad || rd->depth != 0 ||
        !acc_rd_blank(body, rd->top_end, len))
        return 0;
    return acc_rd_choose(rd);
}

/* Parses the body into the pending page: the scanner first, the yajl
 * reader (from a fresh start) when the scanner gives up.  1: read (the
 * list chosen, the total in rd); 0: left to the full decoder. */
static int acc_rd_parse(lua_State *L, acc_rd *rd, const char *body,
                        size_t len)
{
    acc_store *s = rd->s;
    rd->success = -1;
    rd->body = body;
    rd->len = len;
    acc_page_clear(&s->pending);
    if (acc_sc_parse(rd, body, len))
        return acc_rd_choose(rd);
    if (rd->oom) {
        acc_rd_free(rd);
        luaL_error(L, "accelerate: out of memory");
        return 0;
    }
    acc_rd_free(rd);
    memset(rd, 0, sizeof *rd);
    rd->s = s;
    rd->success = -1;
    rd->body = body;
    rd->len = len;
    return acc_rd_parse_yajl(L, rd, body, len);
}

/* Pushes the chosen list's total (nil, a number or the string given). */
static void acc_rd_push_total(lua_State *L, const acc_rd_total *t)
{
    if (t->type == LUA_TSTRING) {
        lua_pushlstring(L, t->text.data, t->text.len);
    } else if (t->type == LUA_TNUMBER) {
        double d = strtod(t->text.data, NULL);
#if ACC_HAS_INTEGERS
        lua_Integer i;
        if (d == floor(d) && lua_numbertointeger(d, &i)) {
            lua_pushinteger(L, i);
            return;
        }
#endif
        lua_pushnumber(L, (lua_Number)d);
    } else {
        lua_pushnil(L);
    }
}

/* The whole tables of the records the report shows whole, decoded from
 * their spans into the pending table. */
static void acc_rd_whole(lua_State *L, acc_store *s, int pending,
                         const char *body)
{
    uint32_t i;
    for (i = 0; i < s->pending.n; i++) {
        if (!acc_store_wants_whole(s, &s->pending.rec[i]))
            continue;
        acc_decode_instance(L, body + s->spans[i].start,
                            s->spans[i].end - s->spans[i].start);
        lua_rawseti(L, pending, (int)i + 1);
    }
}

/* The full decoder's way: pushes the commit's result (1), or the error
 * (0). */
static int acc_rd_fallback(lua_State *L, int sidx, long status,
                           const char *body, size_t len, const char *trace,
                           size_t trace_len, const char *secret,
                           size_t secret_len)
{
    acc_store *s = acc_store_check(L, sidx);
    int res;
    if (!acc_decode_response(L, ACC_CALL_LIST, status, body, len, trace,
                             trace_len, secret, secret_len))
        return 0;
    res = lua_gettop(L);
    lua_getfield(L, res, "instances");
    acc_store_push_pending(L, sidx);
    if (acc_items_reduce(L, s, res + 1, res + 2) != 0)
        return luaL_error(L, "accelerate: out of memory");
    lua_getfield(L, res, "total");
    acc_store_commit_lua(L, sidx, lua_gettop(L));
    lua_replace(L, res);
    lua_settop(L, res);
    return 1;
}

/* A list answer into the store at sidx (store:expect said where).  Pushes
 * the commit's result and returns 1, or pushes the error object (as
 * acc_decode_response) and returns 0. */
int acc_reduce_response(lua_State *L, int sidx, long status, const char *body,
                        size_t len, const char *trace, size_t trace_len,
                        const char *secret, size_t secret_len)
{
    acc_store *s = acc_store_check(L, sidx);
    acc_rd rd;
    int top = lua_gettop(L);
    luaL_checkstack(L, 16, "accelerate: reduce");
    if (s->expect == 0)
        return luaL_error(L, "accelerate: store: no page expected");
    memset(&rd, 0, sizeof rd);
    rd.s = s;
    if (status < 200 || status > 299 || !acc_rd_parse(L, &rd, body, len)) {
        acc_rd_free(&rd);
        return acc_rd_fallback(L, sidx, status, body, len, trace, trace_len,
                               secret, secret_len);
    }
    acc_rd_push_total(L, &rd.total[rd.src]);
    acc_rd_free(&rd);
    acc_store_push_pending(L, sidx);
    acc_rd_whole(L, s, top + 2, body);
    lua_pop(L, 1);
    acc_store_commit_lua(L, sidx, top + 1);
    lua_replace(L, top + 1);
    lua_settop(L, top + 1);
    return 1;
}

/* accelerate.reduce(store, status, headers, body [, config]) -> result |
 * nil, err: accelerate.decode's counterpart for a list_instances answer
 * (the cosocket transport's bodies are Lua strings). */
static int acc_reduce_lua(lua_State *L)
{
    acc_answer_args a;

    acc_store_check(L, 1);
    acc_decode_args(L, &a);
    if (acc_reduce_response(L, 1, a.status, a.body, a.len, a.trace,
                            a.trace_len, a.secret, a.secret_len))
        return 1;
    acc_error_redact(L, -1, a.secret, a.secret_len);
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

const luaL_Reg acc_reduce_lib[] = {
    {"reduce", acc_reduce_lua},
    {NULL, NULL}};
