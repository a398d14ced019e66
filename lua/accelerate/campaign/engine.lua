-- A campaign's run: tasks created in order while fewer than max_in_flight
-- backfills are unfinished, each unfinished one looked at once per
-- interval, settled ones judged and their transient failures repaired,
-- until every task is settled or the run stops (failure budget, timeout,
-- interrupt).  Every create goes through the journaled create of
-- accelerate.workflow.create; what the run learns is written to the
-- journal before it acts on it.

local util = require "accelerate.util"
local checks = require "accelerate.workflow.checks"
local create = require "accelerate.workflow.create"
local inspect = require "accelerate.workflow.inspect"
local watch = require "accelerate.workflow.watch"
local state = require "accelerate.campaign.state"
local poll = require "accelerate.campaign.poll"

local type = type
local pairs = pairs
local ipairs = ipairs
local error = error
local pcall = pcall
local min = math.min
local max = math.max
local raise = checks.raise
local check_stop = util.check_stop

local _M = {}

-- No create is started with less of the run's timeout left than this: it
-- would most likely be cut, leaving a create whose outcome is unknown.
local MIN_CREATE = 0.1

-- syntax: cfg = engine.settings(opts)     (raises)
-- The watch's settings (interval, back-off, timeout, page size, poll
-- errors), and a campaign's own on_event.
function _M.settings(opts)
  local cfg = watch.settings(opts)
  if opts.on_event ~= nil and type(opts.on_event) ~= "function" then
    raise("invalid", "opts.on_event must be a function")
  end
  return cfg
end

-- syntax: bool = engine.interrupted(err)
-- Ctrl-C (or a SIGTERM the command turned into one).
_M.interrupted = util.interrupted

-- ev.of: how many tasks the campaign has.
local function emit(ctx, ev)
  ev.of = #ctx.st.tasks
  if ctx.opts.on_event then ctx.opts.on_event(ev) end
end

-- Appends ev; a failure raises (the journal is the campaign's memory).
local function record(ctx, ev)
  if not ctx.j then return end
  local ok, err = ctx.j:append(ev)
  if not ok then error(err, 0) end
end

-- A state line is a record, not a source of truth: a failure is noted.
local function note(ctx, ev)
  if not ctx.j then return end
  local ok, err = ctx.j:append(ev)
  if not ok then ctx.journal_error = util.errstr(err) end
end

local function time_left(ctx)
  if not ctx.deadline then return nil end
  return max(ctx.deadline - ctx.cfg.clock(), 0)
end

-- syntax: engine.stop(ctx, reason)
function _M.stop(ctx, reason)
  if ctx.st.stopped then return end
  ctx.st.stopped = reason
  local ev = { event = "stopped", reason = reason, failed = state.failed_count(ctx.st) }
  note(ctx, ev)
  emit(ctx, ev)
end

-- syntax: engine.retry_failures(ctx)      (raises)
-- A resume whose last run the failure budget stopped: the instances left
-- FAILED are repaired once each, ahead of new tasks (docs/campaign.md);
-- each retry is journaled before the state moves.
function _M.retry_failures(ctx)
  for _, ev in ipairs(state.retries(ctx.st)) do
    record(ctx, ev)
    state.retry(ctx.st, ev)
  end
end

-- One journaled create for task T: its own backfill, or the repair `job`.
local function create_one(ctx, T, job)
  local round = job and job.round or 0
  local p = job and job.params or state.params(T)
  local extra = { task = T.index, round = round, repairs = job and job.parent or nil }
  local window = {
    defer_signals = ctx.opts.defer_signals,
    -- inside the window: the state knows the dag as soon as the journal does
    on_created = function(dag)
      state.created(ctx.st, T, dag, round, extra.repairs, p)
      ctx.created = ctx.created + 1
      emit(ctx, { event = "created", task = state.task_view(ctx.st, T), dagName = dag, round = round,
        repairs = extra.repairs, params = p })
    end,
  }
  local ok, err = pcall(create.journaled_create, ctx.client, p, ctx.j, ctx.stats, extra, window, time_left(ctx))
  if ok then return end
  if ctx.deadline and type(err) == "table" and err.kind == "timeout" and time_left(ctx) < MIN_CREATE then
    -- cut by the run's own timeout (journaled create_unknown when it had
    -- been sent): a timeout of the run, exit 3
    err.message = "the campaign's timeout (" .. ctx.cfg.timeout .. " s) ended during a create: " .. err.message
    err.watch = true
  end
  error(err, 0)
end

-- Whether the run's timeout leaves too little for a create: then the run
-- stops (timeout) instead of sending one.
local function out_of_time(ctx)
  local left = time_left(ctx)
  if left == nil or left >= MIN_CREATE then return false end
  _M.stop(ctx, "timeout")
  return true
end

