-- The `accelerate` command.  bin/accelerate only finds the modules and calls
-- cli.main(arg); everything else is here so that specs can run the command
-- in-process with a fake client, a fake terminal and a fake clock.
--
-- Exit codes: 0 every instance SUCCESS, 1 some FAILED, 2 usage or config
-- error, 3 timed out (or, for `report`, not finished), 4 API or network
-- error.

local util = require "accelerate.util"
local workflow = require "accelerate.workflow"
local calendar = require "accelerate.calendar"
local failreport = require "accelerate.report"
local help = require "accelerate.cli.help"
local args = require "accelerate.cli.args"
local context = require "accelerate.cli.context"
local config = require "accelerate.cli.config"
local progress_mod = require "accelerate.cli.progress"

local type = type
local ipairs = ipairs
local pcall = pcall
local error = error
local tonumber = tonumber
local tostring = tostring
local floor = math.floor
local max = math.max
local str_find = string.find
local str_sub = string.sub
local str_format = string.format
local tbl_concat = table.concat
local usage = args.usage
local number_opt = args.number
local errstr = util.errstr
local id_string = util.id_string
local json_encode = util.json_encode
local format_duration = util.format_duration

local _M = {}

local EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TIMEOUT, EXIT_API = 0, 1, 2, 3, 4
_M.EXIT = { OK = 0, FAILED = 1, USAGE = 2, TIMEOUT = 3, API = 4 }

-- Error handling --------------------------------------------------------------

local function exit_for_error(err)
  local kind = type(err) == "table" and err.kind
  if kind == "usage" or kind == "invalid" then return EXIT_USAGE end
  return EXIT_API
end

-- Prints an error and gives its exit code; a usage error also points at help.
local function fail(ctx, err, cmd)
  local code = exit_for_error(err)
  local msg = errstr(err)
  if str_sub(msg, 1, 11) ~= "accelerate:" then msg = "accelerate: " .. msg end
  ctx.err(msg .. "\n")
  if type(err) == "table" and err.kind == "usage" then
    ctx.err("Try `accelerate " .. (cmd and (cmd .. " ") or "") .. "--help`.\n")
  end
  return code
end

local function watch_opts(o, ctx, progress, on_progress)
  return {
    interval = number_opt(o, "interval", 0),
    max_interval = number_opt(o, "max-interval", 0),
    timeout = number_opt(o, "timeout", 0),
    on_progress = on_progress or progress.update,
    sleep = progress.wrap_sleep(ctx.sleep),
    clock = ctx.clock,
  }
end

local function use_color(o, ctx)
  if o.flags["no-color"] then return false end
  local no_color = ctx.getenv("NO_COLOR")   -- no-color.org: set and not empty
  if no_color ~= nil and no_color ~= "" then return false end
  if o.flags.color then return true end
  return ctx.isatty(1)
end

local function exit_for_report(r)
  if r.ok then return EXIT_OK end
  if r.timed_out or not r.done then return EXIT_TIMEOUT end
  return EXIT_FAILED
end

