-- Fault injection: per route, answer the next N requests (or a share of
-- them) with a chosen failure instead of, or before, the real answer.
-- Faults live in the shared dict; each worker re-reads the list only when
-- its version changes, and consumes a fault's budget with an atomic incr.
local cjson = require "cjson.safe"
local http = require "accelerate_sim.http"
local state = require "accelerate_sim.state"

local ngx = ngx
local dict = state.dict
local random, rep, format = math.random, string.rep, string.format

local _M = {}

local KINDS = {
    status = true, html = true, malformed = true, truncated = true, empty = true, drop = true,
    delay = true, ratelimit = true, huge = true, nested = true, body = true, trickle = true, paging = true,
}
local KIND_NAMES = "status, html, malformed, truncated, empty, drop, delay, ratelimit, huge, nested, body, "
    .. "trickle, paging"
local ROUTES = { create = true, list = true, detail = true, plans = true, plan = true, notify = true, ["*"] = true }
-- The routes that page their answer: where a "paging" fault applies.
local PAGED = { list = true, plans = true }
-- Framing is the fault kind's business (truncated, huge, trickle), not a
-- header's: nginx would contradict or repeat these.
local FRAMING = { ["content-length"] = true, ["transfer-encoding"] = true, connection = true }

local cached_ver, cached = nil, {}

local function opt_number(f, key, lo, hi)
    local v = f[key]
    if v == nil then return nil end
    if type(v) ~= "number" or v ~= v or v < lo or (hi and v > hi) then
        error(format("%s must be a number between %s and %s", key, lo, hi or "infinity"), 0)
    end
    return v
end

local function opt_integer(f, key, lo, hi)
    local v = opt_number(f, key, lo, hi)
    if v and v % 1 ~= 0 then error(key .. " must be a whole number", 0) end
    return v
end

local function header_value(name, v)
    if type(v) ~= "string" or v:find("[%z\r\n]") then
        error("headers." .. name .. " must be a string (or an array of strings) without CR, LF or NUL", 0)
    end
    return v
end

-- {name: "value" | ["value", ...]}: an array sends the header once per element.
local function check_headers(h)
    if h == nil then return nil end
    if type(h) ~= "table" then error("headers must be a JSON object: name -> string or array of strings", 0) end
    local out, any = {}, false
    for name, v in pairs(h) do
        if type(name) ~= "string" or not name:match("^[%w!#$%%&'*+.^_`|~-]+$") then
            error("headers: " .. tostring(name) .. " is not a header name", 0)
        end
        if FRAMING[name:lower()] then
            error("headers: " .. name .. " cannot be set; the fault kind decides how the body is framed", 0)
        end
        if type(v) == "table" then
            local n = 0
            for _ in pairs(v) do n = n + 1 end
            if n == 0 or n ~= #v then error("headers." .. name .. " must be a string or a non-empty array", 0) end
            for i = 1, n do header_value(name, v[i]) end
        else
            header_value(name, v)
        end
        out[name] = v
        any = true
    end
    return any and out or nil
end

-- Checks a fault description from the admin API; returns the stored form.
local function check(f)
    if type(f) ~= "table" then error("a fault must be a JSON object", 0) end
    if not ROUTES[f.route] then error("route must be create, list, detail, plans, plan, notify or *", 0) end
    if not KINDS[f.kind] then error("kind must be one of " .. KIND_NAMES, 0) end
    local out = {
        route = f.route, kind = f.kind,
        times = opt_number(f, "times", -1) or 1,
        probability = opt_number(f, "probability", 0, 1),
        status = opt_number(f, "status", 100, 599),
        delay = opt_number(f, "delay", 0, 3600) or 0,
        retry_after = opt_number(f, "retry_after", 0, 86400),
        size = opt_number(f, "size", 0, 2 ^ 31) or 64 * 1024 * 1024,
        depth = opt_number(f, "depth", 1, 10000000) or 100000,
        after = f.after == "respond" and "respond" or nil,
        headers = check_headers(f.headers),
        chunks = opt_integer(f, "chunks", 1, 100000) or 8,
        interval = opt_number(f, "interval", 0, 3600) or 1,
        page = opt_integer(f, "page", 1, 1000000000),
        total = opt_integer(f, "total", 0, 2 ^ 53),
        shift = opt_integer(f, "shift", 1, 1000000000),
    }
    if out.kind == "paging" then
        if not out.page and not out.total and not out.shift then
            error("kind paging needs page, total or shift (or several)", 0)
        end
        if not PAGED[out.route] and out.route ~= "*" then
            error("kind paging applies to the paged routes list and plans (or *), not " .. out.route, 0)
        end
    end
    if out.times == 0 or (out.times > 0 and out.times % 1 ~= 0) then
        error("times must be -1 or a positive integer", 0)
    end
    if f.body ~= nil and type(f.body) ~= "string" then error("body must be a string", 0) end
    if f.content_type ~= nil and type(f.content_type) ~= "string" then error("content_type must be a string", 0) end
    out.body, out.content_type = f.body, f.content_type
    if out.kind == "body" and not out.body then error("kind body needs a body", 0) end
    return out
end

