-- Watching a backfill: poll every instance of a dag (accelerate.workflow.sweep:
-- a compact store, and only the pages that can still change), back off
-- while nothing changes, ride out transient failures, and stop when every
-- instance is final or the deadline passes.  The report it returns is the
-- one workflow.wait and workflow.backfill hand back.

local util = require "accelerate.util"
local journal = require "accelerate.journal"
local sweep = require "accelerate.workflow.sweep"
local checks = require "accelerate.workflow.checks"
local create = require "accelerate.workflow.create"
local policy = require "accelerate.client"
local show = require "accelerate.show"

local type = type
local pairs = pairs
local ipairs = ipairs
local error = error
local tostring = tostring
local min = math.min
local max = math.max
local array = util.array
local raise = checks.raise
local check_number = checks.check_number

local _M = {}

local DEFAULT_INTERVAL = 2
local DEFAULT_MAX_INTERVAL = 30
local DEFAULT_BACKOFF = 1.5
local DEFAULT_PAGE_SIZE = 500     -- instances per list call when fetching them all
-- consecutive failed polls tolerated (each already retried by the client)
-- before a watch gives up: a gateway restart must not end a six-hour watch
local DEFAULT_MAX_POLL_ERRORS = 10
_M.DEFAULT_PAGE_SIZE = DEFAULT_PAGE_SIZE

local function same_counts(a, b)
  if not a or not b then return false end
  for k, v in pairs(a) do if b[k] ~= v then return false end end
  for k, v in pairs(b) do if a[k] ~= v then return false end end
  return true
end

-- A failed poll worth retrying later rather than ending the watch (the
-- campaigns' polls use the same rule): what the call policy retries, by
-- its one table (accelerate.client), for the read a poll is.  An error a
-- client of one's own already marked retryable is taken at its word.
local function transient(err)
  if type(err) ~= "table" then return false end
  if err.retryable == true then return true end
  local row = policy.decide(err)
  if row.poll ~= nil then return row.poll end
  return row.read
end
_M.transient = transient

-- Appends a state line; a failure is noted in the report (and ctx), not raised.
function _M.journal_append(j, report, ev, ctx)
  if not j then return end
  local ok, err = j:append(ev)
  if not ok then
    -- state lines are a record, not a source of truth (the server is):
    -- keep watching, and say so in the report
    report.journal_error = util.errstr(err)
    if ctx then ctx.journal_error = report.journal_error end
  end
end
local journal_append = _M.journal_append

-- Every option of workflow.wait: settings() reads them (and the journal
-- run() opens); campaigns and backfill take these too.
_M.OPTIONS = util.key_set { "interval", "max_interval", "backoff", "timeout", "page_size", "max_poll_errors",
  "on_progress", "sleep", "clock", "journal" }

-- The watch's options, checked, with their defaults.
-- syntax: cfg = watch.settings(opts)     (raises)
-- The watch's options checked, with their defaults (campaigns poll with
-- the same ones).
local function settings(opts)
  local cfg = {
    sleep = opts.sleep or util.default_sleep(),
    clock = opts.clock or util.default_clock(),
  }
  local interval = check_number(opts, "interval", 0) or DEFAULT_INTERVAL
  if interval <= 0 then
    -- a zero interval would poll the server in a tight loop
    raise("invalid", "opts.interval must be greater than 0")
  end
  cfg.interval = interval
  local max_interval = check_number(opts, "max_interval", 0) or max(DEFAULT_MAX_INTERVAL, interval)
  if max_interval < interval then max_interval = interval end
  cfg.max_interval = max_interval
  cfg.backoff = check_number(opts, "backoff", 1) or DEFAULT_BACKOFF
  cfg.timeout = check_number(opts, "timeout", 0)
  cfg.page_size = check_number(opts, "page_size", 1) or DEFAULT_PAGE_SIZE
  cfg.max_errors = check_number(opts, "max_poll_errors", 0) or DEFAULT_MAX_POLL_ERRORS
  cfg.on_progress = opts.on_progress
  if cfg.on_progress ~= nil and type(cfg.on_progress) ~= "function" then
    raise("invalid", "opts.on_progress must be a function")
  end
  return cfg
end
_M.settings = settings

