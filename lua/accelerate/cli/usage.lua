-- Usage errors of the command (exit 2, with a pointer to --help) and the
-- rule for numbers given on the command line, shared by the parser's
-- converters (cli/declare.lua), the commands and the connection settings.

local error = error
local type = type
local ipairs = ipairs
local tonumber = tonumber
local setmetatable = setmetatable
local huge = math.huge
local str_match = string.match

local _M = {}

local usage_mt = { __tostring = function(e) return e.message end }

-- syntax: usage.raise(message [, command])
-- Raises a usage error: exit 2, and "Try `accelerate COMMAND --help`".
local function raise(msg, cmd)
  error(setmetatable({ kind = "usage", message = msg, command = cmd }, usage_mt), 0)
end
_M.raise = raise

-- syntax: x, why = usage.decimal(text, label, minimum [, integer [, above]])
-- text as a number: decimal digits only (no sign, exponent, hex, inf or
-- blanks; "2.5" and ".5" where a fraction is allowed), >= minimum (> when
-- above), whole when integer; nil and the reason for anything else.
function _M.decimal(text, label, minimum, integer, above)
  local x
  if type(text) == "string" then
    if integer then
      if str_match(text, "^%d+$") then x = tonumber(text) end
    elseif str_match(text, "^%d+%.?%d*$") or str_match(text, "^%.%d+$") then
      x = tonumber(text)
    end
  end
  if not x or x ~= x or x == huge or x < minimum or (above and x == minimum) then
    return nil, label .. " must be " .. (integer and "a whole number" or "a number") .. (above and " > " or " >= ")
      .. minimum
  end
  return x
end

-- syntax: x = usage.read_number(text, label, minimum [, integer [, above]] [, command])
-- The same rule, raising a usage error naming label.
function _M.read_number(text, label, minimum, integer, above, command)
  local x, why = _M.decimal(text, label, minimum, integer, above)
  if not x then raise(why, command) end
  return x
end

-- syntax: x = usage.number(o, name, minimum [, integer [, above]])
-- The value of option --name as a number: as the parser gave it (declared
-- with how.number), or checked here when given as text (callers that
-- build o themselves); nil when not given.
function _M.number(o, name, minimum, integer, above)
  local v = o.values[name]
  if v == nil or type(v) == "number" then return v end
  return _M.read_number(v, "--" .. name, minimum, integer, above, o.command)
end

-- --format of the listing commands; --json is --format json.
local FORMATS = { table = true, json = true, csv = true }

-- syntax: usage.check_format(o)
-- --format is table, json or csv, and --json goes with no other format.
function _M.check_format(o)
  local format = o.values.format
  if format and not FORMATS[format] then raise("--format must be table, json or csv", o.command) end
  if format and format ~= "json" and o.flags.json then
    raise("--json is --format json: give one of them", o.command)
  end
end

-- syntax: bool = usage.wants_json(argv)
-- Whether --json (or --format json) is among the options (before any
-- `--`), known even when the command line does not parse: every outcome
-- is JSON then.
function _M.wants_json(argv)
  for i, a in ipairs(argv) do
    if a == "--" then return false end
    if a == "--json" or a == "--format=json" or (a == "--format" and argv[i + 1] == "json") then return true end
  end
  return false
end

return _M
