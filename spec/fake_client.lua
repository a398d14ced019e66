-- A fake of the client interface for the workflow specs: a scripted server
-- with its own clock.  fake.sleep advances the clock instead of sleeping,
-- so a six-hour backfill runs in microseconds and every poll is observable.

local util = require "accelerate.util"
local workflow = require "accelerate.workflow"

local F = {}

local Client = {}
Client.__index = Client

-- a client built without task_details, like a minimal transport
local NoMulti = {
  __index = function(_, k)
    if k == "task_details" then return nil end
    return Client[k]
  end,
}

-- o.instances: { {id, mtGuid, startPartition, endPartition,
--                 timeline = { {t, status}, ... }, detail = {...}} }
-- o.plans: { {id, name, displayName, materializeType, metricTimeGranularity}, ... }
-- for find_plan, matched by accelerate.plans as the real client does.
-- o.dag: the dagName create answers; o.total_delay: seconds during which
-- the list answers total = 0 (the server has not split the range yet).
function F.new(o)
  o = o or {}
  local self = setmetatable({
    now = 0,
    dag = o.dag or "dag-1",
    instances = o.instances or {},
    total_delay = o.total_delay or 0,
    max_page_size = o.max_page_size,
    calls = { create = 0, list = 0, detail = 0, details = 0, find_plan = 0 },
    plan_list = o.plans or {},
    finds = {},
    creates = {},
    lists = {},
    sleeps = {},
    list_errors = {},    -- queue of errors the next list calls return
    create_error = nil,  -- error the next create returns
    on_list = nil,       -- hook called at each list call
    no_multi = o.no_multi,
    stale_total = o.stale_total, -- a total the list answers whatever it holds
  }, o.no_multi and NoMulti or Client)
  self.sleep = function(s) self.sleeps[#self.sleeps + 1] = s; self.now = self.now + s end
  self.clock = function() return self.now end
  return self
end

-- Instances for every lot of a range and every table; behave(lot_index,
-- lot, table_index) returns a timeline.
function F.plan(start, stop, n, tables, behave)
  local lots = assert(workflow.lots(start, stop, n))
  local out, id = {}, 1000
  for li, lot in ipairs(lots) do
    for ti = 1, tables do
      id = id + 1
      out[#out + 1] = {
        id = id, mtGuid = "cat.sch.t" .. ti,
        startPartition = lot.startPartition, endPartition = lot.endPartition,
        timeline = behave(li, lot, ti),
      }
    end
  end
  return out
end

local function status_at(inst, t)
  local st = "WAITING"
  for _, step in ipairs(inst.timeline or {}) do
    if t >= step[1] then st = step[2] end
  end
  return st
end

function Client:status_at(inst)
  return status_at(inst, self.now)
end

function Client:create_task(params)
  self.calls.create = self.calls.create + 1
  self.creates[#self.creates + 1] = util.deep_copy(params)
  if self.create_error then
    local e = self.create_error
    self.create_error = nil
    return nil, e
  end
  if self.create_hook then return self.create_hook(params) end
  return self.dag
end

function Client:list_instances(q)
  self.calls.list = self.calls.list + 1
  self.lists[#self.lists + 1] = util.deep_copy(q)
  if self.on_list then self.on_list(self, q) end
  if #self.list_errors > 0 then
    return nil, table.remove(self.list_errors, 1)
  end
  local size = q.pageSize or 20
  if self.max_page_size and size > self.max_page_size then size = self.max_page_size end
  local index = q.pageIndex or 1
  if self.now < self.total_delay then
    return { dagName = q.dagName, pageIndex = index, pageSize = size, total = 0, instances = {} }
  end
  local items = {}
  for i = (index - 1) * size + 1, math.min(index * size, #self.instances) do
    local inst = self.instances[i]
    items[#items + 1] = {
      id = tostring(inst.id), status = status_at(inst, self.now), mtGuid = inst.mtGuid,
      startPartition = inst.startPartition, endPartition = inst.endPartition,
    }
  end
  return { dagName = q.dagName, pageIndex = index, pageSize = size,
           total = self.stale_total or #self.instances, instances = items }
end

function Client:_detail(id)
  for _, inst in ipairs(self.instances) do
    if tostring(inst.id) == tostring(id) then
      local d = util.deep_copy(inst.detail or {})
      d.taskInstanceId = inst.id
      d.status = d.status or status_at(inst, self.now)
      return d
    end
  end
  return nil, util.new_error("api", "no such instance " .. tostring(id), { code = "404" })
end

function Client:task_detail(id)
  self.calls.detail = self.calls.detail + 1
  return self:_detail(id)
end

function Client:task_details(ids, opts)
  self.calls.details = self.calls.details + 1
  self.last_details_opts = opts
  local out, errs = {}, {}
  for _, id in ipairs(ids) do
    local d, e = self:_detail(id)
    if d then out[tostring(id)] = d else errs[tostring(id)] = e end
  end
  return out, errs
end

-- The real client's matching (exact id, name, display name; near names on
-- a miss) over o.plans; the plan's detail is a copy of its entry.
function Client:find_plan(key)
  self.calls.find_plan = self.calls.find_plan + 1
  self.finds[#self.finds + 1] = key
  local id, err = require("accelerate.plans").resolve(self.plan_list, key, util.new_error)
  if not id then return nil, err end
  for _, p in ipairs(self.plan_list) do
    if p.id == id then return util.deep_copy(p) end
  end
end

function F.err(kind, message, fields)
  return util.new_error(kind, message or kind, fields)
end

return F
