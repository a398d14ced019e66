-- A scripted backfill with a custom progress callback.
--
--   eval "$(sim/simctl start)"          # or export ACCELERATE_URL, _TENANT_ID, _AUTH_TYPE, _AUTH_VALUE
--   lua5.4 examples/backfill.lua [PLAN START END LOT [JOURNAL]]
--
-- Exit status: 0 all SUCCESS, 1 some FAILED, 3 timed out, 4 API error.

-- Run from a source tree without installing: use its modules and build.
local root = (arg and arg[0] or ""):match("^(.*)/examples/[^/]*$") or "."
package.path = root .. "/lua/?.lua;" .. package.path
package.cpath = root .. "/build/" .. (rawget(_G, "jit") and "luajit" or "lua" .. _VERSION:match("%d+%.%d+"))
  .. "/?.so;" .. package.cpath

local accelerate = require "accelerate"
local workflow = require "accelerate.workflow"

local plan, start, stop = arg[1] or "sales_daily", arg[2] or "2025-01-01", arg[3] or "2025-01-31"
local lot = tonumber(arg[4] or "7")

-- connection settings come from the ACCELERATE_* environment variables
local client, cerr = accelerate.new {}
if not client then
  -- error objects are tables: print them with tostring (5.1 cannot print them raw)
  io.stderr:write(tostring(cerr), "\n")
  os.exit(2)
end

local params = { startTime = start, endTime = stop, dateIntervalOfLot = lot }
-- a plan id is hex (or result_<hex>); anything else is taken as a plan name
if plan:match("^%x+$") or plan:match("^result_%x+$") then params.planId = plan else params.planName = plan end

-- lots() tells what the create will do before anything is sent
local lots = assert(workflow.lots(start, stop, lot))
print(("%s: %s .. %s in %d lots of up to %d days"):format(plan, start, stop, #lots, lot))

local last
local report, err = workflow.backfill(client, params, {
  interval = 0.5, max_interval = 5, timeout = 600,
  journal = arg[5],                       -- resumable when given
  on_progress = function(r)
    local line = ("%3d%%  %d ok  %d failed  %d running  %d waiting"):format(
      r.total > 0 and math.floor(100 * (r.counts.SUCCESS + r.counts.FAILED) / r.total) or 0,
      r.counts.SUCCESS, r.counts.FAILED, r.counts.RUNNING, r.counts.WAITING)
    if line ~= last then print(line) last = line end
  end,
})
if not report then
  -- err is a table with __tostring; print it with tostring (5.1 cannot print it raw)
  io.stderr:write(tostring(err), "\n")
  os.exit(4)
end

for _, f in ipairs(report.failures) do
  local first = f.detail and f.detail.msg and f.detail.msg:match("^[^\n]*") or "(no detail)"
  print(("FAILED %s %s: %s"):format(f.instance.mtGuid, f.instance.startPartition, first))
end
print(("%s: %s in %.1fs, %d polls, %d requests"):format(report.dagName,
  report.ok and "all SUCCESS" or (report.timed_out and "timed out" or "some FAILED"),
  report.elapsed, report.polls, report.requests))
os.exit(report.ok and 0 or (report.timed_out and 3 or 1))
