-- Where the time went: queue wait (WAITING -> RUNNING) and run time
-- (RUNNING -> SUCCESS/FAILED) of every instance, from each detail's
-- statusTime (the list's createTime/startTime/endTime when a detail is
-- missing), as percentiles overall, per table and per resource group; the
-- slowest instances, the throughput and the highest concurrency seen.

local util = require "accelerate.util"
local entry = require "accelerate.insight.entry"
local status = require "accelerate.workflow.status"

local pairs = pairs
local ipairs = ipairs
local ceil = math.ceil
local min = math.min
local tbl_sort = table.sort
local array = util.array
local is_failed = status.is_failed
local is_terminal = status.is_terminal

local _M = {}

local SLOWEST = 10

-- syntax: s = timing.stats(values)
-- {count, p50, p95, max} of a list of seconds (nearest rank), or
-- {count = 0} for an empty one.  Sorts a copy.
local function stats(values)
  local n = #values
  if n == 0 then return { count = 0 } end
  local v = {}
  for i = 1, n do v[i] = values[i] end
  tbl_sort(v)
  local function rank(p) return v[ceil(p * n)] or v[1] end
  return { count = n, p50 = rank(0.50), p95 = rank(0.95), max = v[n] }
end
_M.stats = stats

local function bucket(map, key)
  local b = map[key]
  if not b then
    b = { name = key, count = 0, failed = 0, queue = {}, run = {} }
    map[key] = b
  end
  return b
end

-- map of buckets -> array sorted by name, with stats instead of lists
local function summarise(map)
  local out = array()
  for _, b in pairs(map) do
    out[#out + 1] = { name = b.name, count = b.count, failed = b.failed,
      queue = stats(b.queue), run = stats(b.run) }
  end
  tbl_sort(out, function(a, b) return a.name < b.name end)
  return out
end

-- The most instances RUNNING at one moment.  One still running runs until
-- `now` (one that has finished at a time nobody knows is left out); an
-- end and a start at the same second do not overlap.
local function max_concurrency(spans, now)
  local ev = {}
  for _, e in ipairs(spans) do
    if e.running then
      local stop = e.ended or (not is_terminal(e.status) and now)
      if stop and stop >= e.running then
        ev[#ev + 1] = { e.running, 1 }
        ev[#ev + 1] = { stop, -1 }
      end
    end
  end
  tbl_sort(ev, function(a, b)
    if a[1] ~= b[1] then return a[1] < b[1] end
    return a[2] < b[2]
  end)
  local cur, best = 0, 0
  for _, x in ipairs(ev) do
    cur = cur + x[2]
    if cur > best then best = cur end
  end
  return best
end

local function slowest(spans)
  local ran = {}
  for _, e in ipairs(spans) do if e.run then ran[#ran + 1] = e end end
  tbl_sort(ran, function(a, b)
    if a.run ~= b.run then return a.run > b.run end
    return a.id < b.id
  end)
  local out = array()
  for i = 1, min(SLOWEST, #ran) do
    local e = ran[i]
    out[i] = { id = e.id, table = e.table, group = e.group, status = e.status, run = e.run,
      queue = e.queue, first = entry.day_string(e.first), last = entry.day_string(e.last) }
  end
  return out
end

-- syntax: spans = timing.spans(entries)
-- entry.of of each, with queue and run (seconds) where both ends are known.
function _M.spans(entries)
  local out = {}
  for i, x in ipairs(entries or {}) do
    local e = entry.of(x)
    if e.waiting and e.running then e.queue = e.running - e.waiting end
    if e.running and e.ended then e.run = e.ended - e.running end
    out[i] = e
  end
  return out
end

-- syntax: t = timing.timing(entries)
-- entries: details, list rows or {instance =, detail =}.  t = {instances,
-- timed, never_ran, queue, run (stats), by_table, by_group (arrays of
-- {name, count, failed, queue, run}), slowest (up to 10), throughput
-- (instances finished per hour, or nil), concurrency, first, last (server
-- times of the first state and the last end seen)}.
function _M.timing(entries)
  local spans = _M.spans(entries)
  local queue, run, by_table, by_group = {}, {}, {}, {}
  local first, last, finished, timed, never_ran = nil, nil, 0, 0, 0
  for _, e in ipairs(spans) do
    local bt, bg = bucket(by_table, e.table), bucket(by_group, e.group)
    bt.count, bg.count = bt.count + 1, bg.count + 1
    if is_failed(e.status) then bt.failed, bg.failed = bt.failed + 1, bg.failed + 1 end
    if e.queue then
      queue[#queue + 1] = e.queue
      bt.queue[#bt.queue + 1], bg.queue[#bg.queue + 1] = e.queue, e.queue
    end
    if e.run then
      run[#run + 1] = e.run
      bt.run[#bt.run + 1], bg.run[#bg.run + 1] = e.run, e.run
    end
    if not e.running then never_ran = never_ran + 1 end
    local start = e.waiting or e.running
    if start or e.ended then timed = timed + 1 end
    if start and (not first or start < first) then first = start end
    local latest = e.ended or e.running or e.waiting
    if latest and (not last or latest > last) then last = latest end
    if e.ended then finished = finished + 1 end
  end
  local t = {
    instances = #spans, timed = timed, never_ran = never_ran, finished = finished,
    queue = stats(queue), run = stats(run),
    by_table = summarise(by_table), by_group = summarise(by_group),
    slowest = slowest(spans), concurrency = max_concurrency(spans, last),
    first = entry.clock_string(first), last = entry.clock_string(last),
  }
  if first and last and last > first and finished > 0 then
    t.throughput = finished * 3600 / (last - first)
  end
  return t
end

return _M
