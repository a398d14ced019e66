-- bench/html-report.lua — builds the HTML report of a synthetic backfill
-- (INSTANCES instances: TABLES tables x days, two resource groups, about
-- 3% failed with the simulator's kinds of stack) and prints how long
-- render_html.render takes in Lua CPU time (os.clock, the median of
-- ROUNDS), the page's size, and where it wrote the page.
--
--   lua5.4 bench/html-report.lua OUT.html [INSTANCES] [ROUNDS]
local root = (arg[0]:match("^(.*)/bench/[^/]*$") or ".")
package.path = root .. "/lua/?.lua;" .. package.path
package.cpath = root .. "/build/lua5.4/?.so;" .. package.cpath

local dates = require "accelerate.dates"
local entry = require "accelerate.insight.entry"
local render_html = require "accelerate.render.html"

local out_path = assert(arg[1], "usage: lua5.4 bench/html-report.lua OUT.html [INSTANCES] [ROUNDS]")
local n = tonumber(arg[2]) or 5000
local rounds = tonumber(arg[3]) or 5
local TABLES = 5
local WIDTH = { ["batch"] = 8, ["default"] = 16 }

local MSGS = {
  function(id, tbl, host) return ("com.aloudata.anymetrics.scheduler.TaskExecuteException: task %s failed on %s\n"
    .. "Caused by: org.apache.spark.SparkException: Job aborted due to stage failure: Task 17 in stage 4.0 failed "
    .. "4 times, most recent failure: Lost task 17.3 in stage 4.0 (TID %d) (%s executor 3): "
    .. "java.lang.OutOfMemoryError: Java heap space\n\tat org.apache.spark.sql.execution.aggregate."
    .. "HashAggregateExec.doExecute(HashAggregateExec.scala:112)"):format(id, tbl, id % 997, host) end,
  function(_, tbl) return ("java.sql.SQLException: errCode = 2, detailMessage = partition p20250106 of %s is being "
    .. "loaded by another job, try again later\n\tat com.mysql.cj.jdbc.StatementImpl.executeUpdate("
    .. "StatementImpl.java:1333)"):format(tbl) end,
  function(_, tbl) return ("java.sql.SQLException: errCode = 2, detailMessage = Table [%s_source] does not exist "
    .. "in database [dw.sales]\n\tat com.mysql.cj.jdbc.StatementImpl.executeUpdate(StatementImpl.java:1333)")
    :format(tbl) end,
}

local function synthetic()
  math.randomseed(13)
  local days = math.ceil(n / TABLES)
  local d0 = dates.parse("2022-01-01")
  local t0 = dates.parse_timestamp("2025-03-25T10:00:00")
  local slots = { batch = {}, default = {} }
  for g, w in pairs(WIDTH) do for k = 1, w do slots[g][k] = t0 end end
  local instances, failures, details = {}, {}, {}
  for i = 1, n do
    local day = d0 + math.floor((i - 1) / TABLES)
    local tbl = "dw.sales.table_" .. ((i - 1) % TABLES + 1)
    local group = (i % TABLES) < 2 and "batch" or "default"
    local s = slots[group]
    local k = 1
    for j = 2, #s do if s[j] < s[k] then k = j end end
    local start = math.max(s[k], t0 + math.random(5, 30))
    local stop = start + math.random(60, 240)
    s[k] = stop
    local failed = math.random() < 0.03
    local id = tostring(12876560 + i)
    local inst = { id = id, mtGuid = tbl, status = failed and "FAILED" or "SUCCESS", resourceGroup = group,
      startPartition = dates.format(day), endPartition = dates.format(day) }
    local detail = { taskInstanceId = 12876560 + i, status = inst.status,
      statusTime = { WAITING = entry.clock_string(t0), RUNNING = entry.clock_string(start),
        [inst.status] = entry.clock_string(stop) },
      sql = { formattedSql = "INSERT OVERWRITE TABLE " .. tbl .. " PARTITION (dt)\nSELECT ..." } }
    if failed then
      detail.msg = MSGS[math.random(#MSGS)](id, tbl, "10.161.0." .. math.random(2, 254))
      failures[#failures + 1] = { instance = inst, detail = detail }
    end
    instances[i], details[id] = inst, detail
  end
  return { dagName = "bench-" .. n, total = n, instances = instances, failures = failures, details = details,
    counts = { SUCCESS = n - #failures, FAILED = #failures, RUNNING = 0, WAITING = 0 } }, days
end

local report, days = synthetic()
local times, html = {}, nil
for r = 1, rounds do
  local c0 = os.clock()
  html = render_html.render(report, { generated_at = "bench" })
  times[r] = os.clock() - c0
end
table.sort(times)
local f = assert(io.open(out_path, "wb"))
f:write(html)
f:close()
print(("build: %d instances (%d tables x %d days, %d failed): %.0f ms Lua CPU (median of %d, %s), %.0f KB"):format(
  n, TABLES, days, #report.failures, times[math.ceil(rounds / 2)] * 1000, rounds, _VERSION, #html / 1024))
