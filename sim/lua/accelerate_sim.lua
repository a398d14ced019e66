-- The AnyMetrics backfill API simulator, inside nginx's Lua module.
-- init() runs once in the master (init_by_lua) and loads the scenario;
-- handle() serves every request (content_by_lua).
local admin = require "accelerate_sim.admin"
local api = require "accelerate_sim.api"
local faults = require "accelerate_sim.faults"
local http = require "accelerate_sim.http"
local reqlog = require "accelerate_sim.reqlog"
local scenario = require "accelerate_sim.scenario"
local state = require "accelerate_sim.state"

local ngx = ngx

local _M = {}

local cfg = {}

local ROUTES = {
    ["/anymetrics/api/v1/accelerate/task/create"] = { name = "create", method = "POST" },
    ["/anymetrics/api/v1/accelerate/task/instance/list"] = { name = "list", method = "GET" },
    ["/anymetrics/api/v1/scheduler/task/detail"] = { name = "detail", method = "GET" },
    ["/anymetrics/api/v1/accelerate/plan/queryAccelerateResultPlanList"] = { name = "plans", method = "POST" },
    ["/anymetrics/api/v1/accelerate/plan/queryAccelerateResultPlan"] = { name = "plan", method = "GET" },
}

function _M.init(opts)
    cfg.port = opts.port
    cfg.tls = opts.tls == true -- listening with ssl (simctl's ACCELERATE_SIM_TLS_*)
    local text, err = scenario.load_file(opts.scenario_file)
    if not text then error(err, 0) end
    local s
    s, err = scenario.decode(text)
    if not s then error(opts.scenario_file .. ": " .. err, 0) end
    state.install(text, s)
end

local function read_body()
    ngx.req.read_body()
    local body = ngx.req.get_body_data()
    if body then return body end
    local file = ngx.req.get_body_file()
    if not file then return nil end
    local f = io.open(file, "rb")
    if not f then return nil end
    body = f:read("*a")
    f:close()
    return body
end

function _M.handle()
    local uri = ngx.var.uri
    local body = read_body()
    if uri:sub(1, 7) == "/__sim/" then return admin.handle(cfg, body) end

    local s = state.scenario()
    local route = ROUTES[uri]
    reqlog.record(route and route.name or "other", s.request_log, body)
    if not route then return http.spring_error(404, uri) end

    local fault = faults.take(route.name)
    if fault and not faults.apply(fault) then return end

    local method = ngx.req.get_method()
    if method ~= route.method then
        ngx.header["Allow"] = route.method
        return http.spring_error(405, uri)
    end

    local headers = ngx.req.get_headers(100)
    local tenant = api.authenticate(s, headers)
    if not tenant then return end
    local tenant_id = headers["tenant-id"]
    if route.name == "create" then return api.create(s, tenant_id, tenant, body) end
    if route.name == "plans" then return api.plans(s, tenant, body) end
    local args = ngx.req.get_uri_args(100)
    if route.name == "list" then return api.list(s, tenant_id, args) end
    if route.name == "plan" then return api.plan(s, tenant, args) end
    return api.detail(s, tenant_id, args)
end

return _M
