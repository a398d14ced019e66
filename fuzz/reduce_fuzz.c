/* libFuzzer target: the reducer of list answers (src/reduce.c) and the
 * compact store it fills, against the full decoder.  An input is:
 *
 *     200 full                   status, then "full" to keep every instance
 *                                whole (the store of a small backfill)
 *     {"total":1,"instances":[...]}   the body: every remaining byte
 *
 * The body goes through accelerate.reduce into one store, and through
 * accelerate.decode then store:add (the store reducing Lua tables) into
 * another.  Beyond what the sanitizers see, the two must agree: both refuse
 * it with the same kind and message and leave the store empty, or both
 * read it with the same count, fresh, total, counts, and the same
 * instances in report order (the whole ones decoded alike). */
#include "fuzz_common.h"

/* check(accelerate, status, body, full): raises when the paths disagree. */
static const char fuzz_check_src[] =
    "local acc, status, body, full = ...\n"
    "local FAILED = { FAILED = true, KILLED = true, TIMEOUT = true }\n"
    "local function same(a, b, path)\n"
    "  if a == b then return end\n"
    "  if type(a) == 'number' and type(b) == 'number' and a ~= a and b ~= b then return end\n"
    "  if type(a) ~= 'table' or type(b) ~= 'table' then\n"
    "    error(path .. ': ' .. tostring(a) .. ' ~= ' .. tostring(b), 0)\n"
    "  end\n"
    "  for k, v in pairs(a) do same(v, b[k], path .. '.' .. tostring(k)) end\n"
    "  for k, v in pairs(b) do if a[k] == nil then same(nil, v, path .. '.' .. tostring(k)) end end\n"
    "end\n"
    "local function all(s)\n"
    "  local out = {}\n"
    "  for inst in s:each() do out[#out + 1] = inst end\n"
    "  return out\n"
    "end\n"
    "local r = acc.store { failed = FAILED, full = full }\n"
    "r:expect(1, 'append')\n"
    "local res, err = acc.reduce(r, status, {}, body)\n"
    "local page, derr = acc.decode('list_instances', status, {}, body)\n"
    "if not page then\n"
    "  if res then error('reduce read what decode refused: ' .. tostring(derr), 0) end\n"
    "  same(err.kind, derr.kind, 'kind')\n"
    "  same(err.message, derr.message, 'message')\n"
    "  same(#r, 0, 'instances left by a refused page')\n"
    "  return\n"
    "end\n"
    "if not res then error('reduce refused what decode read: ' .. tostring(err), 0) end\n"
    "local d = acc.store { failed = FAILED, full = full }\n"
    "d:expect(1, 'append')\n"
    "local dres = d:add(page)\n"
    "same(res.count, dres.count, 'count')\n"
    "same(res.fresh, dres.fresh, 'fresh')\n"
    "same(tonumber(res.total), tonumber(dres.total), 'total')\n"
    "same({ r:counts() }, { d:counts() }, 'counts')\n"
    "same(all(r), all(d), 'instances')\n"
    "same(r:failures(), d:failures(), 'failures')\n"
    "same(#r, res.fresh, 'length')\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int check = LUA_NOREF;
    lua_State *L = fuzz_lua();
    const char *p = (const char *)data, *end = p + size, *line;
    size_t n, i;
    long status = 200;
    int full = 0, digits = 0, rc;

    if (check == LUA_NOREF) {
        if (luaL_loadbuffer(L, fuzz_check_src, sizeof fuzz_check_src - 1,
                            "=reduce_check") != 0)
            fuzz_fail("the checker does not compile", lua_tostring(L, -1));
        check = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    line = fuzz_line(&p, end, &n);
    if (line == NULL)
        return 0;
    for (i = 0; i < n && line[i] >= '0' && line[i] <= '9' && digits < 3;
         i++, digits++)
        status = (digits == 0 ? 0 : status * 10) + (line[i] - '0');
    for (i = 0; i + 4 <= n; i++)
        if (memcmp(line + i, "full", 4) == 0)
            full = 1;

    lua_settop(L, 0);
    lua_rawgeti(L, LUA_REGISTRYINDEX, check);
    lua_getglobal(L, "accelerate");
    lua_pushnumber(L, (lua_Number)status);
    lua_pushlstring(L, p, (size_t)(end - p));
    lua_pushboolean(L, full);
    rc = lua_pcall(L, 4, 0, 0);
    fuzz_trace(L, "reduce", rc == 0, 1);
    if (rc != 0)
        fuzz_fail("reduce and decode disagree", lua_tostring(L, -1));
    fuzz_done(L);
    return 0;
}
