/* Validation and request building: everything a transport needs to send a
 * call, and nothing that touches the network.  Bad values become kind
 * "invalid" errors (nothing is sent); wrong Lua types raise. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acc.h"

static const char *const acc_call_names[] = {
    "create_task", "list_instances", "task_detail", "list_plans",
    "plan_detail", NULL};

static const char *const acc_call_paths[] = {
    "/anymetrics/api/v1/accelerate/task/create",
    "/anymetrics/api/v1/accelerate/task/instance/list",
    "/anymetrics/api/v1/scheduler/task/detail",
    "/anymetrics/api/v1/accelerate/plan/queryAccelerateResultPlanList",
    "/anymetrics/api/v1/accelerate/plan/queryAccelerateResultPlan"};

const char *acc_request_call_name(acc_call call)
{
    return acc_call_names[call];
}

int acc_request_call_check(lua_State *L, int idx)
{
    return luaL_checkoption(L, idx, NULL, acc_call_names);
}

/* ---- values ----------------------------------------------------------- */

static int acc_is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* A real calendar date written YYYY-MM-DD; such strings compare in date
 * order with memcmp. */
static int acc_request_date_check(const char *s, size_t len)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d, i, dim;
    if (len != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (i = 0; i < 10; i++) {
        if (i == 4 || i == 7)
            continue;
        if (!isdigit((unsigned char)s[i]))
            return -1;
    }
    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
        (s[3] - '0');
    m = (s[5] - '0') * 10 + (s[6] - '0');
    d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1 || m < 1 || m > 12 || d < 1)
        return -1;
    dim = mdays[m - 1] + (m == 2 && acc_is_leap(y));
    return d <= dim ? 0 : -1;
}

/* Pushes the id as the exact decimal string that goes on the wire, or an
 * invalid error.  Floats are formatted with %.0f, never tostring, which
 * would give "12876560.0" on 5.3+ or "1.2876560123457e+15" on 5.1. */
int acc_request_id(lua_State *L, int idx)
{
    size_t len;
    const char *s;
    char buf[64];

    switch (lua_type(L, idx)) {
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &len);
        if (acc_config_check_value(s, len, ACC_MAX_ID) != 0) {
            acc_error_newf(L, "invalid", "id must be 1-%d printable "
                           "characters (no CR, LF or NUL)", ACC_MAX_ID);
            return 0;
        }
        lua_pushvalue(L, idx);
        return 1;
    case LUA_TNUMBER:
#if ACC_HAS_INTEGERS
        if (acc_isinteger(L, idx)) {
            lua_Integer v = lua_tointeger(L, idx);
            if (v < 0) {
                acc_error_newf(L, "invalid", "id must not be negative");
                return 0;
            }
            snprintf(buf, sizeof buf, LUA_INTEGER_FMT, v);
            lua_pushstring(L, buf);
            return 1;
        }
#endif
        {
            double d = (double)lua_tonumber(L, idx);
            if (!(d >= 0 && d == floor(d) && d <= 9007199254740992.0)) {
                acc_error_newf(L, "invalid",
                               "numeric id must be a non-negative integer "
                               "below 2^53; pass larger ids as strings");
                return 0;
            }
            snprintf(buf, sizeof buf, "%.0f", d);
            lua_pushstring(L, buf);
            return 1;
        }
    default:
        return luaL_error(L, "accelerate: id must be a string or an integer, "
                             "got %s", luaL_typename(L, idx));
    }
}

static void acc_pct_encode(luaL_Buffer *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            luaL_addchar(b, (char)c);
        } else {
            luaL_addchar(b, '%');
            luaL_addchar(b, hex[c >> 4]);
            luaL_addchar(b, hex[c & 15]);
        }
    }
}

static void acc_json_string(luaL_Buffer *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;
    luaL_addchar(b, '"');
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            luaL_addchar(b, '\\');
            luaL_addchar(b, (char)c);
        } else if (c < 0x20 || c == 0x7f) {
            luaL_addstring(b, "\\u00");
            luaL_addchar(b, hex[c >> 4]);
            luaL_addchar(b, hex[c & 15]);
        } else {
            luaL_addchar(b, (char)c);
        }
    }
    luaL_addchar(b, '"');
}

