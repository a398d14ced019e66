-- `accelerate backfill`: create a backfill and watch it to the end, then
-- report (resumable with --journal); --dry-run: what a create would make.

local util = require "accelerate.util"
local workflow = require "accelerate.workflow"
local declare = require "accelerate.cli.declare"
local create_params = require "accelerate.cli.create_params"
local plan_lookup = require "accelerate.cli.plan_lookup"
local progress = require "accelerate.cli.progress"
local output = require "accelerate.cli.output"
local watching = require "accelerate.cli.watching"

local error = error
local assert = assert
local tostring = tostring
local str_format = string.format
local json_encode = util.json_encode
local EXIT = output.EXIT

local _M = {
  name = "backfill", order = 1,
  summary = "create a backfill and watch it to the end, then report (resumable with --journal)",
}

function _M.declare(cmd)
  cmd:usage("usage: accelerate backfill --plan NAME|ID --start DATE --end DATE\n"
    .. "                           [--lot N] [--journal FILE] [options]\n"
    .. "       accelerate backfill ... --dry-run")
  cmd:description("Creates a backfill, shows its progress until every instance has finished,\n"
    .. "then draws the calendar and the failure report.  --dry-run shows the plan\n"
    .. "and the lots a create would make, and creates nothing (exit 0).")
  declare.plan_options(cmd, { range = true })
  declare.flag(cmd, "--dry-run", "print the plan (with --plan), the range and its lots; send no create,\n"
    .. "write no journal")
  declare.flag(cmd, "--force", "create even though the plan is EXTERNAL")
  declare.value(cmd, "--journal", "FILE", "record the dagName and every state change in FILE (mode 0600);\n"
    .. "running the same command again resumes the watch instead of\ncreating a second backfill",
    { complete = "file" })
  declare.flag(cmd, "--force-create", "create even though the journal shows a create whose answer was lost")
  declare.flag(cmd, "--no-calendar", "do not draw the calendar")
  declare.watch_options(cmd)
  cmd:epilog(declare.PLAN_CHECKS .. "\n\n" .. declare.EXIT_HELP .. "\n\n" .. declare.examples(
    "accelerate backfill --plan sales_daily --start 2025-01-01 --end 2025-01-31 --journal jan.journal",
    "accelerate backfill --plan gmv_monthly --start 2025-01-01 --end 2025-03-31 --dry-run",
    "accelerate backfill --plan-id 5468b0c0462e40e08e44108d8164c7c3 --start 2025-01-01 --end 2025-01-07 --lot 7"))
end

-- --dry-run: the plan, the range and the lots a create would make; nothing
-- created, nothing journaled.
local function dry_run(o, ctx, params, detail, warnings)
  local lots = assert(workflow.lots(params.startTime, params.endTime, params.dateIntervalOfLot))
  if o.flags.json then
    ctx.out(json_encode { dryRun = true, params = params, lots = lots, warnings = warnings,
      plan = detail and { id = util.id_string(detail.id), name = detail.name, displayName = detail.displayName,
        materializeType = detail.materializeType, metricTimeGranularity = detail.metricTimeGranularity },
      exit = EXIT.OK } .. "\n")
    return EXIT.OK
  end
  ctx.out((detail and ctx.text(plan_lookup.describe(detail))
    or (params.planId and ("plan id " .. params.planId) or ("plan name " .. tostring(params.planName)))
      .. " (sent as given, not looked up)") .. "\n")
  ctx.out(str_format("would create: %s .. %s, %d lot%s of %s day(s); nothing sent\n", params.startTime,
    params.endTime, #lots, #lots == 1 and "" or "s", util.number_string(params.dateIntervalOfLot or 1)))
  create_params.print_lots(ctx, lots)
  return EXIT.OK
end

function _M.run(o, ctx)
  local dry = o.flags["dry-run"]
  local client, params, detail, warnings = create_params.resolved(o, ctx, create_params.of(o), not dry)
  if dry then return dry_run(o, ctx, params, detail, warnings) end
  local p = progress.new(ctx, o)
  local announced = false
  local opts = watching.opts(o, ctx, p, function(r)
    if not announced then
      announced = true
      if not o.flags.quiet then
        ctx.err("backfill " .. ctx.text(r.dagName) .. (r.resumed and " (resumed from the journal)" or " created")
          .. ": " .. tostring(r.total) .. " instances"
          .. (o.values.journal and (", journal " .. o.values.journal) or "") .. "\n")
      end
    end
    p.update(r)
  end)
  opts.journal = o.values.journal
  opts.force_create = o.flags["force-create"]
  -- a dagName in hand is journaled (and named by an interrupt's message)
  -- before Ctrl-C can end us
  opts.defer_signals = true
  opts.on_created = function(dag) ctx.current_dag = dag end
  local report, err, partial = workflow.backfill(client, params, opts)
  p.finish()
  if not report then
    local dag = partial and partial.dagName
    if dag then ctx.current_dag = dag end
    if dag and not output.interrupted(err) then
      ctx.err(ctx.text("accelerate: backfill " .. dag .. " exists on the server; resume the watch with "
        .. "`accelerate wait " .. dag .. "`\n"))
    end
    error(err, 0)
  end
  -- backfill already fetched the failure details
  return output.report(ctx, o, report)
end

return _M
