-- accelerate.ngx: the backfill client for nginx's Lua module (OpenResty),
-- with the methods of accelerate.new, whose I/O never blocks the worker.
--
-- A libcurl call inside a request handler stops the whole nginx worker until
-- it returns.  This module is only a transport over cosockets, which yield
-- to nginx's event loop: the C core prepares requests and decodes answers,
-- and the call policy (accelerate.client: retries, deadline, paging, many
-- details at once) is the very code the blocking client runs.
--
--   local acc = require "accelerate.ngx"
--   local client, err = acc.new { url = ..., tenant_id = ..., auth_type = ..., auth_value = ... }
--
-- Needs only lua_package_path and lua_package_cpath in nginx.conf.  Works in
-- every phase where cosockets do (rewrite, access, content, timers, light
-- threads); not in init_by_lua, set_by_lua, header/body filters or log.
local core = require "accelerate.core"
local client = require "accelerate.client"
local util = require "accelerate.util"

local ngx = ngx
local tcp = ngx.socket.tcp
local spawn, wait = ngx.thread.spawn, ngx.thread.wait
local ngx_sleep, ngx_now, update_time = ngx.sleep, ngx.now, ngx.update_time
local type, tostring, tonumber, pairs, setmetatable, error, pcall =
  type, tostring, tonumber, pairs, setmetatable, error, pcall
local concat, floor, min = table.concat, math.floor, math.min
local lower, sub, find = string.lower, string.sub, string.find

local prepare, decode, reduce, new_error, retry_after = core.prepare, core.decode, core.reduce, core.error,
  core.retry_after

local _M = {
  VERSION = core.VERSION,
  _DESCRIPTION = "AnyMetrics backfill API client over nginx cosockets",
}

local DEFAULT_KEEPALIVE = 60      -- seconds an idle pooled connection is kept
local DEFAULT_POOL_SIZE = 16      -- idle connections kept per worker and server
local CHUNK = 65536

local function now()
  update_time()
  return ngx_now()
end

local clock = { now = now, sleep = ngx_sleep }

local Transport = {}
local tmt = { __index = Transport }

local function parse_url(url)
  local scheme, authority = url:match("^(https?)://([^/]+)")
  if not scheme then return nil end
  local host, port = authority:match("^%[([^%]]+)%]:?(%d*)$")
  if not host then host, port = authority:match("^([^:]+):?(%d*)$") end
  if not host then return nil end
  port = tonumber(port) or (scheme == "https" and 443 or 80)
  return scheme, host, port, authority
end

local function ms(seconds)
  local v = floor(seconds * 1000)
  return v > 0 and v or 1
end

-- Failure of the exchange itself, with its facts (docs/core-api.md, "Error
-- objects"): which step failed, whether the request may have left (from
-- the send on: yes) and whether an answer began.  What they mean (a retry;
-- a create that may have happened) is the call policy's table
-- (accelerate.client), not this transport's.  A create sent is worded as a
-- lost answer, as the C core words it.
local function transport_error(req, failure, stage, err, sent, answered)
  local timeout = err == "timeout"
  if timeout and failure ~= "tls" then
    failure = "timeout"
  elseif failure == "receive" and (err == "closed" or find(tostring(err), "reset", 1, true)) then
    failure = "reset"
  end
  local msg
  if not req.idempotent and sent then
    msg = ("%s: %s after the request was sent"):format(req.call, timeout and "timed out" or tostring(err))
  else
    msg = ("%s: %s while %s"):format(req.call, tostring(err), stage)
  end
  return new_error(timeout and "timeout" or "network", msg,
    { failure = failure, sent = sent, answered = answered or false })
end

-- An answer did arrive: its status and trace id are kept, as the C core does.
local function too_big(req, status, headers, max)
  local trace = headers["x-trace-id"]
  if type(trace) == "table" then trace = trace[1] end
  return new_error("decode", ("%s: the answer is larger than max_body (%d bytes)"):format(req.call, max),
    { status = status, trace_id = trace, sent = true, answered = true })
end

-- A buffered reader whose every wait is clipped to the deadline: each
-- socket read gets only what is left of the call's time, so a server that
-- trickles its answer cannot hold the call past its timeout.
local function reader(sock, deadline)
  local buf = ""
  local r = {}
  local function fill()
    local left = deadline - now()
    if left <= 0 then return nil, "timeout" end
    sock:settimeouts(ms(left), ms(left), ms(left))
    local data, err = sock:receiveany(CHUNK)
    if not data then return nil, err end
    buf = buf .. data
    return true
  end
  function r.line()
    while true do
      local e = find(buf, "\n", 1, true)
      if e then
        local line = sub(buf, 1, e - 1)
        buf = sub(buf, e + 1)
        if sub(line, -1) == "\r" then line = sub(line, 1, -2) end
        return line
      end
      if #buf > CHUNK then return nil, "header line too long" end
      local ok, err = fill()
      if not ok then return nil, err end
    end
  end
  function r.bytes(n)
    while #buf < n do
      local ok, err = fill()
      if not ok then return nil, err end
    end
    local data = sub(buf, 1, n)
    buf = sub(buf, n + 1)
    return data
  end
  function r.rest(max)
    while true do
      if #buf > max then return nil, "too big" end
      local ok, err = fill()
      if not ok then
        if err ~= "closed" then return nil, err end
        if #buf > max then return nil, "too big" end
        return buf
      end
    end
  end
  return r
