-- accelerate.ngx: the backfill client for nginx's Lua module (OpenResty),
-- with the methods of accelerate.new, whose I/O never blocks the worker.
--
-- A libcurl call inside a request handler stops the whole nginx worker until
-- it returns.  Here the C core only prepares requests and decodes answers
-- (accelerate.prepare / accelerate.decode: every rule lives there once), and
-- the I/O goes through cosockets, which yield to nginx's event loop.  The
-- exchange is driven from Lua because a yield cannot cross a C call.
--
--   local acc = require "accelerate.ngx"
--   local client, err = acc.new { url = ..., tenant_id = ..., auth_type = ..., auth_value = ... }
--
-- Needs only lua_package_path and lua_package_cpath in nginx.conf.  Works in
-- every phase where cosockets do (rewrite, access, content, timers, light
-- threads); not in init_by_lua, set_by_lua, header/body filters or log.
local accelerate = require "accelerate"

local ngx = ngx
local tcp = ngx.socket.tcp
local spawn, wait = ngx.thread.spawn, ngx.thread.wait
local sleep, now, update_time = ngx.sleep, ngx.now, ngx.update_time
local type, tostring, pairs, ipairs, setmetatable, error = type, tostring, pairs, ipairs, setmetatable, error
local concat, floor, min = table.concat, math.floor, math.min
local lower, char = string.lower, string.char
local getmetatable = getmetatable

local prepare, decode, new_error, retry_delay =
    accelerate.prepare, accelerate.decode, accelerate.error, accelerate.retry_delay

local _M = {
    VERSION = accelerate.VERSION,
    _DESCRIPTION = "AnyMetrics backfill API client over nginx cosockets",
}

local DEFAULT_KEEPALIVE = 60      -- seconds an idle pooled connection is kept
local DEFAULT_POOL_SIZE = 16      -- idle connections kept per worker and server
local DEFAULT_ITER_PAGE = 100     -- page size of client:instances, as the C client
local DEFAULT_CONCURRENCY = 8
local MAX_CONCURRENCY = 64
local CHUNK = 65536

local Client = {}
local mt = { __index = Client }

mt.__tostring = function(self)
    -- Never the auth value.
    return ("accelerate.ngx.client{url=%s, tenant_id=%s, auth_type=%s}"):format(
        self.cfg.url, self.cfg.tenant_id, self.cfg.auth_type)
end

local function parse_url(url)
    local scheme, authority = url:match("^(https?)://([^/]+)")
    if not scheme then return nil end
    local host, port = authority:match("^%[([^%]]+)%]:?(%d*)$")
    if not host then host, port = authority:match("^([^:]+):?(%d*)$") end
    if not host then return nil end
    port = tonumber(port) or (scheme == "https" and 443 or 80)
    return scheme, host, port, authority
end

-- Creates a client.  Options are accelerate.new's (validated by the same C
-- code, environment fallbacks included), plus keepalive_timeout (seconds)
-- and pool_size.  TLS verification in nginx uses lua_ssl_trusted_certificate:
-- ca_file cannot be applied per connection, so it is refused, not ignored.
function _M.new(opts)
    if opts ~= nil and type(opts) ~= "table" then
        error("bad argument #1 to 'new' (table expected, got " .. type(opts) .. ")", 2)
    end
    opts = opts or {}
    local cfg, err = accelerate.config(opts)
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
    return setmetatable({
        cfg = cfg, tls = scheme == "https", host = host, port = port, authority = authority,
        pool = ("accelerate:%s:%s:%d"):format(scheme, host, port),
        keepalive_ms = floor(keepalive * 1000), pool_size = pool_size,
        closed = false,
    }, mt)
end

local function check_open(self)
    if getmetatable(self) ~= mt then error("bad self: accelerate.ngx client expected", 3) end
    if self.closed then error("accelerate: attempt to use a closed client", 3) end
end

local function ms(seconds)
    local v = floor(seconds * 1000)
    return v > 0 and v or 1
end

-- Failure of the exchange itself.  A create whose request may have reached
-- the server is never marked retryable: the backfill may exist.
local function transport_error(req, stage, err, sent)
    local what = req.call
    local timeout = err == "timeout"
    if req.method == "POST" and sent then
        -- kind timeout when the deadline passed, as the C client says it
        return new_error(timeout and "timeout" or "network",
            ("%s: %s after the request was sent; the backfill may have been created: "
            .. "check on the platform before creating it again"):format(what, timeout and "timed out" or err),
            { retryable = false, outcome_unknown = true })
    end
    local kind = timeout and "timeout" or "network"
    return new_error(kind, ("%s: %s while %s"):format(what, tostring(err), stage),
        { retryable = req.idempotent or not sent, outcome_unknown = req.method == "POST" and false or nil })
end

