-- The command line of `accelerate`: which options each command takes, the
-- parser, and usage errors (exit 2, with a pointer to --help).
--
-- Options are `--name value`, `--name=value`, flags `--name`, and -h -v -q;
-- `--` ends the options.  Global options may come anywhere; a command's
-- option given before the command word is accepted and checked later.

local pairs = pairs
local ipairs = ipairs
local error = error
local select = select
local type = type
local tonumber = tonumber
local setmetatable = setmetatable
local huge = math.huge
local str_sub = string.sub
local str_match = string.match

local _M = {}

-- Options of every command: connection and output.
local GLOBAL_VALUES = {
  url = true, ["tenant-id"] = true, ["auth-type"] = true, ["auth-value"] = true,
  ["auth-value-file"] = true, config = true, ["request-timeout"] = true, retries = true,
}
local GLOBAL_FLAGS = {
  json = true, ["no-color"] = true, color = true, verbose = true, quiet = true,
  help = true, version = true,
}
local SHORT = { h = "help", v = "verbose", q = "quiet" }

-- Options that may be given more than once: every value is kept in
-- o.lists[name] (o.values[name] is the last one).
local REPEATABLE = { status = true }
-- --format of the listing commands; --json is --format json.
local FORMATS = { table = true, json = true, csv = true }

local PLAN_VALUES = { "plan", "plan-id", "plan-name", "start", "end", "lot" }
local WATCH_VALUES = { "interval", "max-interval", "timeout" }

local function list(...)
  local out = {}
  for i = 1, select("#", ...) do
    for _, v in ipairs(select(i, ...)) do out[v] = true end
  end
  return out
end

-- Each command's own options (values take an argument, flags do not) and
-- how many positional arguments it takes.
local COMMANDS = {
  backfill = { values = list(PLAN_VALUES, WATCH_VALUES, { "journal" }),
               flags = list({ "force-create", "force", "dry-run", "no-calendar" }), min = 0, max = 0 },
  create = { values = list(PLAN_VALUES, { "journal" }), flags = list({ "force-create", "force" }), min = 0, max = 0 },
  wait = { values = list(WATCH_VALUES, { "journal" }), flags = list({ "no-calendar" }), min = 0, max = 1 },
  report = { values = list({ "html" }), flags = list({ "no-calendar" }), min = 1, max = 1 },
  repair = { values = list(WATCH_VALUES, { "plan", "plan-id", "plan-name", "lot", "journal" }),
             flags = list({ "dry-run", "wait", "force-create", "force", "no-calendar", "again" }),
             min = 1, max = 1 },
  instances = { values = list({ "page", "page-size", "status", "format" }), flags = list({ "all" }), min = 1, max = 1 },
  detail = { values = {}, flags = {}, min = 1, max = 1 },
  lots = { values = list({ "lot", "plan" }), flags = {}, min = 2, max = 3 },
  plans = { values = list({ "type", "format" }), flags = list({ "no-details" }), min = 0, max = 0 },
  plan = { values = {}, flags = {}, min = 1, max = 1 },
  campaign = { values = list(WATCH_VALUES, { "journal", "adopt", "failure-budget" }),
               flags = list({ "force-create", "no-calendar" }),
               min = 2, max = 2 },
}

local usage_mt = { __tostring = function(e) return e.message end }

-- syntax: args.usage(message [, command])
-- Raises a usage error: exit 2, and "Try `accelerate COMMAND --help`".
local function usage(msg, cmd)
  error(setmetatable({ kind = "usage", message = msg, command = cmd }, usage_mt), 0)
end
_M.usage = usage

-- syntax: bool = args.is_command(word)
function _M.is_command(word)
  return COMMANDS[word] ~= nil
end

-- The name of an option argument `a` (`--name[=value]` or `-x`), and its
-- value when given with `=`.
local function option_name(a)
  if str_sub(a, 1, 2) == "--" then
    local name, value = str_match(a, "^%-%-([^=]+)=(.*)$")
    if not name then name = str_sub(a, 3) end
    return name, value
  end
  local name = SHORT[str_sub(a, 2)]
  if not name then usage("unknown option " .. a) end
  return name, nil
end

