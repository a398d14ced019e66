-- Workflows over the three backfill calls: create -> wait -> inspect -> repair.
--
-- Depends only on the client interface (create_task, list_instances,
-- task_detail, task_details), so the same code runs on the blocking C
-- client, on an nginx cosocket client and on a fake in the specs.  Time is
-- injected (opts.sleep, opts.clock) for the same reason.
--
-- Internals raise error objects; every public function catches them at its
-- edge and returns nil, err.

local util = require "accelerate.util"
local dates = require "accelerate.dates"
local journal = require "accelerate.journal"
local policy = require "accelerate.client"
local status = require "accelerate.workflow.status"
local checks = require "accelerate.workflow.checks"
local params_mod = require "accelerate.workflow.params"
local create = require "accelerate.workflow.create"

local type = type
local pairs = pairs
local ipairs = ipairs
local pcall = pcall
local error = error
local tonumber = tonumber
local tostring = tostring
local floor = math.floor
local min = math.min
local max = math.max
local tbl_sort = table.sort
local new_error = util.new_error
local id_string = util.id_string
local array = util.array
local clean_params = journal.clean_params

local _M = { _VERSION = "0.1.0" }

local DEFAULT_INTERVAL = 2
local DEFAULT_MAX_INTERVAL = 30
local DEFAULT_BACKOFF = 1.5
local DEFAULT_PAGE_SIZE = 500     -- instances per list call when fetching them all
local DEFAULT_CONCURRENCY = 8
-- consecutive failed polls tolerated (each already retried by the client)
-- before a watch gives up: a gateway restart must not end a six-hour watch
local DEFAULT_MAX_POLL_ERRORS = 10

local FAILED_STATUSES = status.FAILED_STATUSES
_M.FAILED_STATUSES = FAILED_STATUSES
_M.DEFAULT_PAGE_SIZE = DEFAULT_PAGE_SIZE
_M.STATUS_ORDER = status.STATUS_ORDER
_M.is_terminal = status.is_terminal
_M.is_failed = status.is_failed
_M.summary = status.summary

local raise = checks.raise
local protect = checks.protect
local check_client = checks.check_client
local check_number = checks.check_number
local open_journal = checks.open_journal
local new_stats = checks.new_stats
local lots_impl = params_mod.split
local validate_params = params_mod.validate
local describe_params = params_mod.describe
local params_equal = params_mod.equal

_M.lots = params_mod.lots

-- Polling -----------------------------------------------------------------

