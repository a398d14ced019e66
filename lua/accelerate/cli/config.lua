-- Connection settings of the command, and the client made from them.
--
-- Each setting comes from its flag, else its environment variable, else the
-- config file (--config, $ACCELERATE_CONFIG, $XDG_CONFIG_HOME/accelerate/config
-- or ~/.config/accelerate/config).  The auth value is a secret: read from a
-- file or the environment, never printed (it joins ctx.secrets, which
-- ctx.redact masks in text a server wrote).
--
-- The config file is strict, the default one as much as a named one:
-- `key = value` lines, blank lines, and `#` comments on lines of their own
-- (a `#` after a blank inside a value is refused, not silently sent as part
-- of it: quote such a value).  Keys: url, tenant_id, auth_type, auth_value,
-- auth_value_file, timeout, retries (dashes read as underscores).  An
-- unknown key, a key given twice, an empty or bad value is refused as
-- `path:line: message` (exit 2).  `~/` in file names is the home folder.
-- A file holding the auth value that group or others can read gets a
-- warning on stderr.

local util = require "accelerate.util"
local args = require "accelerate.cli.usage"
local context = require "accelerate.cli.context"

local type = type
local error = error
local tonumber = tonumber
local tostring = tostring
local str_sub = string.sub
local str_find = string.find
local str_match = string.match
local str_gsub = string.gsub
local io_open = io.open
local io_popen = io.popen
local usage = args.raise
local number_opt = args.number
local errstr = util.errstr

local _M = {}

local ENOENT = 2

local function trim(s) return (str_gsub(str_gsub(s, "^%s+", ""), "%s+$", "")) end