/* Raises on a key that is not a string, invalid error on an unknown one:
 * a misspelt planID must not silently create a backfill without it. */
static int acc_fields_check(lua_State *L, int t, const char *call,
                            const char *const *known)
{
    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
        const char *k;
        int i;
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 1);
            acc_error_newf(L, "invalid", "%s: arguments must be named fields",
                           call);
            return 0;
        }
        k = lua_tostring(L, -1);
        for (i = 0; known[i] != NULL; i++)
            if (strcmp(k, known[i]) == 0)
                break;
        if (known[i] == NULL) {
            char name[64];
            snprintf(name, sizeof name, "%s", k);
            lua_pop(L, 1);
            acc_error_newf(L, "invalid", "%s: unknown field '%s'", call, name);
            return 0;
        }
    }
    return 1;
}

static const char *acc_field_string(lua_State *L, int t, const char *call,
                                    const char *name, size_t *len)
{
    const char *s = NULL;
    *len = 0;
    lua_getfield(L, t, name);
    if (lua_type(L, -1) == LUA_TSTRING)
        s = lua_tolstring(L, -1, len);
    else if (!lua_isnil(L, -1))
        luaL_error(L, "accelerate: %s: %s must be a string, got %s", call,
                   name, luaL_typename(L, -1));
    lua_pop(L, 1);
    return s;
}

/* 1 and *out set when present; 0 when nil; -1 (error pushed) when not an
 * integer in [lo, hi]. */
static int acc_field_int(lua_State *L, int t, const char *call,
                         const char *name, double lo, double hi, long *out)
{
    double d;
    lua_getfield(L, t, name);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return 0;
    }
    if (lua_type(L, -1) != LUA_TNUMBER)
        luaL_error(L, "accelerate: %s: %s must be a number, got %s", call,
                   name, luaL_typename(L, -1));
    d = (double)lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (!(d >= lo && d <= hi && d == floor(d))) {
        acc_error_newf(L, "invalid", "%s: %s must be an integer from %.0f to "
                       "%.0f", call, name, lo, hi);
        return -1;
    }
    *out = (long)d;
    return 1;
}

/* ---- prepare ---------------------------------------------------------- */

static const char *const acc_create_fields[] = {
    "planId", "planName", "startTime", "endTime", "dateIntervalOfLot", NULL};
static const char *const acc_list_fields[] = {"dagName", "pageIndex",
                                              "pageSize", NULL};

