-- The commands about one backfill, from plan to repair: lots (the split a
-- create will make), create, backfill (create and watch; --dry-run: what
-- a create would make), wait, report and repair.  A plan named with
-- --plan is looked up (cli/plan_commands.lua) before anything is created.
-- Each is fn(o, ctx) -> exit code, o from args.parse; failures are raised
-- (error objects) and printed by cli.main.

local util = require "accelerate.util"
local workflow = require "accelerate.workflow"
local args = require "accelerate.cli.args"
local config = require "accelerate.cli.config"
local progress = require "accelerate.cli.progress"
local output = require "accelerate.cli.output"
local repairs = require "accelerate.cli.repairs"
local context = require "accelerate.cli.context"
local html_command = require "accelerate.cli.html_command"
local plan_commands = require "accelerate.cli.plan_commands"
local checks = require "accelerate.workflow.checks"
local wparams = require "accelerate.workflow.params"

local type = type
local ipairs = ipairs
local error = error
local pcall = pcall
local tostring = tostring
local max = math.max
local str_format = string.format
local str_gsub = string.gsub
local tbl_concat = table.concat
local usage = args.usage
local number_opt = args.number
local json_encode = util.json_encode
local EXIT = output.EXIT

local _M = {}

-- Helpers -----------------------------------------------------------------------

-- A connection the core accepts, for checking create parameters with the
-- core's own rules (accelerate.prepare sends nothing).
local CHECK_CFG = { url = "http://127.0.0.1", tenant_id = "t", auth_type = "UID", auth_value = "check" }

-- Raises a usage error for create parameters the core would refuse (dates
-- that are not real, year 0000, a lot size out of range), so that lots,
-- create, backfill and repair refuse alike, before anything is sent or
-- journaled.  Without the core built there is nothing to check with.
local function check_create(params, command)
  local core = context.core()
  if not core or not core.prepare then return end
  if params.plan ~= nil then
    -- --plan is looked up later; the core checks the rest with a stand-in id
    params = util.shallow_copy(params)
    params.plan, params.planId = nil, "p"
  end
  local req, err = core.prepare(CHECK_CFG, "create_task", params)
  if not req then
    local msg = type(err) == "table" and err.message or tostring(err)
    usage((str_gsub(msg, "^create_task: ", "")), command)
  end
  -- the range as a whole, before any plan lookup, without expanding it
  local ok, rerr = checks.protect(wparams.range, params.startTime, params.endTime, params.dateIntervalOfLot)
  if not ok then usage(rerr.message, command) end
end
_M.check_create = check_create

-- --plan beside --plan-id or --plan-name: a usage error.
local function one_plan(o)
  local v = o.values
  if v.plan and (v["plan-id"] or v["plan-name"]) then
    usage("give --plan or --plan-id/--plan-name, not both", o.command)
  end
end

-- The create parameters from --plan (params.plan, looked up later),
-- --plan-id/--plan-name (sent as given), --start, --end, --lot.
local function plan_params(o)
  local v = o.values
  one_plan(o)
  if not v.plan and not v["plan-id"] and not v["plan-name"] then
    usage("--plan, --plan-id or --plan-name is required", o.command)
  end
  if v["plan-id"] and v["plan-name"] then usage("give --plan-id or --plan-name, not both", o.command) end
  if not v.start or not v["end"] then usage("--start and --end are required", o.command) end
  local params = {
    plan = v.plan, planId = v["plan-id"], planName = v["plan-name"], startTime = v.start, endTime = v["end"],
    dateIntervalOfLot = number_opt(o, "lot", 1, true),
  }
  check_create(params, o.command)
  return params
end

-- The client, and params with --plan looked up and checked before any
-- create: warnings for a range that cuts the plan's periods, and an
-- EXTERNAL plan refused without --force (unless nothing will be created).
-- Returns client (nil when nothing is to be sent: a dry run without
-- --plan), params (planId resolved), the plan's detail (nil for
-- --plan-id/--plan-name, which are sent as given) and the warnings.
local function resolved_params(o, ctx, params, creates)
  local client = (creates or params.plan) and config.client(o, ctx) or nil
  local detail
  if params.plan then params, detail = plan_commands.resolve(client, params) end
  local warnings = plan_commands.check(ctx, detail, params.startTime, params.endTime,
    { create = creates, force = o.flags.force })
  return client, params, detail, warnings
