-- Repair: the failed dates of a report merged into the fewest ranges, one
-- create per range with the original plan and lot size, journaled so that
-- a repair run again resumes instead of creating twice.

local util = require "accelerate.util"
local dates = require "accelerate.dates"
local journal = require "accelerate.journal"
local status = require "accelerate.workflow.status"
local checks = require "accelerate.workflow.checks"
local params = require "accelerate.workflow.params"
local create = require "accelerate.workflow.create"

local type = type
local ipairs = ipairs
local tostring = tostring
local tbl_sort = table.sort
local id_string = util.id_string
local array = util.array
local raise = checks.raise

local _M = {}

-- Failed partitions merged over dates: a backfill covers every table of the
-- plan, so one failed table on a day means the day is redone for the plan.
-- Overlapping and adjacent ranges merge, which gives the fewest creates.
-- Returns { {first_day, last_day}, ... } in day numbers; raises.
local function failed_ranges(instances)
  local spans = {}
  for _, inst in ipairs(status.failed_of(instances)) do
    local s = dates.parse_partition(inst.startPartition)
    local e = dates.parse_partition(inst.endPartition) or s
    if not s then
      raise("invalid", "failed instance " .. tostring(id_string(inst.id))
        .. " has no usable startPartition")
    end
    if e < s then s, e = e, s end
    spans[#spans + 1] = { s, e }
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
_M.failed_ranges = failed_ranges

-- The lot size the original backfill used: the widest instance (the last lot
-- may be shorter; a single-lot backfill is reproduced by any size >= it).
local function infer_lot(instances)
  local widest
  for inst in status.each_of(instances) do
    local s = dates.parse_partition(inst.startPartition)
    local e = dates.parse_partition(inst.endPartition) or s
    if s and e then
      local w = e - s + 1
      if not widest or w > widest then widest = w end
    end
  end
  return widest
end

-- The plan's uuid from the details of the failures, or nil.
local function infer_plan(report)
  for _, f in ipairs(report.failures or {}) do
    local d = f.detail
    local uuids = d and d.acceleratePlanUuid
    if type(uuids) == "table" and type(uuids[1]) == "string" then return uuids[1] end
    if type(uuids) == "string" then return uuids end
  end
  return nil
end

-- Every option of workflow.repair and repair_preview (preview and repair_one
-- read them).
local OPTIONS = util.key_set { "planId", "planName", "dateIntervalOfLot", "dry_run", "journal", "force_create",
  "again" }

-- The creates a repair would send, without sending anything; raises.
local function preview(report, opts)
  if not status.has_instances(report) then
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
  local lot = params.lot_size(opts.dateIntervalOfLot or rp.dateIntervalOfLot or infer_lot(report.instances) or 1)
  local out = array()
  for _, r in ipairs(ranges) do
    local p = {
      planId = planId, planName = (not planId) and planName or nil,
      startTime = dates.format(r[1]), endTime = dates.format(r[2]), dateIntervalOfLot = lot,
    }
    out[#out + 1] = {
      repairs = report.dagName, params = p, startTime = p.startTime, endTime = p.endTime,
      lots = #params.split(p.startTime, p.endTime, lot),
    }
  end
  return out
end

-- syntax: ranges, err = workflow.repair_preview(report, opts)
-- The creates a repair would send, without sending anything.
-- workflow.repair_plan is the same function, its name before "plan" was
-- kept for the API's acceleration plans.
function _M.repair_preview(report, opts)
  return checks.protect(function()
    checks.options(opts, OPTIONS, "workflow.repair_preview")
    return preview(report, opts or {})
  end)
end
_M.repair_plan = _M.repair_preview

-- The journal's last op that repairs dag with these params, or nil.
local function prior_op(summary, dag, p)
  local prior
  for _, op in ipairs(summary.ops_list) do
    if op.repairs == dag and op.params and params.equal(op.params, p) then prior = op end
  end
  return prior
end

-- One planned create: resumed when the journal records it created (unless
-- opts.again: create once more), refused when it records one whose answer
-- was lost (unless force_create), sent otherwise.  Returns the entry.
-- A damaged line (j.damaged) could hide the create of any range the
-- journal does not know created: such a range is refused like a lost
-- answer, unless force_create.
local function repair_one(client, dag, r, j, s, opts, stats)
  local entry = util.shallow_copy(r)
  local prior = s and prior_op(s, dag, r.params)
  if prior and prior.status == "created" and not opts.again then
    entry.dagName, entry.resumed = prior.dagName, true
    return entry
  end
  if prior and (prior.status == "intent" or prior.status == "unknown") and not opts.force_create then
    create.raise_unknown(j, opts.journal, prior)
  end
  if j and j.damaged and #j.damaged > 0 and not opts.force_create and not (prior and prior.status == "created") then
    create.raise_unknown(j, opts.journal, { status = "damaged", damaged = j.damaged, params = r.params })
  end
  entry.dagName = create.journaled_create(client, r.params, j, stats, { repairs = dag })
  return entry
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
    checks.options(opts, OPTIONS, "workflow.repair")
    checks.check_client(client, { "create_task" })
    local creates = preview(report, opts)
    if opts.dry_run then
      for _, r in ipairs(creates) do done[#done + 1] = r end
      return done
    end
    local stats = checks.new_stats()
    local s
    if opts.journal then
      j = checks.open_journal(opts.journal, checks.owner(client, { repairs = report.dagName }))
      s = journal.summarize(j.events)
    end
    for _, r in ipairs(creates) do
      done[#done + 1] = repair_one(client, report.dagName, r, j, s, opts, stats)
    end
    done.requests = stats.requests
    return done
  end
  local dags, err = checks.protect(run)
  if j then j:close() end
  if not dags then return done, err end
  return dags
end

return _M
