-- Connection settings of the command, and the client made from them.
--
-- Each setting comes from its flag, else its environment variable, else the
-- config file (--config, $ACCELERATE_CONFIG, $XDG_CONFIG_HOME/accelerate/config
-- or ~/.config/accelerate/config: key=value lines, # comments).  The auth
-- value is a secret: read from a file or the environment, never printed
-- (it joins ctx.secrets, which ctx.out and ctx.err blank out).

local util = require "accelerate.util"
local args = require "accelerate.cli.args"

local type = type
local error = error
local tonumber = tonumber
local tostring = tostring
local str_sub = string.sub
local str_match = string.match
local str_gsub = string.gsub
local io_open = io.open
local usage = args.usage
local number_opt = args.number
local errstr = util.errstr

local _M = {}

local function trim(s) return (str_gsub(str_gsub(s, "^%s+", ""), "%s+$", "")) end

-- io.open's message without the path it starts with: callers name the
-- file themselves.
local function open_error(path, err)
  err = tostring(err)
  if str_sub(err, 1, #path + 2) == path .. ": " then return str_sub(err, #path + 3) end
  return err
end

local function nonempty(v) if v ~= nil and v ~= "" then return v end end

-- syntax: cfg, err = config.read_file(path)
-- cfg = {key = value}: blank lines and # comments skipped, one pair of
-- quotes around a value removed, dashes in keys read as underscores.
function _M.read_file(path)
  local f, err = io_open(path, "rb")
  if not f then return nil, err end
  local cfg, lineno = {}, 0
  for line in f:lines() do
    lineno = lineno + 1
    line = trim(str_gsub(line, "\r$", ""))
    if line ~= "" and str_sub(line, 1, 1) ~= "#" then
      local k, v = str_match(line, "^([%w_%-]+)%s*=%s*(.-)$")
      if not k then
        f:close()
        return nil, path .. ":" .. lineno .. ": expected key=value"
      end
      v = str_match(v, '^"(.*)"$') or str_match(v, "^'(.*)'$") or v
      cfg[str_gsub(k, "%-", "_")] = v
    end
  end
  f:close()
  return cfg
end

-- The first line of a secret file, trimmed.
local function read_secret_file(path)
  local f, err = io_open(path, "rb")
  if not f then return nil, err end
  local s = f:read("*l") or ""
  f:close()
  return trim(s)
end

-- syntax: path, explicit = config.path(o, ctx)
-- The config file to read; explicit when the user named it (--config or
-- $ACCELERATE_CONFIG), so that a missing file is an error only then.
function _M.path(o, ctx)
  if o.values.config then return o.values.config, true end
  local p = ctx.getenv("ACCELERATE_CONFIG")
  if p and p ~= "" then return p, true end
  local xdg = ctx.getenv("XDG_CONFIG_HOME")
  if xdg and xdg ~= "" then return xdg .. "/accelerate/config", false end
  local home = ctx.getenv("HOME")
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
    local s, err = read_secret_file(source)
    if not s then usage("cannot read the auth value file " .. source .. ": " .. open_error(source, err)) end
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
    local c, err = _M.read_file(path)
    if c then
      cfg = c
    elseif explicit then
      usage("cannot read config file " .. path .. ": " .. open_error(path, err))
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
  conn.timeout = args.positive(o, "request-timeout") or tonumber(cfg.timeout)
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
