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
local status = require "accelerate.workflow.status"
local checks = require "accelerate.workflow.checks"
local params_mod = require "accelerate.workflow.params"
local create = require "accelerate.workflow.create"
local watch = require "accelerate.workflow.watch"
local inspect = require "accelerate.workflow.inspect"

local type = type
local ipairs = ipairs
local tonumber = tonumber
local tostring = tostring
local floor = math.floor
local tbl_sort = table.sort
local id_string = util.id_string
local array = util.array
local clean_params = journal.clean_params

local _M = { _VERSION = "0.1.0" }

local FAILED_STATUSES = status.FAILED_STATUSES
_M.FAILED_STATUSES = FAILED_STATUSES
_M.DEFAULT_PAGE_SIZE = watch.DEFAULT_PAGE_SIZE
_M.STATUS_ORDER = status.STATUS_ORDER
_M.is_terminal = status.is_terminal
_M.is_failed = status.is_failed
_M.summary = status.summary

local raise = checks.raise
local protect = checks.protect
local check_client = checks.check_client
local open_journal = checks.open_journal
local new_stats = checks.new_stats
local lots_impl = params_mod.split
local validate_params = params_mod.validate
local describe_params = params_mod.describe
local params_equal = params_mod.equal

_M.lots = params_mod.lots

_M.create = create.create
_M.create_maybe_happened = create.create_maybe_happened
local journaled_create = create.journaled_create

_M.wait = watch.wait
local wait_impl = watch.run
local journal_append = watch.journal_append

_M.inspect = inspect.inspect
local inspect_impl = inspect.run

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
