-- Repair a backfill until every date has succeeded, within a retry budget:
-- each round re-runs only the dates that are still failing.
--
--   lua5.4 examples/repair_loop.lua DAG [BUDGET]
--
-- Exit status: 0 every date repaired, 1 budget spent with dates still
-- failing, 4 API error.

local root = (arg and arg[0] or ""):match("^(.*)/examples/[^/]*$") or "."
package.path = root .. "/lua/?.lua;" .. package.path
package.cpath = root .. "/build/" .. (rawget(_G, "jit") and "luajit" or "lua" .. _VERSION:match("%d+%.%d+"))
  .. "/?.so;" .. package.cpath

local accelerate = require "accelerate"
local workflow = require "accelerate.workflow"

local dag, budget = arg[1], tonumber(arg[2] or "3")
if not dag then
  io.stderr:write("usage: repair_loop.lua DAG [BUDGET]\n")
  os.exit(2)
end

local client, cerr = accelerate.new {}
if not client then
  -- error objects are tables: print them with tostring (5.1 cannot print them raw)
  io.stderr:write(tostring(cerr), "\n")
  os.exit(2)
end
local opts = { interval = 0.5, max_interval = 10 }

local function check(r, err)
  if not r then
    io.stderr:write(tostring(err), "\n")
    os.exit(4)
  end
  return r
end

-- reports still holding failed instances
local pending = { check(workflow.wait(client, dag, opts)) }
local round = 0
while true do
  local failing = {}
  for _, r in ipairs(pending) do
    if not r.ok then failing[#failing + 1] = r end
  end
  if #failing == 0 then
    print(("every date of %s has succeeded after %d repair round(s)"):format(dag, round))
    os.exit(0)
  end
  if round >= budget then
    print(("retry budget of %d spent; %d backfill(s) still have failures"):format(budget, #failing))
    os.exit(1)
  end
  round = round + 1
  pending = {}
  for _, r in ipairs(failing) do
    -- details give the plan id when the report does not carry its params
    local with_details = {}
    for k, v in pairs(r) do with_details[k] = v end
    with_details.failures = workflow.inspect(client, r)
    local dags, err = workflow.repair(client, with_details)
    for _, d in ipairs(dags or {}) do
      print(("round %d: %s re-runs %s .. %s (repairs %s)"):format(round, d.dagName, d.startTime, d.endTime, d.repairs))
      pending[#pending + 1] = check(workflow.wait(client, d.dagName, opts))
    end
    if err then check(nil, err) end
  end
end
