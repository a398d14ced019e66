-- Answers: JSON, the envelope, trace ids.  Every answer carries X-Trace-Id;
-- envelopes carry traceId too, in the documented format
-- (32 hex digits, a 3-digit node, a 17-digit timestamp-sequence).
local cjson = require "cjson.safe"

local ngx = ngx
local format, floor, random = string.format, math.floor, math.random
local null = cjson.null

local _M = {}

local counter = 0

function _M.trace_id()
    counter = counter + 1
    local t = floor(ngx.now() * 1000)
    return format("%08x%08x%08x%08x.%03d.%013d%04d",
        random(0, 0x7fffffff), ngx.worker.pid(), counter % 0x7fffffff, random(0, 0x7fffffff),
        ngx.worker.pid() % 1000, t, counter % 10000)
end

-- A fault's own headers (its "headers" option), set last so that they
-- replace the answer's defaults of the same name.  A table value sends the
-- header once per element.
function _M.fault_headers()
    local h = ngx.ctx.fault_headers
    if not h then return end
    for name, v in pairs(h) do ngx.header[name] = v end
end

-- A "trickle" fault: the status line and headers at once, then the body as
-- `chunks` chunks (Transfer-Encoding: chunked), one every `interval`
-- seconds, the first after one interval; the pieces differ in length by
-- at most one byte.  A body shorter than `chunks` bytes goes in one-byte
-- chunks.
local function trickle(body, t)
    ngx.header["Content-Length"] = nil
    ngx.send_headers()
    ngx.flush(true)
    local len = #body
    local n = math.max(1, math.min(t.chunks, len))
    for i = 1, n do
        ngx.sleep(t.interval)
        local ok = ngx.print(body:sub(floor((i - 1) * len / n) + 1, floor(i * len / n)))
        if not ok then return ngx.exit(444) end
        ngx.flush(true)
    end
    return ngx.exit(ngx.OK)
end

-- Sends a body that is already JSON text.
function _M.send_raw(status, body, trace, content_type)
    -- A "drop after respond" fault: the work is done, the answer is lost.
    if ngx.ctx.drop_answer then return ngx.exit(444) end
    ngx.status = status
    ngx.header["Content-Type"] = content_type or "application/json;charset=UTF-8"
    ngx.header["X-Trace-Id"] = trace or _M.trace_id()
    _M.fault_headers()
    if ngx.ctx.trickle then return trickle(body, ngx.ctx.trickle) end
    ngx.print(body)
    return ngx.exit(ngx.OK)
end

function _M.send(status, tbl, trace)
    return _M.send_raw(status, cjson.encode(tbl), trace)
end

function _M.envelope(data, trace)
    return {
        data = data,
        success = true,
        code = "200",
        errorMsg = null,
        detailErrorMsg = null,
        traceId = trace,
    }
end

-- An envelope error: success false, a string code, a message for people.
function _M.fail(http_status, code, msg, detail)
    local trace = _M.trace_id()
    return _M.send(http_status, {
        data = null,
        success = false,
        code = tostring(code),
        errorMsg = msg,
        detailErrorMsg = detail or null,
        traceId = trace,
    }, trace)
end

local REASONS = {
    [200] = "OK", [201] = "Created", [202] = "Accepted", [204] = "No Content",
    [301] = "Moved Permanently", [302] = "Found", [303] = "See Other",
    [307] = "Temporary Redirect", [308] = "Permanent Redirect",
    [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden", [404] = "Not Found",
    [405] = "Method Not Allowed", [415] = "Unsupported Media Type", [429] = "Too Many Requests",
    [500] = "Internal Server Error", [502] = "Bad Gateway", [503] = "Service Unavailable",
    [504] = "Gateway Timeout",
}
_M.REASONS = REASONS

function _M.reason(status)
    return REASONS[status] or "Error"
end

-- What a Spring Boot server answers for a path or method it has no handler
-- for (not an envelope).
function _M.spring_error(status, path)
    return _M.send(status, {
        timestamp = os.date("!%Y-%m-%dT%H:%M:%S.000+00:00", floor(ngx.now())),
        status = status,
        error = _M.reason(status),
        path = path,
    })
end

return _M