end

-- "2025-01-01 .. 2025-01-07  7 days" lines, numbered.
local function print_lots(ctx, lots)
  for i, lot in ipairs(lots) do
    ctx.out(str_format("%4d  %s .. %s  %d day%s\n", i, lot.startPartition, lot.endPartition,
      lot.days, lot.days == 1 and "" or "s"))
  end
end

-- workflow.wait options from --interval, --max-interval, --timeout, with the
-- progress line's callback and sleep.
local function watch_opts(o, ctx, p, on_progress)
  return {
    interval = args.positive(o, "interval"),
    max_interval = args.positive(o, "max-interval"),
    timeout = number_opt(o, "timeout", 0),
    on_progress = on_progress or p.update,
    sleep = p.wrap_sleep(ctx.sleep),
    clock = ctx.clock,
  }
end

-- r with the detail (error, SQL) of each failed instance, and true; r
-- itself when there is no failure or the details could not be fetched.
local function with_details(client, r)
  if #r.failures == 0 then return r, false end
  local failures = workflow.inspect(client, r)
  if not failures then return r, false end
  local out = util.shallow_copy(r)
  out.failures = failures
  return out, true
end

-- The end of a watch: failure details, then the report and its exit code.
local function finish_watch(ctx, o, client, report)
  local detailed, fetched = with_details(client, report)
  if fetched then detailed.requests = (detailed.requests or 0) + #detailed.failures end
  return output.report(ctx, o, detailed)
end

-- One poll: where a backfill stands now.
local function snapshot(client, dag, ctx)
  local r, err = workflow.wait(client, dag, { timeout = 0, sleep = ctx.sleep, clock = ctx.clock })
  if not r then error(err, 0) end
  -- one look is not a watch that ran out of time: "not finished" instead
  r.timed_out = false
  return r
end

-- Commands ------------------------------------------------------------------------

-- Without --plan calls nothing; with it, looks the plan up (after the
-- dates are checked) to show its granularity and warn as a create would.
function _M.lots(o, ctx)
  local n = o.args[3]
  if n then n = args.read_number(n, "N (days per lot)", 1, true, false, "lots")
  else n = number_opt(o, "lot", 1, true) end
  check_create({ planId = "p", startTime = o.args[1], endTime = o.args[2], dateIntervalOfLot = n }, "lots")
  local lots, err = workflow.lots(o.args[1], o.args[2], n)
  if not lots then usage(err.message, "lots") end
  local detail
  if o.values.plan then
    local client = config.client(o, ctx)
    local _
    _, detail = plan_commands.resolve(client, { plan = o.values.plan })
    plan_commands.check(ctx, detail, o.args[1], o.args[2])
  end
  if o.flags.json then
    -- the array of lots, as without --plan; the plan is `accelerate plan NAME --json`
    ctx.out(json_encode(lots) .. "\n")
  else
    if detail then ctx.out(ctx.text(plan_commands.describe(detail)) .. "\n") end
    print_lots(ctx, lots)
  end
  return EXIT.OK
end

function _M.create(o, ctx)
  local client, params = resolved_params(o, ctx, plan_params(o), true)
  local printed = false
  local function print_dag(dag, resumed)
    printed = true
    ctx.current_dag = dag
    ctx.facts = "backfill " .. dag .. (resumed and " was already created (journal)" or " was created")
    if o.flags.json then
      ctx.out(json_encode { dagName = dag, params = params, resumed = resumed or nil, exit = EXIT.OK } .. "\n")
    else
      ctx.out(ctx.text(dag) .. "\n")
      if resumed then ctx.err("accelerate: the journal already records this backfill; not created again\n") end
    end
  end
  -- a dagName in hand is journaled and printed before Ctrl-C can end us
  local dag, err, resumed = workflow.create(client, params, {
    journal = o.values.journal, force_create = o.flags["force-create"],
    defer_signals = true, on_created = function(d) print_dag(d) end,
  })
  if not dag then error(err, 0) end
  if not printed then print_dag(dag, resumed) end
  return EXIT.OK
end