end

local function read_chunked(rd, max)
  local parts, size = {}, 0
  while true do
    local line, err = rd.line()
    if not line then return nil, err end
    local n = tonumber(line:match("^%s*(%x+)"), 16)
    if not n then return nil, "bad chunk size" end
    if n == 0 then
      -- trailers, then the empty line
      repeat
        line, err = rd.line()
        if not line then return nil, err end
      until line == ""
      return concat(parts)
    end
    size = size + n
    if size > max then return nil, "too big" end
    local data
    data, err = rd.bytes(n + 2)
    if not data then return nil, err end
    if sub(data, -2) ~= "\r\n" then return nil, "bad chunk end" end
    parts[#parts + 1] = sub(data, 1, n)
  end
end

local function read_headers(rd)
  local headers = {}
  while true do
    local line, err = rd.line()
    if not line then return nil, err end
    if line == "" then return headers end
    local name, value = line:match("^([^:]+):%s*(.-)%s*$")
    if name then
      name = lower(name)
      local old = headers[name]
      if old == nil then
        headers[name] = value
      elseif type(old) == "table" then
        old[#old + 1] = value
      else
        headers[name] = { old, value }
      end
    end
  end
end

local function first(v)
  if type(v) == "table" then return v[1] end
  return v
end

local function connect(self, req, deadline)
  local left = deadline - now()
  if left <= 0 then return nil, transport_error(req, "timeout", "waiting", "timeout", false) end
  local sock = tcp()
  sock:settimeouts(ms(min(self.cfg.connect_timeout, left)), ms(left), ms(left))
  local ok, err = sock:connect(self.host, self.port, { pool = self.pool })
  if not ok then return nil, transport_error(req, "connect", "connecting", err, false) end
  if self.tls and sock:getreusedtimes() == 0 then
    -- pcall (LuaJIT yields across it): with Debian's lua-resty-core
    -- 0.1.25 and lua-nginx-module 0.10.23, a refused certificate can
    -- surface as a failed assert() inside sslhandshake, not as nil, err.
    -- (Passing false instead of nil avoids the assert but then sometimes
    -- reports such a refused handshake as a success: never do that.)
    local called
    called, ok, err = pcall(sock.sslhandshake, sock, nil, self.host, not self.cfg.insecure)
    if not called then ok, err = nil, "handshake failed: " .. tostring(ok) end
    if not ok then
      sock:close()
      return nil, transport_error(req, "tls", "TLS handshake", err, false)
    end
  end
  return sock
end

local function request_text(self, req)
  local target = req.url:match("^https?://[^/]+(.*)$")
  if target == "" then target = "/" end
  local lines = {
    req.method .. " " .. target .. " HTTP/1.1",
    "Host: " .. self.authority,
    "User-Agent: accelerate/" .. core.VERSION .. " (ngx)",
    "Accept: application/json",
  }
  for name, value in pairs(req.headers) do lines[#lines + 1] = name .. ": " .. value end
  local body = req.body or ""
  if req.method == "POST" then lines[#lines + 1] = "Content-Length: " .. #body end
  lines[#lines + 1] = ""
  lines[#lines + 1] = body
  return concat(lines, "\r\n")
end

-- The body by the framing the headers announce; nil, err on failure.
local function read_body(rd, status, headers, max)
  local te, cl = first(headers["transfer-encoding"]), tonumber(first(headers["content-length"]))
  if status == 204 or status == 304 or (status >= 100 and status < 200) then return "" end
  if type(te) == "string" and find(lower(te), "chunked", 1, true) then return read_chunked(rd, max) end
  if cl then
    if cl > max then return nil, "too big" end
    if cl == 0 then return "" end
    return rd.bytes(cl)
  end
  local data, err = rd.rest(max)
  if not data then return nil, err end
  return data, "close"
end

-- One HTTP/1.1 exchange within the deadline.  Returns status, headers
-- (lower-case names; a repeated header is an array), body; or nil and an
-- error object.
local function exchange(self, req, deadline)
  local sock, err = connect(self, req, deadline)
  if not sock then return nil, err end
  local sent
  sent, err = sock:send(request_text(self, req))
  if not sent then
    sock:close()
    return nil, transport_error(req, "send", "sending", err, true)
  end
  local rd = reader(sock, deadline)
  local line
  line, err = rd.line()
  if not line then
    sock:close()
    return nil, transport_error(req, "receive", "reading the status line", err, true)
  end
  local version, status = line:match("^HTTP/(%d%.%d) (%d%d%d)")
  status = tonumber(status)
  if not status then
    sock:close()
    return nil, transport_error(req, "receive", "reading the status line", "not an HTTP answer", true)
  end
  local headers
  headers, err = read_headers(rd)
  if not headers then
    sock:close()
    return nil, transport_error(req, "receive", "reading headers", err, true, true)
  end
  local max = self.cfg.max_body
  local data, how = read_body(rd, status, headers, max)
  if not data then
    sock:close()
    if how == "too big" then return nil, too_big(req, status, headers, max) end
    return nil, transport_error(req, "receive", "reading the body", how, true, true)
  end
  local conn = first(headers["connection"])
  if version == "1.1" and how ~= "close" and not (type(conn) == "string" and find(lower(conn), "close", 1, true)) then
    sock:setkeepalive(self.keepalive_ms, self.pool_size)
  else
    sock:close()
  end
  return status, headers, data
end

-- The transport interface (accelerate.client) ---------------------------------

-- store: a list_instances answer is reduced into it by the core's reducer
-- (accelerate.store), as the blocking transport does.
function Transport:request(call, args, budget, store)
  local req, err = prepare(self.cfg, call, args)
  if not req then return nil, err end
  if budget <= 0 then
    return nil, new_error("timeout", ("%s: no time left of the call's %.3g s"):format(call, self.cfg.timeout),
      { failure = "no_time", sent = false, answered = false })
  end
  local status, headers, body = exchange(self, req, now() + budget)
  if not status then return nil, headers end
  local res
  if store ~= nil and call == "list_instances" then
    res, err = reduce(store, status, headers, body, self.cfg)
  else
    res, err = decode(call, status, headers, body, self.cfg)
  end
  if res ~= nil then return res end
  return nil, err, retry_after(headers["retry-after"])
end

function Transport:request_many(call, items, concurrency, budget)
  local next_index = 0
  local function worker()
    while true do
      next_index = next_index + 1
      local it = items[next_index]
      if not it then return end
      if not it.deadline then it.deadline = now() + budget end
      it.result, it.err, it.retry_after = self:request(call, it.args, it.deadline - now())
    end
  end
  local threads = {}
  for t = 1, min(concurrency, #items) do
    local th, err = spawn(worker)
    if not th then error("accelerate.ngx: cannot start a light thread: " .. tostring(err)) end
    threads[t] = th
  end
  for _, th in pairs(threads) do
    local ok, err = wait(th)
    if not ok then error(err, 0) end
  end
end

function Transport:check(call, args)
  local req, err = prepare(self.cfg, call, args)
  if not req then return nil, err end
  return true
end

-- Pooled connections belong to the worker, not to the client, so there is
-- nothing else to release; the auth value is dropped.
function Transport:close()
  self.is_closed = true
  self.cfg.auth_value = nil
end

function Transport:closed()
  return self.is_closed
end

-- Creates a client.  Options are accelerate.new's (validated by the same C
-- code, environment fallbacks included), plus keepalive_timeout (seconds)
-- and pool_size.  TLS verification in nginx uses lua_ssl_trusted_certificate:
-- ca_file cannot be applied per connection, so it is refused, not ignored;
-- so is any unknown key, as accelerate.new does.
local OPTIONS = util.key_set(core.config_keys(), { "keepalive_timeout", "pool_size" })

function _M.new(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("bad argument #1 to 'new' (table expected, got " .. type(opts) .. ")", 2)
  end
  opts = opts or {}
  local bad = util.unknown_option(opts, OPTIONS)
  if bad then return nil, util.new_error("invalid", bad) end
  local cfg, err = core.config(opts)
  if not cfg then return nil, err end
  if cfg.ca_file then
    return nil, new_error("invalid", "ca_file is not supported inside nginx: "
      .. "set lua_ssl_trusted_certificate in nginx.conf instead")
  end
  local scheme, host, port, authority = parse_url(cfg.url)
  if not scheme then return nil, new_error("invalid", "url: cannot read host and port") end
  local keepalive = opts.keepalive_timeout or DEFAULT_KEEPALIVE
  local pool_size = opts.pool_size or DEFAULT_POOL_SIZE
  if type(keepalive) ~= "number" or keepalive < 0 then
    return nil, new_error("invalid", "keepalive_timeout must be a number of seconds >= 0")
  end
  if type(pool_size) ~= "number" or pool_size < 1 or pool_size % 1 ~= 0 then
    return nil, new_error("invalid", "pool_size must be a positive integer")
  end
  local transport = setmetatable({
    cfg = cfg, tls = scheme == "https", host = host, port = port, authority = authority,
    pool = ("accelerate:%s:%s:%d"):format(scheme, host, port),
    keepalive_ms = floor(keepalive * 1000), pool_size = pool_size,
    is_closed = false,
  }, tmt)
  return client.new(transport, cfg, clock, "accelerate.ngx.client")
end

return _M
