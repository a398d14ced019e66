/* The JSON reader of answers: a body straight to the Lua value the client
 * returns, with what decode.c used to do in passes over cjson's result done
 * while reading: an integer value of an "id" or "taskInstanceId" key kept
 * as the string of its digits (cjson would round it above 2^53), a null
 * field of an object dropped, and on 5.3+ an integral number made an
 * integer.  A null element of an array stays (cjson.null, the
 * lightuserdata NULL), so ipairs and # still see every element.
 *
 * It takes only what it is sure to read exactly as the cjson path reads it
 * (strict JSON numbers, the escapes cjson knows, no surrogate pair, depth
 * at most ACC_JSON_MAX_DEPTH); on anything else it gives up, leaving the
 * stack as it found it, and the caller runs the cjson path, which gives
 * the same value or cjson's own error message.  Tables are made once their
 * size is known (the values wait on the Lua stack), so no table is ever
 * rehashed while it is filled. */
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "acc.h"

typedef struct acc_json {
    lua_State *L;
    const char *p, *end;
    int depth;
} acc_json;

/* A string's raw extent: its contents start at s and run len bytes; esc
 * is set when it holds a backslash. */
typedef struct acc_json_str {
    const char *s;
    size_t len;
    int esc;
} acc_json_str;

static int acc_json_value(acc_json *j);

static void acc_json_ws(acc_json *j)
{
    const char *p = j->p, *e = j->end;
    while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    j->p = p;
}

static int acc_json_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The code point of the \u escape whose hex digits start at p (4 bytes
 * there), or -1 when one is not a hex digit. */
static long acc_json_u4(const char *p)
{
    int a = acc_json_hex(p[0]), b = acc_json_hex(p[1]);
    int c = acc_json_hex(p[2]), d = acc_json_hex(p[3]);
    if ((a | b | c | d) < 0)
        return -1;
    return ((long)a << 12) | (b << 8) | (c << 4) | d;
}

/* Scans the string whose opening quote is at j->p, checking every escape,
 * to just past its closing quote.  0 when it is one this reader leaves to
 * cjson (a NUL byte, an unknown escape, a surrogate, no closing quote). */
static int acc_json_scan(acc_json *j, acc_json_str *out)
{
    const char *p = j->p + 1, *e = j->end;
    out->s = p;
    out->esc = 0;
    for (;;) {
        while (p < e && *p != '"' && *p != '\\' && *p != '\0')
            p++;
        if (p >= e || *p == '\0')
            return 0;
        if (*p == '"')
            break;
        out->esc = 1;
        if (e - p < 2)
            return 0;
        switch (p[1]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n':
        case 'r': case 't':
            p += 2;
            break;
        case 'u': {
            long cp = e - p >= 6 ? acc_json_u4(p + 2) : -1;
            if (cp < 0 || (cp >= 0xD800 && cp <= 0xDFFF))
                return 0;
            p += 6;
            break;
        }
        default:
            return 0;
        }
    }
    out->len = (size_t)(p - out->s);
    j->p = p + 1;
    return 1;
}

/* Writes the contents of a scanned string with escapes, unescaped, to d;
 * returns the length written (at most in->len). */