function _M.add(f)
    local fault = check(f)
    fault.id = dict:incr("fault_seq", 1, 0)
    local list = cjson.decode(dict:get("faults") or "[]")
    list[#list + 1] = fault
    if fault.times > 0 then dict:set("fault_left:" .. fault.id, fault.times) end
    dict:set("faults", cjson.encode(list))
    dict:incr("faults_ver", 1, 0)
    return fault.id
end

function _M.list()
    return dict:get("faults") or "[]"
end

function _M.clear()
    local list = cjson.decode(dict:get("faults") or "[]")
    for _, f in ipairs(list) do dict:delete("fault_left:" .. f.id) end
    dict:delete("faults")
    dict:incr("faults_ver", 1, 0)
end

-- The fault to apply to this request of `route`, if any.
function _M.take(route)
    local ver = dict:get("faults_ver")
    if not ver then return nil end
    if ver ~= cached_ver then
        cached = cjson.decode(dict:get("faults") or "[]") or {}
        cached_ver = ver
    end
    for _, f in ipairs(cached) do
        -- "*": the API's routes, not the notify receiver (/__sim/notify)
        if (f.route == route or (f.route == "*" and route ~= "notify")) and (f.kind ~= "paging" or PAGED[route])
            and (not f.probability or random() < f.probability) then
            if f.times < 0 then return f end
            local left = dict:incr("fault_left:" .. f.id, -1)
            if left and left >= 0 then return f end
        end
    end
    return nil
end

local HTML = [[<html>
<head><title>%d %s</title></head>
<body>
<center><h1>%d %s</h1></center>
<hr><center>gateway</center>
</body>
</html>
]]

-- The header lines of a fault's `headers`, in name order: one line per
-- value of an array.  `skip` receives the lower-cased names given.
local function header_lines(headers, skip)
    local names, lines = {}, {}
    for name in pairs(headers or {}) do names[#names + 1] = name end
    table.sort(names)
    for _, name in ipairs(names) do
        local v = headers[name]
        if skip then skip[name:lower()] = true end
        if type(v) ~= "table" then v = { v } end
        for _, one in ipairs(v) do lines[#lines + 1] = name .. ": " .. one .. "\r\n" end
    end
    return table.concat(lines)
end

-- The partial body of kind "truncated": the start of a list answer, cut
-- inside an instance id.  The answer declares three times its length.
local TRUNCATED_BODY = '{"dagName":"80d3a5a9-027d-4c82-97e2-9e9ac9da873a","pageIndex":1,"pageSize":20,'
    .. '"total":3,"instances":[{"id":"1287'

-- Writes a response by hand on the raw socket and closes it, so that the
-- declared Content-Length is longer than what arrives.
local function truncated(status, trace, headers)
    local given = {}
    local extra = header_lines(headers, given)
    local head = { format("HTTP/1.1 %d %s\r\n", status, http.reason(status)) }
    if not given["content-type"] then head[#head + 1] = "Content-Type: application/json;charset=UTF-8\r\n" end
    head[#head + 1] = format("Content-Length: %d\r\n", #TRUNCATED_BODY * 3)
    if not given["x-trace-id"] then head[#head + 1] = "X-Trace-Id: " .. trace .. "\r\n" end
    local sock = ngx.req.socket(true)
    if sock then sock:send(table.concat(head) .. extra .. "\r\n" .. TRUNCATED_BODY) end
    return ngx.exit(444)
end

local function huge(status, size, trace)
    ngx.status = status
    ngx.header["Content-Type"] = "application/json;charset=UTF-8"
    ngx.header["Content-Length"] = size + 11
    ngx.header["X-Trace-Id"] = trace
    http.fault_headers()
    ngx.print('{"data":"')
    local chunk = rep("x", 65536)
    local left = size
    while left > 0 do
        local n = left < #chunk and left or #chunk
        local ok = ngx.print(n == #chunk and chunk or chunk:sub(1, n))
        if not ok then return ngx.exit(444) end
        ngx.flush(true)
        left = left - n
    end
    ngx.print('"}')
    return ngx.exit(ngx.OK)
end

-- Applies a fault.  Returns true when the request goes on to the real
-- handler (delay, trickle, paging, or a drop after the answer is computed);
-- what the real answer must do differently is left in ngx.ctx for
-- http.send_raw and the paged routes.
function _M.apply(f)
    local trace = http.trace_id()
    local kind = f.kind
    ngx.ctx.fault_headers = f.headers
    if f.delay > 0 then ngx.sleep(f.delay) end
    if kind == "delay" then return true end
    if kind == "drop" then
        if f.after == "respond" then
            ngx.ctx.drop_answer = true
            return true
        end
        return ngx.exit(444)
    elseif kind == "trickle" then
        ngx.ctx.trickle = { chunks = f.chunks, interval = f.interval }
        return true
    elseif kind == "paging" then
        ngx.ctx.paging = { page = f.page, total = f.total, shift = f.shift }
        return true
    elseif kind == "status" then
        return http.fail(f.status or 500, f.status or 500, http.reason(f.status or 500), "injected by the simulator")
    elseif kind == "ratelimit" then
        ngx.header["Retry-After"] = tostring(f.retry_after or 1)
        return http.fail(429, 429, "Too many requests, retry later", nil)
    elseif kind == "html" then
        local st = f.status or 502
        return http.send_raw(st, format(HTML, st, http.reason(st), st, http.reason(st)), trace, "text/html")
    elseif kind == "malformed" then
        return http.send_raw(f.status or 200, '{"data": "e94bc831-f5f9, "success": tru', trace)
    elseif kind == "empty" then
        return http.send_raw(f.status or 200, "", trace)
    elseif kind == "truncated" then
        return truncated(f.status or 200, trace, f.headers)
    elseif kind == "huge" then
        return huge(f.status or 200, f.size, trace)
    elseif kind == "nested" then
        return http.send_raw(f.status or 200, rep("[", f.depth) .. rep("]", f.depth), trace)
    elseif kind == "body" then
        return http.send_raw(f.status or 200, f.body, trace, f.content_type)
    end
    return true
end

return _M
