-- Scenarios: who may call, which plans exist, how fast simulated time runs,
-- what fails.  A scenario is JSON (a file, or the body of PUT /__sim/scenario);
-- this module checks it and fills in the defaults, so the rest of the
-- simulator can trust every field.
local cjson = require "cjson.safe"
local dates = require "accelerate_sim.dates"
local json = require "accelerate_sim.json"

local type, pairs, ipairs, tostring = type, pairs, ipairs, tostring
local format = string.format

local _M = {}

local AUTH_TYPES = { UID = true, TOKEN = true, ACCOUNT = true, APIKEY = true }
_M.AUTH_TYPES = AUTH_TYPES
local MATERIALIZE_TYPES = { ACCELERATE = true, RESULT = true, EXTERNAL = true }
_M.MATERIALIZE_TYPES = MATERIALIZE_TYPES
local GRANULARITIES = { DAY = true, WEEK = true, MONTH = true, QUARTER = true, YEAR = true }

local function fail(path, msg)
    error(format("scenario: %s %s", path, msg), 0)
end

local function check_type(v, want, path)
    if type(v) ~= want then fail(path, "must be a " .. want .. ", not " .. type(v)) end
    return v
end

local function number_in(v, path, lo, hi)
    check_type(v, "number", path)
    if v ~= v or v < lo or (hi and v > hi) then
        fail(path, format("must be between %s and %s", tostring(lo), tostring(hi or "infinity")))
    end
    return v
end

local function integer_in(v, path, lo, hi)
    number_in(v, path, lo, hi)
    if v % 1 ~= 0 then fail(path, "must be a whole number") end
    return v
end

local function range(v, path, default)
    if v == nil then v = default end
    if type(v) == "number" then v = { v, v } end
    check_type(v, "table", path)
    local lo = number_in(v[1], path .. "[1]", 0)
    local hi = number_in(v[2], path .. "[2]", lo)
    return { lo, hi }
end

local function one_of(v, set, path, names, default)
    if v == nil then return default end
    if type(v) ~= "string" or not set[v] then fail(path, "must be one of " .. names) end
    return v
end

local function array_of(v, path, elem_type)
    if not json.is_array(v) then fail(path, "must be an array") end
    local out = json.array()
    for i, e in ipairs(v) do
        if elem_type then check_type(e, elem_type, format("%s[%d]", path, i)) end
        out[i] = e
    end
    return out
end

local function object(v, path)
    check_type(v, "table", path)
    if v[1] ~= nil then fail(path, "must be an object, not an array") end
    return v
end

-- "sales_daily" -> "Sales daily"
local function display_name(name)
    local words = name:gsub("[_%-]+", " ")
    return (words:gsub("^%l", string.upper))
end

-- The fields only the plan detail call shows.  Generated defaults agree
-- with the SQL the detail route shows (dt, dim_region, amount, orders).
local function plan_detail(p, plan, pp)
    local d = {}
    local first = plan.tables[1]
    if p.tablePath ~= nil then
        object(p.tablePath, pp .. ".tablePath")
        d.tablePath = {}
        for _, k in ipairs { "tableCatalog", "tableSchema", "tableName" } do
            d.tablePath[k] = check_type(p.tablePath[k], "string", pp .. ".tablePath." .. k)
        end
    else
        d.tablePath = { tableCatalog = first.catalog, tableSchema = first.schema, tableName = first.table }
    end
    d.metricList = p.metricList ~= nil and array_of(p.metricList, pp .. ".metricList", "string")
        or json.array { "amount", "orders" }
    d.dimensionList = p.dimensionList ~= nil and array_of(p.dimensionList, pp .. ".dimensionList", "string")
        or json.array { "dim_region" }
    if p.metricEntityList ~= nil then
        d.metricEntityList = array_of(p.metricEntityList, pp .. ".metricEntityList")
    else
        d.metricEntityList = json.array()
        for i, m in ipairs(d.metricList) do
            d.metricEntityList[i] = { metricCode = m, dimensionList = json.array { unpack(d.dimensionList) } }
        end
    end
    if p.mtConfig ~= nil then
        d.mtConfig = array_of(p.mtConfig, pp .. ".mtConfig")
        for i, c in ipairs(d.mtConfig) do
            local cp = format("%s.mtConfig[%d]", pp, i)
            object(c, cp)
            check_type(c.name, "string", cp .. ".name")
            if type(c.fieldId) ~= "string" and type(c.fieldId) ~= "number" then
                fail(cp .. ".fieldId", "must be a string or a number")
            end
            check_type(c.type, "string", cp .. ".type")
        end
    else
        d.mtConfig = json.array {
            { name = "dt", fieldId = "fld_dt", type = "DATE" },
            { name = "dim_region", fieldId = "fld_dim_region", type = "STRING" },
            { name = "amount", fieldId = "fld_amount", type = "DECIMAL(18,2)" },
            { name = "orders", fieldId = "fld_orders", type = "BIGINT" },
        }
    end
    if p.timeConstraint ~= nil then
        if type(p.timeConstraint) == "string" then
            d.timeConstraint = p.timeConstraint
        else
            d.timeConstraint = array_of(p.timeConstraint, pp .. ".timeConstraint", "string")
        end
    else
        d.timeConstraint = "dt >= '2024-01-01'"
    end
    d.dimensionFilters = p.dimensionFilters ~= nil and array_of(p.dimensionFilters, pp .. ".dimensionFilters")
        or json.array()
    if p.refreshConfig ~= nil then
        d.refreshConfig = object(p.refreshConfig, pp .. ".refreshConfig")
    elseif plan.materializeType == "EXTERNAL" then
        d.refreshConfig = { scheduleType = "EXTERNAL", scheduledBy = "owner" }
    else
        d.refreshConfig = { scheduleType = "SCHEDULE", cron = "0 0 2 * * ?", timeZone = "UTC" }
    end
    return d
