-- A backfill's parameters (planId or planName, or plan: a name or id that
-- workflow.plan resolves to a planId; startTime, endTime,
-- dateIntervalOfLot): the one validation every entry point runs, the split
-- into lots the server makes, comparing two parameter sets, and describing
-- one in a message.

local dates = require "accelerate.dates"
local util = require "accelerate.util"
local journal = require "accelerate.journal"
local checks = require "accelerate.workflow.checks"

local type = type
local tonumber = tonumber
local tostring = tostring
local floor = math.floor
local min = math.min
local array = util.array
local raise = checks.raise

local _M = {}

-- dateIntervalOfLot as a number of days (the API's 1 when nil); raises
-- kind invalid unless it is a whole number >= 1.
local function lot_size(n)
  if n == nil then n = 1 end
  n = tonumber(n)
  if not n or n ~= floor(n) or n < 1 then
    raise("invalid", "dateIntervalOfLot must be a whole number of days >= 1")
  end
  return n
end
_M.lot_size = lot_size

-- The longest range one backfill may cover: 100 years.  A longer one is a
-- typo (0001-01-01 for 2001-01-01), and split into one-day lots it would
-- cost millions of tables and tens of seconds before anything is sent.
local MAX_YEARS = 100
local MAX_DAYS = 36525    -- 100 years, 25 of them leap (2000-01-01 .. 2099-12-31)
_M.MAX_DAYS = MAX_DAYS

-- syntax: first, last, n = params.range(startTime, endTime, dateIntervalOfLot)
-- The range as day numbers and the lot size, checked without expanding
-- anything; raises kind invalid.  The number of lots is
-- ceil((last - first + 1) / n).
local function range(start, stop, n)
  n = lot_size(n)
  local s, serr = dates.parse(start)
  if not s then raise("invalid", "startTime: " .. serr) end
  local e, eerr = dates.parse(stop)
  if not e then raise("invalid", "endTime: " .. eerr) end
  if s > e then raise("invalid", "startTime " .. start .. " is after endTime " .. stop) end
  if e - s + 1 > MAX_DAYS then
    raise("invalid", "startTime .. endTime " .. start .. " .. " .. stop .. " is longer than " .. MAX_YEARS
      .. " years (" .. (e - s + 1) .. " days; at most " .. MAX_DAYS .. " in one backfill): a typo?")
  end
  return s, e, n
end
_M.range = range

-- The lots of startTime .. endTime, n days each; raises kind invalid.
local function split(start, stop, n)
  local s, e
  s, e, n = range(start, stop, n)
  local out = array()
  local d = s
  while d <= e do
    local last = min(d + n - 1, e)
    out[#out + 1] = {
      startPartition = dates.format(d), endPartition = dates.format(last), days = last - d + 1,
    }
    d = last + 1
  end
  return out
end
_M.split = split

-- syntax: lots, err = workflow.lots(startTime, endTime, dateIntervalOfLot)
-- The split a create makes: consecutive inclusive ranges of n days from
-- startTime, the last one shorter when the range does not divide evenly.
function _M.lots(start, stop, n)
  return checks.protect(split, start, stop, n)
end

-- Raises kind invalid unless params would make a create the server accepts
-- (the same date rules as lots, so lots never accepts what create refuses),
-- without splitting the range.
function _M.validate(params)
  if type(params) ~= "table" then raise("invalid", "params must be a table") end
  if params.plan ~= nil then
    if params.planId ~= nil or params.planName ~= nil then
      raise("invalid", "give params.plan or params.planId/params.planName, not both")
    end
    if type(params.plan) ~= "string" or params.plan == "" then
      raise("invalid", "params.plan must be a plan's name or id (a non-empty string)")
    end
  else
    local plan = params.planId or params.planName
    if type(plan) ~= "string" or plan == "" then
      raise("invalid", "params.plan, params.planId or params.planName is required")
    end
  end
  range(params.startTime, params.endTime, params.dateIntervalOfLot)
end

-- Do two parameter sets ask for the same backfill?  A missing
-- dateIntervalOfLot is the API's default, one day.
_M.equal = journal.same_params

-- "plan X, start .. end, lots of n day(s)" for messages.
function _M.describe(p)
  if type(p) ~= "table" then return "unknown parameters" end
  local plan
  if p.planId then plan = "plan " .. tostring(p.planId)
  elseif p.plan then plan = "plan '" .. tostring(p.plan) .. "'"
  else plan = "plan name " .. tostring(p.planName) end
  return plan
    .. ", " .. tostring(p.startTime) .. " .. " .. tostring(p.endTime)
    .. ", lots of " .. util.number_string(p.dateIntervalOfLot or 1) .. " day(s)"
end

return _M
