-- One instance as the insight reports read it, whatever it came as: a
-- list row, a detail, or {instance =, detail =} (workflow.inspect's
-- failures).  Its id, table, resource group, status, partition days and
-- the times of its states, in seconds on the server's (zone-less) clock.

local util = require "accelerate.util"
local dates = require "accelerate.dates"
local status = require "accelerate.statuses"

local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local str_format = string.format
local tbl_concat = table.concat
local id_string = util.id_string
local parse_ts = dates.parse_timestamp
local FAILED_STATUSES = status.FAILED_STATUSES

local _M = {}

local NO_TIMES = {}

-- syntax: name = entry.table_name(instance, detail)
-- The list's mtGuid, else the detail's catalog.schema.table (joined when
-- it names several), else "(unknown table)".
function _M.table_name(inst, detail)
  if inst and type(inst.mtGuid) == "string" then return inst.mtGuid end
  local g = detail and detail.mtGuid
  if type(g) == "table" and type(g[1]) == "table" then
    local parts = {}
    for _, x in ipairs(g) do
      parts[#parts + 1] = tbl_concat({ tostring(x.catalog or "?"), tostring(x.schema or "?"),
        tostring(x.table or "?") }, ".")
    end
    return tbl_concat(parts, ", ")
  end
  if type(g) == "string" then return g end
  return "(unknown table)"
end

-- A backfill has few distinct partitions and many instances: each one's
-- day number is kept (up to PARTITIONS of them, then the memo starts over).
local PARTITIONS = 20000
local memo, memo_n = {}, 0

local function partition_day(p)
  if type(p) ~= "string" then return nil end
  local d = memo[p]
  if d == nil then
    d = dates.parse_partition(p) or false
    if memo_n >= PARTITIONS then memo, memo_n = {}, 0 end
    memo[p], memo_n = d, memo_n + 1
  end
  return d or nil
end

-- syntax: first, last = entry.span(start_partition, end_partition)
-- The day numbers of two partition fields (in order), or nil.
local function span(sp, ep)
  local s = partition_day(sp)
  local e = partition_day(ep) or s
  if not s or not e then return nil end
  if e < s then s, e = e, s end
  return s, e
end
_M.span = span

-- syntax: first, last = entry.days(instance [, detail])
-- The day numbers of its first and last partition (in order), or nil.
local function days(inst, detail)
  return span(inst and inst.startPartition or detail and detail.startPartitionTime,
    inst and inst.endPartition or detail and detail.endPartitionTime)
end
_M.days = days

-- The end of the run: the time of SUCCESS or of a failed status.
local function end_time(st)
  if st == NO_TIMES then return nil end
  if st.SUCCESS then return st.SUCCESS end
  if st.FAILED then return st.FAILED end
  for k in pairs(FAILED_STATUSES) do
    if st[k] then return st[k] end
  end
  return nil
end

-- syntax: inst, detail = entry.parts(x)
-- What x holds: its list row and its detail (either may be nil).
local function parts(x)
  local inst, detail
  if type(x) ~= "table" then return nil, nil end
  if x.instance ~= nil or x.detail ~= nil then
    inst, detail = x.instance, x.detail
  elseif x.startPartition ~= nil or x.mtGuid and type(x.mtGuid) == "string" then
    inst = x
  else
    detail = x
  end
  return type(inst) == "table" and inst or nil, type(detail) == "table" and detail or nil
end
_M.parts = parts

-- syntax: waiting, running, ended, end_text = entry.seconds(detail, created, started, ended)
-- The times of an instance's states in seconds (nil when unknown, or when
-- they run backwards): the detail's where it has them, else its list row's
-- (created, started, ended: createTime, startTime and endTime already in
-- seconds, as a collection's scan gives them).  end_text: the detail's end
-- as the server wrote it, if it has one.
local function seconds(detail, created, started, ended)
  local waiting, running, e = created, started, nil
  if detail then
    local st = type(detail.statusTime) == "table" and detail.statusTime or NO_TIMES
    local w, r = st.WAITING, st.RUNNING or detail.startTime
    e = end_time(st) or detail.endTime
    if w then waiting = parse_ts(w) end
    if r then running = parse_ts(r) end
    if e then ended = parse_ts(e) end
  end
  if waiting and running and running < waiting then waiting = nil end
  if running and ended and ended < running then ended = nil end
  return waiting, running, ended, e
end
_M.seconds = seconds

-- syntax: waiting, running, ended, ended_at = entry.times(inst, detail)
-- entry.seconds of a list row, and its end as the server wrote it.
local function times(inst, detail)
  if not inst then return seconds(detail) end
  local waiting, running, ended, e = seconds(detail, parse_ts(inst.createTime),
    parse_ts(inst.startTime), parse_ts(inst.endTime))
  return waiting, running, ended, e or inst.endTime
end
_M.times = times

-- syntax: e = entry.of(x)
-- x: {instance =, detail =}, a list row (it has startPartition) or a
-- detail.  e = {id, table, group, status, first, last, waiting, running,
-- ended, ended_at, instance, detail}; the times (seconds) are nil when
-- unknown, and dropped when they run backwards (an end without a start is
-- kept: an instance can fail before it runs).  ended_at: the end as the
-- server wrote it.
function _M.of(x)
  local inst, detail = parts(x)
  local waiting, running, ended, ended_at = times(inst, detail)
  local group = inst and inst.resourceGroup or detail and detail.resourceGroup
  local e = {
    instance = inst, detail = detail,
    id = id_string(inst and inst.id or detail and detail.taskInstanceId) or "?",
    table = _M.table_name(inst, detail),
    status = status.of(inst or detail),
    waiting = waiting, running = running, ended = ended, ended_at = ended_at,
    group = type(group) == "string" and group ~= "" and group or "(unknown)",
  }
  e.first, e.last = days(inst, detail)
  return e
end

-- syntax: text = entry.clock_string(seconds)
-- A time of entry.of back as the server wrote it: "2025-03-25T10:00:00".
function _M.clock_string(t)
  if type(t) ~= "number" then return nil end
  local day = (t - t % 86400) / 86400
  local s = t % 86400
  return dates.format(day) .. "T" .. str_format("%02d:%02d:%02d", (s - s % 3600) / 3600,
    (s % 3600 - s % 60) / 60, s % 60)
end

-- syntax: text = entry.day_string(day)
function _M.day_string(d)
  if type(d) ~= "number" then return nil end
  return dates.format(d)
end

return _M