static int acc_prepare_create(lua_State *L, int t)
{
    const char *plan, *name, *st, *en;
    size_t plan_len, name_len, st_len, en_len;
    long lot = 0;
    int has_lot;
    luaL_Buffer b;

    luaL_checktype(L, t, LUA_TTABLE);
    if (!acc_fields_check(L, t, "create_task", acc_create_fields))
        return 0;
    plan = acc_field_string(L, t, "create_task", "planId", &plan_len);
    name = acc_field_string(L, t, "create_task", "planName", &name_len);
    st = acc_field_string(L, t, "create_task", "startTime", &st_len);
    en = acc_field_string(L, t, "create_task", "endTime", &en_len);
    if (plan == NULL && name == NULL) {
        acc_error_newf(L, "invalid", "create_task: planId or planName is "
                                     "required");
        return 0;
    }
    if ((plan && acc_config_check_value(plan, plan_len, ACC_MAX_ID) != 0) ||
        (name && acc_config_check_value(name, name_len, ACC_MAX_ID) != 0)) {
        acc_error_newf(L, "invalid", "create_task: planId and planName must "
                       "be 1-%d printable characters", ACC_MAX_ID);
        return 0;
    }
    if (st == NULL || en == NULL) {
        acc_error_newf(L, "invalid", "create_task: startTime and endTime are "
                                     "required (YYYY-MM-DD)");
        return 0;
    }
    if (acc_request_date_check(st, st_len) != 0) {
        acc_error_newf(L, "invalid", "create_task: startTime is not a real "
                                     "date in YYYY-MM-DD form");
        return 0;
    }
    if (acc_request_date_check(en, en_len) != 0) {
        acc_error_newf(L, "invalid", "create_task: endTime is not a real "
                                     "date in YYYY-MM-DD form");
        return 0;
    }
    if (memcmp(st, en, 10) > 0) {
        acc_error_newf(L, "invalid", "create_task: startTime %.10s is after "
                                     "endTime %.10s", st, en);
        return 0;
    }
    has_lot = acc_field_int(L, t, "create_task", "dateIntervalOfLot", 1,
                            100000, &lot);
    if (has_lot < 0)
        return 0;

    lua_pushstring(L, acc_call_paths[ACC_CALL_CREATE]);
    lua_pushliteral(L, "");
    luaL_buffinit(L, &b);
    luaL_addchar(&b, '{');
    if (plan != NULL) {
        luaL_addstring(&b, "\"planId\":");
        acc_json_string(&b, plan, plan_len);
        luaL_addchar(&b, ',');
    }
    if (name != NULL) {
        luaL_addstring(&b, "\"planName\":");
        acc_json_string(&b, name, name_len);
        luaL_addchar(&b, ',');
    }
    luaL_addstring(&b, "\"startTime\":");
    acc_json_string(&b, st, st_len);
    luaL_addstring(&b, ",\"endTime\":");
    acc_json_string(&b, en, en_len);
    if (has_lot) {
        char num[32];
        snprintf(num, sizeof num, ",\"dateIntervalOfLot\":%ld", lot);
        luaL_addstring(&b, num);
    }
    luaL_addchar(&b, '}');
    luaL_pushresult(&b);
    return 1;
}

static int acc_prepare_list(lua_State *L, int a)
{
    const char *dag;
    size_t dag_len;
    long page = 1, size = ACC_DEFAULT_PAGE_SIZE;
    luaL_Buffer b;
    char num[64];

    if (lua_type(L, a) == LUA_TSTRING) {
        dag = lua_tolstring(L, a, &dag_len);
    } else if (lua_type(L, a) == LUA_TTABLE) {
        if (!acc_fields_check(L, a, "list_instances", acc_list_fields))
            return 0;
        dag = acc_field_string(L, a, "list_instances", "dagName", &dag_len);
        if (acc_field_int(L, a, "list_instances", "pageIndex", 1, 2147483647.0,
                          &page) < 0)
            return 0;
        if (acc_field_int(L, a, "list_instances", "pageSize", 1, 100000,
                          &size) < 0)
            return 0;
    } else {
        return luaL_error(L, "accelerate: list_instances: expected a dagName "
                             "string or a table, got %s", luaL_typename(L, a));
    }
    if (dag == NULL) {
        acc_error_newf(L, "invalid", "list_instances: dagName is required");
        return 0;
    }
    if (acc_config_check_value(dag, dag_len, ACC_MAX_ID) != 0) {
        acc_error_newf(L, "invalid", "list_instances: dagName must be 1-%d "
                       "printable characters (no CR, LF or NUL)", ACC_MAX_ID);
        return 0;
    }
    lua_pushstring(L, acc_call_paths[ACC_CALL_LIST]);
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "dagName=");
    acc_pct_encode(&b, dag, dag_len);
    snprintf(num, sizeof num, "&pageIndex=%ld&pageSize=%ld", page, size);
    luaL_addstring(&b, num);
    luaL_pushresult(&b);
    lua_pushnil(L);
    return 1;
}

static int acc_prepare_detail(lua_State *L, int a)
{
    luaL_Buffer b;
    const char *id;
    size_t len;
    int idpos;

    if (!acc_request_id(L, a))
        return 0;
    idpos = lua_gettop(L);
    id = lua_tolstring(L, idpos, &len);
    lua_pushstring(L, acc_call_paths[ACC_CALL_DETAIL]);
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "id=");
    acc_pct_encode(&b, id, len);
    luaL_pushresult(&b);
    lua_pushnil(L);
    lua_remove(L, idpos);
    return 1;
}

static const char *const acc_plans_fields[] = {"materializeType", "pageNumber",
                                               "pageSize", NULL};
