-- Instance statuses: which ones are final, which ones failed, the order
-- summaries show them in, and counting a list of instances by status.
-- The one home of these rules: the workflows, the calendar and the
-- command's progress line all read them from here (the compact store of
-- src/store*.c is given FAILED_STATUSES and applies status.of's rule).
-- Also the one way to read a report's instances (each_instance), which
-- are a plain array or a compact store.

local pairs = pairs
local ipairs = ipairs
local type = type
local tostring = tostring
local str_find = string.find
local tbl_sort = table.sort
local tbl_concat = table.concat

local _M = {}

-- Statuses after which an instance never changes again.  The documentation
-- names WAITING, RUNNING, SUCCESS and FAILED; the others are what schedulers
-- of this kind commonly report for a killed task, and are counted as failed
-- rather than waited on forever.
local FAILED_STATUSES = {
  FAILED = true, KILLED = true, STOPPED = true, CANCELED = true,
  CANCELLED = true, ERROR = true, TIMEOUT = true,
}
_M.FAILED_STATUSES = FAILED_STATUSES

-- The documented statuses, in the order summaries and progress lines show them.
local STATUS_ORDER = { "SUCCESS", "FAILED", "RUNNING", "WAITING" }
_M.STATUS_ORDER = STATUS_ORDER

local function is_failed(status)
  return FAILED_STATUSES[status] == true
end
_M.is_failed = is_failed

local function is_terminal(status)
  return status == "SUCCESS" or is_failed(status)
end
_M.is_terminal = is_terminal

-- syntax: name = status.of(instance)
-- The instance's status as a name to count and show: the server's string
-- when it is one, UNKNOWN when there is none, OTHER for anything else (a
-- table, a boolean, a number, an overlong string): a malformed answer must
-- never crash a summary, a calendar or a report.
local plain, nplain = {}, 0   -- status strings already judged (a few, read 200,000 times)
function _M.of(inst)
  local st = type(inst) == "table" and inst.status or nil
  if st == nil then return "UNKNOWN" end
  if type(st) ~= "string" then return "OTHER" end
  local name = plain[st]
  if name then return name end
  name = st
  if st == "" or #st > 64 or str_find(st, "[^%w_%-]") then name = "OTHER" end
  if nplain >= 256 then plain, nplain = {}, 0 end
  plain[st], nplain = name, nplain + 1
  return name
end
local status_of = _M.of

-- Reading a report's instances --------------------------------------------
-- report.instances is a plain array of instance tables for a backfill of up
-- to accelerate.workflow.sweep.WHOLE_MAX (10,000) instances, and beyond
-- that the watch's compact store (accelerate.store, a userdata): `#`,
-- store:get(i) and store:each() work on it, ipairs does not.  Code that
-- reads instances goes through these, which take either.

local function is_store(list)
  return list ~= nil and type(list) ~= "table"
end

-- syntax: for inst in status.each_of(instances) do ... end
-- instances: an array of tables or a store; nil reads as empty.
function _M.each_of(list)
  if is_store(list) then return list:each() end
  local i = 0
  list = list or {}
  return function()
    i = i + 1
    return list[i]
  end
end
local each_of = _M.each_of

-- syntax: for inst in status.each_instance(report) do ... end
-- Every instance of a report, in its order (partition, table, id).
function _M.each_instance(report)
  return each_of(type(report) == "table" and report.instances or nil)
end

-- syntax: bool = status.has_instances(report)
-- Whether report.instances is there in either form.
function _M.has_instances(report)
  local list = type(report) == "table" and report.instances or nil
  return type(list) == "table" or is_store(list)
end

-- syntax: list = status.instance_list(report)
-- report.instances as a plain array whatever its form (a store's instances
-- built as tables: the memory a compact report saves, spent once).
function _M.instance_list(report)
  local list = type(report) == "table" and report.instances or nil
  if is_store(list) then return list:list() end
  return list or {}
end

-- counts, terminal, failed = status.count(instances)
-- counts always holds the four documented statuses (0 when absent) and any
-- other status seen (status.of).  instances: an array or a store.
function _M.count(list)
  if is_store(list) then
    local counts, terminal, failed = list:counts()
    return counts, terminal, failed
  end
  local counts = { WAITING = 0, RUNNING = 0, SUCCESS = 0, FAILED = 0 }
  local terminal, failed = 0, 0
  for _, inst in ipairs(list) do
    local st = status_of(inst)
    counts[st] = (counts[st] or 0) + 1
    if is_terminal(st) then terminal = terminal + 1 end
    if FAILED_STATUSES[st] then failed = failed + 1 end
  end
  return counts, terminal, failed
end

-- The failed instances of a list (an array or a store), in its order.
function _M.failed_of(list)
  if is_store(list) then return list:failures() end
  local out = {}
  for _, inst in ipairs(list) do
    if FAILED_STATUSES[status_of(inst)] then out[#out + 1] = inst end
  end
  return out
end

-- syntax: line = workflow.summary(report)
-- For callers that print a one-line summary of a report: the documented
-- statuses in STATUS_ORDER, then any other status alphabetically, then the total.
function _M.summary(report)
  local parts = {}
  local seen = {}
  for _, k in ipairs(STATUS_ORDER) do
    parts[#parts + 1] = k .. " " .. tostring(report.counts and report.counts[k] or 0)
    seen[k] = true
  end
  local extra = {}
  for k in pairs(report.counts or {}) do if not seen[k] then extra[#extra + 1] = k end end
  tbl_sort(extra)
  for _, k in ipairs(extra) do parts[#parts + 1] = k .. " " .. tostring(report.counts[k]) end
  return tbl_concat(parts, "  ") .. " / " .. tostring(report.total or 0)
end

return _M
