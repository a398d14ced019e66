/* A list_instances answer reduced into a store's pending page with yajl's
 * event parser: only the fields a watch needs (id, status, mtGuid, the
 * partitions, resourceGroup, the three times) are read, nothing else of
 * the body becomes a Lua value.  The failed instances (every instance while
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

static void acc_rd_begin_instance(acc_rd *rd)
{
    memset(&rd->rec, 0, sizeof rd->rec);
    rd->rec.status = ACC_ST_UNKNOWN;
    rd->rec.time[0] = rd->rec.time[1] = rd->rec.time[2] = ACC_NO_TIME;
    rd->has_id = 0;
    rd->id.len = 0;
    rd->start = yajl_get_bytes_consumed(rd->h) - 1;
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
        acc_rd_begin_instance(rd);
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

/* The end of an instance: its record, span and list on the pending page. */
static int acc_rd_end_instance(acc_rd *rd)
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
    s->spans[n].end = yajl_get_bytes_consumed(rd->h);
    rd->tags[n] = (unsigned char)rd->src;
    return 1;
}

static int acc_rd_close(void *ctx)
{
    acc_rd *rd = ctx;
    if (rd->ctx[rd->depth] == RD_INST && !acc_rd_end_instance(rd))
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

/* Parses the body into the pending page.  1: read (the list chosen, the
 * total in rd); 0: left to the full decoder.  Frees the parser. */
static int acc_rd_parse(lua_State *L, acc_rd *rd, const char *body,
                        size_t len)
{
    yajl_status st;
    int src;
    rd->success = -1;
    rd->body = body;
    rd->len = len;
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
    src = rd->success >= 0;
    if (src && (rd->success == 0 || !rd->data_map))
        return 0; /* an error envelope, or one without data */
    if (rd->s->pending.n > 0)
        acc_rd_keep(rd, src);
    rd->src = src;
    return 1;
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
