-- `accelerate repair`: new backfills covering only the failed date ranges
-- of a backfill, recorded (--journal, or cli/repairs.lua) so that running
-- it again never creates them twice; --wait watches them to the end.

local util = require "accelerate.util"
local workflow = require "accelerate.workflow"
local declare = require "accelerate.cli.declare"
local usage = require "accelerate.cli.usage"
local config = require "accelerate.cli.config"
local progress = require "accelerate.cli.progress"
local output = require "accelerate.cli.output"
local repairs = require "accelerate.cli.repairs"
local create_params = require "accelerate.cli.create_params"
local plan_lookup = require "accelerate.cli.plan_lookup"
local watching = require "accelerate.cli.watching"

local ipairs = ipairs
local error = error
local tostring = tostring
local max = math.max
local tbl_concat = table.concat
local raise = usage.raise
local json_encode = util.json_encode
local EXIT = output.EXIT

local _M = { name = "repair", order = 5, summary = "re-run only the failed date ranges of a backfill" }

function _M.declare(cmd)
  cmd:usage("usage: accelerate repair DAG [--wait] [--dry-run] [--journal FILE]\n"
    .. "                             [--again] [options]")
  cmd:description("Creates new backfills covering only the failed date ranges of DAG: adjacent\n"
    .. "and overlapping failed partitions (of any table) merge into as few ranges as\n"
    .. "possible, each created with the original lot size and plan.  The plan and\n"
    .. "lot size come from the failed instances; override them with --plan, --plan-id,\n"
    .. "--plan-name and --lot.")
  declare.argument(cmd, "DAG", "the backfill whose failures to repair")
  declare.plan_options(cmd, { plan_help = "looked up before anything is created (as for backfill)",
    lot_help = "days per instance (default: the failed instances' own)" })
  declare.flag(cmd, "--dry-run", "print the ranges, create nothing")
  declare.value(cmd, "--journal", "FILE", "record each repair create (and which DAG it repairs); rerunning\n"
    .. "resumes instead of creating twice.  Without it the repair is\n"
    .. "recorded under $XDG_STATE_HOME/accelerate/repairs/ (else\n"
    .. "~/.local/state/...), one record per API url, tenant and DAG, so\n"
    .. "that rerunning never creates it twice; a record whose repairs\n"
    .. "the server does not know (a restarted simulator) is set aside", { complete = "file" })
  declare.flag(cmd, "--again", "create the repairs once more, though they were created before")
  declare.flag(cmd, "--force-create", "create even though the journal shows a create whose answer was lost")
  declare.flag(cmd, "--force", "repair even though DAG still has unfinished instances, or though\n"
    .. "the plan given with --plan is EXTERNAL")
  declare.flag(cmd, "--wait", "watch the repairs to the end (exit code as for wait)")
  declare.flag(cmd, "--no-calendar", "do not draw the calendar")
  declare.watch_options(cmd)
  cmd:epilog(declare.EXIT_HELP .. "\n\n" .. declare.examples(
    "accelerate repair fba27ddf-1aac-451b-ba5f-3d8af4660999 --dry-run",
    "accelerate repair fba27ddf-1aac-451b-ba5f-3d8af4660999 --wait",
    "accelerate repair fba27ddf-1aac-451b-ba5f-3d8af4660999 --lot 1 --journal repair.journal"))
end

-- The record of this repair when no --journal names one (cli/repairs.lua),
-- or nil with a warning: without it, a second `repair` creates again.
local function record_of(ctx, client, dag)
  local path, err = repairs.path(ctx, client, dag)
  if not path then
    ctx.err("accelerate: warning: cannot record this repair (" .. tostring(err) .. "); running `repair "
      .. dag .. "` again would create it again: use --journal FILE\n")
  end
  return path
end

-- One line per repair backfill: created, already created, or (--dry-run)
-- would create.
local function describe_repair(d, dag)
  local p = d.params
  return (d.dagName and ("repair " .. d.dagName .. (d.resumed and " (already created)" or ""))
      or "would create") .. ": " .. d.startTime .. " .. " .. d.endTime
    .. ", " .. tostring(d.lots) .. " lot(s) of " .. tostring(p.dateIntervalOfLot) .. " day(s), plan "
    .. tostring(p.planId or p.planName) .. ", repairs " .. dag .. "\n"
