/* luaopen_accelerate_core: opens the C half of the module and nothing
 * else.  `require "accelerate"` (lua/accelerate.lua) is the Lua half: the
 * call policy over this module's transport.  Each file below registers its
 * own functions; they all share the ACC_NUP upvalues. */
#include <stdlib.h>
#include <string.h>

#include "acc.h"
#include "store.h"

/* libcurl's global init is not thread-safe and must happen once per
 * process; an embedder that already did it can opt out. */
static void acc_curl_init(lua_State *L)
{
    static int done = 0;
    const char *skip = getenv("ACCELERATE_NO_CURL_INIT");
    if (done || (skip != NULL && skip[0] != '\0' && strcmp(skip, "0") != 0))
        return;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        luaL_error(L, "accelerate: curl_global_init failed");
    done = 1;
}

/* Pushes the decode function of a private cjson instance, never the shared
 * one whose settings other code (OpenResty) may change. */
static void acc_push_decoder(lua_State *L)
{
    lua_getglobal(L, "require");
    lua_pushliteral(L, "cjson.safe");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "new");
    if (!lua_isfunction(L, -1))
        luaL_error(L, "accelerate: lua-cjson 2.1 or later is required");
    lua_call(L, 0, 1);
    lua_getfield(L, -1, "decode_max_depth");
    if (lua_isfunction(L, -1)) {
        lua_pushinteger(L, ACC_JSON_MAX_DEPTH);
        lua_call(L, 1, 0);
    } else {
        lua_pop(L, 1);
    }
    lua_getfield(L, -1, "decode_invalid_numbers");
    if (lua_isfunction(L, -1)) {
        lua_pushboolean(L, 0);
        lua_call(L, 1, 0);
    } else {
        lua_pop(L, 1);
    }
    lua_getfield(L, -1, "decode");
    lua_replace(L, -2); /* instance -> its decode */
    lua_remove(L, -2);  /* the cjson.safe module */
}

static const luaL_Reg *const acc_libs[] = {
    acc_config_lib, acc_request_lib,   acc_decode_lib, acc_error_lib,
    acc_retry_lib,  acc_clock_lib,     acc_file_lib,   acc_process_lib,
    acc_transport_lib, acc_store_lib, acc_reduce_lib, acc_notify_lib, acc_days_lib, NULL};

ACC_EXPORT int luaopen_accelerate_core(lua_State *L)
{
    int i;
    acc_curl_init(L);

    lua_createtable(L, 0, 24); /* module */
    acc_error_create_meta(L);  /* upvalue 1 */
    acc_push_decoder(L);       /* upvalue 2 */
    lua_pushvalue(L, -2);
    lua_pushvalue(L, -2);
    acc_transport_create_meta(L); /* consumes the two upvalue copies */
    acc_store_create_meta(L);
    lua_pushvalue(L, -2);
    lua_setfield(L, -4, "error_mt");
    for (i = 0; acc_libs[i] != NULL; i++) {
        lua_pushvalue(L, -3); /* module errmt decode module errmt decode */
        lua_pushvalue(L, -3);
        lua_pushvalue(L, -3);
        acc_setfuncs(L, acc_libs[i], ACC_NUP);
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
    acc_numbers_create_meta(L);
    lua_pushinteger(L, ACC_MAX_CONCURRENCY);
    lua_setfield(L, -2, "MAX_CONCURRENCY");
    lua_pushliteral(L, ACC_VERSION);
    lua_setfield(L, -2, "VERSION");
    lua_pushliteral(L, "AnyMetrics backfill API client (C core)");
    lua_setfield(L, -2, "_DESCRIPTION");
    return 1;
}