static const char *const acc_materialize_types[] = {"ACCELERATE", "RESULT",
                                                    "EXTERNAL", NULL};

/* list_plans: {materializeType = ?, pageNumber = 1, pageSize = 20} or nil;
 * the body is {"materializeType": ..., "pager": {...}}, the type omitted
 * for every type. */
static int acc_prepare_plans(lua_State *L, int a)
{
    const char *type = NULL;
    size_t type_len = 0;
    long page = 1, size = ACC_DEFAULT_PAGE_SIZE;
    luaL_Buffer b;
    char num[96];

    if (!lua_isnoneornil(L, a)) {
        luaL_checktype(L, a, LUA_TTABLE);
        if (!acc_fields_check(L, a, "list_plans", acc_plans_fields))
            return 0;
        type = acc_field_string(L, a, "list_plans", "materializeType",
                                &type_len);
        if (acc_field_int(L, a, "list_plans", "pageNumber", 1, 2147483647.0,
                          &page) < 0 ||
            acc_field_int(L, a, "list_plans", "pageSize", 1, 100000,
                          &size) < 0)
            return 0;
    }
    if (type != NULL) {
        int i;
        for (i = 0; acc_materialize_types[i] != NULL; i++)
            if (strcmp(type, acc_materialize_types[i]) == 0)
                break;
        if (acc_materialize_types[i] == NULL || strlen(type) != type_len) {
            acc_error_newf(L, "invalid", "list_plans: materializeType must be "
                           "ACCELERATE, RESULT or EXTERNAL");
            return 0;
        }
    }
    lua_pushstring(L, acc_call_paths[ACC_CALL_LIST_PLANS]);
    lua_pushliteral(L, "");
    luaL_buffinit(L, &b);
    luaL_addchar(&b, '{');
    if (type != NULL) {
        luaL_addstring(&b, "\"materializeType\":");
        acc_json_string(&b, type, type_len);
        luaL_addchar(&b, ',');
    }
    snprintf(num, sizeof num, "\"pager\":{\"pageNumber\":%ld,\"pageSize\":%ld}}",
             page, size);
    luaL_addstring(&b, num);
    luaL_pushresult(&b);
    return 1;
}

/* plan_detail: a plan id (uuid) string. */
static int acc_prepare_plan(lua_State *L, int a)
{
    luaL_Buffer b;
    const char *id;
    size_t len;

    if (lua_type(L, a) != LUA_TSTRING)
        return luaL_error(L, "accelerate: plan_detail: expected a plan id "
                             "string, got %s", luaL_typename(L, a));
    id = lua_tolstring(L, a, &len);
    if (acc_config_check_value(id, len, ACC_MAX_ID) != 0) {
        acc_error_newf(L, "invalid", "plan_detail: a plan id must be 1-%d "
                       "printable characters (no CR, LF or NUL)", ACC_MAX_ID);
        return 0;
    }
    lua_pushstring(L, acc_call_paths[ACC_CALL_PLAN_DETAIL]);
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "uuid=");
    acc_pct_encode(&b, id, len);
    luaL_pushresult(&b);
    lua_pushnil(L);
    return 1;
}

/* Pushes path, query, url, body (nil for GET) and returns 1; or pushes an
 * invalid error and returns 0.  Nothing is allocated outside Lua, so a
 * raise on a wrong type leaks nothing. */
int acc_request_prepare(lua_State *L, const acc_config *cfg, acc_call call,
                        int args)
{
    int ok, top;
    luaL_Buffer b;
    const char *path, *query;
    size_t path_len, query_len;

    args = acc_absindex(L, args);
    luaL_checkstack(L, 16, "accelerate: prepare");
    top = lua_gettop(L);
    switch (call) {
    case ACC_CALL_CREATE:
        ok = acc_prepare_create(L, args);
        break;
    case ACC_CALL_LIST:
        ok = acc_prepare_list(L, args);
        break;
    case ACC_CALL_LIST_PLANS:
        ok = acc_prepare_plans(L, args);
        break;
    case ACC_CALL_PLAN_DETAIL:
        ok = acc_prepare_plan(L, args);
        break;
    default:
        ok = acc_prepare_detail(L, args);
        break;
    }
    if (!ok)
        return 0;
    /* stack: path, query, body */
    path = lua_tolstring(L, top + 1, &path_len);
    query = lua_tolstring(L, top + 2, &query_len);
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, cfg->url, cfg->url_len);
    luaL_addlstring(&b, path, path_len);
    if (query_len > 0) {
        luaL_addchar(&b, '?');
        luaL_addlstring(&b, query, query_len);
    }
    luaL_pushresult(&b);
    lua_insert(L, top + 3); /* path, query, url, body */
    return 1;
}

