/* The one constructor of error objects: plain tables sharing a metatable
 * (an upvalue of every module function) whose __tostring prints one line. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "acc.h"

/* Messages are one line: a proxy's HTML page or a stack trace must never
 * turn into a screenful of log, and control bytes must not reach a
 * terminal. */
static void acc_error_pushclean(lua_State *L, const char *s, size_t len,
                                size_t cap, int keep_newlines)
{
    luaL_Buffer b;
    size_t i, n = len > cap ? cap : len;
    int space = 0;

    luaL_buffinit(L, &b);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (keep_newlines && (c == '\n' || c == '\t')) {
            luaL_addchar(&b, (char)c);
            space = 0;
        } else if (c < 0x20 || c == 0x7f) {
            if (!space)
                luaL_addchar(&b, ' ');
            space = 1;
        } else {
            luaL_addchar(&b, (char)c);
            space = (c == ' ');
        }
    }
    if (len > cap)
        luaL_addlstring(&b, "...", 3);
    luaL_pushresult(&b);
}

void acc_error_new(lua_State *L, const char *kind, const char *msg, size_t len)
{
    lua_createtable(L, 0, 8);
    lua_pushstring(L, kind);
    lua_setfield(L, -2, "kind");
    acc_error_pushclean(L, msg, len, ACC_MESSAGE_CAP, 0);
    lua_setfield(L, -2, "message");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "retryable");
    lua_pushvalue(L, ACC_UV_ERRMT);
    lua_setmetatable(L, -2);
}

void acc_error_newf(lua_State *L, const char *kind, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof buf)
        n = (int)sizeof buf - 1;
    acc_error_new(L, kind, buf, (size_t)n);
}

void acc_error_setstr(lua_State *L, int err, const char *field, const char *s,
                      size_t len)
{
    int detail = strcmp(field, "detail") == 0;
    err = acc_absindex(L, err);
    if (s == NULL || len == 0)
        return;
    acc_error_pushclean(L, s, len, detail ? ACC_DETAIL_CAP : ACC_MESSAGE_CAP,
                        detail);
    lua_setfield(L, err, field);
}

void acc_error_setint(lua_State *L, int err, const char *field, long v)
{
    err = acc_absindex(L, err);
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, err, field);
}

void acc_error_setbool(lua_State *L, int err, const char *field, int v)
{
    err = acc_absindex(L, err);
    lua_pushboolean(L, v);
    lua_setfield(L, err, field);
}

/* The facts of a failed exchange (docs/core-api.md, "Error objects"):
 * which step failed, whether a byte of the request may have left this host
 * and whether an answer began.  What they mean for a retry, or for a create
 * that may have happened, is the call policy's to decide
 * (lua/accelerate/client.lua), not the transport's. */
void acc_error_facts(lua_State *L, int err, const char *failure, int sent,
                     int answered)
{
    err = acc_absindex(L, err);
    lua_pushstring(L, failure);
    lua_setfield(L, err, "failure");
    acc_error_setbool(L, err, "sent", sent);
    acc_error_setbool(L, err, "answered", answered);
}

/* A server may echo request headers into its error text; the auth value
 * must not travel on into logs through us.  Values shorter than
 * ACC_REDACT_MIN are not secrets worth garbling every message for.  A value
 * with a NUL byte (never sendable as a header, but accelerate.decode takes
 * any cfg) is skipped: as a C string it could be empty, and luaL_gsub
 * with an empty pattern never ends (found by fuzz/decode_fuzz.c). */
