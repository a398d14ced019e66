-- Watch an existing backfill until every instance has finished.
--
--   lua5.4 examples/watch.lua DAG [TIMEOUT]
--
-- Exit status: 0 all SUCCESS, 1 some FAILED, 3 timed out, 4 API error.

local root = (arg and arg[0] or ""):match("^(.*)/examples/[^/]*$") or "."
package.path = root .. "/lua/?.lua;" .. package.path
package.cpath = root .. "/build/" .. (rawget(_G, "jit") and "luajit" or "lua" .. _VERSION:match("%d+%.%d+"))
  .. "/?.so;" .. package.cpath

local accelerate = require "accelerate"
local workflow = require "accelerate.workflow"

local dag = arg[1]
if not dag then
  io.stderr:write("usage: watch.lua DAG [TIMEOUT]\n")
  os.exit(2)
end

local client, cerr = accelerate.new {}
if not client then
  -- error objects are tables: print them with tostring (5.1 cannot print them raw)
  io.stderr:write(tostring(cerr), "\n")
  os.exit(2)
end
local report, err = workflow.wait(client, dag, {
  interval = 0.5, max_interval = 10, timeout = tonumber(arg[2]),
  on_progress = function(r) print(workflow.summary(r)) end,
})
if not report then
  io.stderr:write(tostring(err), "\n")
  os.exit(4)
end
if report.counts.FAILED > 0 then
  local failures = workflow.inspect(client, report, { concurrency = 8 })
  for _, f in ipairs(failures) do
    print("FAILED", f.instance.id, f.instance.mtGuid, f.instance.startPartition,
      f.detail and f.detail.retryCnt or "?")
  end
end
os.exit(report.ok and 0 or (report.timed_out and 3 or 1))