local function print_report(ctx, o, r, what)
  local color = use_color(o, ctx)
  local out = ctx.out
  out((what or "backfill") .. " " .. r.dagName .. ": " .. workflow.summary(r)
    .. "  (" .. format_duration(r.elapsed or 0) .. ", " .. tostring(r.polls or 0) .. " polls, "
    .. tostring(r.requests or 0) .. " requests)\n")
  if not o.flags["no-calendar"] and #r.instances > 0 then
    out("\n" .. calendar.render(r.instances, { color = color }) .. "\n")
  end
  local text = failreport.failures(r.failures, { verbose = o.flags.verbose, color = color })
  if text ~= "" then out(text .. "\n") end
  if r.ok then
    out("all " .. r.total .. " instances succeeded\n")
  elseif r.timed_out then
    out("timed out: the backfill keeps running on the server; resume the watch with `accelerate wait "
      .. r.dagName .. "`\n")
  elseif not r.done then
    out("not finished: watch it with `accelerate wait " .. r.dagName .. "`\n")
  else
    out(tostring(#r.failures) .. " instance(s) failed; re-run only the failed dates with "
      .. "`accelerate repair " .. r.dagName .. "`\n")
  end
  if r.journal_error then ctx.err("accelerate: warning: " .. r.journal_error .. "\n") end
end

local function report_json(r)
  local out = util.shallow_copy(r)
  out.exit = exit_for_report(r)
  return out
end

-- Commands --------------------------------------------------------------------

local function plan_params(o)
  local v = o.values
  if not v["plan-id"] and not v["plan-name"] then usage("--plan-id or --plan-name is required", o.command) end
  if v["plan-id"] and v["plan-name"] then usage("give --plan-id or --plan-name, not both", o.command) end
  if not v.start or not v["end"] then usage("--start and --end are required", o.command) end
  return {
    planId = v["plan-id"], planName = v["plan-name"], startTime = v.start, endTime = v["end"],
    dateIntervalOfLot = number_opt(o, "lot", 1, true),
  }
end

local cmd = {}

function cmd.lots(o, ctx)
  local n = o.args[3] or o.values.lot
  local lots, err = workflow.lots(o.args[1], o.args[2], n and (tonumber(n) or n))
  if not lots then usage(err.message, "lots") end
  if o.flags.json then
    ctx.out(json_encode(lots) .. "\n")
  else
    for i, lot in ipairs(lots) do
      ctx.out(str_format("%4d  %s .. %s  %d day%s\n", i, lot.startPartition, lot.endPartition,
        lot.days, lot.days == 1 and "" or "s"))
    end
  end
  return EXIT_OK
end

function cmd.create(o, ctx)
  local params = plan_params(o)
  local client = config.client(o, ctx)
  local dag, err, resumed = workflow.create(client, params, {
    journal = o.values.journal, force_create = o.flags["force-create"],
  })
  if not dag then error(err, 0) end
  if o.flags.json then
    ctx.out(json_encode { dagName = dag, params = params, resumed = resumed or nil } .. "\n")
  else
    ctx.out(dag .. "\n")
    if resumed then ctx.err("accelerate: the journal already records this backfill; not created again\n") end
  end
  return EXIT_OK
end

local function finish_watch(ctx, o, client, report, what)
  if #report.failures > 0 then
    local failures = workflow.inspect(client, report, { concurrency = 8 })
    if failures then
      report = util.shallow_copy(report)
      report.failures = failures
      report.requests = (report.requests or 0) + #failures
    end
  end
  if o.flags.json then
    ctx.out(json_encode(report_json(report)) .. "\n")
  else
    print_report(ctx, o, report, what)
  end
  return exit_for_report(report)
end

function cmd.backfill(o, ctx)
  local params = plan_params(o)
  local client = config.client(o, ctx)
  local progress = progress_mod.new(ctx, o)
  local update, finish = progress.update, progress.finish
  local announced = false
  local opts = watch_opts(o, ctx, progress, function(r)
    if not announced then
      announced = true
      if not o.flags.quiet then
        ctx.err("backfill " .. r.dagName .. (r.resumed and " (resumed from the journal)" or " created")
          .. ": " .. tostring(r.total) .. " instances"
          .. (o.values.journal and (", journal " .. o.values.journal) or "") .. "\n")
      end
    end
    update(r)
  end)
  opts.journal = o.values.journal
  opts.force_create = o.flags["force-create"]
  local report, err, partial = workflow.backfill(client, params, opts)
  finish()
  if not report then
    local m = type(err) == "table" and err.message or err
    if partial and partial.dagName then ctx.current_dag = partial.dagName end
    if partial and partial.dagName and not (type(m) == "string" and str_find(m, "interrupted!", 1, true)) then
      ctx.err("accelerate: backfill " .. partial.dagName .. " exists on the server; resume the watch with "
        .. "`accelerate wait " .. partial.dagName .. "`\n")
    end
    error(err, 0)
  end
  -- backfill already fetched the failure details
  if o.flags.json then
    ctx.out(json_encode(report_json(report)) .. "\n")
  else
    print_report(ctx, o, report)
  end
  return exit_for_report(report)
end

function cmd.wait(o, ctx)
  local dag = o.args[1]
  if not dag and not o.values.journal then usage("give a DAG or --journal FILE", "wait") end
  local client = config.client(o, ctx)
  local progress = progress_mod.new(ctx, o)
  local finish = progress.finish
  local opts = watch_opts(o, ctx, progress)
  opts.journal = o.values.journal
  local report, err = workflow.wait(client, dag, opts)
  finish()
  if not report then error(err, 0) end
  return finish_watch(ctx, o, client, report)
end

-- One poll: where a backfill stands now.
local function snapshot(client, dag, ctx)
  local r, err = workflow.wait(client, dag, { timeout = 0, sleep = ctx.sleep, clock = ctx.clock })
  if not r then error(err, 0) end
  -- one look is not a watch that ran out of time: "not finished" instead
  r.timed_out = false
  return r
end

function cmd.report(o, ctx)
  local client = config.client(o, ctx)
  return finish_watch(ctx, o, client, snapshot(client, o.args[1], ctx))
end

function cmd.repair(o, ctx)
  local dag = o.args[1]
  local client = config.client(o, ctx)
  local r = snapshot(client, dag, ctx)
  if not r.done and not o.flags.force then
    usage(dag .. " has unfinished instances (" .. workflow.summary(r) .. "); wait for it first "
      .. "(`accelerate wait " .. dag .. "`) or pass --force to repair what failed so far", "repair")
  end
  if #r.failures == 0 then
    if o.flags.json then
      ctx.out(json_encode { repairs = dag, dags = util.array(), reports = util.array() } .. "\n")
    else
      ctx.out("nothing to repair: no instance of " .. dag .. " failed\n")
    end
    return EXIT_OK
  end
  local failures = workflow.inspect(client, r, { concurrency = 8 })
  if failures then
    r = util.shallow_copy(r)
    r.failures = failures
  end
  local dags, err = workflow.repair(client, r, {
    planId = o.values["plan-id"], planName = o.values["plan-name"],
    dateIntervalOfLot = number_opt(o, "lot", 1, true),
    journal = o.values.journal, force_create = o.flags["force-create"], dry_run = o.flags["dry-run"],
  })
  for _, d in ipairs(dags or {}) do
    if not o.flags.json then
      local p = d.params
      ctx.out((d.dagName and ("repair " .. d.dagName .. (d.resumed and " (already created)" or ""))
          or "would create") .. ": " .. d.startTime .. " .. " .. d.endTime
        .. ", " .. tostring(d.lots) .. " lot(s) of " .. tostring(p.dateIntervalOfLot) .. " day(s), plan "
        .. tostring(p.planId or p.planName) .. ", repairs " .. dag .. "\n")
    end
  end
  if err then
    if o.flags.json then ctx.out(json_encode { repairs = dag, dags = dags or util.array(), error = err } .. "\n") end
    error(err, 0)
  end
  local reports, code = util.array(), EXIT_OK
  if o.flags.wait and not o.flags["dry-run"] then
    for _, d in ipairs(dags) do
      local progress = progress_mod.new(ctx, o)
      local rep, werr = workflow.wait(client, d.dagName, watch_opts(o, ctx, progress))
      progress.finish()
      if not rep then error(werr, 0) end
      if #rep.failures > 0 then
        local f = workflow.inspect(client, rep, { concurrency = 8 })
        if f then rep = util.shallow_copy(rep) rep.failures = f end
      end
      rep.repairs = dag
      reports[#reports + 1] = rep
      if not o.flags.json then print_report(ctx, o, rep, "repair") end
      code = max(code, exit_for_report(rep))
    end
  end
  if o.flags.json then
    ctx.out(json_encode { repairs = dag, dags = dags, reports = reports } .. "\n")
  end
  return code
end

local function fmt(v) if v == nil then return "-" end return tostring(v) end

local function print_instances(ctx, items)
  ctx.out(str_format("%-12s %-8s %-36s %-23s %-19s %s\n", "ID", "STATUS", "TABLE", "PARTITIONS",
    "START", "END"))
  for _, inst in ipairs(items) do
    local parts = fmt(inst.startPartition)
    if inst.endPartition and inst.endPartition ~= inst.startPartition then
      parts = parts .. ".." .. inst.endPartition
    end
    ctx.out(str_format("%-12s %-8s %-36s %-23s %-19s %s\n", fmt(id_string(inst.id)), fmt(inst.status),
      fmt(inst.mtGuid), parts, fmt(inst.startTime), fmt(inst.endTime)))
  end
end

function cmd.instances(o, ctx)
  local dag = o.args[1]
  local client = config.client(o, ctx)
  local page_size = number_opt(o, "page-size", 1, true) or (o.flags.all and 500 or 20)
  if o.flags.all then
    local all, index, total = util.array(), 1, nil
    while true do
      local page, err = client:list_instances { dagName = dag, pageIndex = index, pageSize = page_size }
      if not page then error(err, 0) end
      total = tonumber(page.total) or total
      local items = page.instances or {}
      for _, inst in ipairs(items) do all[#all + 1] = inst end
      if #items == 0 or (total and #all >= total) or index >= 10000 then break end
      index = index + 1
    end
    if o.flags.json then
      ctx.out(json_encode { dagName = dag, total = total or #all, instances = all } .. "\n")
    else
      print_instances(ctx, all)
      ctx.out(tostring(#all) .. " of " .. tostring(total or #all) .. " instances\n")
    end
    return EXIT_OK
  end
  local index = number_opt(o, "page", 1, true) or 1
  local page, err = client:list_instances { dagName = dag, pageIndex = index, pageSize = page_size }
  if not page then error(err, 0) end
  if o.flags.json then
    local out = util.shallow_copy(page)
    out.instances = util.array(util.shallow_copy(page.instances))
    ctx.out(json_encode(out) .. "\n")
  else
    print_instances(ctx, page.instances or {})
    local total = tonumber(page.total) or 0
    ctx.out(str_format("page %d of %d (%d instances)\n", index,
      max(1, floor((total + page_size - 1) / page_size)), total))
  end
  return EXIT_OK
end

function cmd.detail(o, ctx)
  local client = config.client(o, ctx)
  local d, err = client:task_detail(o.args[1])
  if not d then error(err, 0) end
  if o.flags.json then
    ctx.out(json_encode(d) .. "\n")
    return EXIT_OK
  end
  local out = ctx.out
  local function field(name, v) if v ~= nil then out(str_format("%-20s %s\n", name, tostring(v))) end end
  field("taskInstanceId", id_string(d.taskInstanceId) or o.args[1])
  field("status", d.status)
  if type(d.mtGuid) == "table" then
    for _, g in ipairs(d.mtGuid) do
      field("mtGuid", type(g) == "table" and tbl_concat({ fmt(g.catalog), fmt(g.schema), fmt(g.table) }, ".") or g)
    end
  else
    field("mtGuid", d.mtGuid)
  end
  field("partitions", d.startPartitionTime and (tostring(d.startPartitionTime) .. " .. "
    .. tostring(d.endPartitionTime)))
  field("retryCnt", d.retryCnt)
  field("runType", d.runType)
  field("taskType", d.taskType)
  field("serverInfo", d.serverInfo)
  field("startTime", d.startTime)
  field("endTime", d.endTime)
  if type(d.acceleratePlanUuid) == "table" then field("acceleratePlanUuid", tbl_concat(d.acceleratePlanUuid, ", ")) end
  if type(d.statusTime) == "table" then
    for _, st in ipairs({ "WAITING", "RUNNING", "SUCCESS", "FAILED" }) do
      field("statusTime." .. st, d.statusTime[st])
    end
  end
  if d.msg then out("msg:\n" .. tostring(d.msg) .. "\n") end
  local sql = type(d.sql) == "table" and (d.sql.originalSql or d.sql.formattedSql) or d.sql
  if sql then out("sql:\n" .. tostring(sql) .. "\n") end
  return EXIT_OK
end

-- Entry -----------------------------------------------------------------------

local function run(argv, ctx)
  local o = args.parse(argv)
  if o.flags.version then
    local ok, core = pcall(require, "accelerate")
    ctx.out("accelerate " .. workflow._VERSION .. (ok and type(core) == "table" and core.VERSION
      and (" (core " .. core.VERSION .. ")") or "") .. "\n")
    return EXIT_OK
  end
  if not o.command then
    if o.flags.help then ctx.out(help.page()) return EXIT_OK end
    ctx.err(help.page())
    return EXIT_USAGE
  end
  if o.command == "help" then
    ctx.out(help.page(o.args[1]))
    return EXIT_OK
  end
  if not args.is_command(o.command) then usage("unknown command " .. o.command) end
  if o.flags.help then ctx.out(help.page(o.command)) return EXIT_OK end
  args.check(o)
  return cmd[o.command](o, ctx)
end

-- syntax: code = cli.main(argv, env)
-- env (all optional): stdout, stderr, getenv, isatty(fd), new_client(conn),
-- sleep, clock.  Returns the exit code; never raises.
function _M.main(argv, env)
  local ctx = context.new(env)
  local ok, res = pcall(run, argv or {}, ctx)
  if ok then
    ctx.stdout:flush()
    return res
  end
  local msg = type(res) == "table" and res.message or res
  if type(msg) == "string" and str_find(msg, "interrupted!", 1, true) then
    -- Ctrl-C: the server keeps working; say how to pick the watch up again
    ctx.err("\naccelerate: interrupted" .. (ctx.current_dag and ("; backfill " .. ctx.current_dag
      .. " keeps running on the server: `accelerate wait " .. ctx.current_dag .. "`") or "") .. "\n")
    ctx.stdout:flush()
    return 130
  end
  local code = fail(ctx, res, argv and args.command_of(argv))
  ctx.stdout:flush()
  return code
end

_M.HELP = help.HELP

return _M
