-- The three documented calls (create a backfill task, list its instances,
-- read one instance's detail) and the two plan reads of the API reference
-- (list plans, read one plan).  Validation answers envelope errors with a
-- message a person can act on.
local cjson = require "cjson.safe"
local dates = require "accelerate_sim.dates"
local engine = require "accelerate_sim.engine"
local http = require "accelerate_sim.http"
local json = require "accelerate_sim.json"
local state = require "accelerate_sim.state"
local scenario = require "accelerate_sim.scenario"
local AUTH_TYPES, MATERIALIZE_TYPES = scenario.AUTH_TYPES, scenario.MATERIALIZE_TYPES

local ngx = ngx
local type = type
local format = string.format

local _M = {}

local function bad(msg, detail)
    return http.fail(200, 400, msg, detail)
end

local function not_found(msg)
    return http.fail(200, 404, msg)
end

-- The common headers.  Returns the tenant, or answers 401/403 and exits.
-- Messages never repeat the auth value.
function _M.authenticate(s, headers)
    local tenant_id, auth_type, auth_value = headers["tenant-id"], headers["auth-type"], headers["auth-value"]
    if type(tenant_id) ~= "string" or tenant_id == "" then
        return nil, http.fail(401, 401, "Missing request header tenant-id")
    end
    if type(auth_type) ~= "string" or not AUTH_TYPES[auth_type] then
        return nil, http.fail(401, 401, "auth-type must be one of UID, TOKEN, ACCOUNT, APIKEY")
    end
    if type(auth_value) ~= "string" or auth_value == "" then
        return nil, http.fail(401, 401, "Missing request header auth-value")
    end
    local tenant = s.tenants[tenant_id]
    local accepted = tenant and tenant.credentials[auth_type]
    if not accepted or not accepted[auth_value] then
        return nil, http.fail(403, 403, "Authentication failed: the " .. auth_type
            .. " credential is not valid for this tenant")
    end
    return tenant
end

local function date_field(body, key)
    local v = body[key]
    if v == nil or v == cjson.null then return nil, bad(key .. " is required", "field: " .. key) end
    local day, why = dates.parse(v)
    if not day then
        return nil, bad(format("%s %s: %s", key, why, type(v) == "string" and v or type(v)), "field: " .. key)
    end
    return day
end

-- A POST body: a JSON object sent as application/json.  Returns it, or nil
-- and the answer (415 or an envelope 400).
local function json_body(raw)
    local ctype = ngx.var.content_type or ""
    if not ctype:lower():find("^application/json") then
        return nil, http.fail(415, 415, "Content-Type '" .. ctype:sub(1, 100)
            .. "' is not supported; use application/json")
    end
    local body = raw and raw ~= "" and cjson.decode(raw)
    if type(body) ~= "table" then return nil, bad("The request body must be a JSON object") end
    return body
end

function _M.create(s, tenant_id, tenant, raw)
    local body, refused = json_body(raw)
    if not body then return refused end

    local plan_id, plan_name = body.planId, body.planName
    if plan_id == cjson.null then plan_id = nil end
    if plan_name == cjson.null then plan_name = nil end
    if plan_id == nil and plan_name == nil then return bad("planId or planName is required") end
    if plan_id ~= nil and type(plan_id) ~= "string" then return bad("planId must be a string", "field: planId") end
    if plan_name ~= nil and type(plan_name) ~= "string" then
        return bad("planName must be a string", "field: planName")
    end
    local plan
    if plan_id then
        plan = tenant.plans_by_id[plan_id]
        if not plan then
            return bad("Acceleration plan " .. plan_id:sub(1, 200) .. " does not exist in this tenant", "field: planId")
        end
        if plan_name and plan.name ~= plan_name then
            return bad("planId and planName name different plans", "field: planName")
        end
    else
        plan = tenant.plans_by_name[plan_name]
        if not plan then
            return bad("Acceleration plan named " .. plan_name:sub(1, 200) .. " does not exist in this tenant",
                "field: planName")
        end
    end

    local first, answered = date_field(body, "startTime")
    if not first then return answered end
    local last
    last, answered = date_field(body, "endTime")
    if not last then return answered end
    if first > last then return bad("startTime must not be after endTime", "field: startTime") end

    local interval = body.dateIntervalOfLot
    if interval == nil or interval == cjson.null then interval = 1 end
    if type(interval) ~= "number" or interval % 1 ~= 0 or interval < 1 or interval > 100000 then
        return bad("dateIntervalOfLot must be a positive integer", "field: dateIntervalOfLot")
    end

    local dag, err = engine.create(s, tenant_id, plan, first, last, interval)
    if not dag then return bad("Failed to create the data backfill task for the application acceleration plan", err) end
    local trace = http.trace_id()
    return http.send(200, http.envelope(dag, trace), trace)
end

-- A positive integer query parameter with a default, or nil and the answer.
local function page_arg(args, key, default)
    local v = args[key]
    if v == nil or v == "" then return default end
    if type(v) ~= "string" or not v:match("^%d+$") or tonumber(v) < 1 or #v > 9 then
        return nil, bad(key .. " must be a positive integer", "field: " .. key)
    end
    return tonumber(v)
end

local function answer(s, which, tbl_or_json)
    local trace = http.trace_id()
    local text = type(tbl_or_json) == "string" and tbl_or_json or cjson.encode(tbl_or_json)
    if s.envelope[which] then
        -- Splice rather than re-encode: the text may hold arrays cjson 2.1
        -- cannot tell from objects.
        local env = cjson.encode(http.envelope(cjson.null, trace))
        text = env:gsub('"data":null', function() return '"data":' .. text end, 1)
    end
    return http.send_raw(200, text, trace)
end

function _M.list(s, tenant_id, args)
    local dag_name = args.dagName
    if type(dag_name) ~= "string" or dag_name == "" then return bad("dagName is required", "field: dagName") end
    -- A "paging" fault: this page whatever was asked, and/or a wrong total,
    -- and/or every page `shift` rows back (rows added ahead of the listing).
    local paging = ngx.ctx.paging or {}
    local page_index, answered = paging.page
    if not page_index then
        page_index, answered = page_arg(args, "pageIndex", 1)
        if not page_index then return answered end
    end
    local page_size
    page_size, answered = page_arg(args, "pageSize", 20)
    if not page_size then return answered end
    if s.max_page_size and page_size > s.max_page_size then page_size = s.max_page_size end
    local dag = state.dag(dag_name)
    if not dag or dag.tenant ~= tenant_id then
        return not_found("Backfill task " .. dag_name:sub(1, 200) .. " does not exist")
    end
    return answer(s, "list", engine.list_json(dag, page_index, page_size, paging.total, paging.shift))
end

function _M.detail(s, tenant_id, args)
    local id = args.id
    if type(id) ~= "string" or id == "" then return bad("id is required", "field: id") end
    if not id:match("^%d+$") or #id > 19 then return bad("id must be a numeric task instance id", "field: id") end
    id = id:gsub("^0+(%d)", "%1")   -- the server parses a number: 012 is 12
    local dag, inst = state.instance(id)
    if not dag or dag.tenant ~= tenant_id then
        return not_found("Task instance " .. id .. " does not exist")
    end
    return answer(s, "detail", engine.detail(dag, inst))
end

-- The largest pageSize the plan list serves (a smaller scenario
-- max_page_size wins); a larger one is served at this size, and the
-- answer's pageSize says so.
local PLAN_PAGE_MAX = 100
_M.PLAN_PAGE_MAX = PLAN_PAGE_MAX

local function pager_field(pager, key)
    local v = pager[key]
    if v == nil or v == cjson.null then return nil, bad("pager." .. key .. " is required", "field: pager." .. key) end
    if type(v) ~= "number" or v ~= v or v % 1 ~= 0 or v < 1 or v > 1000000000 then
        return nil, bad("pager." .. key .. " must be a positive integer", "field: pager." .. key)
    end
    return v
end

-- POST .../plan/queryAccelerateResultPlanList: the tenant's plans in
-- scenario order, optionally of one materializeType, a page at a time.
-- Always the envelope, with the paging fields beside data.
function _M.plans(s, tenant, raw)
    local body, refused = json_body(raw)
    if not body then return refused end
    local mtype = body.materializeType
    if mtype == cjson.null then mtype = nil end
    if mtype ~= nil and (type(mtype) ~= "string" or not MATERIALIZE_TYPES[mtype]) then
        return bad("materializeType must be ACCELERATE, RESULT or EXTERNAL", "field: materializeType")
    end
    local pager = body.pager
    if pager == nil or pager == cjson.null then
        return bad('pager is required: {"pageNumber": 1, "pageSize": 20}', "field: pager")
    end
    if type(pager) ~= "table" then return bad("pager must be a JSON object", "field: pager") end
    local page_number, answered = pager_field(pager, "pageNumber")
    if not page_number then return answered end
    local page_size
    page_size, answered = pager_field(pager, "pageSize")
    if not page_size then return answered end
    local paging = ngx.ctx.paging or {}
    page_number = paging.page or page_number
    local cap = math.min(PLAN_PAGE_MAX, s.max_page_size or PLAN_PAGE_MAX)
    if page_size > cap then page_size = cap end

    local matches = {}
    for _, p in ipairs(tenant.plans) do
        if not mtype or p.materializeType == mtype then matches[#matches + 1] = p end
    end
    local rows = json.array()
    -- a "paging" shift: the page starts `shift` rows back, as if that many
    -- plans had been added ahead of the listing once page 1 was served
    local back = page_number > 1 and paging.shift or 0
    local first = math.max(1, (page_number - 1) * page_size + 1 - back)
    local last = math.min(page_number * page_size - back, #matches)
    for i = first, last do
        local p = matches[i]
        rows[#rows + 1] = {
            id = p.id, name = p.name or cjson.null, displayName = p.displayName, materializeType = p.materializeType,
        }
    end
    local trace = http.trace_id()
    local env = http.envelope(rows, trace)
    env.hasNext = last < #matches
    env.total = paging.total or #matches
    env.pageNumber = page_number
    env.pageSize = page_size
    return http.send_raw(200, json.encode(env), trace)
end

-- GET .../plan/queryAccelerateResultPlan?uuid=: one plan of the tenant, in
-- the envelope unless the scenario says "envelope": {"plan": false}.
function _M.plan(s, tenant, args)
    local uuid = args.uuid
    if uuid == nil or uuid == "" or uuid == true then return bad("uuid is required", "field: uuid") end
    if type(uuid) ~= "string" then return bad("uuid must be given once", "field: uuid") end
    local p = tenant.plans_by_id[uuid]
    if not p then
        return not_found("Acceleration plan " .. uuid:sub(1, 200) .. " does not exist in this tenant")
    end
    local d = p.detail
    return answer(s, "plan", json.encode {
        id = p.id,
        name = p.name or cjson.null,
        displayName = p.displayName,
        tablePath = d.tablePath,
        materializeType = p.materializeType,
        metricTimeGranularity = p.metricTimeGranularity,
        metricEntityList = d.metricEntityList,
        mtConfig = d.mtConfig,
        metricList = d.metricList,
        dimensionList = d.dimensionList,
        timeConstraint = d.timeConstraint,
        dimensionFilters = d.dimensionFilters,
        refreshConfig = d.refreshConfig,
    })
end

return _M