end

-- --wait: each repair watched to its end and reported; the worst exit code.
local function watch_repairs(ctx, o, client, dag, dags)
  local reports, code = util.array(), EXIT.OK
  for _, d in ipairs(dags) do
    local p = progress.new(ctx, o)
    local rep, werr = workflow.wait(client, d.dagName, watching.opts(o, ctx, p))
    p.finish()
    if not rep then error(werr, 0) end
    rep = watching.with_details(client, rep)
    rep.repairs = dag
    reports[#reports + 1] = rep
    local rcode = output.exit_for_report(rep)
    if o.flags.json then rep.exit = rcode else output.print_report(ctx, o, rep, "repair") end
    code = max(code, rcode)
  end
  return reports, code
end

function _M.run(o, ctx)
  local dag = o.args[1]
  create_params.one_plan(o)
  local client = config.client(o, ctx)
  -- --plan: looked up before anything else, an EXTERNAL plan refused
  -- without --force (the same flag as for a backfill still running)
  local plan_id = o.values["plan-id"]
  if o.values.plan then
    local rp, detail = plan_lookup.resolve(client, { plan = o.values.plan })
    plan_id = rp.planId
    if detail.materializeType == "EXTERNAL" then
      plan_lookup.check(ctx, detail, nil, nil, { create = not o.flags["dry-run"], force = o.flags.force })
    end
  end
  local r = watching.snapshot(client, dag, ctx)
  if not r.done and not o.flags.force then
    raise(dag .. " has unfinished instances (" .. workflow.summary(r) .. "); wait for it first "
      .. "(`accelerate wait " .. dag .. "`) or pass --force to repair what failed so far", "repair")
  end
  if #r.failures == 0 then
    if o.flags.json then
      ctx.out(json_encode { repairs = dag, dags = util.array(), reports = util.array(), exit = EXIT.OK } .. "\n")
    else
      ctx.out("nothing to repair: no instance of " .. dag .. " failed\n")
    end
    return EXIT.OK
  end
  r = watching.with_details(client, r)
  local record = o.values.journal or (not o.flags["dry-run"] and record_of(ctx, client, dag))
  local dags, err = workflow.repair(client, r, {
    planId = plan_id, planName = o.values["plan-name"],
    dateIntervalOfLot = o.values.lot,
    journal = record or nil, force_create = o.flags["force-create"], dry_run = o.flags["dry-run"],
    again = o.flags.again,
  })
  if dags and #dags > 0 and not o.flags["dry-run"] then
    local all_resumed = true
    for _, d in ipairs(dags) do if not d.resumed then all_resumed = false end end
    if all_resumed then
      ctx.err("accelerate: these repairs of " .. dag .. " were created before (recorded in " .. record
        .. "); not created again: pass --again to create them once more\n")
    end
  end
  local names = {}
  for _, d in ipairs(dags or {}) do names[#names + 1] = d.dagName end
  if #names > 0 then ctx.facts = "repairs of " .. dag .. " created: " .. tbl_concat(names, ", ") end
  if not o.flags.json then
    for _, d in ipairs(dags or {}) do ctx.out(ctx.text(describe_repair(d, dag))) end
  end
  if err then
    if o.flags.json then
      -- one object: what was created before the failure, and the error
      local red = output.redact_error(ctx, err)
      ctx.out(json_encode { repairs = dag, dags = dags or util.array(), error = output.error_json(red),
        exit = output.exit_for_error(err) } .. "\n")
      ctx.json_done = true
    end
    error(err, 0)
  end
  local reports, code = util.array(), EXIT.OK
  if o.flags.wait and not o.flags["dry-run"] then
    reports, code = watch_repairs(ctx, o, client, dag, dags)
  end
  if o.flags.json then
    ctx.out(json_encode { repairs = dag, dags = dags, reports = reports, exit = code } .. "\n")
  end
  return code
end

return _M