-- Every instance of a dag, through the client's own pager (ids unique, one
-- set of stop rules for every listing); a client that offers only
-- list_instances gets the same pager over it.
local function fetch_all(client, dag, page_size, stats)
  local list, it, state = {}
  if type(client.instances) == "function" then
    it, state = client:instances(dag, { pageSize = page_size })
  else
    it, state = policy.instances_of(function(args) return client:list_instances(args) end, dag, page_size)
  end
  local ok, err = pcall(function()
    for inst in it do list[#list + 1] = inst end
  end)
  stats.requests = stats.requests + state.requests
  if not ok then return nil, err end
  return list, state.total or #list
end

local function same_counts(a, b)
  if not a or not b then return false end
  for k, v in pairs(a) do if b[k] ~= v then return false end end
  for k, v in pairs(b) do if a[k] ~= v then return false end end
  return true
end

-- A failed poll worth retrying later rather than ending the watch.
local function transient(err)
  if type(err) ~= "table" then return false end
  if err.retryable then return true end
  local k = err.kind
  if k == "network" or k == "timeout" then return true end
  if k == "http" then
    local st = tonumber(err.status)
    return st == nil or st >= 500 or st == 429
  end
  return false
end

local function failures_of(list)
  local out = array()
  for _, inst in ipairs(list) do
    if FAILED_STATUSES[inst.status] then out[#out + 1] = { instance = inst } end
  end
  return out
end

local function sort_instances(list)
  tbl_sort(list, function(a, b)
    local sa, sb = tostring(a.startPartition or ""), tostring(b.startPartition or "")
    if sa ~= sb then return sa < sb end
    local ma, mb = tostring(a.mtGuid or ""), tostring(b.mtGuid or "")
    if ma ~= mb then return ma < mb end
    return (id_string(a.id) or "") < (id_string(b.id) or "")
  end)
end

local function journal_append(j, report, ev, ctx)
  if not j then return end
  local ok, err = j:append(ev)
  if not ok then
    -- state lines are a record, not a source of truth (the server is):
    -- keep watching, and say so in the report
    report.journal_error = util.errstr(err)
    if ctx then ctx.journal_error = report.journal_error end
  end
end

-- The watch loop.  ctx: {stats, journal (open object), params, resumed}.
local function wait_impl(client, dag, opts, ctx)
  local sleep = opts.sleep or util.default_sleep()
  local clock = opts.clock or util.default_clock()
  local interval = check_number(opts, "interval", 0) or DEFAULT_INTERVAL
  if interval <= 0 then
    -- a zero interval would poll the server in a tight loop
    raise("invalid", "opts.interval must be greater than 0")
  end
  local max_interval = check_number(opts, "max_interval", 0) or max(DEFAULT_MAX_INTERVAL, interval)
  if max_interval < interval then max_interval = interval end
  local backoff = check_number(opts, "backoff", 1) or DEFAULT_BACKOFF
  local timeout = check_number(opts, "timeout", 0)
  local page_size = check_number(opts, "page_size", 1) or DEFAULT_PAGE_SIZE
  local max_errors = check_number(opts, "max_poll_errors", 0) or DEFAULT_MAX_POLL_ERRORS
  local on_progress = opts.on_progress
  if on_progress ~= nil and type(on_progress) ~= "function" then
    raise("invalid", "opts.on_progress must be a function")
  end
  local stats, j = ctx.stats, ctx.journal

  local start = clock()
  local deadline = timeout and start + timeout
  local current = interval
  local last_counts, last_total
  local polls, errors_in_row = 0, 0
  local report

  while true do
    local list, total_or_err = fetch_all(client, dag, page_size, stats)
    local now = clock()
    if not list then
      local err = total_or_err
      errors_in_row = errors_in_row + 1
      if not transient(err) or errors_in_row > max_errors then
        -- hand back what is known so far along with the error
        error(err, 0)
      end
      if report then report.last_error = err end
    else
      errors_in_row = 0
      polls = polls + 1
      local total = total_or_err
      local counts, terminal, failed = status.count(list)
      sort_instances(list)
      -- Finished only when every instance seen is terminal AND at least
      -- `total` distinct instances were seen: a stale total must never end
      -- a watch while one is WAITING or RUNNING.  Total 0 right after a
      -- create means the server has not split the range yet: a backfill
      -- always has at least one instance.
      local seen = #list
      local done = seen > 0 and total > 0 and terminal == seen and seen >= total
      report = {
        dagName = dag,
        ok = done and failed == 0 and counts.SUCCESS >= total,
        done = done,
        timed_out = false,
        total = total,
        counts = counts,
        instances = array(list),
        failures = failures_of(list),
        elapsed = now - start,
        polls = polls,
        requests = stats.requests,
        params = ctx.params and util.deep_copy(ctx.params) or nil,
        resumed = ctx.resumed or nil,
        journal_error = ctx.journal_error,
      }
      if not same_counts(counts, last_counts) or total ~= last_total then
        if last_counts then current = interval end
        last_counts, last_total = counts, total
        journal_append(j, report, {
          event = "state", dagName = dag, total = total, counts = counts,
          polls = polls, requests = stats.requests,
        }, ctx)
      else
        current = min(current * backoff, max_interval)
      end
      if on_progress then on_progress(report) end
      if done then break end
    end
    now = clock()
    if deadline and now >= deadline then
      if not report then
        raise("timeout", "timed out after " .. timeout .. "s before any poll answered", {
          dagName = dag,
        })
      end
      report.timed_out = true
      report.ok = false
      report.elapsed = now - start
      break
    end
    if not list then current = min(current * backoff, max_interval) end
    local nap = current
    if deadline then nap = min(nap, deadline - now) end
    if nap > 0 then sleep(nap) end
  end

  report.requests = stats.requests
  journal_append(j, report, {
    event = "done", dagName = dag, ok = report.ok, timed_out = report.timed_out,
    total = report.total, counts = report.counts, polls = report.polls,
    requests = stats.requests,
  }, ctx)
  return report
end

_M.create = create.create
_M.create_maybe_happened = create.create_maybe_happened
local journaled_create = create.journaled_create

-- syntax: report, err = workflow.wait(client, dagName_or_nil, opts)
function _M.wait(client, dag, opts)
  opts = opts or {}
  local j
  local function run()
    check_client(client, { "list_instances" })
    local ctx = { stats = new_stats() }
    if opts.journal then
      j = open_journal(opts.journal)
      local s = journal.summarize(j.events)
      if dag == nil then
        if not s.dagName then
          create.refuse_pending(j, s, opts.journal)
          raise("invalid", "the journal " .. opts.journal .. " names no dagName to watch")
        end
        dag = s.dagName
        ctx.resumed = true
      elseif s.dagName and s.dagName ~= dag then
        raise("invalid", "the journal " .. opts.journal .. " belongs to " .. s.dagName
          .. ", not " .. tostring(dag))
      elseif not s.dagName then
        local ok, err = j:append { event = "watch", dagName = dag }
        if not ok then error(err, 0) end
      else
        ctx.resumed = true
      end
      for _, op in ipairs(s.ops_list) do
        if op.dagName == dag then ctx.params = op.params end
      end
      ctx.journal = j
    end
    if type(dag) ~= "string" or dag == "" then raise("invalid", "a dagName is required") end
    return wait_impl(client, dag, opts, ctx)
  end
  local report, err = protect(run)
  if j then j:close() end
  return report, err
end

-- Failure details --------------------------------------------------------

local function inspect_impl(client, report, opts, stats)
  if type(report) ~= "table" or type(report.instances) ~= "table" then
    raise("invalid", "a report with instances is required")
  end
  local known = {}
  for _, f in ipairs(report.failures or {}) do
    if f.detail and f.instance then known[id_string(f.instance.id)] = f.detail end
  end
  local failed, ids = {}, {}
  for _, inst in ipairs(report.instances) do
    if FAILED_STATUSES[inst.status] then
      failed[#failed + 1] = inst
      local id = id_string(inst.id)
      if id and not known[id] then ids[#ids + 1] = id end
    end
  end
  local details, errs = {}, {}
  if #ids > 0 then
    local concurrency = opts.concurrency or DEFAULT_CONCURRENCY
    local ok_multi = pcall(function() return client.task_details end)
    if ok_multi and client.task_details then
      stats.requests = stats.requests + #ids
      local d, e = client:task_details(ids, { concurrency = concurrency })
      if d == nil and type(e) == "table" and e.kind then
        for _, id in ipairs(ids) do errs[id] = e end
      else
        details, errs = d or {}, e or {}
      end
    else
      for _, id in ipairs(ids) do
        stats.requests = stats.requests + 1
        local d, e = client:task_detail(id)
        if d then details[id] = d else errs[id] = e end
      end
    end
  end
  local out, first_err = array(), nil
  for _, inst in ipairs(failed) do
    local id = id_string(inst.id)
    local detail = known[id] or details[id]
    local entry = { instance = inst, detail = detail }
    if not detail then
      entry.err = errs[id] or new_error("api", "no detail returned for instance " .. tostring(id))
      first_err = first_err or entry.err
    end
    out[#out + 1] = entry
  end
  return out, first_err
end

-- syntax: failures, err = workflow.inspect(client, report, opts)
-- failures = { {instance, detail, err?}, ... } for every failed instance;
-- err is the first detail that could not be fetched (its entry has .err).
function _M.inspect(client, report, opts)
  opts = opts or {}
  return protect(function()
    check_client(client, { "task_detail" })
    return inspect_impl(client, report, opts, new_stats())
  end)
end

-- syntax: report, err = workflow.backfill(client, params, opts)
function _M.backfill(client, params, opts)
  opts = opts or {}
  local j
  local partial
  local function run()
    check_client(client, { "create_task", "list_instances", "task_detail" })
    validate_params(params)
    local stats = new_stats()
    local ctx = { stats = stats, params = clean_params(params) }
    local dag
    if opts.journal then
      j = open_journal(opts.journal)
      ctx.journal = j
      local s = journal.summarize(j.events)
      if s.dagName then
        local jp
        for _, op in ipairs(s.ops_list) do if op.dagName == s.dagName then jp = op.params end end
        if jp and not params_equal(jp, params) then
          raise("invalid", "the journal " .. opts.journal .. " belongs to another backfill ("
            .. describe_params(jp) .. "); use another journal file")
        end
        dag, ctx.resumed = s.dagName, true
      else
        create.refuse_pending(j, s, opts.journal, opts.force_create)
      end
    end
    if not dag then dag = journaled_create(client, params, j, stats) end
    partial = { dagName = dag, params = ctx.params, requests = stats.requests }
    local report = wait_impl(client, dag, opts, ctx)
    partial = report
    if report.counts.FAILED > 0 or #report.failures > 0 then
      local failures = inspect_impl(client, report, opts, stats)
      report.failures = failures
      report.requests = stats.requests
      if j then
        local ids = array()
        for _, f in ipairs(failures) do ids[#ids + 1] = id_string(f.instance.id) end
        journal_append(j, report, { event = "failures", dagName = dag, ids = ids })
      end
    end
    return report
  end
  local report, err = protect(run)
  if j then j:close() end
  if not report then return nil, err, partial end
  return report
end

-- Repair ------------------------------------------------------------------

-- Failed partitions merged over dates: a backfill covers every table of the
-- plan, so one failed table on a day means the day is redone for the plan.
-- Overlapping and adjacent ranges merge, which gives the fewest creates.
local function failed_ranges(instances)
  local spans = {}
  for _, inst in ipairs(instances) do
    if FAILED_STATUSES[inst.status] then
      local s = dates.parse_partition(inst.startPartition)
      local e = dates.parse_partition(inst.endPartition) or s
      if not s then
        raise("invalid", "failed instance " .. tostring(id_string(inst.id))
          .. " has no usable startPartition")
      end
      if e < s then s, e = e, s end
      spans[#spans + 1] = { s, e }
    end
  end
  tbl_sort(spans, function(a, b) return a[1] < b[1] end)
  local merged = {}
  for _, sp in ipairs(spans) do
    local last = merged[#merged]
    if last and sp[1] <= last[2] + 1 then
      if sp[2] > last[2] then last[2] = sp[2] end
    else
      merged[#merged + 1] = { sp[1], sp[2] }
    end
  end
  return merged
end

-- The lot size the original backfill used: the widest instance (the last lot
-- may be shorter; a single-lot backfill is reproduced by any size >= it).
local function infer_lot(instances)
  local widest
  for _, inst in ipairs(instances) do
    local s = dates.parse_partition(inst.startPartition)
    local e = dates.parse_partition(inst.endPartition) or s
    if s and e then
      local w = e - s + 1
      if not widest or w > widest then widest = w end
    end
  end
  return widest
end

local function infer_plan(report)
  for _, f in ipairs(report.failures or {}) do
    local d = f.detail
    local uuids = d and d.acceleratePlanUuid
    if type(uuids) == "table" and type(uuids[1]) == "string" then return uuids[1] end
    if type(uuids) == "string" then return uuids end
  end
  return nil
end

-- syntax: ranges, err = workflow.repair_plan(report, opts)
-- The creates a repair would send, without sending anything.
local function repair_plan_impl(report, opts)
  if type(report) ~= "table" or type(report.instances) ~= "table" then
    raise("invalid", "a report with instances is required (workflow.wait or workflow.backfill)")
  end
  local rp = type(report.params) == "table" and report.params or {}
  local planId = opts.planId or (not opts.planName and rp.planId) or nil
  local planName = opts.planName or (not opts.planId and rp.planName) or nil
  if not planId and not planName then planId = infer_plan(report) end
  local ranges = failed_ranges(report.instances)
  if #ranges > 0 and not planId and not planName then
    raise("invalid", "cannot tell which plan " .. tostring(report.dagName)
      .. " belongs to: pass opts.planId or opts.planName")
  end
  local lot = opts.dateIntervalOfLot or rp.dateIntervalOfLot or infer_lot(report.instances) or 1
  lot = tonumber(lot)
  if not lot or lot < 1 or lot ~= floor(lot) then
    raise("invalid", "dateIntervalOfLot must be a whole number of days >= 1")
  end
  local out = array()
  for _, r in ipairs(ranges) do
    local p = {
      planId = planId, planName = (not planId) and planName or nil,
      startTime = dates.format(r[1]), endTime = dates.format(r[2]), dateIntervalOfLot = lot,
    }
    out[#out + 1] = {
      repairs = report.dagName, params = p, startTime = p.startTime, endTime = p.endTime,
      lots = #lots_impl(p.startTime, p.endTime, lot),
    }
  end
  return out
end

function _M.repair_plan(report, opts)
  return protect(repair_plan_impl, report, opts or {})
end

-- syntax: dags, err = workflow.repair(client, report, opts)
-- dags = { {dagName, repairs, params, startTime, endTime, lots, resumed?}, ... }
-- one per merged range.  On an error, dags lists the creates that did
-- happen (never lose a dagName) and err says what stopped the rest.
function _M.repair(client, report, opts)
  opts = opts or {}
  local j
  local done = array()
  local function run()
    check_client(client, { "create_task" })
    local plan = repair_plan_impl(report, opts)
    if opts.dry_run then
      for _, r in ipairs(plan) do done[#done + 1] = r end
      return done
    end
    local stats = new_stats()
    local s
    if opts.journal then
      j = open_journal(opts.journal)
      s = journal.summarize(j.events)
    end
    for _, r in ipairs(plan) do
      local entry = util.shallow_copy(r)
      local prior
      if s then
        for _, op in ipairs(s.ops_list) do
          if op.repairs == report.dagName and op.params and params_equal(op.params, r.params) then
            prior = op
          end
        end
      end
      if prior and prior.status == "created" then
        entry.dagName, entry.resumed = prior.dagName, true
      else
        if prior and (prior.status == "intent" or prior.status == "unknown")
          and not opts.force_create then
          create.raise_unknown(j, opts.journal, prior)
        end
        entry.dagName = journaled_create(client, r.params, j, stats, { repairs = report.dagName })
      end
      done[#done + 1] = entry
    end
    done.requests = stats.requests
    return done
  end
  local dags, err = protect(run)
  if j then j:close() end
  if not dags then return done, err end
  return dags
end

_M._failed_ranges = failed_ranges

return _M
