/* Client options: the connection (url, tenant, auth) and the limits
 * (timeouts, retries, max_body, TLS), from an options table or the
 * ACCELERATE_* environment, checked once for every transport. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acc.h"

static const char *const acc_auth_types[] = {"UID", "TOKEN", "ACCOUNT",
                                             "APIKEY", NULL};

/* 0 when s is acceptable as a header value, id or name: not empty, not too
 * long, no control byte (CR/LF/NUL would split or end a header line). */
int acc_config_check_value(const char *s, size_t len, size_t max)
{
    size_t i;
    if (len == 0 || len > max)
        return -1;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return -1;
    }
    return 0;
}

/* The string pointer stays valid after the pop because the options table
 * (or the environment) still holds it. */
static const char *acc_opt_string(lua_State *L, int t, const char *name,
                                  const char *env, size_t *len)
{
    const char *s = NULL;
    *len = 0;
    if (t != 0) {
        lua_getfield(L, t, name);
        if (lua_type(L, -1) == LUA_TSTRING) {
            s = lua_tolstring(L, -1, len);
        } else if (!lua_isnil(L, -1)) {
            luaL_error(L, "accelerate: option '%s' must be a string, got %s",
                       name, luaL_typename(L, -1));
        }
        lua_pop(L, 1);
    }
    if (s == NULL && env != NULL) {
        s = getenv(env);
        if (s != NULL)
            *len = strlen(s);
    }
    return s;
}

static int acc_opt_number(lua_State *L, int t, const char *name, double *out)
{
    int present = 0;
    if (t == 0)
        return 0;
    lua_getfield(L, t, name);
    if (lua_type(L, -1) == LUA_TNUMBER) {
        *out = (double)lua_tonumber(L, -1);
        present = 1;
    } else if (!lua_isnil(L, -1)) {
        luaL_error(L, "accelerate: option '%s' must be a number, got %s", name,
                   luaL_typename(L, -1));
    }
    lua_pop(L, 1);
    return present;
}

static int acc_config_url_check(const char *u, size_t len, size_t *outlen)
{
    size_t i, host, hostend;
    if (len == 0 || len > ACC_MAX_URL)
        return -1;
    if (len > 7 && strncasecmp(u, "http://", 7) == 0)
        host = 7;
    else if (len > 8 && strncasecmp(u, "https://", 8) == 0)
        host = 8;
    else
        return -1;
    /* No user info (credentials do not belong in a logged URL), no query
     * or fragment (paths are appended), nothing that needs escaping. */
    for (i = host; i < len; i++) {
        unsigned char c = (unsigned char)u[i];
        if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#' || c == '@' ||
            c == '\\' || c == '"' || c == '<' || c == '>')
            return -1;
    }
    hostend = host;
    if (u[host] == '[') {
        while (hostend < len && u[hostend] != ']')
            hostend++;
        if (hostend == len || hostend == host + 1)
            return -1;
        hostend++;
    } else {
        while (hostend < len && u[hostend] != ':' && u[hostend] != '/')
            hostend++;
        if (hostend == host)
            return -1;
    }
    if (hostend < len && u[hostend] == ':') {
        long port = 0;
        size_t p = hostend + 1;
        if (p == len || !isdigit((unsigned char)u[p]))
            return -1;
        while (p < len && isdigit((unsigned char)u[p])) {
            port = port * 10 + (u[p] - '0');
            if (port > 65535)
                return -1;
            p++;
        }
        if (port == 0)
            return -1;
        hostend = p;
    }
    if (hostend < len && u[hostend] != '/')
        return -1;
    while (len > hostend && u[len - 1] == '/')
        len--;
    *outlen = len;
    return 0;
}

