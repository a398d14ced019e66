-- `accelerate lots`: the split a create over START..END will make; with
-- --plan, the plan looked up and the range checked as a create would.

local util = require "accelerate.util"
local workflow = require "accelerate.workflow"
local declare = require "accelerate.cli.declare"
local usage = require "accelerate.cli.usage"
local config = require "accelerate.cli.config"
local output = require "accelerate.cli.output"
local create_params = require "accelerate.cli.create_params"
local plan_lookup = require "accelerate.cli.plan_lookup"

local json_encode = util.json_encode
local EXIT = output.EXIT

local _M = { name = "lots", order = 8,
  summary = "show the split a create will make (and, with --plan, check the range)" }

function _M.declare(cmd)
  cmd:usage("usage: accelerate lots START END [N] [--plan NAME|ID]")
  cmd:description("Prints the lots a create over START..END with N days per lot (default 1)\n"
    .. "will make: inclusive dates, the last lot shorter.  Calls nothing, unless\n"
    .. "--plan is given: the plan is looked up (connection settings needed), its\n"
    .. "type and granularity printed above the lots, and a range that cuts its\n"
    .. "weeks, months, quarters or years warned about on stderr, with the aligned\n"
    .. "range; an EXTERNAL plan is warned about too.  --json stays the array of\n"
    .. "lots (warnings on stderr).")
  declare.argument(cmd, "START", "first partition date (YYYY-MM-DD)")
  declare.argument(cmd, "END", "last partition date (inclusive)")
  declare.argument(cmd, "N", "days per lot (default 1; or --lot N)",
    { optional = true, number = { "N (days per lot)", 1, true } })
  declare.value(cmd, "--plan", "NAME|ID", "look the plan up, print its type and granularity, check the range",
    { complete = "plan" })
  declare.value(cmd, "--lot", "N", "days per lot, when N is not given", { number = { 1, true } })
  cmd:epilog("Exit codes: 0, 2 for dates that do not exist (or that a create would refuse),\n"
    .. "START after END, a range longer than 100 years, or a plan that --plan does\n"
    .. "not name; 4 API or network error\n(--plan), 5 output could not be written.\n\n" .. declare.examples(
    "accelerate lots 2025-01-01 2025-03-31 7",
    "accelerate lots 2025-01-15 2025-02-10 --plan gmv_monthly"))
end

-- Without --plan calls nothing; with it, looks the plan up (after the
-- dates are checked) to show its granularity and warn as a create would.
function _M.run(o, ctx)
  local start, stop = o.args[1], o.args[2]
  local n = o.args[3] or o.values.lot
  create_params.check({ planId = "p", startTime = start, endTime = stop, dateIntervalOfLot = n }, "lots",
    { startTime = "START", endTime = "END", dateIntervalOfLot = "N" })
  local lots, err = workflow.lots(start, stop, n)
  if not lots then usage.raise(err.message, "lots") end
  local detail
  if o.values.plan then
    local client = config.client(o, ctx)
    local _
    _, detail = plan_lookup.resolve(client, { plan = o.values.plan })
    plan_lookup.check(ctx, detail, start, stop)
  end
  if o.flags.json then
    -- the array of lots, as without --plan; the plan is `accelerate plan NAME --json`
    ctx.out(json_encode(lots) .. "\n")
  else
    if detail then ctx.out(ctx.text(plan_lookup.describe(detail)) .. "\n") end
    create_params.print_lots(ctx, lots)
  end
  return EXIT.OK
end

return _M
