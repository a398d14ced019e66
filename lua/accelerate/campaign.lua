-- Campaigns: many backfills over many plans and dates, run as one job.
-- A spec (docs/campaign.md) names the backfills, or a selection of plans
-- over one range, cut into tasks (chunk) and created in an order, never
-- more than max_in_flight at once; transient failures are repaired
-- automatically, a failure budget stops the submitting, and the journal
-- lets a killed run resume without creating anything twice.
--
--   local campaign = require "accelerate.campaign"
--   local report, err = campaign.run(client, spec, opts)
--   local tasks, err = campaign.preview(client, spec)   -- the dry run
--   (campaign.plan: the same function, its older name)
--   local status, err = campaign.status(journal_path)   -- nothing sent
--
-- Depends only on the client interface and opts.sleep/opts.clock (whose
-- defaults are nginx's inside nginx), like the workflows: the same code
-- runs in the command and in an OpenResty timer.  The work is done under
-- accelerate.campaign.*:
--   definition  the spec checked, its defaults, its identity
--   tasks   plan lookups, chunks, order: the task list
--   state   tasks, backfills, repairs and failures in memory
--   record  the journal: opening, the planned tasks, reading it back
--   poll    one look at a backfill; settling it (details, transient)
--   engine  the run's loop: slots, polls, repairs, stops

local util = require "accelerate.util"
local journal = require "accelerate.journal"
local checks = require "accelerate.workflow.checks"
local create = require "accelerate.workflow.create"
local watch = require "accelerate.workflow.watch"
local inspect = require "accelerate.workflow.inspect"
local definition = require "accelerate.campaign.definition"
local tasks_mod = require "accelerate.campaign.tasks"
local state = require "accelerate.campaign.state"
local record = require "accelerate.campaign.record"
local engine = require "accelerate.campaign.engine"
local show = require "accelerate.show"
local notify = require "accelerate.notify"

local type = type
local pcall = pcall
local ipairs = ipairs
local error = error
local tostring = tostring
local floor = math.floor
local min = math.min
local new_error = util.new_error
local raise = checks.raise

local _M = { _VERSION = require("accelerate.core").VERSION } -- one home: src/acc.h

local ADVICE = "If it exists, resume the campaign with its dagName: the same `accelerate campaign run` "
  .. "command with --adopt DAG (opts.adopt = DAG); if it does not, with --force-create "
  .. "(opts.force_create = true)."

-- The creates whose outcome the journal does not know: adopted (opts.adopt:
-- the dagName a person found in AnyMetrics), given up (opts.force_create:
-- it does not exist), or the run stops with create_unknown.
local function resolve_unknown(ctx)
  local st, opts = ctx.st, ctx.opts
  if opts.adopt ~= nil and (type(opts.adopt) ~= "string" or opts.adopt == "") then
    raise("invalid", "opts.adopt must be a dagName")
  end
  if #st.unresolved == 0 then
    if opts.adopt then
      raise("invalid", "the journal " .. ctx.path .. " records no create whose answer was lost: nothing to adopt")
    end
    return
  end
  -- a dagName a person typed is asked of the server before it is
  -- journaled: a wrong one would fail every later run
  if opts.adopt then checks.check_dag(ctx.client, opts.adopt, ctx.stats, st.unresolved[1].params) end
  for i, op in ipairs(st.unresolved) do
    local T = st.tasks[op.task]
    local ev
    -- op.damaged: the damaged lines this outcome answers for (record.replay)
    if opts.adopt and i == 1 then
      ev = { event = "created", op = op.op, dagName = opts.adopt, params = op.params, task = op.task,
        round = op.round, repairs = op.repairs, adopted = true, checked = true, damaged = op.damaged }
    elseif opts.force_create then
      ev = { event = "create_failed", op = op.op, params = op.params, task = op.task, round = op.round,
        repairs = op.repairs, damaged = op.damaged,
        error = { kind = "abandoned", message = "taken as never created (force_create)" } }
    else
      create.raise_unknown(ctx.j, ctx.path, op, ADVICE)
    end
    local ok, err = ctx.j:append(ev)
    if not ok then error(err, 0) end
    if T then T.unknown = nil end
    if ev.event == "created" and T then
      local D = state.created(st, T, ev.dagName, op.round, op.repairs, op.params)
      D.op, D.adopted, D.checked = op.op, true, true
    end
  end
  st.unresolved = {}
end

-- A dagName an older version adopted without asking the server: a typo
-- there failed every run with a 404.  Asked once now; one the server does
-- not know is abandoned (journaled; its create's outcome is unknown again)
-- when the run says how to go on (force_create or adopt), else the run
-- stops and says so.
local function recheck_adopted(ctx)
  local st, opts = ctx.st, ctx.opts
  local list = {}
  for _, D in ipairs(st.unfinished) do
    if D.adopted and not D.checked then list[#list + 1] = D end
  end
  for _, D in ipairs(list) do
    if checks.find_dag(ctx.client, D.dagName, ctx.stats) then
      D.checked = true
    elseif not (opts.force_create or opts.adopt) then
      D.missing = true
      raise("invalid", "the journal " .. ctx.path .. " adopted " .. D.dagName .. " for task " .. D.task.index
        .. ", and the server has no such backfill: the create's outcome is unknown again. " .. ADVICE)
    else
      local ok, jerr = ctx.j:append { event = "abandoned", op = D.op, task = D.task.index, dagName = D.dagName }
      if not ok then error(jerr, 0) end
      local op = state.abandon(st, D)
      if op then
        st.unresolved[#st.unresolved + 1] = op
        if op.round == 0 then D.task.unknown = true end
      end
    end
  end
end

-- The report (or, in_progress, what on_progress is given).
local function build(ctx)
  local st = ctx.st
  local r = st and state.report(st) or { tasks = util.array(), counts = {}, states = {}, total = 0 }
  local all = st and #st.tasks or 0
  r.ok = st ~= nil and not st.stopped and r.states.succeeded == all
  r.stopped = st and st.stopped or ctx.stopped
  r.elapsed = ctx.cfg and (ctx.cfg.clock() - ctx.start) or 0
  r.requests = ctx.stats.requests
  r.journal = ctx.path
  r.resumed = ctx.resumed or nil
  r.journal_error = ctx.journal_error
  r.warnings = ctx.warnings or util.array()
  return r
end

-- opts.failure_budget: the run's budget instead of the spec's (not part
-- of the identity, so a resume may raise it).
local function budget_of(opts, s)
  local b = opts.failure_budget
  if b == nil then return s.failure_budget end
  if type(b) ~= "number" or b ~= b or b < 0 or b > 1e9 or b ~= floor(b) then
    raise("invalid", "opts.failure_budget must be a whole number >= 0")
  end
  return b
end

-- The checks a backfill's create makes, for every task (tasks.check):
-- the warnings of all tasks (ctx.warnings, and on_event "warning" at
-- once), and an EXTERNAL plan refused among the tasks not yet created.
local function guard(ctx, s, all, uncreated)
  ctx.warnings = tasks_mod.check(all, s, true)
  for _, line in ipairs(ctx.warnings) do
    if ctx.opts.on_event then ctx.opts.on_event { event = "warning", message = line } end
  end
  local _, refusal = tasks_mod.check(uncreated, s, true)
  if refusal then error(refusal, 0) end
end

local function prepare(ctx, spec)
  checks.check_client(ctx.client, { "create_task", "list_instances", "task_detail" })
  local s = definition.normalize(spec)
  s.failure_budget = budget_of(ctx.opts, s)
  ctx.cfg = engine.settings(ctx.opts)
  ctx.start = ctx.cfg.clock()
  ctx.deadline = ctx.cfg.timeout and ctx.start + ctx.cfg.timeout
  if ctx.path ~= nil then ctx.j = record.open(ctx.path, ctx.client, s.identity) end
  if s.notify then
    -- the POSTs ride on on_event and on the naps (notify.attach); only
    -- once the journal is this run's: a run refused its lock says nothing
    ctx.opts, ctx.notifier = notify.attach(ctx.opts, s.notify, notify.campaign_name(s.name, ctx.path))
    ctx.cfg = engine.settings(ctx.opts)
  end
  local tasks = ctx.j and record.tasks(ctx.j.events)
  if tasks then
    ctx.resumed = true
    record.note_spec(ctx.j, ctx.opts.spec_path)
  else
    util.check_stop()
    tasks = tasks_mod.list(ctx.client, s, ctx.stats)
    guard(ctx, s, tasks, tasks)
    if ctx.j then record.write_tasks(ctx.j, tasks, s, ctx.opts.spec_path) end
  end
  ctx.st = state.new(tasks, s)
  if ctx.j then
    record.replay(ctx.j.events, ctx.st, ctx.j.damaged)
    ctx.journal_error = journal.damage_note(ctx.path, ctx.j.damaged)
    if ctx.resumed then
      local uncreated = {}
      for i, T in ipairs(ctx.st.tasks) do
        if not T.dag then uncreated[#uncreated + 1] = tasks[i] end
      end
      guard(ctx, s, tasks, uncreated)
    end
    recheck_adopted(ctx)
    resolve_unknown(ctx)
    if ctx.st.last_stop == "failure_budget" then engine.retry_failures(ctx) end
  end
end

-- Every option of campaign.run: the watch's and inspect's (engine.settings,
-- poll), and the campaign's own (on_event, defer_signals, force_create,
-- adopt: engine and resolve_unknown; failure_budget: the spec's, overridden;
-- hold: the host's stop, asked by the engine).
local RUN_OPTIONS = util.key_set(watch.OPTIONS, inspect.OPTIONS,
  { "on_event", "defer_signals", "force_create", "adopt", "failure_budget", "spec_path", "hold", "notify_sender",
    "notify_flush" })

local function run(ctx, spec)
  checks.options(ctx.opts, RUN_OPTIONS, "campaign.run")
  prepare(ctx, spec)
  ctx.progress = function() return build(ctx) end
  if ctx.opts.hold ~= nil and type(ctx.opts.hold) ~= "function" then
    raise("invalid", "opts.hold must be a function")
  end
  engine.loop(ctx)
  -- a host going away asks nothing more of the server
  if ctx.st.stopped == "shutdown" then return end
  -- the report explains every failure, those read back from the journal too
  local ok, err = pcall(engine.add_details, ctx)
  if not ok and engine.interrupted(err) then error(err, 0) end
end

-- The "end" POST, and a bounded flush of what is queued (notify_flush
-- seconds, less after an interrupt); the notifier's warnings and counts
-- go into the report.
local function finish_notify(ctx, report, err)
  local N = ctx.notifier
  -- a host's shutdown is a pause (the next worker resumes it), not an end
  if report.stopped ~= "shutdown" then pcall(N.finish, N, report, err) end
  local limit = ctx.opts.notify_flush or notify.DEFAULTS.flush
  if report.stopped == "interrupted" or util.stop_requested() then limit = min(limit, notify.INTERRUPT_FLUSH) end
  pcall(N.flush, N, limit)
  N:close()
  report.notify = N:stats()
  for _, w in ipairs(N.warnings) do report.warnings[#report.warnings + 1] = w end
end

-- syntax: report, err, partial = campaign.run(client, spec, opts)
-- report = {ok, stopped = nil | "failure_budget" | "timeout" | "interrupted"
--   | "requested" | "shutdown" (opts.hold),
--   tasks = {{task, plan, planId, startTime, endTime, dateIntervalOfLot, lots,
--   dagName, state = pending|running|succeeded|failed, counts, total, repairs,
--   failures = {{instance, detail, err, transient}}}}, counts, total, states,
--   in_flight, on_server, failed, elapsed, requests, journal, resumed,
--   warnings (the checks before a create: tasks.check)}.
-- On an error: nil, err and what was known then (partial, a report).
-- opts: journal, interval, max_interval, backoff, timeout (seconds, the
-- whole run), page_size, max_poll_errors, concurrency (details),
-- on_progress(report), on_event(ev), sleep, clock, defer_signals (the
-- command: an interrupt waits for a create's outcome to be journaled),
-- force_create, adopt, failure_budget (overrides the spec's), spec_path (the
-- spec's file, journaled for campaign.status's resume command), hold (a
-- function asked before each create and each round: "requested" stops the
-- creating and lets the unfinished backfills be watched to the end, stopped
-- "requested"; "shutdown" ends the run at once, stopped "shutdown"; nil goes
-- on: accelerate.runner's stop and worker exit), notify_sender (the spec's
-- notify POSTs through this sender instead of notify.default_sender's),
-- notify_flush (seconds the end waits for them, default 5); any other key
-- is refused (RUN_OPTIONS).  With a notify in the spec, report.notify =
-- {delivered, failed, dropped}.
function _M.run(client, spec, opts)
  opts = opts or {}
  if opts.journal ~= nil and (type(opts.journal) ~= "string" or opts.journal == "") then
    return nil, new_error("invalid", "opts.journal must be a file path")
  end
  if opts.spec_path ~= nil and (type(opts.spec_path) ~= "string" or opts.spec_path == "") then
    return nil, new_error("invalid", "opts.spec_path must be a file path")
  end
  local nf = opts.notify_flush
  if nf ~= nil and (type(nf) ~= "number" or nf ~= nf or nf < 0 or nf > 600) then
    return nil, new_error("invalid", "opts.notify_flush must be seconds from 0 to 600")
  end
  if opts.notify_sender ~= nil and type(opts.notify_sender) ~= "table" and type(opts.notify_sender) ~= "userdata" then
    return nil, new_error("invalid", "opts.notify_sender must be a sender (post, pump, pending, close)")
  end
  local ctx = { client = client, opts = opts, stats = checks.new_stats(), created = 0, errors_in_row = 0,
    path = opts.journal }
  local ok, err = pcall(run, ctx, spec)
  if not ok and engine.interrupted(err) then
    -- stop submitting, write it down; the backfills go on on the server
    if ctx.st then
      ok, err = pcall(engine.stop, ctx, "interrupted")
      if not ok and engine.interrupted(err) then ok = true end
    else
      ctx.stopped, ok = "interrupted", true
    end
  end
  local report = build(ctx)
  if ctx.notifier then finish_notify(ctx, report, not ok and err or nil) end
  if ctx.j then ctx.j:close() end
  -- it prints as what it is at the REPL (accelerate.show)
  show.mark("campaign", report)
  for _, t in ipairs(type(report.tasks) == "table" and report.tasks or {}) do show.mark("task", t) end
  if ok then return report end
  if type(err) ~= "table" then err = new_error("error", tostring(err)) end
  return nil, err, report
end

-- syntax: tasks, err = campaign.preview(client, spec)
-- The dry run: the tasks run would create, in order; nothing sent but plan
-- lookups.  campaign.plan is the same function (its name before "plan"
-- was kept for the API's acceleration plans), kept for the callers of it.
function _M.preview(client, spec)
  return checks.protect(function()
    local s = definition.normalize(spec)
    return tasks_mod.list(client, s, checks.new_stats())
  end)
end
_M.plan = _M.preview

-- syntax: lines, err = campaign.warnings(tasks, spec)
-- What the checks before a create say of campaign.preview's tasks (a task
-- that cuts its plan's periods, an EXTERNAL plan and whether the spec's
-- "force" lets it be created), one line per plan and kind; nothing sent.
function _M.warnings(tasks, spec)
  return checks.protect(function()
    local s = definition.normalize(spec)
    if type(tasks) ~= "table" then raise("invalid", "tasks must be campaign.preview's") end
    return (tasks_mod.check(tasks, s, s.force == true))
  end)
end

-- syntax: status, err = campaign.status(journal_path)
-- What the journal says (state.report's fields, stopped, ended,
-- unresolved); nothing sent, no lock taken.
function _M.status(path)
  return checks.protect(function()
    if type(path) ~= "string" or path == "" then raise("invalid", "a journal path is required") end
    return record.status(path)
  end)
end

-- syntax: s, err = campaign.check(spec)
-- The spec checked and with its defaults (definition.normalize), nothing sent.
function _M.check(spec)
  return checks.protect(definition.normalize, spec)
end

_M.interrupted = engine.interrupted

return _M