/* url, tenant_id, auth_type, auth_value: who calls whom. */
static int acc_config_identity(lua_State *L, int t, acc_config *cfg)
{
    const char *s;
    size_t len;
    int i;

    s = acc_opt_string(L, t, "url", "ACCELERATE_URL", &len);
    if (s == NULL) {
        acc_error_newf(L, "invalid",
                       "url is required (option url or ACCELERATE_URL)");
        return 0;
    }
    if (acc_config_url_check(s, len, &cfg->url_len) != 0) {
        acc_error_newf(L, "invalid",
                       "url must be http(s)://host[:port][/prefix] without "
                       "credentials, query or spaces");
        return 0;
    }
    cfg->url = s;

    s = acc_opt_string(L, t, "tenant_id", "ACCELERATE_TENANT_ID", &len);
    if (s == NULL) {
        acc_error_newf(L, "invalid", "tenant_id is required (option "
                                     "tenant_id or ACCELERATE_TENANT_ID)");
        return 0;
    }
    if (acc_config_check_value(s, len, ACC_MAX_HEADER_VALUE) != 0) {
        acc_error_newf(L, "invalid", "tenant_id must be 1-%d printable "
                       "characters (no CR, LF or NUL)", ACC_MAX_HEADER_VALUE);
        return 0;
    }
    cfg->tenant_id = s;
    cfg->tenant_id_len = len;

    s = acc_opt_string(L, t, "auth_type", "ACCELERATE_AUTH_TYPE", &len);
    if (s == NULL) {
        acc_error_newf(L, "invalid", "auth_type is required (option "
                                     "auth_type or ACCELERATE_AUTH_TYPE)");
        return 0;
    }
    for (i = 0; acc_auth_types[i] != NULL; i++) {
        if (len == strlen(acc_auth_types[i]) &&
            strncasecmp(s, acc_auth_types[i], len) == 0) {
            strcpy(cfg->auth_type, acc_auth_types[i]);
            break;
        }
    }
    if (acc_auth_types[i] == NULL) {
        acc_error_newf(L, "invalid",
                       "auth_type must be one of UID, TOKEN, ACCOUNT, APIKEY");
        return 0;
    }

    s = acc_opt_string(L, t, "auth_value", "ACCELERATE_AUTH_VALUE", &len);
    if (s == NULL) {
        acc_error_newf(L, "invalid", "auth_value is required (option "
                                     "auth_value or ACCELERATE_AUTH_VALUE)");
        return 0;
    }
    if (acc_config_check_value(s, len, ACC_MAX_HEADER_VALUE) != 0) {
        /* never echo the value itself */
        acc_error_newf(L, "invalid", "auth_value must be 1-%d printable "
                       "characters (no CR, LF or NUL)", ACC_MAX_HEADER_VALUE);
        return 0;
    }
    cfg->auth_value = s;
    cfg->auth_value_len = len;
    return 1;
}

/* A number option: an integer in [lo, hi] when integral, else a real in
 * (lo, hi]; *out keeps its default when the option is absent.  0 and an
 * invalid error when bad. */
static int acc_config_number(lua_State *L, int t, const char *name, double lo,
                             double hi, int integral, const char *msg,
                             double *out)
{
    double d;
    if (!acc_opt_number(L, t, name, &d))
        return 1;
    if (!(integral ? d >= lo && d == floor(d) : d > lo) || !(d <= hi)) {
        acc_error_newf(L, "invalid", "%s", msg);
        return 0;
    }
    *out = d;
    return 1;
}

/* timeout, connect_timeout, retries, max_body, insecure, ca_file */
static int acc_config_limits(lua_State *L, int t, acc_config *cfg)
{
    const char *s;
    size_t len;
    double timeout = ACC_DEFAULT_TIMEOUT, connect = ACC_DEFAULT_CONNECT_TIMEOUT;
    double retries = ACC_DEFAULT_RETRIES, max_body = ACC_DEFAULT_MAX_BODY;
    char msg[128];

    s = acc_opt_string(L, t, "ca_file", NULL, &len);
    if (s != NULL && (len == 0 || strlen(s) != len)) {
        acc_error_newf(L, "invalid", "ca_file must be a file name");
        return 0;
    }
    cfg->ca_file = s;
    if (!acc_config_number(L, t, "timeout", 0, 86400, 0,
                           "timeout must be > 0 and <= 86400 seconds",
                           &timeout) ||
        !acc_config_number(L, t, "connect_timeout", 0, 86400, 0,
                           "connect_timeout must be > 0 and <= 86400 seconds",
                           &connect))
        return 0;
    snprintf(msg, sizeof msg, "retries must be an integer from 0 to %d",
             ACC_MAX_RETRIES);
    if (!acc_config_number(L, t, "retries", 0, ACC_MAX_RETRIES, 1, msg,
                           &retries))
        return 0;
    snprintf(msg, sizeof msg, "max_body must be an integer from %u to "
             "1073741824 bytes", ACC_MIN_MAX_BODY);
    if (!acc_config_number(L, t, "max_body", ACC_MIN_MAX_BODY, 1073741824.0, 1,
                           msg, &max_body))
        return 0;
    cfg->timeout = timeout;
    cfg->connect_timeout = connect;
    cfg->retries = (int)retries;
    cfg->max_body = (size_t)max_body;
    if (t != 0) {
        lua_getfield(L, t, "insecure");
        if (lua_isboolean(L, -1))
            cfg->insecure = lua_toboolean(L, -1);
        else if (!lua_isnil(L, -1))
            luaL_error(L, "accelerate: option 'insecure' must be a boolean, "
                          "got %s", luaL_typename(L, -1));
        lua_pop(L, 1);
    }
    return 1;
}

