-- bench/watch.lua — the reference of bench/watch, on a finished backfill.
--
-- 1. What a straightforward client does at every poll: every page of the
--    backfill through client:instances (libcurl, then the core's decoder:
--    cjson into Lua tables, ids kept as strings), every instance kept in a
--    list, as the watch did before it reduced pages.  SWEEPS sweeps; prints
--    the median CPU per sweep (os.clock), the requests per sweep and the
--    peak RSS after them.
-- 2. Both decoders alone on the same page bodies (fetched once with
--    luasocket, not timed): cjson.decode into tables, kept, against
--    accelerate.reduce into a compact store.
--
--   lua5.4 bench/watch.lua DAG [SWEEPS] [PAGE_SIZE]     (ACCELERATE_* settings)
local root = (arg[0]:match("^(.*)/bench/[^/]*$") or ".")
package.path = root .. "/lua/?.lua;" .. package.path
package.cpath = root .. "/build/lua5.4/?.so;" .. package.cpath

local accelerate = require "accelerate"
local cjson = require "cjson"
local http = require "socket.http"
local ltn12 = require "ltn12"
local status = require "accelerate.workflow.status"

local dag = assert(arg[1], "usage: lua5.4 bench/watch.lua DAG [SWEEPS] [PAGE_SIZE]")
local sweeps = tonumber(arg[2]) or 3
local size = tonumber(arg[3]) or 500

local function rss(field)
  local f = assert(io.open("/proc/self/status"))
  local text = f:read("a")
  f:close()
  return tonumber(text:match(field .. ":%s*(%d+)")) / 1024
end

local function median(t)
  table.sort(t)
  return t[math.ceil(#t / 2)]
end

local client = assert(accelerate.new { timeout = 60 })
local cpu, requests, held = {}, nil, {}   -- held.list: the last sweep's, alive as a client's would be
for s = 1, sweeps do
  held.list = nil
  collectgarbage()
  local list, c0 = {}, os.clock()
  local it, state = client:instances(dag, { pageSize = size })
  for inst in it do list[#list + 1] = inst end
  cpu[s] = os.clock() - c0
  requests, held.list = state.requests, list
end
print(("reference sweep cpu %.3f s (median of %d; %d instances)"):format(median(cpu), sweeps, #held.list))
print(("reference sweep requests %d"):format(requests))
print(("reference rss %.1f MB"):format(rss("VmHWM")))
held.list = nil
collectgarbage()

-- The page bodies, once.
local bodies = {}
local headers = { ["tenant-id"] = os.getenv("ACCELERATE_TENANT_ID"), ["auth-type"] = os.getenv("ACCELERATE_AUTH_TYPE"),
  ["auth-value"] = os.getenv("ACCELERATE_AUTH_VALUE") }
for k = 1, requests do
  local out = {}
  local _, code = http.request {
    url = ("%s/anymetrics/api/v1/accelerate/task/instance/list?dagName=%s&pageIndex=%d&pageSize=%d")
      :format(os.getenv("ACCELERATE_URL"), dag, k, size),
    headers = headers, sink = ltn12.sink.table(out),
  }
  assert(code == 200, "page " .. k .. ": HTTP " .. tostring(code))
  bodies[k] = table.concat(out)
end
collectgarbage()
collectgarbage()

local c0, m0 = os.clock(), collectgarbage("count")
held.tables = {}
for k, body in ipairs(bodies) do held.tables[k] = cjson.decode(body) end
local cjson_cpu, cjson_mb = os.clock() - c0, (collectgarbage("count") - m0) / 1024
held.tables = nil
collectgarbage()
collectgarbage()

c0, m0 = os.clock(), collectgarbage("count")
local store = accelerate.store { failed = status.FAILED_STATUSES }
for k, body in ipairs(bodies) do
  store:expect(k, "append")
  assert(accelerate.reduce(store, 200, {}, body))
end
local reduce_cpu, reduce_mb = os.clock() - c0, (collectgarbage("count") - m0) / 1024
print(("decoders on the same %d bodies: cjson.decode into tables %.3f s CPU, +%.1f MB of Lua heap; "
  .. "accelerate.reduce %.3f s CPU (%.2fx), +%.1f MB of Lua heap (the store's pages)")
  :format(#bodies, cjson_cpu, cjson_mb, reduce_cpu, reduce_cpu / cjson_cpu, reduce_mb))
client:close()