end

local function check_tenant(t, path)
    check_type(t, "table", path)
    local creds = check_type(t.credentials, "table", path .. ".credentials")
    local out = { credentials = {}, plans = {}, plans_by_id = {}, plans_by_name = {} }
    local any = false
    for auth_type, values in pairs(creds) do
        if not AUTH_TYPES[auth_type] then
            fail(path .. ".credentials." .. tostring(auth_type), "is not one of UID, TOKEN, ACCOUNT, APIKEY")
        end
        if type(values) == "string" then values = { values } end
        check_type(values, "table", path .. ".credentials." .. auth_type)
        local set = {}
        for i, v in ipairs(values) do
            check_type(v, "string", format("%s.credentials.%s[%d]", path, auth_type, i))
            set[v] = true
            any = true
            if not out.first_credential then out.first_credential = { auth_type, v } end
        end
        out.credentials[auth_type] = set
    end
    if not any then fail(path .. ".credentials", "must accept at least one credential") end
    check_type(t.plans, "table", path .. ".plans")
    for i, p in ipairs(t.plans) do
        local pp = format("%s.plans[%d]", path, i)
        check_type(p, "table", pp)
        local plan = {
            id = check_type(p.id, "string", pp .. ".id"),
            name = p.name ~= nil and check_type(p.name, "string", pp .. ".name") or nil,
            resourceGroup = p.resourceGroup ~= nil
                and check_type(p.resourceGroup, "string", pp .. ".resourceGroup") or "default",
            priority = p.priority ~= nil and integer_in(p.priority, pp .. ".priority", 0) or 1,
            materializeType = one_of(p.materializeType, MATERIALIZE_TYPES, pp .. ".materializeType",
                "ACCELERATE, RESULT, EXTERNAL", "RESULT"),
            metricTimeGranularity = one_of(p.metricTimeGranularity, GRANULARITIES, pp .. ".metricTimeGranularity",
                "DAY, WEEK, MONTH, QUARTER, YEAR", "DAY"),
            tables = {},
        }
        plan.displayName = p.displayName ~= nil and check_type(p.displayName, "string", pp .. ".displayName")
            or display_name(plan.name or plan.id)
        check_type(p.tables, "table", pp .. ".tables")
        for j, guid in ipairs(p.tables) do
            local tp = format("%s.tables[%d]", pp, j)
            check_type(guid, "string", tp)
            local c, s, tb = guid:match("^([^.]+)%.([^.]+)%.([^.]+)$")
            if not c then fail(tp, "must be catalog.schema.table") end
            plan.tables[j] = { guid = guid, catalog = c, schema = s, table = tb }
        end
        if #plan.tables == 0 then fail(pp .. ".tables", "must name at least one materialized table") end
        plan.detail = plan_detail(p, plan, pp)
        if out.plans_by_id[plan.id] then fail(pp .. ".id", "repeats plan " .. plan.id) end
        out.plans[i] = plan
        out.plans_by_id[plan.id] = plan
        if plan.name then out.plans_by_name[plan.name] = plan end
    end
    return out
end

