-- accelerate: the AnyMetrics backfill API client.
--
--   local accelerate = require "accelerate"
--   local client, err = accelerate.new { url = ..., tenant_id = ..., auth_type = ..., auth_value = ... }
--
-- Two halves, as luasocket is `socket` over `socket.core`: the C module
-- accelerate.core checks options, prepares requests, decodes answers, makes
-- error objects, does the retry arithmetic and carries a blocking libcurl
-- transport; accelerate.client is the call policy (retries, deadline,
-- paging, many details at once), written once and run over that transport
-- here and over cosockets by accelerate.ngx.
local core = require "accelerate.core"
local client = require "accelerate.client"
local util = require "accelerate.util"
local show = require "accelerate.show"

local _M = {
  VERSION = core.VERSION,
  _DESCRIPTION = "AnyMetrics backfill API client",
  error_mt = core.error_mt,
}

-- The sans-I/O functions and helpers of the core, for transports written
-- elsewhere, the workflows and the REPL.
for _, name in ipairs { "config", "prepare", "store", "error", "retry_delay", "retry_after",
  "id_key", "sleep", "now", "create_private", "fsync", "lock", "mkdirs", "defer_signals", "allow_signals",
  "term_width", "interrupt_on_sigterm" } do
  _M[name] = core[name]
end

-- accelerate.decode and accelerate.reduce give what the client would: the
-- core states the answer's facts, the call policy's table (client.judge)
-- decides `retryable` and `outcome_unknown` (a create taken alone).
function _M.decode(call, ...)
  local res, err = core.decode(call, ...)
  if res ~= nil then return res end
  return nil, client.judge(call, err, true)
end

function _M.reduce(...)
  local res, err = core.reduce(...)
  if res ~= nil then return res end
  return nil, client.judge("list_instances", err, true)
end

-- syntax: text, err = accelerate.inspect(value [, opts])
-- A readable multi-line view of any value (accelerate.show.inspect): keys
-- sorted, opts.depth (4) levels, strings cut past opts.max_string (120)
-- with their length, auth values never shown.
_M.inspect = show.inspect

-- The blocking transport's clock: monotonic, and a sleep that a signal
-- cuts short (so that Ctrl-C is not held for a whole back-off).
local clock = { now = core.now, sleep = core.sleep }

-- The options new reads: the core's (src/config.c keeps the list beside
-- the code that reads them); any other key is refused.
local OPTIONS = util.key_set(core.config_keys())

-- syntax: client, err = accelerate.new(opts)
function _M.new(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("bad argument #1 to 'new' (table expected, got " .. type(opts) .. ")", 2)
  end
  local bad = util.unknown_option(opts, OPTIONS)
  if bad then return nil, util.new_error("invalid", bad) end
  local cfg, err = core.config(opts or {})
  if not cfg then return nil, err end
  local transport
  transport, err = core.transport(opts or {})
  if not transport then return nil, err end
  -- accelerate.inspect never shows it
  show.add_secret((opts or {}).auth_value or os.getenv("ACCELERATE_AUTH_VALUE"))
  return client.new(transport, cfg, clock, "accelerate.client")
end

return _M