-- The report of one answered poll (sweep's facts), and whether the
-- backfill is finished.
local function poll_report(w, dag, f, now, ctx)
  local failures = array()
  for i, inst in ipairs(f.store:failures()) do failures[i] = { instance = inst } end
  return {
    dagName = dag,
    ok = f.done and f.failed == 0 and f.counts.SUCCESS >= f.total,
    done = f.done,
    timed_out = false,
    total = f.total,
    counts = f.counts,
    instances = sweep.instances(f.store),
    failures = failures,
    elapsed = now - w.start,
    polls = w.polls,
    requests = ctx.stats.requests,
    params = ctx.params and util.deep_copy(ctx.params) or nil,
    resumed = ctx.resumed or nil,
    journal_error = ctx.journal_error,
  }, f.done
end

-- One answered poll: a new report, a state line when something changed,
-- the next interval (back to the start on a change, longer otherwise).
-- Returns true when the backfill is finished.
local function on_answer(w, cfg, dag, f, now, ctx)
  local total = f.total
  w.errors_in_row = 0
  w.polls = w.polls + 1
  local report, done = poll_report(w, dag, f, now, ctx)
  w.report = report
  local counts = report.counts
  if not same_counts(counts, w.last_counts) or total ~= w.last_total then
    if w.last_counts then w.current = cfg.interval end
    w.last_counts, w.last_total = counts, total
    journal_append(ctx.journal, report, {
      event = "state", dagName = dag, total = total, counts = counts,
      polls = w.polls, requests = ctx.stats.requests,
    }, ctx)
  else
    w.current = min(w.current * cfg.backoff, cfg.max_interval)
  end
  if cfg.on_progress then cfg.on_progress(report) end
  return done
end

-- One failed poll: raises it (handing back what is known so far along
-- with the error) unless it is transient and within max_poll_errors.
local function on_error(w, cfg, err)
  w.errors_in_row = w.errors_in_row + 1
  w.last_error = err
  if not transient(err) or w.errors_in_row > cfg.max_errors then error(err, 0) end
  if w.report then w.report.last_error = err end
end

-- Seconds left of the watch's timeout, for its requests; nil when there is
-- no timeout or it is 0 (one look: `accelerate report`).
local function time_left(w, cfg)
  if not w.deadline or cfg.timeout == 0 then return nil end
  return max(w.deadline - cfg.clock(), 0)
end

-- True once the deadline has passed: the report says timed out.
local function past_deadline(w, cfg, dag, now)
  if not (w.deadline and now >= w.deadline) then return false end
  if not w.report then
    -- say what stood in the way (a refused connection is not a slow server)
    raise("timeout", "timed out after " .. cfg.timeout .. "s before any poll answered"
      .. (w.last_error and ("; last error: " .. util.errstr(w.last_error)) or ""), {
      dagName = dag, watch = true, last_error = w.last_error,
    })
  end
  w.report.timed_out = true
  w.report.ok = false
  w.report.elapsed = now - w.start
  return true
end

-- The watch loop; raises.  ctx: {stats, journal (open object), params, resumed}.
local function run(client, dag, opts, ctx)
  local cfg = settings(opts)
  local stats = ctx.stats
  local start = cfg.clock()
  local w = {
    start = start, deadline = cfg.timeout and start + cfg.timeout,
    current = cfg.interval, polls = 0, errors_in_row = 0,
    sweeper = sweep.new(client, dag, cfg.page_size, cfg.clock),
  }
  while true do
    -- a safe point: the command was asked to stop (Ctrl-C, SIGTERM)
    util.check_stop()
    -- no poll is started once the watch's time is up (the last real error,
    -- not a request with no time left, is what a timeout reports)
    if w.polls + w.errors_in_row > 0 and past_deadline(w, cfg, dag, cfg.clock()) then break end
    local f, err = w.sweeper:poll(stats, time_left(w, cfg))
    local now = cfg.clock()
    if not f then
      on_error(w, cfg, err)
    elseif on_answer(w, cfg, dag, f, now, ctx) then
      break
    end
    now = cfg.clock()
    if past_deadline(w, cfg, dag, now) then break end
    if not f then w.current = min(w.current * cfg.backoff, cfg.max_interval) end
    local nap = w.current
    if w.deadline then nap = min(nap, w.deadline - now) end
    if nap > 0 then cfg.sleep(nap) end
  end
  local report = w.report
  report.requests = stats.requests
  journal_append(ctx.journal, report, {
    event = "done", dagName = dag, ok = report.ok, timed_out = report.timed_out,
    total = report.total, counts = report.counts, polls = report.polls,
    requests = stats.requests,
  }, ctx)
  return show.mark("report", report)
end
_M.run = run

-- Ties a watch to its journal: the dag it names when none is given (a
-- resume), a refusal when it names another, a watch line when it names
-- none yet.  Returns the dag to watch; sets ctx.journal, resumed, params.
local function attach_journal(client, j, dag, path, ctx)
  local s = journal.summarize(j.events)
  -- a damaged line is named in the report, as backfill and campaign do
  ctx.journal_error = journal.damage_note(path, j.damaged)
  if dag == nil then
    if not s.dagName then
      create.refuse_pending(j, s, path)
      raise("invalid", "the journal " .. path .. " names no dagName to watch")
    end
    dag = s.dagName
    ctx.resumed = true
  elseif s.dagName and s.dagName ~= dag then
    raise("invalid", "the journal " .. path .. " belongs to " .. s.dagName
      .. ", not " .. tostring(dag))
  elseif not s.dagName then
    -- adopting a lost create's backfill: a dagName the server does not know
    -- (or of other dates) is refused before it is journaled
    local op = s.pending and s.pending[#s.pending]
    if op then checks.check_dag(client, dag, ctx.stats, op.params) end
    local ok, err = j:append { event = "watch", dagName = dag }
    if not ok then error(err, 0) end
  else
    ctx.resumed = true
  end
  ctx.params = create.params_of(s, dag)
  ctx.journal = j
  return dag
end

-- syntax: report, err = workflow.wait(client, dagName_or_nil, opts)
function _M.wait(client, dag, opts)
  opts = opts or {}
  local j
  local report, err = checks.protect(function()
    checks.options(opts, _M.OPTIONS, "workflow.wait")
    checks.check_client(client, { "list_instances" })
    local ctx = { stats = checks.new_stats() }
    if opts.journal then
      j = checks.open_journal(opts.journal, checks.owner(client, { dagName = dag }))
      dag = attach_journal(client, j, dag, opts.journal, ctx)
    end
    if type(dag) ~= "string" or dag == "" then raise("invalid", "a dagName is required") end
    return run(client, dag, opts, ctx)
  end)
  if j then j:close() end
  return report, err
end

return _M