-- io.open's message without the path it starts with: callers name the
-- file themselves.
local function open_error(path, err)
  err = tostring(err)
  if str_sub(err, 1, #path + 2) == path .. ": " then return str_sub(err, #path + 3) end
  return err
end

local function nonempty(v)
  if v ~= nil and v ~= "" then return v end
end

-- syntax: path = config.expand(path, home)
-- "~/x" (and "~") as a path below home; anything else as it is.
function _M.expand(path, home)
  if type(path) ~= "string" or not home or home == "" then return path end
  if path == "~" then return home end
  if str_sub(path, 1, 2) == "~/" then return (str_gsub(home, "/+$", "")) .. str_sub(path, 2) end
  return path
end

-- A connection the core accepts, in which one setting at a time is
-- replaced to check it with the core's own rules.
local CHECK_CONN = { url = "http://127.0.0.1", tenant_id = "t", auth_type = "UID", auth_value = "check" }

-- nil, or why the core would refuse `value` for setting `key`.
local function core_refusal(key, value)
  local core = context.core()
  if not core or not core.config then return nil end
  local conn = util.shallow_copy(CHECK_CONN)
  conn[key] = value
  local ok, cfg, err = pcall(core.config, conn)
  if not ok then return tostring(cfg) end
  if not cfg then return type(err) == "table" and err.message or tostring(err) end
  return nil
end

-- Each key the file takes, and how its value is checked: nil when fine,
-- else the reason.  Numbers are decimal, as on the command line.
local KEYS = {
  url = function(v) return core_refusal("url", v) end,
  tenant_id = function(v) return core_refusal("tenant_id", v) end,
  auth_type = function(v) return core_refusal("auth_type", v) end,
  auth_value = function(v) return core_refusal("auth_value", v) end,
  auth_value_file = function() return nil end,
  timeout = function(v)
    local x, why = args.decimal(v, "timeout", 0, false, true)
    return why or core_refusal("timeout", x)
  end,
  retries = function(v)
    local x, why = args.decimal(v, "retries", 0, true)
    return why or core_refusal("retries", x)
  end,
}

-- One line's key and value; nil and the reason when it is not a setting.
local function parse_line(line)
  local k, v = str_match(line, "^([%w_%-]+)%s*=%s*(.-)$")
  if not k then return nil, "expected key=value" end
  k = str_gsub(k, "%-", "_")
  local quoted = str_match(v, '^"(.*)"$') or str_match(v, "^'(.*)'$")
  if quoted then return k, quoted end
  if str_find(v, "%s#") then return nil, "a comment must be on a line of its own (quote a value that holds \" #\")" end
  return k, v
end

-- syntax: cfg, err, missing = config.read_file(path)
-- cfg = {key = value}, every key known and every value checked; on
-- failure nil and "path:line: message" (or the reason the file cannot be
-- read, with missing = true when it does not exist).
function _M.read_file(path)
  local f, err, errno = io_open(path, "rb")
  if not f then return nil, open_error(path, err), errno == ENOENT end
  local cfg, seen, lineno = {}, {}, 0
  local function fail(msg)
    f:close()
    return nil, path .. ":" .. lineno .. ": " .. msg
  end
  for line in f:lines() do
    lineno = lineno + 1
    line = trim(str_gsub(line, "\r$", ""))
    if line ~= "" and str_sub(line, 1, 1) ~= "#" then
      local k, v = parse_line(line)
      if not k then return fail(v) end
      if not KEYS[k] then return fail("unknown key " .. k .. " (keys: url, tenant_id, auth_type, auth_value, "
        .. "auth_value_file, timeout, retries)") end
      if seen[k] then return fail(k .. " is already set on line " .. seen[k]) end
      if v == "" then return fail(k .. " has no value") end
      local why = KEYS[k](v)
      if why then return fail(why) end
      seen[k] = lineno
      cfg[k] = v
    end
  end
  f:close()
  return cfg
end

-- The permission bits of path ("644"), or nil.
local function mode_of(path)
  local p = io_popen("stat -L -c %a -- '" .. str_gsub(path, "'", "'\\''") .. "' 2>/dev/null")
  if not p then return nil end
  local m = p:read("*l")
  p:close()
  return m and str_match(m, "^%d+$") and m or nil
end

-- A warning on stderr when path, which holds the auth value, can be read
-- by group or others.
local function check_private(ctx, path)
  local m = mode_of(path)
  if not m then return end
  local group, other = tonumber(str_sub(m, -2, -2)) or 0, tonumber(str_sub(m, -1)) or 0
  local who = (other % 8 >= 4) and "others" or ((group % 8 >= 4) and "group" or nil)
  if who then
    ctx.err("accelerate: warning: " .. path .. " holds the auth value and is readable by " .. who
      .. " (mode " .. m .. "); chmod 600 " .. path .. "\n")
  end
end

-- The first line of a secret file, trimmed.
local function read_secret_file(path)
  local f, err = io_open(path, "rb")
  if not f then return nil, open_error(path, err) end
  local s = f:read("*l") or ""
  f:close()
  return trim(s)
end

-- syntax: path, explicit = config.path(o, ctx)
-- The config file to read; explicit when the user named it (--config or
-- $ACCELERATE_CONFIG), so that a missing file is an error only then.
function _M.path(o, ctx)
  local home = ctx.getenv("HOME")
  if o.values.config then return _M.expand(o.values.config, home), true end
  local p = ctx.getenv("ACCELERATE_CONFIG")
  if p and p ~= "" then return _M.expand(p, home), true end
  local xdg = ctx.getenv("XDG_CONFIG_HOME")
  if xdg and xdg ~= "" then return xdg .. "/accelerate/config", false end
  if home and home ~= "" then return home .. "/.config/accelerate/config", false end
  return nil, false
end

-- The auth value: --auth-value (with a warning), --auth-value-file,
-- ACCELERATE_AUTH_VALUE, ACCELERATE_AUTH_VALUE_FILE, then the config file's
-- auth_value_file or auth_value.
local function auth_value(o, ctx, cfg)
  local v, env = o.values, ctx.getenv
  local secret, source
  if nonempty(v["auth-value"]) then
    secret = v["auth-value"]
    ctx.err("accelerate: warning: --auth-value shows in the process list and shell history; "
      .. "use --auth-value-file FILE or ACCELERATE_AUTH_VALUE\n")
  elseif nonempty(v["auth-value-file"]) then
    source = v["auth-value-file"]
  elseif nonempty(env("ACCELERATE_AUTH_VALUE")) then
    secret = env("ACCELERATE_AUTH_VALUE")
  elseif nonempty(env("ACCELERATE_AUTH_VALUE_FILE")) then
    source = env("ACCELERATE_AUTH_VALUE_FILE")
  elseif nonempty(cfg.auth_value_file) then
    source = cfg.auth_value_file
  elseif nonempty(cfg.auth_value) then
    secret = cfg.auth_value
  end
  if not secret and source then
    source = _M.expand(source, env("HOME"))
    local s, err = read_secret_file(source)
    if not s then usage("cannot read the auth value file " .. source .. ": " .. err) end
    check_private(ctx, source)
    secret = s
  end
  return nonempty(secret)
end

-- syntax: conn = config.connection(o, ctx)
-- {url, tenant_id, auth_type, auth_value, timeout, retries} for
-- accelerate.new; raises a usage error for a missing setting or an
-- unreadable file.
function _M.connection(o, ctx)
  local path, explicit = _M.path(o, ctx)
  local cfg = {}
  if path then
    local c, err, missing = _M.read_file(path)
    if c then
      cfg = c
      if cfg.auth_value then check_private(ctx, path) end
    elseif explicit or not missing then
      -- a default file that is not there is fine; one that is there is
      -- read as strictly as a named one
      if str_sub(err, 1, #path + 1) == path .. ":" then usage(err) end   -- path:line: message
      usage("cannot read config file " .. path .. ": " .. err)
    end
  end
  local v, env = o.values, ctx.getenv
  local conn = {
    url = nonempty(v.url) or nonempty(env("ACCELERATE_URL")) or nonempty(cfg.url),
    tenant_id = nonempty(v["tenant-id"]) or nonempty(env("ACCELERATE_TENANT_ID")) or nonempty(cfg.tenant_id),
    auth_type = nonempty(v["auth-type"]) or nonempty(env("ACCELERATE_AUTH_TYPE")) or nonempty(cfg.auth_type),
  }
  conn.auth_value = auth_value(o, ctx, cfg)
  if conn.auth_value then ctx.secrets[#ctx.secrets + 1] = conn.auth_value end
  local where = " (flag, environment variable or config file " .. tostring(path) .. ")"
  if not conn.url then usage("no API url: pass --url or set ACCELERATE_URL" .. where) end
  if not conn.tenant_id then usage("no tenant id: pass --tenant-id or set ACCELERATE_TENANT_ID" .. where) end
  if not conn.auth_type then usage("no auth type: pass --auth-type or set ACCELERATE_AUTH_TYPE" .. where) end
  if not conn.auth_value then
    usage("no auth value: pass --auth-value-file FILE or set ACCELERATE_AUTH_VALUE" .. where)
  end
  conn.timeout = args.number(o, "request-timeout", 0, false, true) or tonumber(cfg.timeout)
  conn.retries = number_opt(o, "retries", 0, true) or tonumber(cfg.retries)
  return conn
end

-- syntax: client = config.client(o, ctx)
-- A client for the connection settings; settings the client refuses are a
-- usage error, any other failure is raised as it is.
function _M.client(o, ctx)
  local conn = _M.connection(o, ctx)
  local client, err = ctx.new_client(conn)
  if not client then
    if type(err) == "table" and err.kind == "invalid" then
      usage("bad connection settings: " .. (err.message or errstr(err)))
    end
    error(err, 0)
  end
  return client
end

return _M
