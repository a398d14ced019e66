-- accelerate.periods: the periods of a plan's metricTimeGranularity (DAY,
-- WEEK, MONTH, QUARTER, YEAR) on the calendar, and whether a backfill's
-- date range starts and ends on their edges.  A plan coarser than DAY
-- computes a whole period at a time, so a range that cuts one recomputes
-- a week or a month from part of its days; the command warns and names the
-- aligned range instead.
--
-- Weeks are ISO weeks, Monday to Sunday; quarters start in January, April,
-- July and October.  Dates are the strict YYYY-MM-DD of accelerate.dates,
-- computed on day numbers (no os.time, no time zone).

local dates = require "accelerate.dates"

local type = type
local floor = math.floor
local str_format = string.format

local _M = {}

-- What a range is cut into, in a message ("cuts months").
local UNITS = { DAY = "days", WEEK = "weeks", MONTH = "months", QUARTER = "quarters", YEAR = "years" }
_M.UNITS = UNITS

-- syntax: bool = periods.known(granularity)
function _M.known(gran)
  return type(gran) == "string" and UNITS[gran] ~= nil
end

-- syntax: first, last = periods.bounds(day, granularity)
-- The first and last day numbers of the period of `granularity` that holds
-- day number `day`; nil for a granularity this module does not know.
function _M.bounds(day, gran)
  if gran == "DAY" then return day, day end
  if gran == "WEEK" then
    local monday = day - (dates.weekday(day) - 1)
    return monday, monday + 6
  end
  local y, m = dates.to_civil(day)
  local m1, m2
  if gran == "MONTH" then
    m1, m2 = m, m
  elseif gran == "QUARTER" then
    m1 = floor((m - 1) / 3) * 3 + 1
    m2 = m1 + 2
  elseif gran == "YEAR" then
    m1, m2 = 1, 12
  else
    return nil
  end
  return dates.from_civil(y, m1, 1), dates.from_civil(y, m2, dates.days_in_month(y, m2))
end

-- syntax: a, err = periods.align(startTime, endTime, granularity)
-- a = {start, stop (the dates given), aligned_start, aligned_end (the
-- smallest range of whole periods that holds them), start_cut, end_cut,
-- cuts (either)}; nil and a message for dates that are not real, start
-- after end, or a granularity not among DAY WEEK MONTH QUARTER YEAR.
function _M.align(start, stop, gran)
  if not _M.known(gran) then
    return nil, "unknown granularity " .. (type(gran) == "string" and gran or type(gran))
  end
  local s, serr = dates.parse(start)
  if not s then return nil, "start: " .. serr end
  local e, eerr = dates.parse(stop)
  if not e then return nil, "end: " .. eerr end
  if s > e then return nil, "start " .. start .. " is after end " .. stop end
  local first = _M.bounds(s, gran)
  local _, last = _M.bounds(e, gran)
  local a = {
    start = start, stop = stop,
    aligned_start = dates.format(first), aligned_end = dates.format(last),
    start_cut = first ~= s, end_cut = last ~= e,
  }
  a.cuts = a.start_cut or a.end_cut
  return a
end

-- syntax: text = periods.warning(label, startTime, endTime, granularity)
-- "gmv_monthly is MONTH: 2025-01-15 .. 2025-02-10 cuts months; the aligned
-- range is 2025-01-01 .. 2025-02-28", or nil when the range is aligned, the
-- granularity is DAY or unknown, or the dates do not parse (their own check
-- refuses those).
function _M.warning(label, start, stop, gran)
  local a = _M.align(start, stop, gran)
  if not a or not a.cuts then return nil end
  return str_format("%s is %s: %s .. %s cuts %s; the aligned range is %s .. %s", label, gran,
    start, stop, UNITS[gran], a.aligned_start, a.aligned_end)
end

return _M