-- Whether option `name` takes a value, or is a flag, for `command` (nil:
-- before the command word, where any command's option is let through).
local function option_kind(name, command)
  local cmdspec = command and COMMANDS[command]
  local takes_value = GLOBAL_VALUES[name] or (cmdspec and cmdspec.values[name])
  local is_flag = GLOBAL_FLAGS[name] or (cmdspec and cmdspec.flags[name])
  if not command and not takes_value and not is_flag then
    -- an option of a command given before the command: decide later
    for _, spec in pairs(COMMANDS) do
      if spec.values[name] then takes_value = true end
      if spec.flags[name] then is_flag = true end
    end
  end
  return takes_value, is_flag
end

-- syntax: o = args.parse(argv)
-- o = {command, args = {...}, values = {name = string}, flags = {name = true},
-- lists = {name = {string, ...}} (repeatable options)}; --format json sets
-- flags.json as --json does.  Raises a usage error for an unknown option or
-- a missing value.
function _M.parse(argv)
  local o = { values = {}, flags = {}, args = {}, lists = {} }
  local i, n = 1, #argv
  local only_args = false
  while i <= n do
    local a = argv[i]
    if only_args or a == "-" or str_sub(a, 1, 1) ~= "-" then
      if not o.command then o.command = a else o.args[#o.args + 1] = a end
    elseif a == "--" then
      only_args = true
    else
      local name, value = option_name(a)
      local takes_value, is_flag = option_kind(name, o.command)
      if takes_value then
        if value == nil then
          i = i + 1
          value = argv[i]
          if value == nil then usage("option --" .. name .. " needs a value", o.command) end
        end
        o.values[name] = value
        if REPEATABLE[name] then
          local l = o.lists[name] or {}
          l[#l + 1] = value
          o.lists[name] = l
        end
      elseif is_flag then
        if value ~= nil then usage("option --" .. name .. " takes no value", o.command) end
        o.flags[name] = true
      else
        usage("unknown option --" .. name, o.command)
      end
    end
    i = i + 1
  end
  if o.values.format == "json" then o.flags.json = true end
  return o
end

-- syntax: args.check(o)
-- For a known o.command: every option applies to it, and the number of
-- arguments is right; raises a usage error otherwise.
function _M.check(o)
  local spec = COMMANDS[o.command]
  for name in pairs(o.values) do
    if not GLOBAL_VALUES[name] and not spec.values[name] then
      usage("option --" .. name .. " does not apply to " .. o.command, o.command)
    end
  end
  for name in pairs(o.flags) do
    if not GLOBAL_FLAGS[name] and not spec.flags[name] then
      usage("option --" .. name .. " does not apply to " .. o.command, o.command)
    end
  end
  if #o.args < spec.min or #o.args > spec.max then
    usage("wrong number of arguments for " .. o.command, o.command)
  end
  local format = o.values.format
  if format and not FORMATS[format] then usage("--format must be table, json or csv", o.command) end
  if format and format ~= "json" and o.flags.json then
    usage("--json is --format json: give one of them", o.command)
  end
end

-- syntax: x = args.read_number(text, label, minimum [, integer [, above]] [, command])
-- text as a number: decimal digits only (no sign, exponent, hex, inf or
-- blanks; "2.5" and ".5" where a fraction is allowed), >= minimum (> when
-- above), whole when integer; raises a usage error naming label otherwise.
function _M.read_number(text, label, minimum, integer, above, command)
  local x, why = _M.decimal(text, label, minimum, integer, above)
  if not x then usage(why, command) end
  return x
end

-- syntax: x, why = args.decimal(text, label, minimum [, integer [, above]])
-- The same rule without raising: nil and the reason for anything else.
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

-- syntax: x = args.number(o, name, minimum [, integer])
-- The value of option --name as a number >= minimum (whole if integer), or
-- nil when not given; raises a usage error for anything else.
function _M.number(o, name, minimum, integer)
  local v = o.values[name]
  if v == nil then return nil end
  return _M.read_number(v, "--" .. name, minimum, integer, false, o.command)
end

-- syntax: x = args.positive(o, name)
-- The value of option --name as a number > 0, or nil when not given.
function _M.positive(o, name)
  local v = o.values[name]
  if v == nil then return nil end
  return _M.read_number(v, "--" .. name, 0, false, true, o.command)
end

-- syntax: bool = args.wants_json(argv)
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

-- syntax: names = args.options(command)
-- The options a command takes (its own and the global ones), sorted, as
-- "--name": what the bash completion offers (spec/completion_spec.lua).
function _M.options(command)
  local spec = COMMANDS[command]
  local names = {}
  for _, set in ipairs { GLOBAL_VALUES, GLOBAL_FLAGS, spec and spec.values or {}, spec and spec.flags or {} } do
    for name in pairs(set) do names[#names + 1] = "--" .. name end
  end
  table.sort(names)
  return names
end

-- syntax: words = args.commands()
-- Every command word, sorted.
function _M.commands()
  local words = {}
  for name in pairs(COMMANDS) do words[#words + 1] = name end
  table.sort(words)
  return words
end

-- syntax: command = args.command_of(argv)
-- The first command word in argv (nil if none), for pointing a usage error
-- at the right --help even when the parser failed.
function _M.command_of(argv)
  for _, a in ipairs(argv) do
    if COMMANDS[a] then return a end
  end
  return nil
end

return _M
