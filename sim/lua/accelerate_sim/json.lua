-- JSON text for answers whose lists may be empty.  lua-cjson 2.1 encodes an
-- empty table as {}, so a plan with no dimension filters would answer
-- "dimensionFilters":{}.  Tables marked with array() always encode as JSON
-- arrays; other tables encode as arrays when they have a [1], else as
-- objects with sorted keys (stable text for the same scenario).
local cjson = require "cjson.safe"

local type, pairs, sort, concat = type, pairs, table.sort, table.concat
local getmetatable, setmetatable = getmetatable, setmetatable

local _M = {}

local ARRAY = { __jsontype = "array" }

-- Marks t (or a new table) as a JSON array; returns it.
function _M.array(t)
    return setmetatable(t or {}, ARRAY)
end

-- True when t is a table whose keys are exactly 1..#t (an empty table too).
function _M.is_array(t)
    if type(t) ~= "table" then return false end
    local n = 0
    for _ in pairs(t) do n = n + 1 end
    return n == #t
end

local function encode(v, out)
    if type(v) ~= "table" then
        out[#out + 1] = assert(cjson.encode(v))
        return
    end
    if getmetatable(v) == ARRAY or v[1] ~= nil then
        out[#out + 1] = "["
        for i = 1, #v do
            if i > 1 then out[#out + 1] = "," end
            encode(v[i], out)
        end
        out[#out + 1] = "]"
        return
    end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    sort(keys)
    out[#out + 1] = "{"
    for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = assert(cjson.encode(k))
        out[#out + 1] = ":"
        local val = v[k]
        if val == nil then val = v[tonumber(k)] end
        encode(val, out)
    end
    out[#out + 1] = "}"
end

function _M.encode(v)
    local out = {}
    encode(v, out)
    return concat(out)
end

return _M
