-- bench/core-driver.lua — one contender of bench/core-vs-peers, run by
-- Lua 5.4 (the script names the interpreter).
--
--   lua5.4 bench/core-driver.lua CONTENDER calls N   N calls after the warm-up
--   lua5.4 bench/core-driver.lua CONTENDER seconds T as many as fit in T s
--
-- CONTENDER:
--   accelerate    client:task_detail(BENCH_ID), decode included
--   task_details  client:task_details(ids of BENCH_IDS_FILE, {concurrency = BENCH_CONCURRENCY or 16});
--                 counts ids, not batches
--   luasocket     socket.http.request over one reused connection (its documented
--                 `create` option hands it a kept-open socket; "Connection:
--                 keep-alive" replaces its "close"), body decoded by cjson
--   socket_http   socket.http.request as shipped: a new connection per call, cjson
--   luasocket_raw the least a Lua client can do over luasocket: a hand-written
--                 keep-alive HTTP/1.1 GET on one TCP connection, cjson
--   bare          bench/bare.c (a minimal libcurl binding: one reused easy
--                 handle, get(url) returning the body) + cjson.decode: the
--                 reference task_detail is held to, instruction for instruction
--   cjson_decode  no network: decodes the body in BENCH_BODY_FILE with a
--                 private cjson.safe instance set up as the C core sets up its
--                 own (what decoding alone costs the client per call)
--
-- Connection settings come from ACCELERATE_URL, ACCELERATE_TENANT_ID,
-- ACCELERATE_AUTH_TYPE, ACCELERATE_AUTH_VALUE.  Every contender sends the
-- headers the accelerate client sends.  Prints one line, "calls=N
-- seconds=S rps=R cpu_us=C" (C: this process's CPU time per call, from
-- os.clock), and fails loudly on any wrong answer.
local contender, mode, amount = arg[1], arg[2], tonumber(arg[3])
if not (contender and (mode == "calls" or mode == "seconds") and amount) then
  io.stderr:write("usage: lua5.4 bench/core-driver.lua CONTENDER calls N|seconds T\n")
  os.exit(2)
end

local WARMUP = 50
local env = function(k)
  return os.getenv(k) or error("core-driver: " .. k .. " is not set")
end
local url, id = env("ACCELERATE_URL"), os.getenv("BENCH_ID")
local path = "/anymetrics/api/v1/scheduler/task/detail?id=" .. tostring(id)

-- Runs one(), which returns how many calls it made, `warmup` times (default
-- WARMUP), then for `amount` calls or seconds; clock() is the contender's
-- own clock.
local function run(one, clock, warmup)
  for _ = 1, warmup or WARMUP do one() end
  local calls, c0, t0 = 0, os.clock(), clock()
  local t1 = t0
  if mode == "calls" then
    while calls < amount do calls = calls + one() end
    t1 = clock()
  else
    while t1 - t0 < amount do
      calls = calls + one()
      t1 = clock()
    end
  end
  local cpu = (os.clock() - c0) * 1e6 / calls
  print(string.format("calls=%d seconds=%.4f rps=%.1f cpu_us=%.2f", calls, t1 - t0, calls / (t1 - t0), cpu))
end

if contender == "cjson_decode" then
  local f = assert(io.open(env("BENCH_BODY_FILE"), "rb"))
  local body = f:read("a")
  f:close()
  local cj = require("cjson.safe").new()
  cj.decode_max_depth(100)
  cj.decode_invalid_numbers(false)
  local decode = cj.decode
  assert(type(decode(body)) == "table", "core-driver: the body is not a JSON object")
  run(function()
    local det = decode(body)
    if det == nil then error("core-driver: decode failed") end
    return 1
  end, os.clock)
  return
end

if contender == "bare" then
  local bare, cjson = require "bare", require "cjson"
  local get, decode, target = bare.get, cjson.decode, url .. path
  assert(decode(get(target)).taskInstanceId, "core-driver: bare: not a detail")
  run(function()
    local det = decode(get(target))
    if not det then error("core-driver: bare: nothing decoded") end
    return 1
  end, require("socket").gettime)
  return
end

