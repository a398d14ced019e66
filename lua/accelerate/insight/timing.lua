-- Where the time went: queue wait (WAITING -> RUNNING) and run time
-- (RUNNING -> SUCCESS/FAILED) of every instance, from each detail's
-- statusTime (the list's createTime/startTime/endTime when a detail is
-- missing), as percentiles overall, per table and per resource group; the
-- slowest instances, the throughput and the highest concurrency seen.

local util = require "accelerate.util"
local entry = require "accelerate.insight.entry"
local status = require "accelerate.statuses"

local pairs = pairs
local ipairs = ipairs
local ceil = math.ceil
local tbl_sort = table.sort
local array = util.array
local shallow_copy = util.shallow_copy
local is_failed = status.is_failed
local is_terminal = status.is_terminal
local status_name = status.name
local next = next
local type = type
local setmetatable = setmetatable

local _M = {}

local SLOWEST = 10

-- A list of numbers to push to, count, index and sort: the C core's
-- packed array when the core is loaded (accelerate.numbers: 8 bytes a
-- number, sorted by qsort; the 800,000 numbers of a 200,000-instance
-- report took 25 MB and 0.45 s of CPU as Lua arrays), else a Lua array
-- with the same two methods.  n: how many it will hold, when known.
local Plain = {}
Plain.__index = Plain
function Plain:push(x) self[#self + 1] = x end
function Plain:sort() tbl_sort(self) end

local core_numbers
local function numbers(n)
  if core_numbers == nil then
    local core = package.loaded["accelerate.core"]
    if core then core_numbers = core.numbers or false end
  end
  return core_numbers and core_numbers(n) or setmetatable({}, Plain)
end

-- syntax: s = timing.stats(values)
-- {count, p50, p95, max} of a list of seconds (nearest rank), or
-- {count = 0} for an empty one.  Sorts a copy (the list itself when
-- in_place: a list of numbers() of its own).
local function stats(values, in_place)
  local n = #values
  if n == 0 then return { count = 0 } end
  local v = values
  if not in_place then
    v = numbers(n)
    for i = 1, n do v:push(values[i]) end
  end
  v:sort()
  local function rank(p) return v[ceil(p * n)] or v[1] end
  return { count = n, p50 = rank(0.50), p95 = rank(0.95), max = v[n] }
end
_M.stats = stats

local function bucket(map, key)
  local b = map[key]
  if not b then
    b = { name = key, count = 0, failed = 0, queue = numbers(), run = numbers() }
    map[key] = b
  end
  return b
end

-- map of buckets -> array sorted by name, with stats instead of lists
-- `all`: the overall {queue, run} stats, which a bucket holding every
-- instance (one resource group, one table) shares instead of sorting again.
local function summarise(map, n, all)
  local out = array()
  for _, b in pairs(map) do
    local whole = b.count == n
    out[#out + 1] = { name = b.name, count = b.count, failed = b.failed,
      queue = whole and shallow_copy(all.queue) or stats(b.queue, true),
      run = whole and shallow_copy(all.run) or stats(b.run, true) }
  end
  tbl_sort(out, function(a, b) return a.name < b.name end)
  return out
end

-- The most instances RUNNING at one moment, from `events`: each start as
-- 2t + 1, each end as 2t (sorted as plain numbers, an end and a start at
-- the same second do not overlap), and `open` instances still running at
-- the last moment.  The times are whole seconds (dates.parse_timestamp).
local function max_concurrency(events)
  events:sort()
  local cur, best = 0, 0
  for i = 1, #events do
    if events[i] % 2 == 1 then
      cur = cur + 1
      if cur > best then best = cur end
    else
      cur = cur - 1
    end
  end
  return best
end

-- Whether span a ran longer than b (then the smaller id first).
local function slower(a, b)
  if a.run ~= b.run then return a.run > b.run end
  return a.id < b.id
end

-- Keeps the SLOWEST slowest spans in `top`, slowest first.
local function keep_slowest(top, e)
  local n = #top
  if n >= SLOWEST and not slower(e, top[n]) then return end
  local i = n >= SLOWEST and n or n + 1
  while i > 1 and slower(e, top[i - 1]) do
    top[i] = top[i - 1]
    i = i - 1
  end
  top[i] = e
end

local function slowest(top)
  local out = array()
  for i, e in ipairs(top) do
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

-- An iterator over entries: an array, or an iterator function already.
local function each(entries)
  if type(entries) == "function" then return entries end
  local i = 0
  entries = entries or {}
  return function()
    i = i + 1
    return entries[i]
  end
end

-- The overall figures of one span (its status and times in seconds),
-- added to the running totals in acc; returns its queue and run time.
local function add_times(acc, st, waiting, running, ended)
  local q, r
  if waiting and running then
    q = running - waiting
    acc.push(acc.queue, q)
  end
  if running and ended then
    r = ended - running
    acc.push(acc.run, r)
  end
  if not running then acc.never_ran = acc.never_ran + 1 end
  local start = waiting or running
  if start or ended then acc.timed = acc.timed + 1 end
  if start and (not acc.first or start < acc.first) then acc.first = start end
  local latest = ended or running or waiting
  if latest and (not acc.last or latest > acc.last) then acc.last = latest end
  if ended then acc.finished = acc.finished + 1 end
  if running then
    -- one still running runs until the last moment; one that has finished
    -- at a time nobody knows is left out
    if ended then
      local ev, push = acc.events, acc.push
      push(ev, 2 * running + 1)
      push(ev, 2 * ended)
    elseif not is_terminal(st) then
      acc.open[#acc.open + 1] = running
    end
  end
  return q, r
end

-- An entry's figures: the overall ones, and by table and group, and the
-- slowest.
local function add(acc, e)
  local bt, bg = bucket(acc.by_table, e.table), bucket(acc.by_group, e.group)
  bt.count, bg.count = bt.count + 1, bg.count + 1
  if is_failed(e.status) then bt.failed, bg.failed = bt.failed + 1, bg.failed + 1 end
  local q, r = add_times(acc, e.status, e.waiting, e.running, e.ended)
  e.queue, e.run = q, r
  if q then
    bt.queue:push(q)
    bg.queue:push(q)
  end
  if r then
    bt.run:push(r)
    bg.run:push(r)
    keep_slowest(acc.top, e)
  end
end

-- n: how many instances, when known (the lists are sized once).  push:
-- their push, looked up once (a report calls it 800,000 times).
local function new_acc(n)
  local queue = numbers(n)
  return { by_table = {}, by_group = {}, queue = queue, run = numbers(n), top = {},
    events = numbers(n and 2 * n), open = {}, push = queue.push,
    n = 0, timed = 0, never_ran = 0, finished = 0 }
end

-- The figures of the spans added to acc.
local function finish(acc)
  local first, last, ev = acc.first, acc.last, acc.events
  for _, running in ipairs(acc.open) do
    if last >= running then
      ev:push(2 * running + 1)
      ev:push(2 * last)
    end
  end
  local all = { queue = stats(acc.queue, true), run = stats(acc.run, true) }
  local t = {
    instances = acc.n, timed = acc.timed, never_ran = acc.never_ran, finished = acc.finished,
    queue = all.queue, run = all.run,
    by_table = summarise(acc.by_table, acc.n, all), by_group = summarise(acc.by_group, acc.n, all),
    slowest = slowest(acc.top), concurrency = max_concurrency(ev),
    first = entry.clock_string(first), last = entry.clock_string(last),
  }
  if first and last and last > first and acc.finished > 0 then
    t.throughput = acc.finished * 3600 / (last - first)
  end
  return t
end

-- syntax: t = timing.timing(entries)
-- entries: details, list rows or {instance =, detail =}, as an array or an
-- iterator (insight.each_entry: a report of any size, one entry at a time;
-- only numbers are kept per instance).  t = {instances, timed, never_ran,
-- queue, run (stats), by_table, by_group (arrays of {name, count, failed,
-- queue, run}), slowest (up to 10), throughput (instances finished per
-- hour, or nil), concurrency, first, last (server times of the first state
-- and the last end seen)}.
function _M.timing(entries)
  local acc = new_acc()
  for x in each(entries) do
    acc.n = acc.n + 1
    add(acc, entry.of(x))
  end
  return finish(acc)
end

-- syntax: t = timing.overall(list, known)
-- timing.timing of a collection's instances (accelerate.instances.of: the
-- compact store or an array) with the details known by id ({[id] =
-- detail}), by_table, by_group and slowest left empty: the timing line of
-- a report of any size.  It reads list:scan(), which builds no table per
-- instance, and keeps only the numbers.
function _M.overall(list, known)
  local acc = new_acc(#list)
  local seconds, id_string = entry.seconds, util.id_string
  local lookup = next(known) ~= nil
  for _, id, st, _, _, created, started, ended in list:scan() do
    acc.n = acc.n + 1
    local detail = lookup and known[id_string(id) or ""] or nil
    add_times(acc, status_name(st), seconds(detail, created, started, ended))
  end
  return finish(acc)
end

return _M
