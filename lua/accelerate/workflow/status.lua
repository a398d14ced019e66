-- Instance statuses and a report's instances, for the workflows: the
-- vocabulary (which statuses are final, which failed, the order summaries
-- show them in) is accelerate.statuses', re-exported here; the instances
-- are one collection (accelerate.instances: the compact store or its Lua
-- twin) read through its methods.  each_instance is the documented way to
-- read a report's instances.

local pairs = pairs
local ipairs = ipairs
local type = type
local tostring = tostring
local tbl_sort = table.sort
local tbl_concat = table.concat
local statuses = require "accelerate.statuses"
local instances = require "accelerate.instances"

local _M = {}

_M.FAILED_STATUSES = statuses.FAILED_STATUSES
_M.STATUS_ORDER = statuses.STATUS_ORDER
_M.is_failed = statuses.is_failed
_M.is_terminal = statuses.is_terminal
_M.of = statuses.of
local STATUS_ORDER = statuses.STATUS_ORDER
local of = instances.of

local function list_of(report)
  return of(type(report) == "table" and report.instances or nil)
end

-- syntax: for inst in status.each_of(instances) do ... end
-- instances: a collection, a store or an array; nil reads as empty.
function _M.each_of(list)
  return of(list):each()
end

-- syntax: for inst in status.each_instance(report) do ... end
-- Every instance of a report, in its order (partition, table, id).
function _M.each_instance(report)
  return list_of(report):each()
end

-- syntax: bool = status.has_instances(report)
-- Whether the report has its instances (possibly none).
function _M.has_instances(report)
  return type(report) == "table" and report.instances ~= nil
end

-- syntax: list = status.instance_list(report)
-- report.instances as a new plain array (a store's instances built as
-- tables: the memory a compact report saves, spent once).
function _M.instance_list(report)
  return list_of(report):list()
end

-- counts, terminal, failed = status.count(instances)
-- counts always holds the four documented statuses (0 when absent) and any
-- other status seen (status.of).
function _M.count(list)
  local counts, terminal, failed = of(list):counts()
  return counts, terminal, failed
end

-- The failed instances of a list, in its order.
function _M.failed_of(list)
  return of(list):failures()
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
