-- Small helpers shared by the workflow layer, the journal and the command.
-- Pure Lua, 5.1 syntax: the C core (its error objects, clock, sleep and
-- stop flag) is loaded by the functions that use it, when first called, so
-- that what is pure Lua above this module (the status vocabulary, insight,
-- the renderers) loads without the build.

local plans = require "accelerate.plans"

local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local tonumber = tonumber
local select = select
local setmetatable = setmetatable
local getmetatable = getmetatable
local rawget = rawget
local error = error
local floor = math.floor
local huge = math.huge
local str_format = string.format
local str_find = string.find
local str_gsub = string.gsub
local str_byte = string.byte
local str_sub = string.sub
local tbl_concat = table.concat
local tbl_sort = table.sort
local require = require

local _M = {}

-- The C core, loaded on first use (never at require time: see above).
local core_mod
local function core()
  if not core_mod then core_mod = require "accelerate.core" end
  return core_mod
end

-- syntax: core = util.core()
-- The C core, loaded on first use: for a module that must load without
-- the build (the journal's name checks, the runner's store of files).
_M.core = core

-- Errors ------------------------------------------------------------------
-- Same shape as the core's error objects (kind, message, ...) so that a
-- caller handles ours and the client's with one code path.

-- The core's metatable: one shape and one __tostring for every error,
-- whichever layer failed.  Our own messages are not the core's (which cuts
-- and cleans what a server sent), so they are set as given, with any
-- extra fields (journal, params, ...).
-- util.error_mt, the core's metatable, is read on first use (__index at
-- the end of this file).

function _M.new_error(kind, message, fields)
  local e = core().error(kind, "")
  e.message = message
  if fields then
    for k, v in pairs(fields) do e[k] = v end
  end
  return e
end

-- Stopping ------------------------------------------------------------------
-- The command turns SIGINT and SIGTERM into a flag (accelerate.core
-- stop_on_signals, installed by bin/accelerate alone); its loops check it
-- at safe points and raise the one interrupt error there, so that no
-- pcall on the way can turn a Ctrl-C into a result (STYLE.md 28).  Outside
-- the command (a script, nginx) the flag is never set.

-- syntax: signal, installed = util.stop_requested()
-- The signal that asked the command to stop, or false; and whether the
-- command's handler is installed in this process.
local function stop_requested()
  return core().stop_requested()
end
_M.stop_requested = stop_requested

-- syntax: err = util.interrupt_error()
-- The error a stop raises: kind "interrupted" (a new object each time, so
-- that a caller adding context to its message changes only its own).
function _M.interrupt_error()
  return _M.new_error("interrupted", "interrupted")
end

-- syntax: util.check_stop()      (raises)
-- A safe point: raises the interrupt error once the command was asked to
-- stop.
function _M.check_stop()
  if stop_requested() then error(_M.interrupt_error(), 0) end
end

-- syntax: bool = util.interrupted(err)
-- Whether err is a stop: the interrupt error (or a transport's call cut by
-- the stop: kind "interrupted"), or the interpreter's "interrupted!" (its
-- SIGINT hook, in a process without the command's handler).  It ends a
-- command but never the backfill.
function _M.interrupted(err)
  if type(err) == "table" and err.kind == "interrupted" then return true end
  local msg = type(err) == "table" and err.message or err
  return type(msg) == "string" and str_find(msg, "interrupted!", 1, true) ~= nil
end

-- The core's shortest value worth masking (ACC_REDACT_MIN): shorter ones
-- would garble every message they happen to occur in.
local REDACT_MIN = 3

-- syntax: s = util.mask_secrets(secrets, s)
-- s with every secret of the list (of REDACT_MIN characters or more)
-- replaced by "***": the command's output and the runner's answers.
function _M.mask_secrets(secrets, s)
  for _, secret in ipairs(secrets) do
    local from = 1
    while #secret >= REDACT_MIN do
      local a, b = str_find(s, secret, from, true)
      if not a then break end
      s = str_sub(s, 1, a - 1) .. "***" .. str_sub(s, b + 1)
      from = a + 3
    end
  end
  return s
end

-- A string or error table as one line, whatever the error object is.
function _M.errstr(err)
  if type(err) == "table" then
    local mt = getmetatable(err)
    if mt and mt.__tostring then return tostring(err) end
    if err.message then
      return "accelerate: [" .. tostring(err.kind) .. "] " .. tostring(err.message)
    end
  end
  return tostring(err)
