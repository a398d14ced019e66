-- The tasks of a campaign: its plans looked up (one listing of the
-- tenant's plans, matched as client:find_plan matches a name, so that a
-- misspelt plan is refused with the names near it before anything is
-- created, then one detail per plan), each range cut into chunks, and
-- every chunk of every plan put in the spec's order; and the checks a
-- backfill's create makes, for every task (check).  Nothing but plan
-- lookups is sent.

local util = require "accelerate.util"
local dates = require "accelerate.dates"
local periods = require "accelerate.periods"
local plans = require "accelerate.plans"
local checks = require "accelerate.workflow.checks"
local wplan = require "accelerate.workflow.plan"

local type = type
local pcall = pcall
local error = error
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local ceil = math.ceil
local tbl_sort = table.sort
local id_string = util.id_string
local new_error = util.new_error
local array = util.array
local raise = checks.raise

local _M = {}

local MAX_TASKS = 100000

local function has(client, method)
  local ok, f = pcall(function() return client[method] end)
  return ok and type(f) == "function"
end

-- Every plan of the tenant, listed once; nil when the client cannot list.
local function all_plans(client, stats)
  if not has(client, "plans") then return nil end
  local list = {}
  local it, state = client:plans()
  local ok, err = pcall(function()
    for p in it do list[#list + 1] = p end
  end)
  if type(state) == "table" and state.requests then stats.requests = stats.requests + state.requests end
  if not ok then error(err, 0) end
  return list
end

-- An error raised again with `where` in front of its message.
local function reraise(err, where)
  if type(err) == "table" and type(err.message) == "string" then
    err.message = where .. ": " .. err.message
    error(err, 0)
  end
  raise("api", where .. ": " .. tostring(err))
end

-- The plan `key` names: {id, name, materializeType}.
local function lookup(client, list, key, by, stats, where)
  if list then
    local id, err = plans.resolve(list, key, new_error)
    if not id then reraise(err, where) end
    for _, p in ipairs(list) do
      if p.id == id then return p end
    end
  end
  if has(client, "find_plan") then
    stats.requests = stats.requests + 1
    local d, err = client:find_plan(key)
    if not d then reraise(err or new_error("api", "find_plan: no answer"), where) end
    return d
  end
  if by == "id" then return { id = key } end
  raise("invalid", where .. ": plans are named by name, and this client cannot look plans up: give planId")
end

-- The fields a task keeps of its plan: its id, name and type, and what
-- the checks before a create need (granularity, who schedules it), from
-- the plan's detail: one client:plan_detail per plan when the listing
-- found it (the listing has no granularity), the one find_plan gave else.
local function plan_fields(client, p, stats, details)
  local id = id_string(p.id)
  if type(id) ~= "string" or id == "" then raise("api", "a plan came back without an id") end
  local d = p
  if p.metricTimeGranularity == nil and has(client, "plan_detail") then
    d = details[id]
    if not d then
      stats.requests = stats.requests + 1
      local err
      d, err = client:plan_detail(id)
      if type(d) ~= "table" then reraise(err or new_error("api", "plan_detail: no answer"), "plan " .. id) end
      details[id] = d
    end
  end
  local name = p.name or p.displayName or id
  return { planId = id, plan = tostring(name), materializeType = p.materializeType or d.materializeType,
    metricTimeGranularity = d.metricTimeGranularity, scheduledBy = wplan.scheduled_by(d) }
end

-- The plans of a selection, in its names' order or the listing's.
local function selected(client, sel, stats, details)
  local list = all_plans(client, stats)
  if not list then
    raise("invalid", "a selection of plans needs a client that can list them (client:plans)")
  end
  local out = {}
  if sel.names then
    for i, name in ipairs(sel.names) do
      local p = lookup(client, list, name, "name", stats, "campaign spec: plans.names[" .. i .. "]")
      if sel.materializeType and p.materializeType ~= sel.materializeType then
        raise("invalid", "campaign spec: plans.names[" .. i .. "]: plan '" .. name .. "' is "
          .. tostring(p.materializeType) .. ", not " .. sel.materializeType)
      end
      out[#out + 1] = plan_fields(client, p, stats, details)
    end
  else
    for _, p in ipairs(list) do
      if p.materializeType == sel.materializeType then out[#out + 1] = plan_fields(client, p, stats, details) end
    end
    if #out == 0 then raise("invalid", "campaign spec: the tenant has no " .. sel.materializeType .. " plan") end
  end
  return out
end

-- The sources: {plan fields, startTime, endTime, dateIntervalOfLot} in spec order.
local function sources(client, s, stats)
  local out, details = {}, {}
  if s.backfills then
    local list = all_plans(client, stats)
    for i, e in ipairs(s.backfills) do
      local p = plan_fields(client, lookup(client, list, e.key, e.by, stats, "campaign spec: backfills[" .. i .. "]"),
        stats, details)
      p.startTime, p.endTime, p.dateIntervalOfLot = e.startTime, e.endTime, e.dateIntervalOfLot
      out[#out + 1] = p
    end
  else
    local sel = s.selection
    for _, p in ipairs(selected(client, sel, stats, details)) do
      p.startTime, p.endTime, p.dateIntervalOfLot = sel.startTime, sel.endTime, sel.dateIntervalOfLot
      out[#out + 1] = p
    end
  end
  return out
end

-- How many spans chunks() makes, counted without making them.
local function chunk_count(first, last, chunk)
  if chunk == "month" then
    local y1, m1 = dates.to_civil(first)
    local y2, m2 = dates.to_civil(last)
    return (y2 - y1) * 12 + m2 - m1 + 1
  end
  return ceil((last - first + 1) / chunk)
end

-- Day-number spans of first..last, each at most `chunk` (a number of days,
-- or "month": never across a month's end); one span without a chunk.  Too
-- many is refused before any is made.
function _M.chunks(first, last, chunk)
  if not chunk then return { { first, last } } end
  if chunk_count(first, last, chunk) > MAX_TASKS then
    raise("invalid", "campaign spec: more than " .. MAX_TASKS .. " tasks")
  end
  local out, d = {}, first
  while d <= last do
    local e
    if chunk == "month" then
      local _, month_end = periods.bounds(d, "MONTH")
      e = month_end
    else
      e = d + chunk - 1
    end
    if e > last then e = last end
    out[#out + 1] = { d, e }
    if #out > MAX_TASKS then raise("invalid", "campaign spec: more than " .. MAX_TASKS .. " tasks") end
    d = e + 1
  end
  return out
end

-- Refuses a plan asked for the same day twice (two ranges that overlap).
local function refuse_overlaps(list)
  local by_plan = {}
  for _, t in ipairs(list) do
    by_plan[t.planId] = by_plan[t.planId] or {}
    local l = by_plan[t.planId]
    l[#l + 1] = t
  end
  for _, l in pairs(by_plan) do
    tbl_sort(l, function(a, b) return a.first < b.first end)
    for i = 2, #l do
      if l[i].first <= l[i - 1].last then
        raise("invalid", "campaign spec: plan '" .. l[i].plan .. "' is asked for twice: "
          .. l[i - 1].startTime .. " .. " .. l[i - 1].endTime .. " and " .. l[i].startTime .. " .. " .. l[i].endTime)
      end
    end
  end
end

-- oldest: earliest dates first; newest: latest first; then the spec's order.
local function sort(list, order)
  tbl_sort(list, function(a, b)
    if a.first ~= b.first then
      if order == "newest" then return a.first > b.first end
      return a.first < b.first
    end
    return a.source < b.source
  end)
end

-- syntax: list = tasks.list(client, s, stats)     (raises)
-- s: definition.normalize's.  tasks = {{task, plan, planId, materializeType,
-- metricTimeGranularity, scheduledBy, startTime, endTime,
-- dateIntervalOfLot, lots}, ...} in the order they are to be created.
function _M.list(client, s, stats)
  local list = {}
  for si, src in ipairs(sources(client, s, stats)) do
    local first, last = dates.parse(src.startTime), dates.parse(src.endTime)
    for _, span in ipairs(_M.chunks(first, last, s.chunk)) do
      list[#list + 1] = {
        plan = src.plan, planId = src.planId, materializeType = src.materializeType,
        metricTimeGranularity = src.metricTimeGranularity, scheduledBy = src.scheduledBy,
        startTime = dates.format(span[1]), endTime = dates.format(span[2]),
        dateIntervalOfLot = src.dateIntervalOfLot,
        lots = ceil((span[2] - span[1] + 1) / src.dateIntervalOfLot),
        first = span[1], last = span[2], source = si,
      }
      if #list > MAX_TASKS then raise("invalid", "campaign spec: more than " .. MAX_TASKS .. " tasks") end
    end
  end
  refuse_overlaps(list)
  sort(list, s.order)
  local out = array()
  for i, t in ipairs(list) do
    out[i] = { task = i, plan = t.plan, planId = t.planId, materializeType = t.materializeType,
      metricTimeGranularity = t.metricTimeGranularity, scheduledBy = t.scheduledBy,
      startTime = t.startTime, endTime = t.endTime, dateIntervalOfLot = t.dateIntervalOfLot, lots = t.lots }
  end
  return out
end

-- syntax: warnings, refusal = tasks.check(list, s, creates)
-- Every task of `list` (tasks.list's, or a journal's copy) through the
-- checks a backfill's create makes (workflow.plan.check): a task that
-- cuts its plan's periods, an EXTERNAL plan (refused when `creates`,
-- unless the spec says "force": true; refusal is that error, not
-- raised).  The warnings, one line per plan and kind: a plan's first task
-- that cuts its periods, with how many more do.
function _M.check(list, s, creates)
  local lines, refusal = array(), nil
  local order, name, cut, more, external = {}, {}, {}, {}, {}
  local how = { create = creates, force = s.force, force_name = '"force": true',
    force_how = 'set "force": true in the campaign spec' }
  for _, t in ipairs(list) do
    local d = { name = t.plan, id = t.planId, materializeType = t.materializeType,
      metricTimeGranularity = t.metricTimeGranularity,
      refreshConfig = t.scheduledBy and { scheduledBy = t.scheduledBy } or nil }
    local got, why = wplan.check(d, t.startTime, t.endTime, how)
    refusal = refusal or why
    -- got: the cut first, if any, then the EXTERNAL line unless refused
    local ext = wplan.is_external(d) and not why and got[#got] or nil
    local cut_line = got[1] ~= ext and got[1] or nil
    local key = tostring(t.planId)
    if not name[key] then
      name[key] = t.plan
      order[#order + 1] = key
    end
    if cut_line and cut[key] then more[key] = (more[key] or 0) + 1 end
    cut[key] = cut[key] or cut_line
    external[key] = external[key] or ext
  end
  for _, key in ipairs(order) do
    if cut[key] then
      lines[#lines + 1] = cut[key] .. (more[key] and ("; so do " .. more[key] .. " more task(s) of "
        .. tostring(name[key])) or "")
    end
    if external[key] then lines[#lines + 1] = external[key] end
  end
  return lines, refusal
end

return _M
