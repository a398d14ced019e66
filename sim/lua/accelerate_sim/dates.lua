-- Calendar arithmetic on whole days, as the server does it: strict
-- YYYY-MM-DD parsing, real month lengths and leap years, and the split of a
-- range into lots.  Days are counted from 1970-01-01 (proleptic Gregorian).
local floor = math.floor
local format = string.format
local match = string.match

local _M = {}

local function is_leap(y)
    return (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0
end

local month_days = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

local function days_in_month(y, m)
    if m == 2 and is_leap(y) then return 29 end
    return month_days[m]
end

-- Days from 1970-01-01 to y-m-d (H. Hinnant's days_from_civil, by era).
local function to_days(y, m, d)
    if m <= 2 then y = y - 1 end
    local era = floor(y / 400)
    local yoe = y - era * 400
    local mp = (m + 9) % 12
    local doy = floor((153 * mp + 2) / 5) + d - 1
    local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
    return era * 146097 + doe - 719468
end

local function from_days(z)
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

-- Returns the day number of a strict YYYY-MM-DD date, or nil and why.
function _M.parse(s)
    if type(s) ~= "string" then return nil, "must be a string in YYYY-MM-DD format" end
    local y, m, d = match(s, "^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
    if not y then return nil, "must be in YYYY-MM-DD format" end
    y, m, d = tonumber(y), tonumber(m), tonumber(d)
    if m < 1 or m > 12 or d < 1 or d > days_in_month(y, m) then
        return nil, "is not a real date"
    end
    return to_days(y, m, d)
end

function _M.format(days)
    return format("%04d-%02d-%02d", from_days(days))
end

-- The lots a create makes: consecutive ranges of `interval` days from the
-- start, the last one shorter when the range does not divide evenly.
function _M.lots(first, last, interval)
    local lots = {}
    local s = first
    while s <= last do
        local e = s + interval - 1
        if e > last then e = last end
        lots[#lots + 1] = { s, e }
        s = e + 1
    end
    return lots
end

return _M