/* ---- Lua functions: the sans-I/O half that every transport shares ------ */

static int acc_request_fail(lua_State *L)
{
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

static const char *const acc_methods[] = {"POST", "GET", "GET", "POST",
                                          "GET"};

/* accelerate.prepare(config, call, args) -> request | nil, err */
static int acc_request_lua_prepare(lua_State *L)
{
    acc_config cfg;
    acc_call call;
    int top, i;

    call = (acc_call)acc_request_call_check(L, 2);
    if (!acc_config_read(L, 1, &cfg))
        return acc_request_fail(L);
    top = lua_gettop(L);
    if (!acc_request_prepare(L, &cfg, call, 3))
        return acc_request_fail(L);
    /* top+1 path, top+2 query, top+3 url, top+4 body */
    lua_createtable(L, 0, 8);
    lua_pushstring(L, acc_request_call_name(call));
    lua_setfield(L, -2, "call");
    lua_pushstring(L, acc_methods[call]);
    lua_setfield(L, -2, "method");
    lua_pushvalue(L, top + 3);
    lua_setfield(L, -2, "url");
    lua_pushvalue(L, top + 1);
    lua_setfield(L, -2, "path");
    lua_pushvalue(L, top + 2);
    lua_setfield(L, -2, "query");
    lua_pushvalue(L, top + 4);
    lua_setfield(L, -2, "body");
    lua_pushboolean(L, call != ACC_CALL_CREATE);
    lua_setfield(L, -2, "idempotent");
    lua_createtable(L, 0, 4);
    lua_pushlstring(L, cfg.tenant_id, cfg.tenant_id_len);
    lua_setfield(L, -2, "tenant-id");
    lua_pushstring(L, cfg.auth_type);
    lua_setfield(L, -2, "auth-type");
    lua_pushlstring(L, cfg.auth_value, cfg.auth_value_len);
    lua_setfield(L, -2, "auth-value");
    lua_pushliteral(L, "application/json");
    lua_setfield(L, -2, "Content-Type");
    lua_setfield(L, -2, "headers");
    for (i = 0; i < 4; i++)
        lua_remove(L, top + 1);
    return 1;
}

/* accelerate.id_key(id) -> key | nil, err, key.  The exact string an id
 * stands for on the wire: what task_details keys its results and errors
 * by, whichever transport runs it.  An id that is refused still gets a
 * key (its third result): the string given, or a number written out in
 * full rather than by tostring. */
static int acc_request_lua_id_key(lua_State *L)
{
    char buf[64];
    int t = lua_type(L, 1);
    if (t != LUA_TSTRING && t != LUA_TNUMBER)
        return luaL_argerror(L, 1, "string or integer id expected");
    lua_settop(L, 1);
    if (acc_request_id(L, 1))
        return 1;
    lua_pushnil(L);
    lua_insert(L, -2);
    if (t == LUA_TSTRING) {
        lua_pushvalue(L, 1);
    } else {
#if ACC_HAS_INTEGERS
        if (acc_isinteger(L, 1)) {
            snprintf(buf, sizeof buf, LUA_INTEGER_FMT, lua_tointeger(L, 1));
            lua_pushstring(L, buf);
            return 3;
        }
#endif
        snprintf(buf, sizeof buf, "%.17g", (double)lua_tonumber(L, 1));
        lua_pushstring(L, buf);
    }
    return 3;
}

const luaL_Reg acc_request_lib[] = {
    {"prepare", acc_request_lua_prepare},
    {"id_key", acc_request_lua_id_key},
    {NULL, NULL}};
