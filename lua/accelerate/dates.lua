-- Calendar dates as day numbers, without os.time: os.time works in local
-- time, so a DST change or a TZ setting would shift a day, and it is limited
-- to 1970-2038 on some platforms.  Day numbers are days since 1970-01-01 in
-- the proleptic Gregorian calendar (the algorithm is the classic
-- era/day-of-era conversion).

local type = type
local tonumber = tonumber
local floor = math.floor
local str_format = string.format
local str_match = string.match
local str_byte = string.byte

local _M = {}

local function is_leap(y)
  return (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0
end
_M.is_leap = is_leap

local month_days = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

function _M.days_in_month(y, m)
  if m == 2 and is_leap(y) then return 29 end
  return month_days[m]
end

function _M.from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

function _M.to_civil(z)
  z = z + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local d = doy - floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return y, m, d
end

-- "YYYY-MM-DD" -> day number, or nil, message.  Strict: the server takes
-- exactly this form, and a date that does not exist (2025-02-29) is refused
-- rather than rolled over.
function _M.parse(s)
  if type(s) ~= "string" then return nil, "a date must be a string YYYY-MM-DD" end
  local y, m, d = str_match(s, "^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  if not y then return nil, "not a date in YYYY-MM-DD form: " .. s end
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if m < 1 or m > 12 then return nil, "no such month: " .. s end
  if d < 1 or d > _M.days_in_month(y, m) then return nil, "no such day: " .. s end
  return _M.from_civil(y, m, d)
end

function _M.format(z)
  local y, m, d = _M.to_civil(z)
  return str_format("%04d-%02d-%02d", y, m, d)
end

-- Monday = 1 .. Sunday = 7 (1970-01-01 was a Thursday).
function _M.weekday(z)
  return (z + 3) % 7 + 1
end

-- "2025-03-25T10:00:00" (also with a space, fractions or a zone suffix,
-- which are ignored) -> seconds on a local, zone-less scale.  Only used for
-- differences between timestamps of one server.
-- Read byte by byte (no captures, no substrings): the timing of a large
-- backfill parses three per instance.
local D0, DASH, COLON, T, SPACE = 48, 45, 58, 84, 32

local function digits(a, b)   -- two digit bytes -> number, or nil
  a, b = a and a - D0, b and b - D0
  if not a or not b or a < 0 or a > 9 or b < 0 or b > 9 then return nil end
  return a * 10 + b
end

local function parse_lua(s)
  if type(s) ~= "string" then return nil end
  local c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16, c17, c18, c19 = str_byte(s, 1, 19)
  local yh, yl, m, d = digits(c1, c2), digits(c3, c4), digits(c6, c7), digits(c9, c10)
  if not (yh and yl and m and d and c5 == DASH and c8 == DASH) then return nil end
  local day = _M.from_civil(yh * 100 + yl, m, d)
  local hh, mm, ss = digits(c12, c13), digits(c15, c16), digits(c18, c19)
  if not (hh and mm and ss and (c11 == T or c11 == SPACE) and c14 == COLON and c17 == COLON) then
    return day * 86400
  end
  return day * 86400 + hh * 3600 + mm * 60 + ss
end
_M.parse_timestamp_lua = parse_lua

-- The C core's parse_timestamp (the same numbers, many times cheaper) once
-- the core is loaded by whoever uses this module; this one stays pure.
local fast
function _M.parse_timestamp(s)
  if fast == nil then
    local core = package.loaded["accelerate.core"]
    if not core then return parse_lua(s) end
    fast = core.parse_timestamp or parse_lua
  end
  return fast(s)
end

-- A partition field may be a date or a timestamp ("2025-01-01T00:00:00").
function _M.parse_partition(s)
  if type(s) ~= "string" then return nil end
  local date = str_match(s, "^(%d%d%d%d%-%d%d%-%d%d)")
  if not date then return nil end
  return (_M.parse(date))
end

return _M
