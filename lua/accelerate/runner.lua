-- accelerate.runner: durable campaigns inside nginx (OpenResty).  Three
-- lines in nginx.conf:
--
--   lua_shared_dict accelerate_runner 10m;
--   init_worker_by_lua_block { require("accelerate.runner").init { dir = "/var/lib/accelerate",
--     client = { url = ..., tenant_id = ..., auth_type = ..., auth_value_file = ... } } }
--   location /accelerate/ { content_by_lua_block { require("accelerate.runner").serve("/accelerate/") } }
--
-- POST a campaign spec (docs/campaign.md) to PREFIX/campaigns; the runner
-- keeps it in `dir` with its journal, in the command's format, and runs it
-- in one worker of one nginx (the journal's lock decides), resuming it
-- from the journal after a reload, a crashed worker or a restart.  The
-- routes, the states and the durability rules: docs/openresty.md.
--
-- Pure Lua over accelerate.ngx (cosockets: a slow API never holds up the
-- worker), the campaign engine and the journal.  The work is done under
-- accelerate.runner.*:
--   store   the folder: specs, journals, a person's stop/go/resolve
--   leader  the worker that runs campaigns: the scan, a timer per run
--   http    the routes under the prefix
--   page    the live page

local acc = require "accelerate.ngx"
local util = require "accelerate.util"
local store_mod = require "accelerate.runner.store"
local leader = require "accelerate.runner.leader"
local metrics = require "accelerate.metrics"

local ngx = ngx
local type = type
local tostring = tostring
local io_open = io.open

local _M = { _VERSION = require("accelerate.core").VERSION }

-- Every option of runner.init; any other is refused (a misspelt one must
-- not be ignored).  interval, max_interval, backoff, page_size: the
-- campaign's watch, the command's defaults; worker: the worker id that
-- runs campaigns (0).
local OPTIONS = util.key_set { "dir", "client", "dict", "interval", "max_interval", "backoff", "page_size",
  "worker" }

local R   -- this worker's runner, once init ran

-- The auth value of a file, without its line end.
local function read_secret(path)
  local f, err = io_open(path, "rb")
  if not f then return nil, "cannot read the auth value file " .. path .. ": " .. tostring(err) end
  local s = (f:read("*a") or ""):gsub("[\r\n]+$", "")
  f:close()
  if s == "" then return nil, "the auth value file " .. path .. " is empty" end
  return s
end

-- Every copy of the auth value in s replaced, as the command's output does
-- (util.mask_secrets).
local function redactor(secret)
  local secrets = type(secret) == "string" and { secret } or {}
  return function(s)
    if type(s) ~= "string" then return s end
    return util.mask_secrets(secrets, s)
  end
end

-- The client's options with auth_value_file read (the file's value wins
-- over ACCELERATE_AUTH_VALUE, as in the command).
local function client_options(c)
  local out = {}
  for k, v in pairs(c or {}) do
    if k ~= "auth_value_file" then out[k] = v end
  end
  if c and c.auth_value_file ~= nil then
    local secret, err = read_secret(c.auth_value_file)
    if not secret then return nil, util.new_error("invalid", err) end
    out.auth_value = secret
  end
  return out
end

local function setup(opts)
  if type(opts) ~= "table" then return nil, util.new_error("invalid", "runner.init takes a table of options") end
  local bad = util.unknown_option(opts, OPTIONS)
  if bad then return nil, util.new_error("invalid", bad) end
  local dict_name = opts.dict or "accelerate_runner"
  local dict = ngx.shared[dict_name]
  if not dict then
    return nil, util.new_error("invalid", "no shared dict " .. tostring(dict_name)
      .. ": add `lua_shared_dict " .. tostring(dict_name) .. " 10m;` to nginx.conf's http block")
  end
  local store, serr = store_mod.open(opts.dir)
  if not store then return nil, serr end
  local copts, cerr = client_options(opts.client)
  if not copts then return nil, cerr end
  local client, err = acc.new(copts)
  if not client then return nil, err end
  return {
    opts = opts, dict = dict, store = store, store_mod = store_mod, eta = metrics.eta,
    -- every call counted in the shared dict, for GET metrics
    client = metrics.counting(client, dict),
    redact = redactor(copts.auth_value or os.getenv("ACCELERATE_AUTH_VALUE")),
    worker = opts.worker or 0,
  }
end

-- A worker whose master was killed (kill -9) is left running on its own:
-- it would keep its campaigns' journals locked, and its port, from the
-- nginx started next.  It notices within a second, and quits (SIGQUIT to
-- itself: nginx's graceful exit, which stops the campaigns at their next
-- safe point and releases their journals).
local ORPHAN_CHECK = 1
local function watch_master()
  local ok, ffi = pcall(require, "ffi")
  if not ok then return end
  pcall(ffi.cdef, "int getppid(void); int getpid(void); int kill(int pid, int sig);")
  local master = ffi.C.getppid()
  ngx.timer.every(ORPHAN_CHECK, function(premature)
    if premature or ffi.C.getppid() == master then return end
    ngx.log(ngx.WARN, "accelerate.runner: the master process ", master, " is gone; this worker quits")
    ffi.C.kill(ffi.C.getpid(), 3)   -- SIGQUIT
  end)
end

-- syntax: ok, err = runner.init(opts)
-- In init_worker_by_lua*: opts = {dir, client = accelerate.ngx.new's
-- options (auth_value_file read here), dict (default "accelerate_runner"),
-- interval, max_interval, backoff, page_size, worker (the worker id that
-- runs campaigns, 0)}.  A bad option is logged and returned; serve then
-- answers 503 with it.
function _M.init(opts)
  local r, err = setup(opts)
  if not r then
    R = { failed = err }
    ngx.log(ngx.ERR, "accelerate.runner: ", util.errstr(err))
    return nil, err
  end
  R = r
  watch_master()
  if ngx.worker.id() == R.worker then
    local ok, lerr = leader.start(R)
    if not ok then
      ngx.log(ngx.ERR, "accelerate.runner: cannot start the campaign timer: ", lerr)
      return nil, util.new_error("invalid", "cannot start the campaign timer: " .. tostring(lerr))
    end
  end
  return true
end

-- syntax: runner.serve(prefix)
-- In content_by_lua*: the routes under prefix (docs/openresty.md).
function _M.serve(prefix)
  return require("accelerate.runner.http").serve(R, prefix)
end

return _M
