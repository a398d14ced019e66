-- The notify sender inside nginx (accelerate.notify): each POST runs in
-- its own zero-delay ngx.timer on a cosocket (HTTP/1.1, Connection:
-- close; TLS through sslhandshake, the certificate checked against
-- lua_ssl_trusted_certificate), so the campaign's timer never waits on
-- it.  Same interface as the C core's notifier:
--
--   local s = require("accelerate.notify.ngx").new()
--   local id, err = s:post(url, body, timeout)
--   local done = s:pump(wait)  -- {{id, ok, status, error}}; naps with ngx.sleep
--   s:pending()  s:close()     -- close: what ends later is ignored

-- only ever loaded inside nginx (notify.default_sender)
local ngx = rawget(_G, "ngx")

local type = type
local pcall = pcall
local tostring = tostring
local tonumber = tonumber
local setmetatable = setmetatable
local str_match = string.match
local str_lower = string.lower
local tbl_concat = table.concat

local _M = {}

local S = {}
S.__index = S

-- {tls, host, port, target, authority} of an http(s) URL, or nil.
local function parse(url)
  local scheme, authority, target = str_match(url, "^(https?)://([^/?#]+)(.*)$")
  if not scheme then return nil end
  local host, port = str_match(authority, "^%[([^%]]+)%]:?(%d*)$")
  if not host then host, port = str_match(authority, "^([^:]+):?(%d*)$") end
  if not host then return nil end
  local tls = str_lower(scheme) == "https"
  port = tonumber(port) or (tls and 443 or 80)
  if target == "" or target:sub(1, 1) ~= "/" then target = "/" .. target end
  return { tls = tls, host = host, port = port, target = (target:gsub("#.*$", "")), authority = authority }
end

-- One POST; returns ok, status, error text.
local function send(u, body, timeout)
  local ms = timeout * 1000
  local sock = ngx.socket.tcp()
  sock:settimeouts(ms, ms, ms)
  local ok, err = sock:connect(u.host, u.port)
  if not ok then return false, 0, "connect: " .. tostring(err) end
  if u.tls then
    -- pcall: a refused certificate may surface as a raised assert (see
    -- accelerate.ngx's connect)
    local called
    called, ok, err = pcall(sock.sslhandshake, sock, nil, u.host, true)
    if not called or not ok then
      sock:close()
      return false, 0, "TLS handshake: " .. tostring(called and err or ok)
    end
  end
  local head = tbl_concat({
    "POST " .. u.target .. " HTTP/1.1", "Host: " .. u.authority, "Content-Type: application/json",
    "Content-Length: " .. #body, "Connection: close", "User-Agent: accelerate-notify", "", "" }, "\r\n")
  ok, err = sock:send(head .. body)
  if not ok then
    sock:close()
    return false, 0, "send: " .. tostring(err)
  end
  local line
  line, err = sock:receive("*l")
  sock:close()
  if not line then return false, 0, "receive: " .. tostring(err) end
  local status = tonumber(str_match(line, "^HTTP/%d%.?%d? (%d%d%d)"))
  if not status then return false, 0, "not an HTTP answer" end
  if status < 200 or status > 299 then return false, status, "HTTP " .. status end
  return true, status
end

local function deliver(premature, self, id, u, body, timeout)
  local ok, status, err
  if premature then
    ok, status, err = false, 0, "nginx is exiting"
  else
    local called
    called, ok, status, err = pcall(send, u, body, timeout)
    if not called then ok, status, err = false, 0, tostring(ok) end
  end
  if self.closed then return end
  self.count = self.count - 1
  self.done[#self.done + 1] = { id = id, ok = ok, status = status, error = err }
end

function _M.new()
  return setmetatable({ done = {}, count = 0, next_id = 0 }, S)
end

function S:post(url, body, timeout)
  if self.closed then return nil, "the notifier is closed" end
  local u = type(url) == "string" and parse(url)
  if not u then return nil, "not an http(s) URL" end
  self.next_id = self.next_id + 1
  local id = self.next_id
  local ok, err = ngx.timer.at(0, deliver, self, id, u, body, timeout)
  if not ok then return nil, "cannot start a timer: " .. tostring(err) end
  self.count = self.count + 1
  return id
end

-- Naps (ngx.sleep, in slices) until one POST ended or `wait` passed.
function S:pump(wait)
  local left = wait or 0
  while #self.done == 0 and left > 0 and self.count > 0 do
    local nap = left < 0.05 and left or 0.05
    ngx.sleep(nap)
    left = left - nap
  end
  if #self.done == 0 and left > 0 then ngx.sleep(left) end
  local done = self.done
  self.done = {}
  return done
end

function S:pending()
  return self.count
end

function S:close()
  self.closed = true
  self.done = {}
end

_M.parse = parse

return _M