void acc_error_redact(lua_State *L, int err, const char *secret, size_t len)
{
    static const char *const fields[] = {"message", "detail", "code",
                                         "trace_id", NULL};
    int i;
    if (secret == NULL || len < ACC_REDACT_MIN ||
        memchr(secret, '\0', len) != NULL)
        return;
    err = acc_absindex(L, err);
    for (i = 0; fields[i] != NULL; i++) {
        lua_getfield(L, err, fields[i]);
        if (lua_type(L, -1) == LUA_TSTRING &&
            strstr(lua_tostring(L, -1), secret) != NULL) {
            /* the marker is longer than the secret: cap again, so that a
             * message stays within its documented length (fields[1] is
             * detail, which keeps newlines and has a larger cap) */
            size_t n, cap = i == 1 ? ACC_DETAIL_CAP : ACC_MESSAGE_CAP;
            const char *r = luaL_gsub(L, lua_tostring(L, -1), secret,
                                      "[REDACTED]");
            lua_tolstring(L, -1, &n);
            if (n > cap + 3) {
                acc_error_pushclean(L, r, n, cap, i == 1);
                lua_remove(L, -2);
            }
            lua_setfield(L, err, fields[i]);
        }
        lua_pop(L, 1);
    }
}

static void acc_error_addfield(lua_State *L, luaL_Buffer *b, int err,
                               const char *field, int *first)
{
    char num[64];
    const char *s = NULL;

    lua_getfield(L, err, field);
    if (lua_type(L, -1) == LUA_TSTRING) {
        s = lua_tostring(L, -1); /* still referenced by the error table */
    } else if (lua_type(L, -1) == LUA_TNUMBER) {
        double v = (double)lua_tonumber(L, -1);
        /* a 2xx status says nothing about an api or decode failure */
        if (!(strcmp(field, "status") == 0 && v >= 200 && v < 300)) {
            snprintf(num, sizeof num, "%.14g", v);
            s = num;
        }
    }
    lua_pop(L, 1);
    if (s == NULL)
        return;
    luaL_addstring(b, *first ? " (" : ", ");
    luaL_addstring(b, field);
    luaL_addchar(b, '=');
    luaL_addstring(b, s);
    *first = 0;
}

/* Reads happen through absolute indices and each value is popped before it
 * is added: the 5.1 luaL_Buffer owns the stack top while it is open.  The
 * strings stay alive because the error table still references them. */
int acc_error_tostring(lua_State *L)
{
    luaL_Buffer b;
    const char *kind, *msg;
    int first = 1;

    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "kind");
    kind = lua_tostring(L, -1);
    lua_getfield(L, 1, "message");
    msg = lua_tostring(L, -1);
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "accelerate: [");
    luaL_addstring(&b, kind ? kind : "?");
    luaL_addstring(&b, "] ");
    luaL_addstring(&b, msg ? msg : "(no message)");
    acc_error_addfield(L, &b, 1, "status", &first);
    acc_error_addfield(L, &b, 1, "code", &first);
    acc_error_addfield(L, &b, 1, "trace_id", &first);
    if (!first)
        luaL_addchar(&b, ')');
    luaL_pushresult(&b);
    return 1;
}

void acc_error_create_meta(lua_State *L)
{
    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, acc_error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "accelerate.error");
    lua_setfield(L, -2, "__name");
}

/* accelerate.error(kind, message [, fields]) -> err: for the Lua layers
 * (the call policy, transports written in Lua, the workflows), so that
 * every failure has this one shape and this one __tostring. */
static int acc_error_lua_new(lua_State *L)
{
    static const char *const fields[] = {"status", "code", "trace_id",
                                         "detail", "retryable",
                                         "outcome_unknown", "failure",
                                         "sent", "answered", "success",
                                         "explained", NULL};
    /* the core's kinds, then the workflows' own (docs/core-api.md) */
    static const char *const kinds[] = {
        "invalid", "network", "timeout", "http", "api", "decode",
        "journal", "create_unknown", "interrupted", "error", NULL};
    size_t len;
    int k = luaL_checkoption(L, 1, NULL, kinds);
    const char *msg = luaL_checklstring(L, 2, &len);
    const char *kind = kinds[k];

    if (!lua_isnoneornil(L, 3))
        luaL_checktype(L, 3, LUA_TTABLE);
    acc_error_new(L, kind, msg, len);
    if (lua_istable(L, 3)) {
        int i;
        for (i = 0; fields[i] != NULL; i++) {
            lua_getfield(L, 3, fields[i]);
            lua_setfield(L, -2, fields[i]);
        }
    }
    return 1;
}

const luaL_Reg acc_error_lib[] = {
    {"error", acc_error_lua_new},
    {NULL, NULL}};