static size_t acc_json_unescape(const acc_json_str *in, char *d)
{
    const char *p = in->s, *e = in->s + in->len;
    size_t n = 0;
    while (p < e) {
        long cp;
        if (*p != '\\') {
            d[n++] = *p++;
            continue;
        }
        switch (p[1]) {
        case 'b': d[n++] = '\b'; p += 2; continue;
        case 'f': d[n++] = '\f'; p += 2; continue;
        case 'n': d[n++] = '\n'; p += 2; continue;
        case 'r': d[n++] = '\r'; p += 2; continue;
        case 't': d[n++] = '\t'; p += 2; continue;
        case 'u': break;
        default: d[n++] = p[1]; p += 2; continue;
        }
        cp = acc_json_u4(p + 2); /* checked by the scan */
        p += 6;
        if (cp < 0x80) {
            d[n++] = (char)cp;
        } else if (cp < 0x800) {
            d[n++] = (char)(0xC0 | (cp >> 6));
            d[n++] = (char)(0x80 | (cp & 0x3F));
        } else {
            d[n++] = (char)(0xE0 | (cp >> 12));
            d[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            d[n++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    return n;
}

/* Pushes a scanned string's value: its bytes as they stand when it has no
 * escape (no copy), else unescaped on the C stack, or in a userdata when
 * long. */
static void acc_json_push_str(lua_State *L, const acc_json_str *str)
{
    char small[256] = ""; /* all set: gcc cannot see the unescape fill it */
    char *d = small;
    size_t n;
    if (!str->esc) {
        lua_pushlstring(L, str->s, str->len);
        return;
    }
    if (str->len > sizeof small)
        d = lua_newuserdata(L, str->len);
    n = acc_json_unescape(str, d);
    lua_pushlstring(L, d, n);
    if (d != small)
        lua_remove(L, -2);
}

static int acc_json_string(acc_json *j)
{
    acc_json_str str;
    if (!acc_json_scan(j, &str))
        return 0;
    acc_json_push_str(j->L, &str);
    return 1;
}

/* Pushes a number as the cjson path leaves it: on 5.3+ an integer when it
 * is integral and fits, else a float.  Up to 15 digits without fraction or
 * exponent are exact in a double and are read here; anything else goes
 * through strtod, as cjson reads it (given '.' as the decimal point). */
static int acc_json_number(acc_json *j)
{
    const char *p = j->p, *e = j->end, *s = p;
    int neg = 0, plain = 1;
    unsigned long long v = 0;
    double d;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (p >= e || *p < '0' || *p > '9')
        return 0;
    if (*p == '0')
        p++;
    else
        while (p < e && *p >= '0' && *p <= '9')
            v = v * 10 + (unsigned)(*p++ - '0');
    if (p < e && *p == '.') {
        plain = 0;
        if (++p >= e || *p < '0' || *p > '9')
            return 0;
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        plain = 0;
        if (++p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || *p < '0' || *p > '9')
            return 0;
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    if (plain && p - s - neg <= 15) {
        d = neg ? -(double)v : (double)v;
    } else {
        char buf[64];
        if ((size_t)(p - s) >= sizeof buf || localeconv()->decimal_point[0] != '.')
            return 0;
        memcpy(buf, s, (size_t)(p - s));
        buf[p - s] = '\0';
        d = strtod(buf, NULL);
    }
    if (d == 0 && neg)
        return 0; /* -0: an envelope's code keeps its sign (the cjson path) */
    j->p = p;
#if ACC_HAS_INTEGERS
    {
        lua_Integer i;
        if (d == floor(d) && lua_numbertointeger(d, &i)) {
            lua_pushinteger(j->L, i);
            return 1;
        }
    }
#endif
    lua_pushnumber(j->L, (lua_Number)d);
    return 1;
}

/* The value of an "id" or "taskInstanceId" key: a plain integer (digits,
 * a minus sign perhaps, no fraction or exponent after it) is pushed as the
 * string of its digits, as the server sent them.  0 when the value is not
 * one (it is then read as any value). */
static int acc_json_id(acc_json *j)
{
    const char *p = j->p, *e = j->end, *s = p;
    if (p < e && *p == '-')
        p++;
    if (p >= e || *p < '0' || *p > '9')
        return 0;
    while (p < e && *p >= '0' && *p <= '9')
        p++;
    if (p < e && (*p == '.' || *p == 'e' || *p == 'E'))
        return 0;
    lua_pushlstring(j->L, s, (size_t)(p - s));
    j->p = p;
    return 1;
}

static int acc_json_is_id(const acc_json_str *k)
{
    return (k->len == 2 && memcmp(k->s, "id", 2) == 0) ||
           (k->len == 14 && memcmp(k->s, "taskInstanceId", 14) == 0);
}

/* One "key": value of an object, pushed as two values; a null value is
 * pushed as nil (the field is dropped, a duplicate key's earlier value
 * with it, as cjson then the dropping pass did). */
static int acc_json_member(acc_json *j)
{
    lua_State *L = j->L;
    acc_json_str key;
    acc_json_ws(j);
    if (j->p >= j->end || *j->p != '"' || !acc_json_scan(j, &key))
        return 0;
    acc_json_push_str(L, &key);
    acc_json_ws(j);
    if (j->p >= j->end || *j->p != ':')
        return 0;
    j->p++;
    acc_json_ws(j);
    if (!key.esc && acc_json_is_id(&key) && acc_json_id(j))
        return 1;
    if (j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0) {
        j->p += 4;
        lua_pushnil(L);
        return 1;
    }
    return acc_json_value(j);
}

/* After a member or element: 1 on ',', 2 on the closing byte, else 0. */
static int acc_json_next(acc_json *j, char close)
{
    acc_json_ws(j);
    if (j->p < j->end) {
        char c = *j->p++;
        if (c == ',')
            return 1;
        if (c == close)
            return 2;
    }
    return 0;
}

/* Reads the elements (object: key, value pairs) of a container onto the
 * stack above base; returns their count, or -1. */
static int acc_json_items(acc_json *j, int object)
{
    int n = 0, r;
    acc_json_ws(j);
    if (j->p < j->end && *j->p == (object ? '}' : ']')) {
        j->p++;
        return 0;
    }
    do {
        if (!lua_checkstack(j->L, 8))
            return -1;
        if (object ? !acc_json_member(j) : !acc_json_value(j))
            return -1;
        n++;
        r = acc_json_next(j, object ? '}' : ']');
    } while (r == 1);
    return r == 2 ? n : -1;
}

/* An object or an array at j->p: the table, made at its size and filled
 * from the values waiting on the stack, which then go. */
static int acc_json_container(acc_json *j, int object)
{
    lua_State *L = j->L;
    int base = lua_gettop(L), n, i, t;
    if (++j->depth > ACC_JSON_MAX_DEPTH)
        return 0;
    j->p++;
    n = acc_json_items(j, object);
    if (n < 0)
        return 0;
    j->depth--;
    lua_createtable(L, object ? 0 : n, object ? n : 0);
    t = lua_gettop(L);
    for (i = 1; i <= n; i++) {
        if (object) {
            lua_pushvalue(L, base + 2 * i - 1);
            lua_pushvalue(L, base + 2 * i);
            lua_rawset(L, t);
        } else {
            lua_pushvalue(L, base + i);
            lua_rawseti(L, t, i);
        }
    }
    if (n > 0) { /* the table over the first value, the rest gone */
        lua_replace(L, base + 1);
        lua_settop(L, base + 1);
    }
    return 1;
}

static int acc_json_literal(acc_json *j, const char *word, size_t n)
{
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
        return 0;
    j->p += n;
    return 1;
}

static int acc_json_value(acc_json *j)
{
    lua_State *L = j->L;
    acc_json_ws(j);
    if (j->p >= j->end)
        return 0;
    switch (*j->p) {
    case '{':
        return acc_json_container(j, 1);
    case '[':
        return acc_json_container(j, 0);
    case '"':
        return acc_json_string(j);
    case 't':
        if (!acc_json_literal(j, "true", 4))
            return 0;
        lua_pushboolean(L, 1);
        return 1;
    case 'f':
        if (!acc_json_literal(j, "false", 5))
            return 0;
        lua_pushboolean(L, 0);
        return 1;
    case 'n':
        if (!acc_json_literal(j, "null", 4))
            return 0;
        lua_pushlightuserdata(L, NULL); /* cjson.null */
        return 1;
    default:
        return acc_json_number(j);
    }
}

/* Pushes the value of the JSON text s[0..n) and returns 1, or returns 0
 * with the stack as it was: the text is then the cjson path's to read. */
int acc_json_decode(lua_State *L, const char *s, size_t n)
{
    acc_json j;
    int base = lua_gettop(L);
    j.L = L;
    j.p = s;
    j.end = s + n;
    j.depth = 0;
    if (lua_checkstack(L, 8) && acc_json_value(&j)) {
        acc_json_ws(&j);
        if (j.p == j.end)
            return 1;
    }
    lua_settop(L, base);
    return 0;
}
