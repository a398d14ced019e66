-- The log of requests received, for tests that check exactly what a client
-- sent.  A ring of `request_log` entries in the shared dict "sim_log".
local cjson = require "cjson.safe"

local ngx = ngx
local log = ngx.shared.sim_log

local _M = {}

function _M.record(route, keep, body)
    if keep <= 0 then return end
    local seq = log:incr("seq", 1, 0)
    local entry = {
        seq = seq,
        route = route,
        method = ngx.req.get_method(),
        path = ngx.var.uri,
        query = ngx.var.args or "",
        args = ngx.req.get_uri_args(100),
        headers = ngx.req.get_headers(100),
        body = body or "",
        time = ngx.now(),
    }
    log:set("r:" .. (seq % keep), cjson.encode(entry))
end

-- Entries in arrival order, optionally only one route's.
function _M.list(keep, route)
    local last = log:get("seq") or 0
    local out = {}
    for seq = math.max(1, last - keep + 1), last do
        local text = log:get("r:" .. (seq % keep))
        local e = text and cjson.decode(text)
        if e and e.seq == seq and (not route or e.route == route) then out[#out + 1] = e end
    end
    return out
end

function _M.clear()
    log:flush_all()
    log:flush_expired()
end

return _M