local function check_rule(r, path)
    check_type(r, "table", path)
    local first = dates.parse(r.date)
    if not first then fail(path .. ".date", "must be a real date in YYYY-MM-DD format") end
    local last = first
    if r["until"] ~= nil then
        last = dates.parse(r["until"])
        if not last or last < first then fail(path .. ".until", "must be a real date on or after date") end
    end
    return {
        first = first, last = last,
        table = r.table ~= nil and check_type(r.table, "string", path .. ".table") or nil,
        plan = r.plan ~= nil and check_type(r.plan, "string", path .. ".plan") or nil,
        times = r.times ~= nil and integer_in(r.times, path .. ".times", 1) or nil,
        error = r.error ~= nil and check_type(r.error, "string", path .. ".error") or nil,
    }
end

-- Returns the checked scenario (a new table), or raises with a message that
-- names the offending field.
function _M.check(s)
    check_type(s, "table", "(top)")
    local out = {
        name = s.name ~= nil and check_type(s.name, "string", "name") or "unnamed",
        seed = s.seed ~= nil and integer_in(s.seed, "seed", 0) or 1,
        speed = s.speed ~= nil and number_in(s.speed, "speed", 0) or 1,
        tenants = {},
        concurrency = {},
        max_instances = s.max_instances ~= nil and integer_in(s.max_instances, "max_instances", 1) or 20000,
        max_page_size = s.max_page_size ~= nil and integer_in(s.max_page_size, "max_page_size", 1) or nil,
        request_log = s.request_log ~= nil and integer_in(s.request_log, "request_log", 0) or 5000,
        envelope = { list = false, detail = false, plan = true },
    }
    check_type(s.tenants, "table", "tenants")
    local first_tenant
    for name, t in pairs(s.tenants) do
        out.tenants[name] = check_tenant(t, "tenants." .. tostring(name))
        if not first_tenant or name < first_tenant then first_tenant = name end
    end
    if not first_tenant then fail("tenants", "must name at least one tenant") end

    local conn = s.connection
    if conn ~= nil then
        check_type(conn, "table", "connection")
        local t = out.tenants[conn.tenant_id]
        if not t then fail("connection.tenant_id", "must name a tenant of the scenario") end
        local set = t.credentials[conn.auth_type]
        if not set or not set[conn.auth_value] then fail("connection", "must be a credential the tenant accepts") end
        out.connection = { tenant_id = conn.tenant_id, auth_type = conn.auth_type, auth_value = conn.auth_value }
    else
        local c = out.tenants[first_tenant].first_credential
        out.connection = { tenant_id = first_tenant, auth_type = c[1], auth_value = c[2] }
    end

    if s.concurrency ~= nil then
        check_type(s.concurrency, "table", "concurrency")
        for group, n in pairs(s.concurrency) do
            out.concurrency[group] = integer_in(n, "concurrency." .. tostring(group), 1, 10000)
        end
    end
    out.concurrency["*"] = out.concurrency["*"] or 4

    local timing = s.timing or {}
    check_type(timing, "table", "timing")
    out.timing = {
        schedule_delay = range(timing.schedule_delay, "timing.schedule_delay", { 5, 30 }),
        duration = range(timing.duration, "timing.duration", { 60, 180 }),
        retry_delay = number_in(timing.retry_delay or 30, "timing.retry_delay", 0),
    }

    local f = s.failures or {}
    check_type(f, "table", "failures")
    out.failures = {
        probability = number_in(f.probability or 0, "failures.probability", 0, 1),
        flaky_probability = number_in(f.flaky_probability or 0, "failures.flaky_probability", 0, 1),
        retries = integer_in(f.retries or 2, "failures.retries", 0, 100),
        rules = {},
    }
    for i, r in ipairs(f.partitions or {}) do
        out.failures.rules[i] = check_rule(r, format("failures.partitions[%d]", i))
    end

    if s.envelope ~= nil then
        check_type(s.envelope, "table", "envelope")
        for _, k in ipairs { "list", "detail", "plan" } do
            local v = s.envelope[k]
            if v ~= nil then out.envelope[k] = check_type(v, "boolean", "envelope." .. k) end
        end
    end
    return out
end

-- Decodes and checks JSON text; returns the scenario or nil and a message.
function _M.decode(text)
    local s, err = cjson.decode(text)
    if s == nil then return nil, "scenario: not valid JSON: " .. tostring(err) end
    local ok, res = pcall(_M.check, s)
    if not ok then return nil, res end
    return res
end

function _M.load_file(path)
    local f, err = io.open(path, "rb")
    if not f then return nil, "scenario: " .. tostring(err) end
    local text = f:read("*a")
    f:close()
    return text
end

return _M
