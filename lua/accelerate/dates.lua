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
function _M.parse_timestamp(s)
  if type(s) ~= "string" then return nil end
  local y, m, d, hh, mm, ss = str_match(s, "^(%d%d%d%d)%-(%d%d)%-(%d%d)[T ](%d%d):(%d%d):(%d%d)")
  if not y then
    y, m, d = str_match(s, "^(%d%d%d%d)%-(%d%d)%-(%d%d)")
    if not y then return nil end
    hh, mm, ss = 0, 0, 0
  end
  local day = _M.from_civil(tonumber(y), tonumber(m), tonumber(d))
  return day * 86400 + tonumber(hh) * 3600 + tonumber(mm) * 60 + tonumber(ss)
end

-- A partition field may be a date or a timestamp ("2025-01-01T00:00:00").
function _M.parse_partition(s)
  if type(s) ~= "string" then return nil end
  local date = str_match(s, "^(%d%d%d%d%-%d%d%-%d%d)")
  if not date then return nil end
  return (_M.parse(date))
end

return _M