end

-- Plain fields of an error object, for JSON and the journal.
function _M.error_fields(err)
  if type(err) ~= "table" then return { kind = "error", message = tostring(err) } end
  return {
    kind = err.kind, message = err.message, status = err.status, code = err.code,
    trace_id = err.trace_id, detail = err.detail, retryable = err.retryable,
  }
end

-- Options -------------------------------------------------------------------
-- Every entry point keeps the list of the options it reads beside the code
-- that reads them, and refuses any other key: a misspelt option
-- (`tenantId` for tenant_id, `timout`) must never be silently ignored.

-- syntax: set = util.key_set(list_or_set, ...)
-- {name = true} for every name of the lists (or sets) given.
function _M.key_set(...)
  local out = {}
  for i = 1, select("#", ...) do
    for k, v in pairs((select(i, ...))) do
      if type(k) == "number" then out[v] = true else out[k] = true end
    end
  end
  return out
end

local function sorted_names(set)
  local names = {}
  for k in pairs(set) do names[#names + 1] = k end
  tbl_sort(names)
  return names
end

-- syntax: name = util.nearest(set, name)
-- The known name nearest to a misspelt one (accelerate.plans.near, the one
-- rule for "did you mean", plan names included), or nil.
function _M.nearest(set, name)
  return plans.near(sorted_names(set), tostring(name), 1)[1]
end

-- syntax: msg = util.unknown_option(opts, set)
-- nil when every key of the table opts is in set; else the message naming
-- the first unknown key (sorted) and the nearest known one, or every known
-- one when none is near.
function _M.unknown_option(opts, set)
  if type(opts) ~= "table" then return nil end
  local bad
  for k in pairs(opts) do
    if not set[k] then
      local name = tostring(k)
      if not bad or name < bad then bad = name end
    end
  end
  if not bad then return nil end
  local near = _M.nearest(set, bad)
  if near then return "unknown option '" .. bad .. "'; did you mean '" .. near .. "'?" end
  return "unknown option '" .. bad .. "'; the options are: " .. tbl_concat(sorted_names(set), ", ")
end

-- Tables ------------------------------------------------------------------

local function deep_copy(v, seen)
  if type(v) ~= "table" then return v end
  seen = seen or {}
  if seen[v] then return seen[v] end
  local out = {}
  seen[v] = out
  for k, x in pairs(v) do out[deep_copy(k, seen)] = deep_copy(x, seen) end
  return setmetatable(out, getmetatable(v))
end
_M.deep_copy = deep_copy

function _M.shallow_copy(t)
  local out = {}
  if t then for k, v in pairs(t) do out[k] = v end end
  return out
end

-- Ids -----------------------------------------------------------------------
-- Instance ids may arrive as strings or numbers; tostring(12876560.0) would
-- give "12876560.0" on 5.3+, which is not the id the server knows.
function _M.id_string(id)
  if type(id) == "number" then
    if id == floor(id) and id > -huge and id < huge then return str_format("%.0f", id) end
    return tostring(id)
  end
  if id == nil then return nil end
  return tostring(id)
end

-- A number for a message: integral values without ".0" (5.3+ floats from
-- JSON), others as Lua writes them; anything else through tostring.
function _M.number_string(v)
  if type(v) == "number" and v == floor(v) and v > -huge and v < huge then return str_format("%.0f", v) end
  return tostring(v)
end

-- JSON encoding -------------------------------------------------------------
-- cjson 2.1.0 (Debian) encodes an empty table as {}; reports and --json
-- output must give [] for empty lists, so lists built here carry a marker.

local array_mt = { __jsontype = "array" }
_M.array_mt = array_mt

function _M.array(t)
  return setmetatable(t or {}, array_mt)
end

local escapes = {
  ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
  ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t',
}
local function escape_char(c)
  return escapes[c] or str_format("\\u%04x", str_byte(c))
end

local function is_array(t)
  local mt = getmetatable(t)
  if mt == array_mt or (mt and rawget(mt, "__jsontype") == "array") then return true end
  local n = 0
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k ~= floor(k) then return false end
    n = n + 1
  end
  if n == 0 then return false end
  for i = 1, n do if t[i] == nil then return false end end
  return true
end

local encode_value

local function encode_number(v)
  if v ~= v or v == huge or v == -huge then return "null" end
  if v == floor(v) and v > -2^53 and v < 2^53 then return str_format("%.0f", v) end
  return str_format("%.14g", v)
end

function encode_value(v, buf, depth)
  local tv = type(v)
  if depth > 100 then error("json: nesting too deep") end
  if tv == "string" then
    buf[#buf + 1] = '"' .. str_gsub(v, '[%c"\\]', escape_char) .. '"'
  elseif tv == "number" then
    buf[#buf + 1] = encode_number(v)
  elseif tv == "boolean" then
    buf[#buf + 1] = v and "true" or "false"
  elseif tv == "nil" then
    buf[#buf + 1] = "null"
  elseif tv == "table" then
    local mt = getmetatable(v)
    if mt and mt.__tostring and mt ~= array_mt and v.kind and v.message then
      -- an error object: its fields, never its metatable
      return encode_value(_M.error_fields(v), buf, depth + 1)
    end
    if is_array(v) then
      buf[#buf + 1] = "["
      for i = 1, #v do
        if i > 1 then buf[#buf + 1] = "," end
        encode_value(v[i], buf, depth + 1)
      end
      buf[#buf + 1] = "]"
    else
      local keys = {}
      for k, x in pairs(v) do
        local tk = type(k)
        if (tk == "string" or tk == "number") and type(x) ~= "function"
          and type(x) ~= "userdata" and type(x) ~= "thread" then
          keys[#keys + 1] = tostring(k)
        end
      end
      tbl_sort(keys)
      buf[#buf + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then buf[#buf + 1] = "," end
        encode_value(k, buf, depth + 1)
        buf[#buf + 1] = ":"
        local x = v[k]
        if x == nil then x = v[tonumber(k)] end
        encode_value(x, buf, depth + 1)
      end
      buf[#buf + 1] = "}"
    end
  elseif tv == "userdata" then
    -- cjson.null and friends
    buf[#buf + 1] = "null"
  else
    error("json: cannot encode a " .. tv)
  end
end

function _M.json_encode(v)
  local buf = {}
  encode_value(v, buf, 0)
  return tbl_concat(buf)
end

-- Decoding goes through a private cjson instance: never touch the global
-- cjson settings, which OpenResty shares between every module of a worker.
local cjson_safe
function _M.json_decode(s)
  if not cjson_safe then
    local ok, mod = pcall(require, "cjson.safe")
    if not ok then return nil, "lua-cjson is not installed" end
    cjson_safe = mod.new and mod.new() or mod
  end
  local v, err = cjson_safe.decode(s)
  if v == nil then return nil, err end
  return _M.strip_null(v)
end

-- JSON null decodes to a lightuserdata sentinel (cjson.null); the rest of
-- the project reads absent fields as nil, so a null field of an object is
-- dropped.  A null element of an array keeps its place, as the sentinel:
-- made nil it would leave a hole where ipairs and # stop, and every element
-- after it would be lost unseen (a spec's list half-used).  cjson gives
-- arrays number keys and objects string keys; the C core does the same.
function _M.strip_null(v)
  if type(v) == "table" then
    local out = {}
    for k, x in pairs(v) do
      if type(x) ~= "userdata" then out[k] = _M.strip_null(x)
      elseif type(k) == "number" then out[k] = x end
    end
    return out
  end
  return v
end

-- Time --------------------------------------------------------------------
-- Defaults for opts.sleep/opts.clock: nginx's (non-blocking inside nginx),
-- else the C core's monotonic clock and a sleep that Ctrl-C cuts short.

function _M.default_sleep()
  local ngx = rawget(_G, "ngx")
  if type(ngx) == "table" and ngx.sleep then return ngx.sleep end
  return core().sleep
end

function _M.default_clock()
  local ngx = rawget(_G, "ngx")
  if type(ngx) == "table" and ngx.now then
    return function()
      if ngx.update_time then ngx.update_time() end
      return ngx.now()
    end
  end
  return core().now
end

function _M.format_duration(s)
  if not s or s ~= s then return "?" end
  s = floor(s + 0.5)
  if s < 60 then return s .. "s" end
  if s < 3600 then return str_format("%dm%02ds", floor(s / 60), s % 60) end
  return str_format("%dh%02dm", floor(s / 3600), floor(s % 3600 / 60))
end

-- util.error_mt: the core's, when first read (the core not loaded before).
return setmetatable(_M, { __index = function(_, k)
  if k == "error_mt" then return core().error_mt end
end })
