-- A report's instances as one collection type.  Beyond the watch's
-- WHOLE_MAX a report's instances are the compact store (accelerate.store,
-- src/store_lua.c); below it, and for instances given as an array (a fake
-- client, a report read back from JSON or a journal, a campaign's pseudo
-- report), they are this small Lua object of the same shape:
--
--   list:each()      iterator over the instances, in order
--   list:scan()      iterator over what the reports read of each one:
--                    i, id, status, startPartition, endPartition, and
--                    createTime, startTime, endTime in seconds
--                    (dates.parse_timestamp), each nil when absent; the
--                    store gives them without building a table
--   list:counts()    counts, terminal, failed, n (counts holds the
--                    documented statuses at 0 when absent; statuses.of)
--   list:failures()  the failed instances, in order
--   list:list()      a plain array of them (a new one)
--   list:get(i), #list
--
-- The object is the array itself with a metatable, so `#`, `[i]`, ipairs
-- and JSON encoding (cjson, util.json_encode) keep reading it as the plain
-- array reports always documented.  Pure Lua: reads accelerate.statuses,
-- accelerate.show and accelerate.dates.

local statuses = require "accelerate.statuses"
local show = require "accelerate.show"
local dates = require "accelerate.dates"

local type = type
local ipairs = ipairs
local getmetatable = getmetatable
local rawget = rawget
local setmetatable = setmetatable
local status_of = statuses.of
local is_terminal = statuses.is_terminal
local FAILED_STATUSES = statuses.FAILED_STATUSES

local _M = {}

local methods = {}
-- __jsontype: util.json_encode writes it as an array even when empty
-- __name, __tostring: it prints as what it is at the REPL (accelerate.show)
local List = { __index = methods, __jsontype = "array", __name = "accelerate.instances",
  __tostring = show.render.instances }

function methods:each()
  local i = 0
  return function()
    i = i + 1
    return self[i]
  end
end

function methods:scan()
  local i = 0
  local parse_ts = dates.parse_timestamp
  return function()
    i = i + 1
    local inst = self[i]
    if inst == nil then return nil end
    if type(inst) ~= "table" then return i end
    return i, inst.id, inst.status, inst.startPartition, inst.endPartition,
      parse_ts(inst.createTime), parse_ts(inst.startTime), parse_ts(inst.endTime)
  end
end

function methods:get(i)
  return self[i]
end

function methods:counts()
  local counts = statuses.zero_counts()
  local terminal, failed, n = 0, 0, 0
  for _, inst in ipairs(self) do
    local st = status_of(inst)
    counts[st] = (counts[st] or 0) + 1
    if is_terminal(st) then terminal = terminal + 1 end
    if FAILED_STATUSES[st] then failed = failed + 1 end
    n = n + 1
  end
  return counts, terminal, failed, n
end

function methods:failures()
  local out = setmetatable({}, List)
  for _, inst in ipairs(self) do
    if FAILED_STATUSES[status_of(inst)] then out[#out + 1] = inst end
  end
  return out
end

function methods:list()
  local out = {}
  for i, inst in ipairs(self) do out[i] = inst end
  return out
end

-- syntax: list = instances.new([array])
-- The array (taken over, not copied) as a collection; a new empty one
-- without it.
function _M.new(t)
  return setmetatable(t or {}, List)
end

-- syntax: list = instances.of(x)
-- x as a collection: a collection or a store as it is, an array taken
-- over (copied when it carries a metatable of its own), nil as empty.
-- The one place that tells the forms apart, at the edge where instances
-- come in; readers only call the methods.
function _M.of(x)
  if x == nil then return setmetatable({}, List) end
  if type(x) ~= "table" then return x end   -- the store (a userdata)
  local mt = getmetatable(x)
  if mt == List then return x end
  if mt == nil or rawget(mt, "__jsontype") == "array" then return setmetatable(x, List) end
  local copy, i = {}, 1
  while rawget(x, i) ~= nil do copy[i] = rawget(x, i); i = i + 1 end
  return setmetatable(copy, List)
end

return _M