if contender == "accelerate" or contender == "task_details" then
  local accelerate = require "accelerate"
  local client = assert(accelerate.new())
  if contender == "accelerate" then
    local task_detail = client.task_detail
    local first = assert(task_detail(client, id))
    assert(first.taskInstanceId == id and first.sql, "core-driver: not the detail asked for")
    run(function()
      local det, err = task_detail(client, id)
      if not det then error(tostring(err)) end
      return 1
    end, accelerate.now)
  else
    local ids = {}
    for line in io.lines(env("BENCH_IDS_FILE")) do ids[#ids + 1] = line end
    local opts = { concurrency = tonumber(os.getenv("BENCH_CONCURRENCY")) or 16 }
    local n = #ids
    local first, errs = client:task_details(ids, opts)
    assert(not errs and first[ids[n]].taskInstanceId == ids[n], "core-driver: task_details failed")
    run(function() -- the batch above was the warm-up
      local det, err = client:task_details(ids, opts)
      if err then error(tostring(select(2, next(err)))) end
      if not det then error("core-driver: task_details returned nothing") end
      return n
    end, accelerate.now, 0)
  end
  client:close()
  return
end

local socket = require "socket"
local cjson = require "cjson"
local decode = cjson.decode
local hostport = assert(url:match("^http://([^/]+)"), "core-driver: http:// urls only")
local headers = {
  ["tenant-id"] = env("ACCELERATE_TENANT_ID"),
  ["auth-type"] = env("ACCELERATE_AUTH_TYPE"),
  ["auth-value"] = env("ACCELERATE_AUTH_VALUE"),
  ["Content-Type"] = "application/json",
}
local function check(det)
  if det.taskInstanceId == nil or det.sql == nil then error("core-driver: not a detail") end
end

local function connect()
  local host, port = hostport:match("^(.-):(%d+)$")
  local sock = assert(socket.tcp())
  assert(sock:connect(host, tonumber(port)))
  sock:setoption("tcp-nodelay", true)
  sock:settimeout(10)
  return sock
end

if contender == "luasocket_raw" then
  local sock = connect()
  local req = { "GET " .. path .. " HTTP/1.1", "Host: " .. hostport }
  for k, v in pairs(headers) do req[#req + 1] = k .. ": " .. v end
  req = table.concat(req, "\r\n") .. "\r\n\r\n"
  local concat, tonumber_, lower, find = table.concat, tonumber, string.lower, string.find

  local function line()
    local l, err = sock:receive("*l")
    if not l then error("core-driver: luasocket: " .. err) end
    return l
  end
  local function get()
    assert(sock:send(req))
    local status = line():match("^HTTP/1%.%d (%d%d%d)")
    if status ~= "200" then error("core-driver: luasocket: HTTP " .. tostring(status)) end
    local len, chunked
    while true do
      local h = line()
      if h == "" then break end
      local k, v = h:match("^([^:]+):%s*(.-)%s*$")
      k = lower(k)
      if k == "content-length" then len = tonumber_(v)
      elseif k == "transfer-encoding" and find(lower(v), "chunked", 1, true) then chunked = true end
    end
    local body
    if chunked then
      local parts, n = {}, 0
      while true do
        local size = tonumber_(line():match("^%x+"), 16)
        if size == 0 then
          repeat until line() == "" -- trailers
          break
        end
        n = n + 1
        parts[n] = assert(sock:receive(size))
        line()
      end
      body = concat(parts)
    else
      body = assert(sock:receive(len))
    end
    local det = decode(body)
    check(det)
    return 1
  end
  run(get, socket.gettime)
  sock:close()
elseif contender == "socket_http" or contender == "luasocket" then
  local http, ltn12 = require "socket.http", require "ltn12"
  local target, create = url .. path, nil
  if contender == "luasocket" then
    local sock = connect()
    -- socket.http connects, sets the timeout and closes per request: on the
    -- kept-open socket those are no-ops; reading and writing go through.
    local conn = {
      connect = function() return 1 end,
      settimeout = function() return 1 end,
      close = function() return 1 end,
      send = function(_, ...) return sock:send(...) end,
      receive = function(_, ...) return sock:receive(...) end,
      getfd = function() return sock:getfd() end,
      dirty = function() return sock:dirty() end,
    }
    create = function() return conn end
    headers.connection = "keep-alive"
  end
  run(function()
    local t = {}
    local ok, status = http.request { url = target, headers = headers, create = create,
                                      sink = ltn12.sink.table(t) }
    if not ok or status ~= 200 then error("core-driver: socket.http: " .. tostring(status)) end
    check(decode(table.concat(t)))
    return 1
  end, socket.gettime)
else
  io.stderr:write("core-driver: unknown contender " .. contender .. "\n")
  os.exit(2)
end
