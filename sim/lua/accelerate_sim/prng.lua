-- A small deterministic generator (Park-Miller minimal standard, multiplier
-- 48271), so that a scenario's seed gives the same run on every worker and
-- every start.  math.random is shared by the whole worker and seeded by
-- whatever ran before, which would break that promise.
local floor = math.floor

local M = 2147483647
local A = 48271

local _M = {}
local mt = { __index = _M }

function _M.new(seed)
    local s = floor(tonumber(seed) or 1) % (M - 1)
    if s <= 0 then s = s + M - 1 end
    return setmetatable({ s = s }, mt)
end

-- A float in [0, 1).
function _M:next()
    self.s = (self.s * A) % M   -- exact: A * M < 2^53
    return (self.s - 1) / (M - 1)
end

-- A number in [lo, hi] (uniform, real-valued).
function _M:uniform(lo, hi)
    return lo + (hi - lo) * self:next()
end

-- An integer in [lo, hi].
function _M:int(lo, hi)
    return lo + floor(self:next() * (hi - lo + 1))
end

function _M:hex(n)
    local out = {}
    for i = 1, n do out[i] = string.format("%x", self:int(0, 15)) end
    return table.concat(out)
end

return _M
