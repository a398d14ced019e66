-- The details of a report's failed instances: fetched concurrently through
-- client:task_details when the client has it (one by one otherwise), never
-- twice for what the report already holds.

local util = require "accelerate.util"
local policy = require "accelerate.client"
local status = require "accelerate.workflow.status"
local checks = require "accelerate.workflow.checks"

local type = type
local ipairs = ipairs
local pcall = pcall
local tostring = tostring
local new_error = util.new_error
local id_string = util.id_string
local array = util.array
local raise = checks.raise

local _M = {}

-- Every option of workflow.inspect (fetch_details reads it).
_M.OPTIONS = util.key_set { "concurrency" }

-- details, errs by id.  The concurrency is opts.concurrency or the
-- client's own default (accelerate.client's DEFAULT_CONCURRENCY); budget
-- (seconds, or nil) bounds the whole fetch (a campaign's time left).
local function fetch_details(client, ids, opts, stats, budget)
  local details, errs = {}, {}
  local ok_multi = pcall(function() return client.task_details end)
  if ok_multi and client.task_details then
    stats.requests = stats.requests + #ids
    local concurrency = opts.concurrency or policy.DEFAULT_CONCURRENCY
    local d, e = client:task_details(ids, { concurrency = concurrency, timeout = budget })
    -- the details a stop cut are errors of kind "interrupted": never
    -- results, the stop is raised here
    util.check_stop()
    if d == nil and type(e) == "table" and e.kind then
      -- the whole call refused (a bad concurrency, say): every id has that error
      for _, id in ipairs(ids) do errs[id] = e end
    else
      details, errs = d or {}, e or {}
    end
  else
    for _, id in ipairs(ids) do
      util.check_stop()
      stats.requests = stats.requests + 1
      local d, e = client:task_detail(id)
      if d then details[id] = d else errs[id] = e end
    end
  end
  return details, errs
end
_M.fetch_details = fetch_details

-- failures, first_err for the report's failed instances; raises on a bad
-- report.  budget: as for fetch_details.
local function run(client, report, opts, stats, budget)
  if not status.has_instances(report) then
    raise("invalid", "a report with instances is required")
  end
  local known = {}
  for _, f in ipairs(report.failures or {}) do
    if f.detail and f.instance then known[id_string(f.instance.id)] = f.detail end
  end
  local failed, ids = status.failed_of(report.instances), {}
  for _, inst in ipairs(failed) do
    local id = id_string(inst.id)
    if id and not known[id] then ids[#ids + 1] = id end
  end
  local details, errs = {}, {}
  if #ids > 0 then details, errs = fetch_details(client, ids, opts, stats, budget) end
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
_M.run = run

-- syntax: failures, err = workflow.inspect(client, report, opts)
-- failures = { {instance, detail, err?}, ... } for every failed instance;
-- err is the first detail that could not be fetched (its entry has .err).
function _M.inspect(client, report, opts)
  opts = opts or {}
  return checks.protect(function()
    checks.options(opts, _M.OPTIONS, "workflow.inspect")
    checks.check_client(client, { "task_detail" })
    return run(client, report, opts, checks.new_stats())
  end)
end

return _M
