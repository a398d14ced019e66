-- bench/report_parts.lua — where `accelerate report DAG` spends its CPU on
-- a finished backfill: the sweep into the store (workflow.wait, one look),
-- the calendar, the failure groups and the timing line, each timed with
-- os.clock in this process, as the command runs them (the same modules, the
-- same order).  bench/watch prints its line beside the command's total.
--
--   lua5.4 bench/report_parts.lua DAG          (ACCELERATE_* settings)
local root = (arg[0]:match("^(.*)/bench/[^/]*$") or ".")
package.path = root .. "/lua/?.lua;" .. package.path
package.cpath = root .. "/build/lua5.4/?.so;" .. package.cpath

local accelerate = require "accelerate"
local workflow = require "accelerate.workflow"
local insight = require "accelerate.insight"
local calendar = require "accelerate.render.calendar"

local dag = assert(arg[1], "usage: lua5.4 bench/report_parts.lua DAG")
local client = assert(accelerate.new { timeout = 60 })

local parts, order = {}, {}
local function timed(name, fn)
  local c0 = os.clock()
  local v = fn()
  parts[name] = os.clock() - c0
  order[#order + 1] = name
  return v
end

local r = timed("sweep", function() return assert(workflow.wait(client, dag, { timeout = 0 })) end)
timed("calendar", function() return calendar.render(r.instances) end)
timed("groups", function() return insight.failures(r.failures) end)
timed("timing", function()
  return insight.overall_timing(r, r.details)
end)
local total, out = 0, {}
for _, name in ipairs(order) do
  total = total + parts[name]
  out[#out + 1] = ("%s %.2f"):format(name, parts[name])
end
print(("report parts (CPU s, %d instances): %s; total %.2f"):format(r.total or 0, table.concat(out, ", "), total))
client:close()