-- The stops after which nothing is created, not even a repair: the run's
-- time is out, or its host asked it to stop (opts.hold: "requested", a
-- person's stop; "shutdown", the host going away).
local HALTS = { timeout = true, interrupted = true, requested = true, shutdown = true }

-- opts.hold: the host's say, asked before every create and every round.
-- A requested stop lets the unfinished backfills be watched to the end; a
-- shutdown ends the run at once, its journal telling where it stood.
local function held(ctx)
  local hold = ctx.opts.hold
  local reason = hold and hold()
  if reason == "requested" or reason == "shutdown" then
    _M.stop(ctx, reason)
    return reason
  end
  return nil
end

-- Fills the free slots: repairs first (they finish older work), then the
-- next tasks in order, unless the run has stopped.  Returns how many were
-- created.
local function fill(ctx)
  local st, before = ctx.st, ctx.created
  while #st.unfinished < st.spec.max_in_flight do
    local job = st.queue[1]
    if held(ctx) then break end
    local halted = HALTS[st.stopped]
    if job and not halted then
      check_stop()
      if out_of_time(ctx) then break end
      create_one(ctx, job.task, job)
    else
      local T = not st.stopped and state.next_pending(st)
      if not T then break end
      check_stop()
      if out_of_time(ctx) then break end
      create_one(ctx, T, nil)
    end
  end
  return ctx.created - before
end

local function same_counts(a, b)
  if not a or not b then return false end
  for k, v in pairs(a) do if b[k] ~= v then return false end end
  for k, v in pairs(b) do if a[k] ~= v then return false end end
  return true
end

-- A settled backfill: its failures judged, its line journaled, then the
-- state moves (the repairs it needs join the queue).
-- Returns false, journaling nothing, when the run's timeout leaves too
-- little to fetch its details or cut them: a failure is never judged (and
-- its repair decided) without its stack; the next run settles it.
local function settle(ctx, D, scan)
  if out_of_time(ctx) then return false end
  local fin, details = poll.settle(ctx.client, D, scan, ctx.st.spec, ctx.opts, ctx.stats, time_left(ctx))
  if ctx.deadline and time_left(ctx) < MIN_CREATE then
    for _, d in pairs(details) do
      if d.err and d.err.kind == "timeout" then return false end
    end
  end
  record(ctx, fin)
  ctx.settles = (ctx.settles or 0) + 1
  state.settled(ctx.st, D, fin, details)
  emit(ctx, { event = "settled", task = state.task_view(ctx.st, D.task), dagName = D.dagName, round = D.round,
    repair = fin.repair })
  return true
end

local function on_poll_error(ctx, err)
  ctx.errors_in_row = ctx.errors_in_row + 1
  if not poll.transient(err) or ctx.errors_in_row > ctx.cfg.max_errors then error(err, 0) end
  ctx.last_error = err
end

-- The sweeper of unfinished backfill D, kept across polls (partial sweeps)
-- until D settles.
local function sweeper_of(ctx, D)
  local sweepers = ctx.sweepers
  if not sweepers then
    sweepers = {}
    ctx.sweepers = sweepers
  end
  local sw = sweepers[D]
  if not sw then
    sw = poll.sweeper(ctx.client, D.dagName, ctx.cfg.page_size, ctx.cfg.clock)
    sweepers[D] = sw
  end
  return sw
end

-- One poll per unfinished backfill.  Returns whether anything changed.
local function poll_round(ctx)
  local st, changed = ctx.st, false
  local list = {}
  for i, D in ipairs(st.unfinished) do list[i] = D end
  for _, D in ipairs(list) do
    check_stop()
    local scan, err = poll.scan(sweeper_of(ctx, D), ctx.stats, time_left(ctx))
    if not scan then
      on_poll_error(ctx, err)
    else
      ctx.errors_in_row = 0
      if not same_counts(scan.counts, D.counts) or scan.total ~= D.total then
        changed = true
        D.counts, D.total = scan.counts, scan.total
        note(ctx, { event = "state", task = D.task.index, dagName = D.dagName, total = scan.total,
          counts = scan.counts })
      end
      if scan.done then
        -- a settled backfill is never polled again: its store goes
        if settle(ctx, D, scan) ~= false then
          ctx.sweepers[D] = nil
          changed = true
        end
      end
    end
  end
  return changed
end

local function finished(st)
  return #st.unfinished == 0 and (#st.queue == 0 or HALTS[st.stopped])
    and (st.stopped or not state.next_pending(st))
end

-- syntax: engine.loop(ctx)      (raises)
function _M.loop(ctx)
  local st, cfg = ctx.st, ctx.cfg
  local current = cfg.interval
  while true do
    check_stop()
    if held(ctx) == "shutdown" then break end
    local changed = poll_round(ctx)
    local budget = st.spec.failure_budget
    if budget and state.failed_count(st) > budget then _M.stop(ctx, "failure_budget") end
    local created = fill(ctx)
    if ctx.opts.on_progress then ctx.opts.on_progress(ctx.progress()) end
    if finished(st) or st.stopped == "shutdown" then break end
    local now = cfg.clock()
    if ctx.deadline and now >= ctx.deadline then
      _M.stop(ctx, "timeout")
      break
    end
    if changed or created > 0 then
      current = cfg.interval
    else
      current = min(current * cfg.backoff, cfg.max_interval)
    end
    local nap = current
    if ctx.deadline then nap = min(nap, ctx.deadline - now) end
    if nap > 0 then cfg.sleep(nap) end
  end
  -- a resume of a campaign that had ended already learns nothing new
  local nothing_new = st.ended and ctx.created == 0 and (ctx.settles or 0) == 0
  if not st.stopped and not nothing_new then
    local ok = true
    for _, T in ipairs(st.tasks) do if T.state ~= "succeeded" then ok = false end end
    record(ctx, { event = "ended", ok = ok, counts = state.report(st).counts, failed = state.failed_count(st) })
  end
end

-- syntax: engine.add_details(ctx)
-- Fetches the details of the failures the state holds without one (those
-- a resume read from the journal), so that the report can explain them.
function _M.add_details(ctx)
  local wanted, ids = {}, {}
  for _, T in ipairs(ctx.st.tasks) do
    for _, e in pairs(T.failed) do
      if e.detail == nil and e.err == nil and e.id then
        wanted[#wanted + 1] = e
        ids[#ids + 1] = e.id
      end
    end
  end
  if #ids == 0 then return end
  local details, errs = inspect.fetch_details(ctx.client, ids, ctx.opts, ctx.stats)
  for _, e in ipairs(wanted) do
    e.detail, e.err = details[e.id], errs[e.id]
  end
end


return _M
