-- The three calls of the backfill API through the C core.
--
--   eval "$(sim/simctl start)"                       # or export ACCELERATE_* yourself
--   LUA_PATH='lua/?.lua;;' LUA_CPATH='build/lua5.4/?.so;;' lua5.4 examples/basic.lua [planId] [start] [end]
--
-- Connection settings come from ACCELERATE_URL, ACCELERATE_TENANT_ID,
-- ACCELERATE_AUTH_TYPE and ACCELERATE_AUTH_VALUE.  Errors are tables: print
-- them with tostring (Lua 5.1 and LuaJIT do not do it for a raised table).
local accelerate = require "accelerate"

local plan = arg[1] or "5468b0c0462e40e08e44108d8164c7c3"
local first, last = arg[2] or "2025-01-01", arg[3] or "2025-01-07"

local function fail(err)
    io.stderr:write(tostring(err), "\n")
    os.exit(1)
end

local client, err = accelerate.new { timeout = 10 }
if not client then fail(err) end
print(tostring(client))

-- 1. create: returns the dagName; never retried automatically
local dag
dag, err = client:create_task { planId = plan, startTime = first, endTime = last, dateIntervalOfLot = 1 }
if not dag then fail(err) end
print("created backfill " .. dag)

-- 2. list: one page, then every page through the iterator
local page
page, err = client:list_instances { dagName = dag, pageIndex = 1, pageSize = 5 }
if not page then fail(err) end
print(("page 1: %d of %d instances"):format(#page.instances, page.total))

local counts, failed = {}, nil
local ok, perr = pcall(function()
    for inst in client:instances(dag, { pageSize = 100 }) do
        counts[inst.status] = (counts[inst.status] or 0) + 1
        if inst.status == "FAILED" and not failed then failed = inst end
    end
end)
if not ok then fail(perr) end
for status, n in pairs(counts) do print(("  %-8s %d"):format(status, n)) end

-- 3. detail: of a failed instance if there is one, else of the first
local inst = failed or page.instances[1]
if inst then
    local det
    det, err = client:task_detail(inst.id)
    if not det then fail(err) end
    print(("instance %s (%s, %s .. %s)"):format(det.taskInstanceId, det.status,
        tostring(det.startPartitionTime), tostring(det.endPartitionTime)))
    if det.msg then print("  error: " .. det.msg) end
    if det.sql and det.sql.originalSql then print("  sql: " .. det.sql.originalSql) end
end

-- many details at once, over parallel connections
local ids = {}
for i, x in ipairs(page.instances) do ids[i] = x.id end
local details, errors = client:task_details(ids, { concurrency = 8 })
local n = 0
for _ in pairs(details) do n = n + 1 end
print(("fetched %d details concurrently%s"):format(n, errors and " (some failed)" or ""))

client:close()
