-- The admin API under /__sim/, a prefix the real API does not use: faults,
-- the request log, the scenario, the clock.  No credentials: the simulator
-- listens on loopback only and holds nothing but test data.
local cjson = require "cjson.safe"
local faults = require "accelerate_sim.faults"
local http = require "accelerate_sim.http"
local reqlog = require "accelerate_sim.reqlog"
local scenario = require "accelerate_sim.scenario"
local state = require "accelerate_sim.state"

local ngx = ngx
local format = string.format

local _M = {}

local function ok(tbl)
    tbl = tbl or {}
    tbl.ok = true
    return http.send(200, tbl)
end

local function refuse(status, msg)
    return http.send(status, { ok = false, error = msg })
end

local function shell_quote(v)
    if v:match("^[%w%._:/@%-]+$") then return v end
    return "'" .. v:gsub("'", "'\\''") .. "'"
end

local function json_body(raw)
    local body = raw and cjson.decode(raw)
    if type(body) ~= "table" then return nil end
    return body
end

local ROUTES = {}

ROUTES["GET /__sim/health"] = function()
    local s = state.scenario()
    return ok({ scenario = s.name, pid = ngx.worker.pid(), now = state.now() })
end

-- Shell export lines for the scenario's connection settings (https:// when
-- simctl started the simulator with a certificate: cfg.tls).
ROUTES["GET /__sim/env"] = function(cfg)
    local c = state.scenario().connection
    local lines = {
        "export ACCELERATE_URL=" .. shell_quote(format("%s://127.0.0.1:%d", cfg.tls and "https" or "http", cfg.port)),
        "export ACCELERATE_TENANT_ID=" .. shell_quote(c.tenant_id),
        "export ACCELERATE_AUTH_TYPE=" .. shell_quote(c.auth_type),
        "export ACCELERATE_AUTH_VALUE=" .. shell_quote(c.auth_value),
    }
    return http.send_raw(200, table.concat(lines, "\n") .. "\n", nil, "text/plain")
end

ROUTES["POST /__sim/faults"] = function(_, raw)
    local body = json_body(raw)
    if not body then return refuse(400, "the body must be a JSON object describing a fault") end
    local good, id = pcall(faults.add, body)
    if not good then return refuse(400, id) end
    return ok({ id = id })
end

ROUTES["GET /__sim/faults"] = function()
    return http.send_raw(200, '{"ok":true,"faults":' .. faults.list() .. "}")
end

ROUTES["DELETE /__sim/faults"] = function()
    faults.clear()
    return ok()
end

ROUTES["GET /__sim/requests"] = function()
    local args = ngx.req.get_uri_args()
    local rows = {}
    for i, e in ipairs(reqlog.list(state.scenario().request_log, args.route)) do rows[i] = cjson.encode(e) end
    return http.send_raw(200, '{"ok":true,"requests":[' .. table.concat(rows, ",") .. "]}")
end

ROUTES["DELETE /__sim/requests"] = function()
    reqlog.clear()
    return ok()
end

-- A receiver of the campaign's notify POSTs (docs/campaign.md, "notify"):
-- each body goes into the request log (route "notify"), after the faults
-- of route "notify" (a fault of route "*" leaves it alone), then 200.
ROUTES["POST /__sim/notify"] = function(_, raw)
    reqlog.record("notify", state.scenario().request_log, raw)
    local fault = faults.take("notify")
    if fault and not faults.apply(fault) then return end
    return ok()
end

ROUTES["PUT /__sim/scenario"] = function(_, raw)
    local s, err = scenario.decode(raw or "")
    if not s then return refuse(400, err) end
    state.install(raw, s)
    return ok({ scenario = s.name })
end

ROUTES["GET /__sim/scenario"] = function()
    return http.send_raw(200, state.dict:get("scenario"))
end

ROUTES["POST /__sim/reset"] = function()
    state.reset()
    return ok()
end

ROUTES["POST /__sim/clock"] = function(_, raw)
    local body = json_body(raw)
    local advance = body and body.advance
    if type(advance) ~= "number" or advance < 0 or advance ~= advance then
        return refuse(400, "the body must be {\"advance\": seconds}, seconds >= 0")
    end
    state.advance(advance)
    return ok({ now = state.now() })
end

function _M.handle(cfg, raw)
    local route = ROUTES[ngx.req.get_method() .. " " .. ngx.var.uri]
    if not route then return refuse(404, "no such admin call: " .. ngx.req.get_method() .. " " .. ngx.var.uri) end
    return route(cfg, raw)
end

return _M