/* Every option acc_config_read reads, and nothing else: accelerate.new and
 * accelerate.ngx.new refuse any other key (accelerate.config_keys gives
 * this list to them), so a misspelt option is never ignored. */
static const char *const acc_config_keys[] = {
    "url",     "tenant_id",       "auth_type", "auth_value", "ca_file",
    "timeout", "connect_timeout", "retries",   "max_body",   "insecure",
    NULL};

/* Validates and normalises client options (the table at idx, or nil for
 * the environment alone).  1, or 0 with an invalid error pushed; a wrong
 * Lua type raises.  Strings are borrowed from the table or environment. */
int acc_config_read(lua_State *L, int idx, acc_config *cfg)
{
    int t = 0;
    memset(cfg, 0, sizeof *cfg);
    if (!lua_isnoneornil(L, idx)) {
        luaL_checktype(L, idx, LUA_TTABLE);
        t = acc_absindex(L, idx);
    }
    return acc_config_identity(L, t, cfg) && acc_config_limits(L, t, cfg);
}

void acc_config_push(lua_State *L, const acc_config *cfg)
{
    lua_createtable(L, 0, 10);
    lua_pushlstring(L, cfg->url, cfg->url_len);
    lua_setfield(L, -2, "url");
    lua_pushlstring(L, cfg->tenant_id, cfg->tenant_id_len);
    lua_setfield(L, -2, "tenant_id");
    lua_pushstring(L, cfg->auth_type);
    lua_setfield(L, -2, "auth_type");
    lua_pushlstring(L, cfg->auth_value, cfg->auth_value_len);
    lua_setfield(L, -2, "auth_value");
    if (cfg->ca_file != NULL) {
        lua_pushstring(L, cfg->ca_file);
        lua_setfield(L, -2, "ca_file");
    }
    lua_pushboolean(L, cfg->insecure);
    lua_setfield(L, -2, "insecure");
    lua_pushnumber(L, (lua_Number)cfg->timeout);
    lua_setfield(L, -2, "timeout");
    lua_pushnumber(L, (lua_Number)cfg->connect_timeout);
    lua_setfield(L, -2, "connect_timeout");
    lua_pushinteger(L, (lua_Integer)cfg->retries);
    lua_setfield(L, -2, "retries");
    lua_pushinteger(L, (lua_Integer)cfg->max_body);
    lua_setfield(L, -2, "max_body");
}

/* accelerate.config(opts) -> normalised options table | nil, err */
static int acc_config_lua(lua_State *L)
{
    acc_config cfg;
    if (!acc_config_read(L, 1, &cfg))
        {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    acc_config_push(L, &cfg);
    return 1;
}

/* accelerate.config_keys() -> {"url", "tenant_id", ...}: the options
 * accelerate.config reads. */
static int acc_config_keys_lua(lua_State *L)
{
    int i;
    lua_newtable(L);
    for (i = 0; acc_config_keys[i] != NULL; i++) {
        lua_pushstring(L, acc_config_keys[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

const luaL_Reg acc_config_lib[] = {
    {"config", acc_config_lua},
    {"config_keys", acc_config_keys_lua},
    {NULL, NULL}};