-- An answer did arrive: its status and trace id are kept, as the C client does.
local function too_big(req, status, headers, max)
    local trace = headers["x-trace-id"]
    if type(trace) == "table" then trace = trace[1] end
    local msg = ("%s: the answer is larger than max_body (%d bytes)"):format(req.call, max)
    if req.method == "POST" and (status < 400 or status >= 500) then
        -- an answer we cannot read (unless a 4xx refusal) does not rule out
        -- that the create happened
        return new_error("decode", msg .. "; the backfill may have been created: check on the platform "
            .. "before creating it again", { status = status, trace_id = trace, retryable = false,
            outcome_unknown = true })
    end
    return new_error("decode", msg, { status = status, trace_id = trace })
end

local function read_chunked(sock, max)
    local parts, size = {}, 0
    while true do
        local line, err = sock:receive("*l")
        if not line then return nil, err end
        local n = tonumber(line:match("^%s*(%x+)"), 16)
        if not n then return nil, "bad chunk size" end
        if n == 0 then
            -- trailers, then the empty line
            repeat
                line, err = sock:receive("*l")
                if not line then return nil, err end
            until line == ""
            return concat(parts)
        end
        size = size + n
        if size > max then return nil, "too big" end
        local data
        data, err = sock:receive(n)
        if not data then return nil, err end
        parts[#parts + 1] = data
        data, err = sock:receive(2)
        if data ~= "\r\n" then return nil, err or "bad chunk end" end
    end
end

local function read_to_close(sock, max)
    local parts, size = {}, 0
    while true do
        local data, err = sock:receiveany(CHUNK)
        if not data then
            if err == "closed" then return concat(parts) end
            return nil, err
        end
        size = size + #data
        if size > max then return nil, "too big" end
        parts[#parts + 1] = data
    end
end

-- One HTTP/1.1 exchange within the deadline.  Returns status, headers
-- (lower-case names), body; or nil and an error object.
local function exchange(self, req, deadline)
    update_time()
    local left = deadline - now()
    if left <= 0 then return nil, transport_error(req, "waiting", "timeout", false) end
    local sock = tcp()
    sock:settimeouts(ms(min(self.cfg.connect_timeout, left)), ms(left), ms(left))
    local ok, err = sock:connect(self.host, self.port, { pool = self.pool })
    if not ok then return nil, transport_error(req, "connecting", err, false) end
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
            local e = transport_error(req, "TLS handshake", err, false)
            e.retryable = false
            return nil, e
        end
    end

    local target = req.url:match("^https?://[^/]+(.*)$")
    if target == "" then target = "/" end
    local lines = {
        req.method .. " " .. target .. " HTTP/1.1",
        "Host: " .. self.authority,
        "User-Agent: accelerate/" .. accelerate.VERSION .. " (ngx)",
        "Accept: application/json",
    }
    for name, value in pairs(req.headers) do lines[#lines + 1] = name .. ": " .. value end
    local body = req.body or ""
    if req.method == "POST" then lines[#lines + 1] = "Content-Length: " .. #body end
    lines[#lines + 1] = ""
    lines[#lines + 1] = body
    local sent
    sent, err = sock:send(concat(lines, "\r\n"))
    if not sent then
        sock:close()
        return nil, transport_error(req, "sending", err, true)
    end

    local line
    line, err = sock:receive("*l")
    if not line then
        sock:close()
        return nil, transport_error(req, "reading the status line", err, true)
    end
    local version, status = line:match("^HTTP/(%d%.%d) (%d%d%d)")
    status = tonumber(status)
    if not status then
        sock:close()
        return nil, transport_error(req, "reading the status line", "not an HTTP answer", true)
    end
    local headers = {}
    while true do
        line, err = sock:receive("*l")
        if not line then
            sock:close()
            return nil, transport_error(req, "reading headers", err, true)
        end
        if line == "" then break end
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

    local max = self.cfg.max_body
    local keep = version == "1.1"
    local conn = headers["connection"]
    if type(conn) == "string" and lower(conn):find("close", 1, true) then keep = false end
    local te, cl = headers["transfer-encoding"], tonumber(headers["content-length"])
    local data
    if status == 204 or status == 304 or (status >= 100 and status < 200) then
        data = ""
    elseif type(te) == "string" and lower(te):find("chunked", 1, true) then
        data, err = read_chunked(sock, max)
    elseif cl then
        if cl > max then
            sock:close()
            return nil, too_big(req, status, headers, max)
        end
        data, err = cl > 0 and sock:receive(cl) or "", nil
    else
        keep = false
        data, err = read_to_close(sock, max)
    end
    if not data then
        sock:close()
        if err == "too big" then return nil, too_big(req, status, headers, max) end
        return nil, transport_error(req, "reading the body", err, true)
    end
    if keep then
        sock:setkeepalive(self.keepalive_ms, self.pool_size)
    else
        sock:close()
    end
    return status, headers, data
end

-- prepare -> exchange -> decode, with the core's retry policy for GETs:
-- only when the error is retryable, attempts remain, and the wait still fits
-- in the call's timeout.
local function call(self, name, args)
    local req, err = prepare(self.cfg, name, args)
    if not req then return nil, err end
    update_time()
    local deadline = now() + self.cfg.timeout
    local attempt = 0
    while true do
        local status, headers, body = exchange(self, req, deadline)
        local res
        if status then
            res, err = decode(name, status, headers, body, self.cfg)
            if res ~= nil then return res end
        else
            err, headers = headers, nil
        end
        attempt = attempt + 1
        if not (req.idempotent and err.retryable and attempt <= self.cfg.retries) then return nil, err end
        local delay = retry_delay(attempt, headers and headers["retry-after"])
        update_time()
        if now() + delay >= deadline then return nil, err end
        sleep(delay)
    end
end

function Client:create_task(params)
    check_open(self)
    return call(self, "create_task", params)
end

function Client:list_instances(args)
    check_open(self)
    return call(self, "list_instances", args)
end

function Client:task_detail(id)
    check_open(self)
    return call(self, "task_detail", id)
end

-- Every instance of a backfill, page by page, lazily.  Raises the error
-- object on failure (arguments are checked here, before the loop).
function Client:instances(dag, opts)
    check_open(self)
    if type(dag) ~= "string" then error("bad argument #1 to 'instances' (string expected)", 2) end
    if opts ~= nil and type(opts) ~= "table" then error("bad argument #2 to 'instances' (table expected)", 2) end
    local args = { dagName = dag, pageIndex = 1, pageSize = opts and opts.pageSize or DEFAULT_ITER_PAGE }
    local _, err = prepare(self.cfg, "list_instances", args)
    if err then error(err, 2) end
    local page, i, seen, total, done, fetched = nil, 0, 0, 0, false, false
    return function()
        while true do
            if page and i < #page then
                i = i + 1
                return page[i]
            end
            if done then return nil end
            if fetched then
                local n = page and #page or 0
                if n == 0 or (total > 0 and seen >= total) or (total <= 0 and n < args.pageSize) then
                    done = true
                    return nil
                end
                args.pageIndex = args.pageIndex + 1
            end
            check_open(self)
            local res, cerr = call(self, "list_instances", args)
            if not res then
                done = true
                error(cerr, 2)
            end
            total = tonumber(res.total) or 0
            page, i, fetched = res.instances or {}, 0, true
            seen = seen + #page
        end
    end
end

-- The id string an id stands for on the wire, or nil and the error.
local function id_key(self, id)
    local req, err = prepare(self.cfg, "task_detail", id)
    if not req then return nil, err end
    local key = req.query:match("^id=(.*)$")
    return (key:gsub("%%(%x%x)", function(h) return char(tonumber(h, 16)) end))
end

-- Many details at once through light threads (concurrency 1-64, default 8),
-- keyed by id string; errors is nil when every id succeeded.
function Client:task_details(ids, opts)
    check_open(self)
    if type(ids) ~= "table" then error("bad argument #1 to 'task_details' (table expected)", 2) end
    if opts ~= nil and type(opts) ~= "table" then error("bad argument #2 to 'task_details' (table expected)", 2) end
    local concurrency = opts and opts.concurrency or DEFAULT_CONCURRENCY
    if type(concurrency) ~= "number" or concurrency % 1 ~= 0 or concurrency < 1 or concurrency > MAX_CONCURRENCY then
        return nil, new_error("invalid", "concurrency must be an integer from 1 to " .. MAX_CONCURRENCY)
    end
    local details, errors, queue, seen = {}, {}, {}, {}
    local failed = false
    for _, id in ipairs(ids) do
        local key, err = id_key(self, id)
        if not key then
            errors[tostring(id)] = err
            failed = true
        elseif not seen[key] then
            seen[key] = true
            queue[#queue + 1] = key
        end
    end
    local next_index = 0
    local function worker()
        while true do
            next_index = next_index + 1
            local key = queue[next_index]
            if not key then return end
            local res, err = call(self, "task_detail", key)
            if res then
                details[key] = res
            else
                errors[key] = err
                failed = true
            end
        end
    end
    local threads = {}
    for t = 1, min(concurrency, #queue) do
        local th, err = spawn(worker)
        if not th then error("accelerate.ngx: cannot start a light thread: " .. tostring(err)) end
        threads[t] = th
    end
    for _, th in ipairs(threads) do
        local ok, err = wait(th)
        if not ok then error(err, 0) end
    end
    return details, failed and errors or nil
end

-- Idempotent.  Pooled connections belong to the worker, not to the client,
-- so there is nothing else to release; the auth value is dropped.
function Client:close()
    if getmetatable(self) ~= mt then error("bad self: accelerate.ngx client expected", 2) end
    self.closed = true
    self.cfg.auth_value = nil
end

return _M