-- backfill --dry-run: the plan, the range and the lots a create would make;
-- nothing created, nothing journaled.
local function dry_run(o, ctx, params, detail, warnings)
  local lots = assert(workflow.lots(params.startTime, params.endTime, params.dateIntervalOfLot))
  if o.flags.json then
    ctx.out(json_encode { dryRun = true, params = params, lots = lots, warnings = warnings,
      plan = detail and { id = util.id_string(detail.id), name = detail.name, displayName = detail.displayName,
        materializeType = detail.materializeType, metricTimeGranularity = detail.metricTimeGranularity },
      exit = EXIT.OK } .. "\n")
    return EXIT.OK
  end
  ctx.out((detail and ctx.text(plan_commands.describe(detail))
    or (params.planId and ("plan id " .. params.planId) or ("plan name " .. tostring(params.planName)))
      .. " (sent as given, not looked up)") .. "\n")
  ctx.out(str_format("would create: %s .. %s, %d lot%s of %s day(s); nothing sent\n", params.startTime,
    params.endTime, #lots, #lots == 1 and "" or "s", util.number_string(params.dateIntervalOfLot or 1)))
  print_lots(ctx, lots)
  return EXIT.OK
end

function _M.backfill(o, ctx)
  local dry = o.flags["dry-run"]
  local client, params, detail, warnings = resolved_params(o, ctx, plan_params(o), not dry)
  if dry then return dry_run(o, ctx, params, detail, warnings) end
  local p = progress.new(ctx, o)
  local announced = false
  local opts = watch_opts(o, ctx, p, function(r)
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

function _M.wait(o, ctx)
  local dag = o.args[1]
  if not dag and not o.values.journal then usage("give a DAG or --journal FILE", "wait") end
  local client = config.client(o, ctx)
  local p = progress.new(ctx, o)
  local opts = watch_opts(o, ctx, p)
  opts.journal = o.values.journal
  local report, err = workflow.wait(client, dag, opts)
  p.finish()
  if not report then error(err, 0) end
  return finish_watch(ctx, o, client, report)
end

function _M.report(o, ctx)
  -- the page's file first: one that cannot be written is exit 5 at once
  local target = o.values.html and html_command.open(o.values.html)
  local ok, code = pcall(function()
    local client = config.client(o, ctx)
    if target then ctx.current_dag = o.args[1] end   -- named beside an unwritten page
    local r = snapshot(client, o.args[1], ctx)
    local by = repairs.of(ctx, client, o.args[1])
    if #by > 0 then r.repaired_by = by end
    if target then return html_command.report(ctx, o, client, r, target) end
    return finish_watch(ctx, o, client, r)
  end)
  if not ok then
    html_command.discard(target)
    error(code, 0)
  end
  return code
end

-- repair ------------------------------------------------------------------------

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
    local rep, werr = workflow.wait(client, d.dagName, watch_opts(o, ctx, p))
    p.finish()
    if not rep then error(werr, 0) end
    rep = with_details(client, rep)
    rep.repairs = dag
    reports[#reports + 1] = rep
    local rcode = output.exit_for_report(rep)
    if o.flags.json then rep.exit = rcode else output.print_report(ctx, o, rep, "repair") end
    code = max(code, rcode)
  end
  return reports, code
end

function _M.repair(o, ctx)
  local dag = o.args[1]
  one_plan(o)
  local client = config.client(o, ctx)
  -- --plan: looked up before anything else, an EXTERNAL plan refused
  -- without --force (the same flag as for a backfill still running)
  local plan_id = o.values["plan-id"]
  if o.values.plan then
    local rp, detail = plan_commands.resolve(client, { plan = o.values.plan })
    plan_id = rp.planId
    if detail.materializeType == "EXTERNAL" then
      plan_commands.check(ctx, detail, nil, nil, { create = not o.flags["dry-run"], force = o.flags.force })
    end
  end
  local r = snapshot(client, dag, ctx)
  if not r.done and not o.flags.force then
    usage(dag .. " has unfinished instances (" .. workflow.summary(r) .. "); wait for it first "
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
  r = with_details(client, r)
  local record = o.values.journal or (not o.flags["dry-run"] and record_of(ctx, client, dag))
  local dags, err = workflow.repair(client, r, {
    planId = plan_id, planName = o.values["plan-name"],
    dateIntervalOfLot = number_opt(o, "lot", 1, true),
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
