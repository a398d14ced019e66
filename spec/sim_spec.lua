-- The simulator, driven over real HTTP on loopback, checked point by point
-- against docs/api.md.  Run with `busted --lua=lua5.4`.
local helpers = require "spec.helpers"
local cjson = helpers.json

local CREATE = "/anymetrics/api/v1/accelerate/task/create"
local LIST = "/anymetrics/api/v1/accelerate/task/instance/list"
local DETAIL = "/anymetrics/api/v1/scheduler/task/detail"
local PLANS = "/anymetrics/api/v1/accelerate/plan/queryAccelerateResultPlanList"
local PLAN_DETAIL = "/anymetrics/api/v1/accelerate/plan/queryAccelerateResultPlan"
local PLAN = "5468b0c0462e40e08e44108d8164c7c3"   -- the document's example, two tables
local EXTERNAL_PLAN = "9c41f2a7d6e84b0f8a1d3e5c7b9f0a12"   -- ledger_external in the test scenario

local socket = require "socket"

local sim

local function create(body, headers)
    return sim:call("POST", CREATE, body, headers)
end

local function create_ok(body)
    local status, json, raw = create(body)
    assert.are.equal(200, status)
    assert.is_true(json.success, raw)
    return json.data
end

local function list(dag, page_index, page_size)
    local q = "?dagName=" .. dag
    if page_index then q = q .. "&pageIndex=" .. page_index end
    if page_size then q = q .. "&pageSize=" .. page_size end
    return sim:call("GET", LIST .. q)
end

local function all_instances(dag)
    local status, json, raw = list(dag, 1, 1000)
    assert.are.equal(200, status, raw)
    return json.instances, json
end

local function detail(id)
    return sim:call("GET", DETAIL .. "?id=" .. id)
end

-- Seconds since the epoch of a "YYYY-MM-DDTHH:MM:SS" stamp (UTC).
local function epoch(stamp)
    local y, mo, d, h, mi, s = stamp:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)$")
    assert.is_truthy(y, "not a timestamp: " .. tostring(stamp))
    local t = os.time { year = tonumber(y), month = tonumber(mo), day = tonumber(d), hour = 12 }
    local ref = os.time { year = 1970, month = 1, day = 1, hour = 12 }
    local days = math.floor((t - ref) / 86400 + 0.5)
    return days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(s)
end

local function assert_envelope_error(status, json, raw, http_status, code)
    assert.are.equal(http_status, status, raw)
    assert.is_table(json, raw)
    assert.is_false(json.success)
    assert.are.equal(code, json.code)
    assert.are.equal(cjson.null, json.data)
    assert.is_string(json.errorMsg)
    assert.is_true(#json.errorMsg > 5)
    assert.is_string(json.traceId)
end

local function plans(body, headers)
    return sim:call("POST", PLANS, body, headers)
end

local function plans_page(number, size, mtype)
    local status, json, raw = plans { materializeType = mtype, pager = { pageNumber = number, pageSize = size } }
    assert.are.equal(200, status, raw)
    assert.is_true(json.success, raw)
    return json, raw
end

local function plan_detail(uuid, headers)
    return sim:call("GET", PLAN_DETAIL .. (uuid and ("?uuid=" .. uuid) or ""), nil, headers)
end

-- One request on its own connection (Connection: close), read as it
-- arrives: status and reason, the header lines in order (repeats kept),
-- the body as sent (still chunked if it was), when each piece arrived
-- (seconds after sending), when the head was complete, and whether the
-- server closed the connection before opts.timeout (default 10 s).
local function raw_request(method, path, opts)
    opts = opts or {}
    local c = assert(socket.connect("127.0.0.1", sim.port))
    local lines = { method .. " " .. path .. " HTTP/1.1", "Host: 127.0.0.1:" .. sim.port, "Connection: close" }
    for k, v in pairs(sim:headers(opts.headers)) do lines[#lines + 1] = k .. ": " .. v end
    if opts.body then
        lines[#lines + 1] = "Content-Type: application/json"
        lines[#lines + 1] = "Content-Length: " .. #opts.body
    end
    local t0 = helpers.now()
    assert(c:send(table.concat(lines, "\r\n") .. "\r\n\r\n" .. (opts.body or "")))
    c:settimeout(0.01)
    local buf, arrivals, closed = {}, {}, false
    local deadline = t0 + (opts.timeout or 10)
    while helpers.now() < deadline do
        local data, err, partial = c:receive(65536)
        local got = data or partial
        if got and #got > 0 then
            buf[#buf + 1] = got
            arrivals[#arrivals + 1] = { t = helpers.now() - t0, n = #got }
        end
        if err == "closed" then
            closed = true
            break
        end
    end
    c:close()
    local text = table.concat(buf)
    local head, body = text:match("^(.-)\r\n\r\n(.*)$")
    assert.is_truthy(head, "no complete head in: " .. text:sub(1, 300))
    local code, reason = head:match("^HTTP/1%.1 (%d%d%d) ([^\r]*)")
    local headers = {}
    for name, value in head:gmatch("\r\n([^:\r\n]+): ([^\r\n]*)") do headers[#headers + 1] = { name, value } end
    local head_at, seen = nil, 0
    for _, a in ipairs(arrivals) do
        seen = seen + a.n
        if not head_at and seen >= #head + 4 then head_at = a.t end
    end
    return { status = tonumber(code), reason = reason, head = head, headers = headers, body = body,
             arrivals = arrivals, head_at = head_at, closed = closed }
end

-- Every value of header `name` (any case) in a raw_request answer, in order.
local function header_values(resp, name)
    local out = {}
    for _, h in ipairs(resp.headers) do
        if h[1]:lower() == name:lower() then out[#out + 1] = h[2] end
    end
    return out
end

-- Decodes a chunked body; returns the payload and the sizes of its chunks
-- (the final 0 not included), or raises when it is not well formed.
local function dechunk(body)
    local out, sizes, pos = {}, {}, 1
    while true do
        local hex, after = body:match("^(%x+)[^\r\n]*\r\n()", pos)
        assert.is_truthy(hex, "bad chunk header at byte " .. pos)
        local n = tonumber(hex, 16)
        if n == 0 then
            assert.are.equal("\r\n", body:sub(after, after + 1), "no end after the last chunk")
            return table.concat(out), sizes
        end
        out[#out + 1] = body:sub(after, after + n - 1)
        sizes[#sizes + 1] = n
        assert.are.equal("\r\n", body:sub(after + n, after + n + 1), "chunk " .. #sizes .. " is not followed by CRLF")
        pos = after + n + 2
    end
end

local function frozen(overrides)
    local s = helpers.scenario(overrides)
    s.speed = 0
    return s
end

setup(function()
    sim = helpers.start_sim { scenario = "test" }
end)

teardown(function()
    if sim then sim:stop() end
end)

before_each(function()
    sim:scenario(helpers.scenario())
end)

describe("simctl", function()
    local simctl = helpers.quote(helpers.root .. "/sim/simctl")

    local function capture(cmd)
        local rc, out = helpers.sh(cmd .. " 2>&1")
        return out, rc
    end

    it("says so when started twice, and keeps the same process", function()
        local pid = helpers.read_file(sim.dir .. "/nginx.pid")
        local out, rc = capture(sim:env() .. " " .. simctl .. " start")
        assert.are.equal(0, rc)
        assert.matches("already running", out)
        assert.matches("export ACCELERATE_URL=http://127.0.0.1:" .. sim.port, out, 1, true)
        assert.are.equal(pid, helpers.read_file(sim.dir .. "/nginx.pid"))
    end)

    it("says which scenario runs, and switches to another one asked for through the admin API", function()
        local other = helpers.start_sim { scenario = "test", workers = 1 }
        local pid = helpers.read_file(other.dir .. "/nginx.pid")
        local function health() return select(2, helpers.api(other, "GET", "/__sim/health")) end
        -- a backfill of the test scenario, forgotten by the switch
        local _, created = other:call("POST", "/anymetrics/api/v1/accelerate/task/create",
            { planName = "sales_daily", startTime = "2025-01-01", endTime = "2025-01-02" })
        local dag = assert(created.data)
        local out, rc = capture(other:env() .. " " .. simctl .. " start")
        assert.are.equal(0, rc, out)
        assert.matches("already running .*scenario test", out)
        assert.matches("ACCELERATE_SIM_SCENARIO=NAME sim/simctl start switches", out, 1, true)
        assert.are.equal("test", health().scenario)

        out, rc = capture(other:env() .. " ACCELERATE_SIM_SCENARIO=demo " .. simctl .. " start")
        assert.are.equal(0, rc, out)
        assert.matches("switched from scenario test to demo", out, 1, true)
        assert.matches("export ACCELERATE_URL=http://127.0.0.1:" .. other.port, out, 1, true)
        assert.are.equal("demo", health().scenario)
        assert.are.equal(pid, helpers.read_file(other.dir .. "/nginx.pid"))
        local _, listed = other:call("GET", "/anymetrics/api/v1/accelerate/task/instance/list?dagName=" .. dag)
        assert.matches("does not exist", listed.errorMsg)

        -- the same scenario again: nothing switched, nothing forgotten
        out, rc = capture(other:env() .. " ACCELERATE_SIM_SCENARIO=demo " .. simctl .. " start")
        assert.are.equal(0, rc, out)
        assert.is_nil(out:match("switched"))
        assert.matches("scenario demo", out)
        out, rc = capture(other:env() .. " " .. simctl .. " status")
        assert.are.equal(0, rc, out)
        assert.matches("scenario demo", out)

        -- an unknown one is refused, and the running one keeps running
        out, rc = capture(other:env() .. " ACCELERATE_SIM_SCENARIO=nope " .. simctl .. " start")
        assert.are.equal(2, rc, out)
        assert.matches("no such scenario: nope.*scenario demo keeps running", out)
        assert.are.equal("demo", health().scenario)
        other:stop()
    end)

    it("prints only export lines on stdout, for eval", function()
        local p = io.popen(sim:env() .. " " .. simctl .. " env 2>/dev/null")
        local out = p:read("*a")
        p:close()
        local n = 0
        for line in out:gmatch("[^\n]+") do
            assert.matches("^export ACCELERATE_[A-Z_]+=", line)
            n = n + 1
        end
        assert.are.equal(4, n)
    end)

    it("keeps its config, pid and logs in its own folder and listens on 127.0.0.1 only", function()
        local conf = assert(helpers.read_file(sim.dir .. "/conf/nginx.conf"))
        assert.matches("listen 127.0.0.1:" .. sim.port .. ";", conf, 1, true)
        assert.is_nil(conf:match("listen%s+%d+;"))
        assert.is_truthy(helpers.read_file(sim.dir .. "/nginx.pid"))
        assert.is_truthy(helpers.read_file(sim.dir .. "/logs/error.log"))
        -- 127.0.0.2 is loopback too, but not the address we bound.
        local c = require("socket").tcp()
        c:settimeout(1)
        assert.is_nil(c:connect("127.0.0.2", sim.port))
        c:close()
    end)

    it("starts, reports status, and stops harmlessly twice", function()
        local other = helpers.start_sim { scenario = "default", workers = 1 }
        local out, rc = capture(other:env() .. " " .. simctl .. " status")
        assert.are.equal(0, rc, out)
        other:stop()
        out, rc = capture(other:env() .. " " .. simctl .. " status")
        assert.are.equal(3, rc, out)
        out, rc = capture(other:env() .. " " .. simctl .. " stop")
        assert.are.equal(0, rc)
        assert.matches("not running", out)
    end)

    it("stops a simulator named by a relative folder, alone or through stop-all", function()
        local port = require("socket").bind("127.0.0.1", 0)
        local _, free = port:getsockname()
        port:close()
        local rel = "build/test-sim-relative/" .. free
        local env = ("cd %s && ACCELERATE_SIM_PORT=%s ACCELERATE_SIM_DIR=%s ACCELERATE_SIM_SCENARIO=test ")
            :format(helpers.quote(helpers.root), free, rel)
        for _, stop in ipairs { " stop", " stop-all build/test-sim-relative" } do
            local out, rc = capture(env .. simctl .. " start")
            assert.are.equal(0, rc, out)
            local pid = helpers.read_file(helpers.root .. "/" .. rel .. "/nginx.pid"):match("%d+")
            out, rc = capture(env .. simctl .. stop)
            assert.are.equal(0, rc, out)
            assert.matches("stopped", out)
            assert.is_false(helpers.alive(pid), "nginx " .. pid .. " still runs")
        end
        os.execute("rm -rf " .. helpers.quote(helpers.root .. "/build/test-sim-relative"))
    end)

    it("never signals a process it did not start, whatever its pid file says", function()
        local dir = helpers.root .. "/build/test-sim/stale"
        os.execute("mkdir -p " .. helpers.quote(dir))
        local p = io.popen("sleep 30 >/dev/null 2>&1 & echo $!")
        local pid = p:read("*l")
        p:close()
        local f = assert(io.open(dir .. "/nginx.pid", "w"))
        f:write(pid, "\n")
        f:close()
        local out, rc = capture("ACCELERATE_SIM_DIR=" .. helpers.quote(dir) .. " " .. simctl .. " stop")
        assert.are.equal(0, rc)
        assert.matches("not this simulator", out)
        assert.is_true(helpers.alive(pid))
        assert.is_truthy(helpers.read_file(dir .. "/nginx.pid"))
        os.execute("kill " .. pid)
        helpers.eventually(function() return not helpers.alive(pid) end, 2)
        out, rc = capture("ACCELERATE_SIM_DIR=" .. helpers.quote(dir) .. " " .. simctl .. " stop")
        assert.are.equal(0, rc)
        assert.matches("removed a stale pid file", out)
        assert.is_nil(helpers.read_file(dir .. "/nginx.pid"))
        os.execute("rm -rf " .. helpers.quote(dir))
    end)

    it("refuses a bad port, an unknown scenario and a broken scenario clearly", function()
        local out, rc = capture("ACCELERATE_SIM_PORT=http " .. simctl .. " start")
        assert.are.equal(2, rc)
        assert.matches("port number", out)
        out, rc = capture("ACCELERATE_SIM_PORT=1 ACCELERATE_SIM_SCENARIO=nope " .. simctl .. " start")
        assert.are.equal(2, rc)
        assert.matches("no such scenario", out)
        local bad = helpers.root .. "/build/test-sim/bad-scenario.json"
        local f = assert(io.open(bad, "w"))
        f:write('{"tenants": {"t1": {"credentials": {"BASIC": ["x"]}, "plans": []}}}')
        f:close()
        local port = require("socket").bind("127.0.0.1", 0)
        local _, free = port:getsockname()
        port:close()
        out, rc = capture(("ACCELERATE_SIM_PORT=%s ACCELERATE_SIM_DIR=%s ACCELERATE_SIM_SCENARIO=%s %s start")
            :format(free, helpers.quote(helpers.root .. "/build/test-sim/bad"), helpers.quote(bad), simctl))
        assert.are.equal(1, rc)
        assert.matches("not one of UID, TOKEN, ACCOUNT, APIKEY", out, 1, true)
        os.execute("rm -rf " .. helpers.quote(helpers.root .. "/build/test-sim/bad") .. " " .. helpers.quote(bad))
    end)
end)

describe("create", function()
    it("answers the document's example with the documented envelope", function()
        local status, json, raw, headers = create {
            planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-01", dateIntervalOfLot = 1,
        }
        assert.are.equal(200, status, raw)
        assert.is_true(json.success)
        assert.are.equal("200", json.code)
        assert.are.equal(cjson.null, json.errorMsg)
        assert.are.equal(cjson.null, json.detailErrorMsg)
        assert.matches("^%x+%-%x+%-%x+%-%x+%-%x+$", json.data)
        assert.are.equal(36, #json.data)
        assert.matches("^%x+%.%d%d%d%.%d+$", json.traceId)
        assert.are.equal(32, #json.traceId:match("^(%x+)"))
        assert.is_string(headers["x-trace-id"])
        for _, key in ipairs { "data", "success", "code", "errorMsg", "detailErrorMsg", "traceId" } do
            assert.matches('"' .. key .. '":', raw, 1, true)
        end
    end)

    it("accepts planName instead of planId", function()
        local dag = create_ok { planName = "gmv_monthly", startTime = "2025-01-01", endTime = "2025-01-02" }
        local insts = all_instances(dag)
        assert.are.equal(2, #insts)
        assert.are.equal("catalog.schema.table_name", insts[1].mtGuid)
    end)

    it("accepts a plan id that is not a bare UUID", function()
        create_ok { planId = "result_34bfe9036e2e65328e9849430f54cdf5", startTime = "2025-01-01", endTime = "2025-01-01" }
    end)

    local bad = {
        { "no plan", { startTime = "2025-01-01", endTime = "2025-01-01" }, "planId or planName" },
        { "an unknown plan", { planId = "nope", startTime = "2025-01-01", endTime = "2025-01-01" }, "does not exist" },
        { "a plan of another tenant", { planId = "7f3a9d2e1c4b4e5f8a6b7c8d9e0f1a2b", startTime = "2025-01-01", endTime = "2025-01-01" }, "does not exist" },
        { "an unknown plan name", { planName = "nope", startTime = "2025-01-01", endTime = "2025-01-01" }, "does not exist" },
        { "planId and planName of different plans", { planId = PLAN, planName = "gmv_monthly", startTime = "2025-01-01", endTime = "2025-01-01" }, "different plans" },
        { "a planId that is not a string", { planId = 5468, startTime = "2025-01-01", endTime = "2025-01-01" }, "planId must be a string" },
        { "no startTime", { planId = PLAN, endTime = "2025-01-01" }, "startTime is required" },
        { "no endTime", { planId = PLAN, startTime = "2025-01-01" }, "endTime is required" },
        { "a date that is not real", { planId = PLAN, startTime = "2025-02-29", endTime = "2025-03-01" }, "not a real date" },
        { "April 31st", { planId = PLAN, startTime = "2025-04-01", endTime = "2025-04-31" }, "not a real date" },
        { "month 13", { planId = PLAN, startTime = "2025-13-01", endTime = "2025-13-02" }, "not a real date" },
        { "slashes", { planId = PLAN, startTime = "2025/01/01", endTime = "2025-01-02" }, "YYYY-MM-DD" },
        { "no dashes", { planId = PLAN, startTime = "20250101", endTime = "2025-01-02" }, "YYYY-MM-DD" },
        { "a time of day", { planId = PLAN, startTime = "2025-01-01T00:00:00", endTime = "2025-01-02" }, "YYYY-MM-DD" },
        { "a number for a date", { planId = PLAN, startTime = 20250101, endTime = "2025-01-02" }, "YYYY-MM-DD" },
        { "start after end", { planId = PLAN, startTime = "2025-01-02", endTime = "2025-01-01" }, "after endTime" },
        { "a lot of 0", { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-02", dateIntervalOfLot = 0 }, "positive integer" },
        { "a negative lot", { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-02", dateIntervalOfLot = -7 }, "positive integer" },
        { "a fractional lot", { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-02", dateIntervalOfLot = 1.5 }, "positive integer" },
        { "a lot as a string", { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-02", dateIntervalOfLot = "7" }, "positive integer" },
    }
    for _, case in ipairs(bad) do
        it("refuses " .. case[1] .. " with an envelope error", function()
            local status, json, raw = create(case[2])
            assert_envelope_error(status, json, raw, 200, "400")
            assert.matches(case[3], json.errorMsg, 1, true)
        end)
    end

    it("refuses a body that is not JSON", function()
        local status, json, raw = create("planId=" .. PLAN)
        assert_envelope_error(status, json, raw, 200, "400")
    end)

    it("refuses a body that is not application/json", function()
        local status, json, raw = create(cjson.encode { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-01" },
            { ["content-type"] = "text/plain" })
        assert_envelope_error(status, json, raw, 415, "415")
    end)

    it("refuses more instances than the scenario allows", function()
        local s = helpers.scenario { max_instances = 10 }
        sim:scenario(s)
        local status, json, raw = create { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-31" }
        assert_envelope_error(status, json, raw, 200, "400")
        assert.matches("62 task instances", json.detailErrorMsg, 1, true)
    end)

    it("answers a GET on its route with 405", function()
        local status = sim:call("GET", CREATE)
        assert.are.equal(405, status)
    end)
end)

describe("common headers", function()
    local body = { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-01" }

    local function without(name)
        local h = { ["tenant-id"] = sim.tenant_id, ["auth-type"] = sim.auth_type, ["auth-value"] = sim.auth_value }
        h[name] = nil
        return h
    end

    for _, route in ipairs {
        { "create", "POST", CREATE, body },
        { "list", "GET", LIST .. "?dagName=x" },
        { "detail", "GET", DETAIL .. "?id=1" },
        { "plans", "POST", PLANS, { pager = { pageNumber = 1, pageSize = 20 } } },
        { "plan", "GET", PLAN_DETAIL .. "?uuid=" .. PLAN },
    } do
        describe("on " .. route[1], function()
            for _, name in ipairs { "tenant-id", "auth-type", "auth-value" } do
                it("refuses a request without " .. name .. " with 401", function()
                    local status, json, raw = helpers.api(sim, route[2], route[3], route[4], without(name))
                    assert_envelope_error(status, json, raw, 401, "401")
                end)
            end

            it("refuses an auth-type outside UID, TOKEN, ACCOUNT, APIKEY with 401", function()
                local status, json, raw = sim:call(route[2], route[3], route[4], { ["auth-type"] = "BASIC" })
                assert_envelope_error(status, json, raw, 401, "401")
            end)

            it("refuses a wrong auth-value with 403, without repeating it", function()
                local status, json, raw = sim:call(route[2], route[3], route[4], { ["auth-value"] = "wrong-secret-123" })
                assert_envelope_error(status, json, raw, 403, "403")
                assert.is_nil(raw:find("wrong-secret-123", 1, true))
            end)

            it("refuses a valid credential of another tenant with 403", function()
                local status, json, raw = sim:call(route[2], route[3], route[4], { ["auth-type"] = "TOKEN", ["auth-value"] = "sim-token-t2-8e21" })
                assert_envelope_error(status, json, raw, 403, "403")
            end)
        end)
    end

    for _, cred in ipairs {
        { "UID", "u-1" }, { "TOKEN", "sim-token-4f1d0c2b" },
        { "ACCOUNT", "analyst@example.com" }, { "APIKEY", "sim-apikey-9c7e5a3d1b" },
    } do
        it("accepts the scenario's " .. cred[1] .. " credential", function()
            local status, json, raw = create(body, { ["auth-type"] = cred[1], ["auth-value"] = cred[2] })
            assert.are.equal(200, status, raw)
            assert.is_true(json.success)
        end)
    end

    it("keeps tenants apart: another tenant cannot list or read a dag", function()
        local dag = create_ok(body)
        local insts = all_instances(dag)
        local other = { ["tenant-id"] = "t2", ["auth-type"] = "TOKEN", ["auth-value"] = "sim-token-t2-8e21" }
        local status, json, raw = sim:call("GET", LIST .. "?dagName=" .. dag, nil, other)
        assert_envelope_error(status, json, raw, 200, "404")
        status, json, raw = sim:call("GET", DETAIL .. "?id=" .. insts[1].id, nil, other)
        assert_envelope_error(status, json, raw, 200, "404")
    end)
end)

describe("lot splitting", function()
    local function partitions(dag)
        local out = {}
        for _, inst in ipairs(all_instances(dag)) do
            if inst.mtGuid == "dw.sales.orders_daily" then
                out[#out + 1] = inst.startPartition .. ".." .. inst.endPartition
            end
        end
        return out
    end

    it("splits a month into 7-day lots, the last one shorter, for every table", function()
        local dag = create_ok { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-31", dateIntervalOfLot = 7 }
        local insts, page = all_instances(dag)
        assert.are.equal(10, page.total)
        assert.are.equal(10, #insts)
        assert.are.same({ "2025-01-01..2025-01-07", "2025-01-08..2025-01-14", "2025-01-15..2025-01-21",
            "2025-01-22..2025-01-28", "2025-01-29..2025-01-31" }, partitions(dag))
    end)

    it("defaults dateIntervalOfLot to one day", function()
        local dag = create_ok { planId = PLAN, startTime = "2025-01-30", endTime = "2025-02-02" }
        assert.are.same({ "2025-01-30..2025-01-30", "2025-01-31..2025-01-31", "2025-02-01..2025-02-01",
            "2025-02-02..2025-02-02" }, partitions(dag))
    end)

    it("crosses month ends and the leap day 2024-02-29", function()
        local dag = create_ok { planId = PLAN, startTime = "2024-02-25", endTime = "2024-03-03", dateIntervalOfLot = 3 }
        assert.are.same({ "2024-02-25..2024-02-27", "2024-02-28..2024-03-01", "2024-03-02..2024-03-03" }, partitions(dag))
        dag = create_ok { planId = PLAN, startTime = "2024-02-29", endTime = "2024-02-29" }
        assert.are.same({ "2024-02-29..2024-02-29" }, partitions(dag))
    end)

    it("crosses a year end", function()
        local dag = create_ok { planId = PLAN, startTime = "2024-12-30", endTime = "2025-01-02", dateIntervalOfLot = 2 }
        assert.are.same({ "2024-12-30..2024-12-31", "2025-01-01..2025-01-02" }, partitions(dag))
    end)

    it("makes one lot when the lot is longer than the range", function()
        local dag = create_ok { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-03", dateIntervalOfLot = 30 }
        assert.are.same({ "2025-01-01..2025-01-03" }, partitions(dag))
    end)

    it("gives every instance a unique numeric string id, across backfills", function()
        local seen = {}
        for _ = 1, 3 do
            local dag = create_ok { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-10" }
            for _, inst in ipairs(all_instances(dag)) do
                assert.is_string(inst.id)
                assert.matches("^%d+$", inst.id)
                assert.is_nil(seen[inst.id])
                seen[inst.id] = true
            end
        end
    end)
end)

describe("instance list", function()
    local dag
    before_each(function()
        dag = create_ok { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-23" }  -- 46 instances
    end)

    it("has every documented field with the documented type", function()
        sim:advance(1e6)
        local status, json, raw = list(dag)
        assert.are.equal(200, status, raw)
        assert.are.equal(dag, json.dagName)
        assert.are.equal(1, json.pageIndex)
        assert.are.equal(20, json.pageSize)
        assert.are.equal(46, json.total)
        local inst = json.instances[1]
        for _, key in ipairs { "id", "status", "mtGuid", "startPartition", "endPartition", "startTime",
            "endTime", "resourceGroup", "createTime", "scheduleTime" } do
            assert.is_string(inst[key], key)
        end
        assert.is_number(inst.priority)
        assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d$", inst.createTime)
        assert.are.equal("SUCCESS", inst.status)
    end)

    it("pages with the documented defaults 1 and 20, in a stable order", function()
        local _, p1 = list(dag)
        local _, p2 = list(dag, 2)
        local _, p3 = list(dag, 3, 20)
        local _, p4, raw4 = list(dag, 4, 20)
        assert.are.equal(20, #p1.instances)
        assert.are.equal(20, #p2.instances)
        assert.are.equal(6, #p3.instances)
        assert.are.equal(0, #p4.instances)
        assert.matches('"instances":[]', raw4, 1, true)
        local ids, prev = {}, 0
        for _, page in ipairs { p1, p2, p3 } do
            for _, inst in ipairs(page.instances) do
                ids[#ids + 1] = inst.id
                assert.is_true(tonumber(inst.id) > prev)
                prev = tonumber(inst.id)
            end
        end
        local again = {}
        for _, inst in ipairs(all_instances(dag)) do again[#again + 1] = inst.id end
        assert.are.same(ids, again)
    end)

    it("honours the scenario's page size cap, saying which size it used", function()
        sim:scenario(helpers.scenario { max_page_size = 10 })
        dag = create_ok { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-23" }
        local _, page = list(dag, 1, 100)
        assert.are.equal(10, page.pageSize)
        assert.are.equal(10, #page.instances)
    end)

    for _, q in ipairs { "pageIndex=0", "pageIndex=-1", "pageIndex=x", "pageSize=0", "pageSize=2.5" } do
        it("refuses " .. q, function()
            local status, json, raw = sim:call("GET", LIST .. "?dagName=" .. dag .. "&" .. q)
            assert_envelope_error(status, json, raw, 200, "400")
        end)
    end

    it("refuses a missing dagName and answers an unknown one with an envelope error", function()
        local status, json, raw = sim:call("GET", LIST)
        assert_envelope_error(status, json, raw, 200, "400")
        status, json, raw = sim:call("GET", LIST .. "?dagName=80d3a5a9-027d-4c82-97e2-9e9ac9da873a")
        assert_envelope_error(status, json, raw, 200, "404")
    end)

    it("can wrap its answer in the envelope when the scenario says so", function()
        sim:scenario(helpers.scenario { envelope = { list = true, detail = true } })
        dag = create_ok { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-01" }
        local status, json = list(dag)
        assert.are.equal(200, status)
        assert.is_true(json.success)
        assert.are.equal(dag, json.data.dagName)
        status, json = detail(json.data.instances[1].id)
        assert.are.equal(200, status)
        assert.is_true(json.success)
        assert.is_number(json.data.taskInstanceId)
    end)
end)

describe("instance detail", function()
    it("has every documented field with the documented type", function()
        local dag = create_ok { planId = PLAN, startTime = "2025-01-05", endTime = "2025-01-06", dateIntervalOfLot = 2 }
        sim:advance(1e6)
        local inst = all_instances(dag)[2]
        local status, d, raw = detail(inst.id)
        assert.are.equal(200, status, raw)
        assert.are.equal(tonumber(inst.id), d.taskInstanceId)
        assert.matches('"taskInstanceId":' .. inst.id .. "[,}]", raw)
        assert.are.equal("SUCCESS", d.status)
        assert.are.equal("MANUAL", d.runType)
        assert.are.equal("RESULT_PLAN", d.taskType)
        assert.are.equal(cjson.null, d.msg)
        assert.is_string(d.sql.originalSql)
        assert.is_string(d.sql.formattedSql)
        assert.matches("dt >= '2025-01-05' AND dt <= '2025-01-06'", d.sql.originalSql, 1, true)
        assert.matches("^%d+%.%d+%.%d+%.%d+$", d.serverInfo)
        assert.are.equal(inst.startTime, d.startTime)
        assert.are.equal(inst.endTime, d.endTime)
        assert.are.equal("2025-01-05T00:00:00", d.startPartitionTime)
        assert.are.equal("2025-01-06T00:00:00", d.endPartitionTime)
        assert.are.equal(0, d.retryCnt)
        assert.are.same({ { catalog = "dw", schema = "sales", table = "orders_by_region" } }, d.mtGuid)
        assert.are.same({ PLAN }, d.acceleratePlanUuid)
        assert.are.equal(inst.createTime, d.statusTime.WAITING)
        assert.are.equal(d.startTime, d.statusTime.RUNNING)
        assert.are.equal(d.endTime, d.statusTime.SUCCESS)
    end)

    it("answers a missing, a non-numeric and an unknown id with envelope errors", function()
        local status, json, raw = sim:call("GET", DETAIL)
        assert_envelope_error(status, json, raw, 200, "400")
        status, json, raw = detail("12a")
        assert_envelope_error(status, json, raw, 200, "400")
        status, json, raw = detail("99999999999")
        assert_envelope_error(status, json, raw, 200, "404")
    end)

    it("reads an id with leading zeros as the number it is", function()
        local dag = create_ok { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-01" }
        local id = all_instances(dag)[1].id
        local _, d = detail("00" .. id)
        assert.are.equal(tonumber(id), d.taskInstanceId)
    end)
end)

describe("plan list", function()
    local T1_PLANS = { PLAN, "result_34bfe9036e2e65328e9849430f54cdf5", "accelerate_0b6f2d94c1e84a7f9e3d5c2a1b8f7e60", EXTERNAL_PLAN }

    local function ids(json)
        local out = {}
        for i, p in ipairs(json.data) do out[i] = p.id end
        return out
    end

    it("answers the envelope with the tenant's plans in data and the paging fields beside it", function()
        local status, json, raw, headers = plans { pager = { pageNumber = 1, pageSize = 20 } }
        assert.are.equal(200, status, raw)
        assert.is_true(json.success)
        assert.are.equal("200", json.code)
        assert.are.equal(cjson.null, json.errorMsg)
        assert.are.equal(cjson.null, json.detailErrorMsg)
        assert.matches("^%x+%.%d%d%d%.%d+$", json.traceId)
        assert.are.equal(json.traceId, headers["x-trace-id"])
        assert.is_false(json.hasNext)
        assert.are.equal(4, json.total)
        assert.are.equal(1, json.pageNumber)
        assert.are.equal(20, json.pageSize)
        assert.are.same(T1_PLANS, ids(json))
        assert.are.same({ id = PLAN, name = "sales_daily", displayName = "Sales daily", materializeType = "RESULT" }, json.data[1])
        assert.are.same({ id = EXTERNAL_PLAN, name = "ledger_external", displayName = "General ledger (external)",
            materializeType = "EXTERNAL" }, json.data[4])
    end)

    it("filters by materializeType, and lists every type when it is absent or null", function()
        assert.are.same({ PLAN, "result_34bfe9036e2e65328e9849430f54cdf5" }, ids(plans_page(1, 20, "RESULT")))
        assert.are.same({ "accelerate_0b6f2d94c1e84a7f9e3d5c2a1b8f7e60" }, ids(plans_page(1, 20, "ACCELERATE")))
        local ext = plans_page(1, 20, "EXTERNAL")
        assert.are.same({ EXTERNAL_PLAN }, ids(ext))
        assert.are.equal(1, ext.total)
        local _, json = plans { materializeType = cjson.null, pager = { pageNumber = 1, pageSize = 20 } }
        assert.are.same(T1_PLANS, ids(json))
    end)

    it("pages from 1 with hasNext, and answers a page past the end with data []", function()
        local p1 = plans_page(1, 3)
        local p2 = plans_page(2, 3)
        local p3, raw3 = plans_page(3, 3)
        assert.are.same({ T1_PLANS[1], T1_PLANS[2], T1_PLANS[3] }, ids(p1))
        assert.is_true(p1.hasNext)
        assert.are.same({ T1_PLANS[4] }, ids(p2))
        assert.is_false(p2.hasNext)
        assert.are.equal(2, p2.pageNumber)
        assert.are.equal(0, #p3.data)
        assert.matches('"data":[]', raw3, 1, true)
        assert.is_false(p3.hasNext)
        assert.are.equal(4, p3.total)
    end)

    it("serves at most 100 plans a page, saying which size it used; a smaller max_page_size wins", function()
        local many = {}
        for i = 1, 105 do many[i] = { id = ("p%03d"):format(i), name = ("plan_%03d"):format(i), tables = { "c.s.t" .. i } } end
        local s = helpers.scenario()
        s.tenants.t1.plans = many
        sim:scenario(s)
        local p1 = plans_page(1, 1000)
        assert.are.equal(100, p1.pageSize)
        assert.are.equal(100, #p1.data)
        assert.is_true(p1.hasNext)
        assert.are.equal(105, p1.total)
        local p2 = plans_page(2, 1000)
        assert.are.same({ "p101", "p102", "p103", "p104", "p105" }, ids(p2))
        assert.is_false(p2.hasNext)
        sim:scenario(helpers.scenario { max_page_size = 2 })
        local capped = plans_page(1, 50)
        assert.are.equal(2, capped.pageSize)
        assert.are.equal(2, #capped.data)
        assert.is_true(capped.hasNext)
    end)

    it("shows a tenant only its own plans", function()
        local status, json = plans({ pager = { pageNumber = 1, pageSize = 20 } },
            { ["tenant-id"] = "t2", ["auth-type"] = "TOKEN", ["auth-value"] = "sim-token-t2-8e21" })
        assert.are.equal(200, status)
        assert.are.same({ "7f3a9d2e1c4b4e5f8a6b7c8d9e0f1a2b" }, ids(json))
        assert.are.equal("Inventory", json.data[1].displayName)
    end)

    local bad = {
        { "no pager", {}, "pager is required" },
        { "a null pager", { pager = cjson.null }, "pager is required" },
        { "a pager that is not an object", { pager = "1,20" }, "pager must be a JSON object" },
        { "no pageNumber", { pager = { pageSize = 20 } }, "pager.pageNumber is required" },
        { "no pageSize", { pager = { pageNumber = 1 } }, "pager.pageSize is required" },
        { "pageNumber 0", { pager = { pageNumber = 0, pageSize = 20 } }, "positive integer" },
        { "a negative pageSize", { pager = { pageNumber = 1, pageSize = -5 } }, "positive integer" },
        { "a fractional pageNumber", { pager = { pageNumber = 1.5, pageSize = 20 } }, "positive integer" },
        { "a pageSize as a string", { pager = { pageNumber = 1, pageSize = "20" } }, "positive integer" },
        { "an unknown materializeType", { materializeType = "MATERIALIZED", pager = { pageNumber = 1, pageSize = 20 } }, "ACCELERATE, RESULT or EXTERNAL" },
        { "a lower-case materializeType", { materializeType = "result", pager = { pageNumber = 1, pageSize = 20 } }, "ACCELERATE, RESULT or EXTERNAL" },
        { "a materializeType that is not a string", { materializeType = 1, pager = { pageNumber = 1, pageSize = 20 } }, "ACCELERATE, RESULT or EXTERNAL" },
        { "a body that is not JSON", "pageNumber=1&pageSize=20", "JSON object" },
    }
    for _, case in ipairs(bad) do
        it("refuses " .. case[1] .. " with an envelope 400 on HTTP 200", function()
            local status, json, raw = plans(case[2])
            assert_envelope_error(status, json, raw, 200, "400")
            assert.matches(case[3], json.errorMsg, 1, true)
        end)
    end

    it("refuses a body that is not application/json with 415, and a GET with 405", function()
        local status, json, raw = plans(cjson.encode { pager = { pageNumber = 1, pageSize = 20 } }, { ["content-type"] = "text/plain" })
        assert_envelope_error(status, json, raw, 415, "415")
        assert.are.equal(405, (sim:call("GET", PLANS)))
    end)
end)

describe("plan detail", function()
    it("has every field of the reference, inside the envelope's data by default", function()
        local status, json, raw = plan_detail(PLAN)
        assert.are.equal(200, status, raw)
        assert.is_true(json.success)
        assert.are.equal("200", json.code)
        assert.is_string(json.traceId)
        local d = json.data
        assert.are.equal(PLAN, d.id)
        assert.are.equal("sales_daily", d.name)
        assert.are.equal("Sales daily", d.displayName)
        assert.are.equal("RESULT", d.materializeType)
        assert.are.equal("DAY", d.metricTimeGranularity)
        -- the plan's first table, split
        assert.are.same({ tableCatalog = "dw", tableSchema = "sales", tableName = "orders_daily" }, d.tablePath)
        assert.are.same({ "amount", "orders" }, d.metricList)
        assert.are.same({ "dim_region" }, d.dimensionList)
        assert.are.equal(#d.metricList, #d.metricEntityList)
        assert.is_table(d.mtConfig)
        assert.is_true(#d.mtConfig >= 1)
        for _, col in ipairs(d.mtConfig) do
            assert.is_string(col.name)
            assert.is_truthy(col.fieldId)
            assert.is_string(col.type)
        end
        assert.is_string(d.timeConstraint)
        assert.are.equal(0, #d.dimensionFilters)
        assert.matches('"dimensionFilters":[]', raw, 1, true)
        assert.is_table(d.refreshConfig)
        assert.is_nil(d.refreshConfig[1])
    end)

    it("shows what the scenario says of a plan", function()
        local _, json = plan_detail(EXTERNAL_PLAN)
        local d = json.data
        assert.are.equal("ledger_external", d.name)
        assert.are.equal("General ledger (external)", d.displayName)
        assert.are.equal("EXTERNAL", d.materializeType)
        assert.are.equal("MONTH", d.metricTimeGranularity)
        assert.are.same({ tableCatalog = "fin", tableSchema = "ledger", tableName = "gl_balance_monthly" }, d.tablePath)
        assert.are.same({ "gl_balance" }, d.metricList)
        assert.are.same({ "account", "cost_center" }, d.dimensionList)
        assert.are.same({ "month >= '2023-01'", "month <= '2025-12'" }, d.timeConstraint)
        assert.are.same({ { dimension = "account", operator = "IN", values = { "1001", "1002" } } }, d.dimensionFilters)
        assert.are.same({ scheduleType = "EXTERNAL", scheduledBy = "finance-airflow" }, d.refreshConfig)
        _, json = plan_detail("result_34bfe9036e2e65328e9849430f54cdf5")
        assert.are.equal("MONTH", json.data.metricTimeGranularity)
        assert.are.equal("GMV monthly", json.data.displayName)
        assert.are.same({ tableCatalog = "catalog", tableSchema = "schema", tableName = "table_name" }, json.data.tablePath)
    end)

    it("answers the bare object when the scenario says envelope.plan = false", function()
        sim:scenario(helpers.scenario { envelope = { plan = false } })
        local status, d, raw = plan_detail(PLAN)
        assert.are.equal(200, status, raw)
        assert.are.equal(PLAN, d.id)
        assert.is_nil(d.success)
        assert.is_nil(d.data)
        -- wrapping list and detail leaves the plan in the envelope
        sim:scenario(helpers.scenario { envelope = { list = true, detail = true } })
        local _, json = plan_detail(PLAN)
        assert.is_true(json.success)
        assert.are.equal(PLAN, json.data.id)
    end)

    it("answers a missing uuid 400, and an unknown one or another tenant's 404, with HTTP 200", function()
        local status, json, raw = plan_detail(nil)
        assert_envelope_error(status, json, raw, 200, "400")
        assert.matches("uuid is required", json.errorMsg, 1, true)
        status, json, raw = plan_detail("")
        assert_envelope_error(status, json, raw, 200, "400")
        status, json, raw = plan_detail("0000deadbeef")
        assert_envelope_error(status, json, raw, 200, "404")
        assert.matches("0000deadbeef", json.errorMsg, 1, true)
        status, json, raw = plan_detail("7f3a9d2e1c4b4e5f8a6b7c8d9e0f1a2b")   -- t2's plan
        assert_envelope_error(status, json, raw, 200, "404")
        status, json, raw = plan_detail("sales_daily")                        -- a name is not a uuid
        assert_envelope_error(status, json, raw, 200, "404")
    end)

    it("answers a POST with 405", function()
        assert.are.equal(405, (sim:call("POST", PLAN_DETAIL .. "?uuid=" .. PLAN, {})))
    end)
end)

describe("scenario plan fields", function()
    local function with_plan(fields)
        local s = helpers.scenario()
        local p = { id = "x1", name = "x", tables = { "a.b.c" } }
        for k, v in pairs(fields) do p[k] = v end
        s.tenants.t1.plans = { p }
        return s
    end

    local bad = {
        { "an unknown materializeType", { materializeType = "MV" }, "plans[1].materializeType must be one of" },
        { "an unknown granularity", { metricTimeGranularity = "HOUR" }, "plans[1].metricTimeGranularity must be one of" },
        { "a displayName that is not a string", { displayName = 5 }, "plans[1].displayName must be a string" },
        { "a tablePath that is a string", { tablePath = "a.b.c" }, "plans[1].tablePath must be a table" },
        { "a tablePath without tableName", { tablePath = { tableCatalog = "a", tableSchema = "b" } }, "plans[1].tablePath.tableName must be a string" },
        { "a metricList of numbers", { metricList = { 1, 2 } }, "plans[1].metricList[1] must be a string" },
        { "a dimensionList that is an object", { dimensionList = { a = "b" } }, "plans[1].dimensionList must be an array" },
        { "an mtConfig column without a type", { mtConfig = { { name = "dt", fieldId = "f1" } } }, "plans[1].mtConfig[1].type must be a string" },
        { "an mtConfig column with a boolean fieldId", { mtConfig = { { name = "dt", fieldId = true, type = "DATE" } } }, "plans[1].mtConfig[1].fieldId" },
        { "a refreshConfig that is an array", { refreshConfig = { "daily" } }, "plans[1].refreshConfig must be an object" },
        { "a numeric timeConstraint", { timeConstraint = 5 }, "plans[1].timeConstraint must be an array" },
        { "dimensionFilters that are a string", { dimensionFilters = "none" }, "plans[1].dimensionFilters must be an array" },
    }
    for _, case in ipairs(bad) do
        it("refuses " .. case[1] .. ", naming the field", function()
            local status, json = helpers.api(sim, "PUT", "/__sim/scenario", with_plan(case[2]))
            assert.are.equal(400, status)
            assert.matches(case[3], json.error, 1, true)
        end)
    end

    it("refuses an envelope.plan that is not a boolean", function()
        local status, json = helpers.api(sim, "PUT", "/__sim/scenario", helpers.scenario { envelope = { plan = "no" } })
        assert.are.equal(400, status)
        assert.matches("envelope.plan must be a boolean", json.error, 1, true)
    end)

    it("fills in a plan's defaults: RESULT, DAY, a display name from the name or id, the first table's path", function()
        sim:scenario(with_plan { tables = { "cat.sch.first_table", "cat.sch.second" } })
        local _, json = plan_detail("x1")
        local d = json.data
        assert.are.equal("X", d.displayName)
        assert.are.equal("RESULT", d.materializeType)
        assert.are.equal("DAY", d.metricTimeGranularity)
        assert.are.same({ tableCatalog = "cat", tableSchema = "sch", tableName = "first_table" }, d.tablePath)
        local s = with_plan { id = "nameless_plan" }
        s.tenants.t1.plans[1].name = nil
        sim:scenario(s)
        local _, page = plans { pager = { pageNumber = 1, pageSize = 20 } }
        assert.are.same({ id = "nameless_plan", name = cjson.null, displayName = "Nameless plan", materializeType = "RESULT" }, page.data[1])
    end)

    it("keeps a scenario's empty arrays as [] in the answer", function()
        sim:scenario(with_plan { metricList = {}, dimensionList = {}, metricEntityList = {}, mtConfig = {}, timeConstraint = {} })
        local _, _, raw = plan_detail("x1")
        for _, key in ipairs { "metricList", "dimensionList", "metricEntityList", "mtConfig", "timeConstraint", "dimensionFilters" } do
            assert.matches('"' .. key .. '":[]', raw, 1, true)
        end
    end)
end)

describe("shipped scenarios", function()
    for _, name in ipairs { "default", "demo", "test" } do
        it(name .. " has plans of every kind, a MONTH and an EXTERNAL one, and keeps sales_daily", function()
            local text = helpers.read_file(helpers.root .. "/sim/scenarios/" .. name .. ".json")
            assert.is_string(text)
            local s = cjson.decode(text)
            assert.is_table(s)
            sim:scenario(s)
            local page = plans_page(1, 100)
            assert.is_false(page.hasNext)
            local types, grains, by_name = {}, {}, {}
            for _, p in ipairs(page.data) do
                types[p.materializeType] = true
                by_name[p.name] = p.id
                local _, d = plan_detail(p.id)
                grains[d.data.metricTimeGranularity] = true
            end
            assert.are.same({ ACCELERATE = true, RESULT = true, EXTERNAL = true }, types)
            assert.is_true(grains.MONTH)
            assert.are.equal(PLAN, by_name.sales_daily)
            if name ~= "demo" then assert.are.equal("result_34bfe9036e2e65328e9849430f54cdf5", by_name.gmv_monthly) end
        end)
    end
end)

describe("simulated time", function()
    it("moves instances WAITING -> RUNNING -> SUCCESS within the group's concurrency", function()
        local s = frozen { concurrency = { default = 3 } }
        sim:scenario(s)
        local dag = create_ok { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-06" }  -- 12
        for _, inst in ipairs(all_instances(dag)) do assert.are.equal("WAITING", inst.status) end
        local seen_running, steps = false, 0
        repeat
            sim:advance(20)
            steps = steps + 1
            local counts = { WAITING = 0, RUNNING = 0, SUCCESS = 0, FAILED = 0 }
            for _, inst in ipairs(all_instances(dag)) do counts[inst.status] = counts[inst.status] + 1 end
            assert.is_true(counts.RUNNING <= 3, "more RUNNING than the concurrency allows")
            if counts.RUNNING > 0 then seen_running = true end
        until counts.SUCCESS == 12 or steps > 200
        assert.is_true(seen_running)
        assert.is_true(steps <= 200)
    end)

    it("keeps every timestamp consistent with the history", function()
        local dag = create_ok { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-10" }
        sim:advance(1e6)
        for _, inst in ipairs(all_instances(dag)) do
            local _, d = detail(inst.id)
            local c, sch, st, en = epoch(inst.createTime), epoch(inst.scheduleTime), epoch(inst.startTime), epoch(inst.endTime)
            assert.is_true(c <= sch and sch <= st and st < en)
            assert.are.equal(inst.createTime, d.statusTime.WAITING)
            assert.are.equal(inst.startTime, d.statusTime.RUNNING)
            assert.are.equal(inst.endTime, d.statusTime.SUCCESS)
        end
    end)

    it("shows null times and no RUNNING status time for an instance not yet started", function()
        sim:scenario(frozen())
        local dag = create_ok { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-01" }
        local inst = all_instances(dag)[1]
        assert.are.equal(cjson.null, inst.startTime)
        assert.are.equal(cjson.null, inst.endTime)
        local _, d = detail(inst.id)
        assert.are.equal("WAITING", d.status)
        assert.is_nil(d.statusTime.RUNNING)
        assert.are.equal(cjson.null, d.serverInfo)
    end)

    it("starts its clock behind the wall clock, so that no time it reports is in the future", function()
        -- the demo's pace: 150 simulated seconds a real one, 75 days behind at the start
        sim:scenario(helpers.scenario { speed = 150 })
        local wall = os.time()
        local _, health = helpers.api(sim, "GET", "/__sim/health")
        assert.is_true(math.abs((wall - 150 * 12 * 3600) - health.now) < 300, tostring(health.now))
        local dag = create_ok { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-10" }
        sim:advance(3 * 86400)   -- every instance finished: three days of simulated time
        local stamps = 0
        for _, inst in ipairs(all_instances(dag)) do
            assert.are.equal("SUCCESS", inst.status)
            local _, d = detail(inst.id)
            for _, t in ipairs { inst.createTime, inst.scheduleTime, inst.startTime, inst.endTime,
                d.startTime, d.endTime, d.statusTime.WAITING, d.statusTime.RUNNING, d.statusTime.SUCCESS } do
                assert.is_true(epoch(t) <= os.time(), t .. " is later than the wall clock")
                stamps = stamps + 1
            end
        end
        assert.are.equal(20 * 9, stamps)
        -- at the test scenario's pace the start is capped at ten years behind;
        -- its clock runs 100,000 times as fast, so every real millisecond
        -- between the switch and the reading adds 100 simulated seconds (on a
        -- loaded machine a 4 ms gap failed a fixed 300 s bound)
        local t0 = helpers.now()
        sim:scenario(helpers.scenario())
        _, health = helpers.api(sim, "GET", "/__sim/health")
        local slack = 300 + 100000 * (helpers.now() - t0)
        local off = health.now - (os.time() - 10 * 365 * 86400)
        assert.is_true(off > -300 and off < slack, tostring(health.now) .. ", off by " .. off)
    end)

    it("finishes a test-scenario backfill in well under a second of real time", function()
        local t0 = helpers.now()
        local dag = create_ok { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-31" }
        local done = helpers.eventually(function()
            for _, inst in ipairs(all_instances(dag)) do
                if inst.status ~= "SUCCESS" then return false end
            end
            return true
        end, 5)
        assert.is_true(done)
        assert.is_true(helpers.now() - t0 < 1)
    end)
end)

describe("failures", function()
    it("fails listed partitions with retries and a stack, then lets a repair through when times is 1", function()
        sim:scenario(helpers.scenario {
            failures = { retries = 2, partitions = { { date = "2025-01-03", table = "dw.sales.orders_daily", times = 1, error = "oom" } } },
        })
        local dag = create_ok { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-05" }
        sim:advance(1e6)
        local failed = {}
        for _, inst in ipairs(all_instances(dag)) do
            if inst.status == "FAILED" then failed[#failed + 1] = inst end
        end
        assert.are.equal(1, #failed)
        assert.are.equal("2025-01-03", failed[1].startPartition)
        assert.are.equal("dw.sales.orders_daily", failed[1].mtGuid)
        local _, d = detail(failed[1].id)
        assert.are.equal("FAILED", d.status)
        assert.are.equal(2, d.retryCnt)
        assert.matches("OutOfMemoryError", d.msg, 1, true)
        assert.matches("\n\tat ", d.msg, 1, true)
        assert.are.equal(d.endTime, d.statusTime.FAILED)

        local repair = create_ok { planId = PLAN, startTime = "2025-01-03", endTime = "2025-01-03" }
        sim:advance(1e6)
        for _, inst in ipairs(all_instances(repair)) do assert.are.equal("SUCCESS", inst.status) end
    end)

    it("fails a partition every time when the rule has no times", function()
        sim:scenario(helpers.scenario { failures = { partitions = { { date = "2025-01-02" } } } })
        for _ = 1, 2 do
            local dag = create_ok { planId = PLAN, startTime = "2025-01-02", endTime = "2025-01-02" }
            sim:advance(1e6)
            for _, inst in ipairs(all_instances(dag)) do assert.are.equal("FAILED", inst.status) end
        end
    end)

    it("fails by probability", function()
        sim:scenario(helpers.scenario { failures = { probability = 1, retries = 0 } })
        local dag = create_ok { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-03" }
        sim:advance(1e6)
        for _, inst in ipairs(all_instances(dag)) do assert.are.equal("FAILED", inst.status) end
    end)

    it("counts retries up while an instance is still running them", function()
        local s = frozen { failures = { retries = 3, partitions = { { date = "2025-01-01" } } },
            timing = { schedule_delay = 0, duration = 100, retry_delay = 0 } }
        sim:scenario(s)
        local dag = create_ok { planName = "gmv_monthly", startTime = "2025-01-01", endTime = "2025-01-01" }
        local id = all_instances(dag)[1].id
        local seen = {}
        for _ = 1, 4 do
            sim:advance(100)
            local _, d = detail(id)
            seen[#seen + 1] = ("%s%d"):format(d.status, d.retryCnt)
        end
        assert.are.same({ "RUNNING1", "RUNNING2", "RUNNING3", "FAILED3" }, seen)
    end)
end)

describe("determinism", function()
    local function run()
        local dag = create_ok { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-20" }
        local out = { dag = dag }
        sim:advance(1e6)
        for _, inst in ipairs(all_instances(dag)) do
            out[#out + 1] = table.concat({ inst.id, inst.status, epoch(inst.startTime) - epoch(inst.createTime),
                epoch(inst.endTime) - epoch(inst.startTime) }, "/")
        end
        return out
    end

    it("gives the same run for the same seed, and another for another seed", function()
        local s = frozen { failures = { probability = 0.3, retries = 1 } }
        sim:scenario(s)
        local a = run()
        sim:scenario(s)
        local b = run()
        assert.are.same(a, b)
        s.seed = s.seed + 1
        sim:scenario(s)
        local c = run()
        assert.are_not.same(a.dag, c.dag)
        assert.are_not.same(a, c)
    end)
end)

describe("fault injection", function()
    local body = { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-01" }

    after_each(function() sim:reset_faults() end)

    it("answers N times with a status, then normally", function()
        sim:fault { route = "create", kind = "status", status = 503, times = 2 }
        local status, json = create(body)
        assert.are.equal(503, status)
        assert.is_false(json.success)
        assert.are.equal("503", json.code)
        assert.are.equal(503, (create(body)))
        assert.are.equal(200, (create(body)))
    end)

    it("limits a fault to its route", function()
        sim:fault { route = "detail", kind = "status", status = 500, times = -1 }
        assert.are.equal(200, (create(body)))
    end)

    it("applies a * fault to every route until reset", function()
        sim:fault { route = "*", kind = "status", status = 502, times = -1 }
        assert.are.equal(502, (create(body)))
        assert.are.equal(502, (sim:call("GET", LIST .. "?dagName=x")))
        assert.are.equal(502, (detail("1")))
        sim:reset_faults()
        assert.are.equal(200, (create(body)))
    end)

    it("answers 429 with Retry-After", function()
        sim:fault { route = "list", kind = "ratelimit", retry_after = 3 }
        local status, json, _, headers = sim:call("GET", LIST .. "?dagName=x")
        assert.are.equal(429, status)
        assert.are.equal("3", headers["retry-after"])
        assert.are.equal("429", json.code)
    end)

    it("answers an HTML error page", function()
        sim:fault { route = "detail", kind = "html", status = 502 }
        local status, json, raw, headers = detail("1")
        assert.are.equal(502, status)
        assert.is_nil(json)
        assert.matches("^text/html", headers["content-type"])
        assert.matches("<html>", raw, 1, true)
    end)

    it("answers malformed JSON", function()
        sim:fault { route = "create", kind = "malformed" }
        local status, json, raw = create(body)
        assert.are.equal(200, status)
        assert.is_nil(json)
        assert.is_true(#raw > 0)
    end)

    it("answers an empty body", function()
        sim:fault { route = "list", kind = "empty" }
        local status, _, raw = sim:call("GET", LIST .. "?dagName=x")
        assert.are.equal(200, status)
        assert.are.equal("", raw)
    end)

    it("answers a body shorter than its Content-Length, then closes", function()
        sim:fault { route = "list", kind = "truncated" }
        local status, json = sim:call("GET", LIST .. "?dagName=x")
        -- luasocket reports the short read as an error instead of a status.
        assert.are_not.equal(200, status)
        assert.is_nil(json)
    end)

    it("drops the connection without an answer", function()
        sim:fault { route = "detail", kind = "drop" }
        local status = detail("1")
        assert.is_string(status)   -- luasocket's error message, e.g. "closed"
    end)

    it("drops the answer of a create that did happen", function()
        local before = create_ok(body)
        local first = tonumber(all_instances(before)[1].id)
        sim:fault { route = "create", kind = "drop", after = "respond" }
        assert.is_string((create(body)))                  -- lost answer
        local after = create_ok(body)
        -- the lost create took two instance ids: it exists on the server
        assert.are.equal(first + 4, tonumber(all_instances(after)[1].id))
    end)

    it("delays an answer", function()
        sim:fault { route = "detail", kind = "delay", delay = 0.5 }
        local t0 = helpers.now()
        local status, json = detail("1")
        assert.is_true(helpers.now() - t0 >= 0.45)
        assert.are.equal(200, status)
        assert.are.equal("404", json.code)
    end)

    it("answers a huge body", function()
        sim:fault { route = "detail", kind = "huge", size = 3 * 1024 * 1024 }
        local status, _, raw = detail("1")
        assert.are.equal(200, status)
        assert.is_true(#raw > 3 * 1024 * 1024)
    end)

    it("answers deeply nested JSON", function()
        sim:fault { route = "list", kind = "nested", depth = 5000 }
        local _, _, raw = sim:call("GET", LIST .. "?dagName=x")
        assert.are.equal(10000, #raw)
        assert.are.equal(string.rep("[", 5000), raw:sub(1, 5000))
    end)

    it("answers a chosen body, such as an old server's failed create", function()
        local legacy = '{"data":null,"success":true,"code":"200","errorMsg":"Failed to create the data backfill task","detailErrorMsg":null,"traceId":"x"}'
        sim:fault { route = "create", kind = "body", body = legacy }
        local status, json = create(body)
        assert.are.equal(200, status)
        assert.is_true(json.success)
        assert.are.equal(cjson.null, json.data)
    end)

    it("fires by probability", function()
        sim:fault { route = "detail", kind = "status", status = 500, times = -1, probability = 0 }
        for _ = 1, 5 do assert.are.equal(200, (detail("1"))) end
        sim:reset_faults()
        sim:fault { route = "detail", kind = "status", status = 500, times = -1, probability = 1 }
        for _ = 1, 5 do assert.are.equal(500, (detail("1"))) end
    end)

    it("refuses a fault it does not understand", function()
        local status, json = helpers.api(sim, "POST", "/__sim/faults", { route = "detail", kind = "explode" })
        assert.are.equal(400, status)
        assert.matches("kind must be", json.error)
        status = helpers.api(sim, "POST", "/__sim/faults", { route = "nowhere", kind = "drop" })
        assert.are.equal(400, status)
    end)

    it("answers a soft 503: HTTP 200 whose envelope says code 503 (kind body, status 200)", function()
        local soft = '{"data":null,"success":false,"code":"503","errorMsg":"Service busy, try again later","detailErrorMsg":null,"traceId":"x"}'
        sim:fault { route = "create", kind = "body", status = 200, body = soft }
        local status, json, raw, headers = create(body)
        assert.are.equal(200, status)
        assert.are.equal(soft, raw)
        assert.is_false(json.success)
        assert.are.equal("503", json.code)
        assert.matches("^application/json", headers["content-type"])
        assert.are.equal(200, (create(body)))   -- once
    end)

    it("truncates exactly: the head, 112 bytes of a list answer, a Content-Length of 336, then close", function()
        sim:fault { route = "detail", kind = "truncated", headers = { ["X-Sim-Fault"] = "truncated" } }
        local r = raw_request("GET", DETAIL .. "?id=1")
        assert.is_true(r.closed)
        assert.are.equal(200, r.status)
        assert.are.equal("OK", r.reason)
        assert.are.equal(4, #r.headers)
        assert.are.same({ "Content-Type", "application/json;charset=UTF-8" }, r.headers[1])
        assert.are.same({ "Content-Length", "336" }, r.headers[2])
        assert.are.equal("X-Trace-Id", r.headers[3][1])
        assert.are.same({ "X-Sim-Fault", "truncated" }, r.headers[4])
        assert.are.equal('{"dagName":"80d3a5a9-027d-4c82-97e2-9e9ac9da873a","pageIndex":1,"pageSize":20,"total":3,"instances":[{"id":"1287', r.body)
        assert.are.equal(112, #r.body)
    end)

    it("truncates with the fault's status", function()
        sim:fault { route = "list", kind = "truncated", status = 503 }
        local r = raw_request("GET", LIST .. "?dagName=x")
        assert.are.equal(503, r.status)
        assert.are.equal("Service Unavailable", r.reason)
        assert.are.equal(112, #r.body)
    end)

    describe("on the plan routes", function()
        for _, route in ipairs {
            { "plans", function() return plans { pager = { pageNumber = 1, pageSize = 20 } } end },
            { "plan", function() return plan_detail(PLAN) end },
        } do
            local call = route[2]
            it("answers a status on " .. route[1] .. ", then the real answer", function()
                sim:fault { route = route[1], kind = "status", status = 503 }
                local status, json = call()
                assert.are.equal(503, status)
                assert.are.equal("503", json.code)
                status, json = call()
                assert.are.equal(200, status)
                assert.is_true(json.success)
            end)

            it("drops the connection on " .. route[1], function()
                sim:fault { route = route[1], kind = "drop" }
                assert.is_string((call()))
                assert.are.equal(200, (call()))
            end)

            it("delays " .. route[1] .. ", then answers it for real", function()
                sim:fault { route = route[1], kind = "delay", delay = 0.4 }
                local t0 = helpers.now()
                local status, json = call()
                assert.is_true(helpers.now() - t0 >= 0.35)
                assert.are.equal(200, status)
                assert.is_true(json.success)
            end)

            it("leaves " .. route[1] .. " alone for a fault on another route", function()
                sim:fault { route = route[1] == "plans" and "plan" or "plans", kind = "status", status = 500, times = -1 }
                assert.are.equal(200, (call()))
            end)
        end

        it("applies a * fault to both", function()
            sim:fault { route = "*", kind = "status", status = 502, times = -1 }
            assert.are.equal(502, (plans { pager = { pageNumber = 1, pageSize = 20 } }))
            assert.are.equal(502, (plan_detail(PLAN)))
        end)
    end)

    describe("headers", function()
        it("sends a header once per array element: two Retry-After lines on a 429", function()
            sim:fault { route = "list", kind = "ratelimit", headers = { ["Retry-After"] = { "1", "7" } } }
            local r = raw_request("GET", LIST .. "?dagName=x")
            assert.are.equal(429, r.status)
            assert.are.same({ "1", "7" }, header_values(r, "Retry-After"))
            local json = cjson.decode((dechunk(r.body)))
            assert.are.equal("429", json.code)
        end)

        it("replaces ratelimit's own Retry-After", function()
            sim:fault { route = "list", kind = "ratelimit", retry_after = 3, headers = { ["retry-after"] = "120" } }
            assert.are.same({ "120" }, header_values(raw_request("GET", LIST .. "?dagName=x"), "Retry-After"))
        end)

        it("redirects: status 302 with a relative Location sent exactly as given", function()
            sim:fault { route = "create", kind = "status", status = 302, headers = { Location = "/elsewhere" } }
            local r = raw_request("POST", CREATE, { body = cjson.encode(body) })
            assert.are.equal(302, r.status)
            assert.are.same({ "/elsewhere" }, header_values(r, "Location"))
            assert.are.equal(200, (create(body)))
        end)

        it("replaces an answer's own header of the same name", function()
            sim:fault { route = "detail", kind = "status", status = 500, headers = { ["content-type"] = "text/plain" } }
            assert.are.same({ "text/plain" }, header_values(raw_request("GET", DETAIL .. "?id=1"), "Content-Type"))
        end)

        it("keeps underscores and case in a header name", function()
            sim:fault { route = "detail", kind = "delay", delay = 0, headers = { X_Odd_Name = "v" } }
            local r = raw_request("GET", DETAIL .. "?id=1")
            assert.are.same({ "X_Odd_Name", "v" }, r.headers[#r.headers])
        end)

        local kinds = {
            { kind = "status", status = 503 }, { kind = "ratelimit" }, { kind = "html" }, { kind = "malformed" },
            { kind = "empty" }, { kind = "nested", depth = 3 }, { kind = "body", body = "{}" }, { kind = "huge", size = 10 },
            { kind = "truncated" }, { kind = "delay", delay = 0 }, { kind = "trickle", chunks = 2, interval = 0 },
            { kind = "paging", page = 1 },
        }
        for _, f in ipairs(kinds) do
            it("adds its headers to the answer of kind " .. f.kind, function()
                f.route, f.headers = "list", { ["X-Sim-Fault"] = { "a", "b" } }
                sim:fault(f)
                local r = raw_request("GET", LIST .. "?dagName=x")
                assert.are.same({ "a", "b" }, header_values(r, "X-Sim-Fault"))
                assert.is_true(r.closed)
            end)
        end

        it("sends nothing at all for kind drop", function()
            sim:fault { route = "list", kind = "drop", headers = { ["X-Sim-Fault"] = "a" } }
            local c = assert(socket.connect("127.0.0.1", sim.port))
            c:settimeout(5)
            c:send("GET " .. LIST .. "?dagName=x HTTP/1.1\r\nHost: x\r\n\r\n")
            local data, err, partial = c:receive("*a")
            c:close()
            assert.are.equal("", data or partial)
            assert.is_true(data ~= nil or err == "closed")
        end)

        for _, case in ipairs {
            { "a name with a space", { ["Bad Name"] = "x" }, "not a header name" },
            { "a value with CR LF", { ["X-A"] = "a\r\nX-Injected: 1" }, "without CR, LF" },
            { "a number", { ["X-A"] = 5 }, "must be a string" },
            { "an empty array", { ["X-A"] = cjson.decode("[]") }, "non-empty array" },
            { "an array holding a number", { ["X-A"] = { "1", 2 } }, "must be a string" },
            { "Content-Length", { ["Content-Length"] = "5" }, "cannot be set" },
            { "Transfer-Encoding", { ["transfer-encoding"] = "chunked" }, "cannot be set" },
            { "Connection", { Connection = "close" }, "cannot be set" },
        } do
            it("refuses a header with " .. case[1], function()
                local status, json = helpers.api(sim, "POST", "/__sim/faults", { route = "list", kind = "status", headers = case[2] })
                assert.are.equal(400, status)
                assert.matches(case[3], json.error, 1, true)
            end)
        end

        it("refuses headers that are not an object", function()
            local status, json = helpers.api(sim, "POST", "/__sim/faults", { route = "list", kind = "status", headers = "X-A: 1" })
            assert.are.equal(400, status)
            assert.matches("headers must be a JSON object", json.error, 1, true)
        end)
    end)

    describe("trickle", function()
        local dag
        before_each(function()
            sim:scenario(frozen())
            dag = create_ok { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-10" }
        end)

        it("sends the real answer in chunks, the head at once and a piece every interval", function()
            local path = LIST .. "?dagName=" .. dag
            local real = raw_request("GET", path)
            local want = dechunk(real.body)
            sim:fault { route = "list", kind = "trickle", chunks = 4, interval = 0.3 }
            local r = raw_request("GET", path)
            assert.are.equal(200, r.status)
            assert.are.same({ "chunked" }, header_values(r, "Transfer-Encoding"))
            assert.are.same({}, header_values(r, "Content-Length"))
            assert.is_true(r.head_at < 0.2, "head after " .. r.head_at .. " s")
            local payload, sizes = dechunk(r.body)
            assert.are.equal(want, payload)
            assert.are.equal(4, #sizes)
            for _, n in ipairs(sizes) do assert.is_true(math.abs(n - #want / 4) <= 1) end
            -- pieces of the body came at about 0.3, 0.6, 0.9 and 1.2 s
            local last = r.arrivals[#r.arrivals].t
            assert.is_true(last >= 1.15 and last < 2.5, "body complete after " .. last .. " s")
            local body_start
            for _, a in ipairs(r.arrivals) do
                if a.t > r.head_at then body_start = body_start or a.t end
            end
            assert.is_true(body_start >= 0.25, "the body started after " .. tostring(body_start) .. " s")
            assert.is_true(#r.arrivals >= 4, "the body came in " .. #r.arrivals .. " pieces")
            assert.is_true(r.closed)
            -- and the next request answers at once
            assert.are.equal(want, (dechunk(raw_request("GET", path).body)))
        end)

        it("trickles a real error answer too, and works on the plan routes", function()
            sim:fault { route = "plan", kind = "trickle", chunks = 2, interval = 0.2 }
            local r = raw_request("GET", PLAN_DETAIL .. "?uuid=nope")
            local payload, sizes = dechunk(r.body)
            assert.are.equal(2, #sizes)
            assert.are.equal("404", cjson.decode(payload).code)
            assert.is_true(r.arrivals[#r.arrivals].t >= 0.35)
        end)

        it("sends a body shorter than chunks one byte a chunk", function()
            sim:fault { route = "detail", kind = "trickle", chunks = 100000, interval = 0, headers = { ["X-A"] = "1" } }
            sim:fault { route = "detail", kind = "body", body = "ab" }
            local r = raw_request("GET", DETAIL .. "?id=1")
            local payload, sizes = dechunk(r.body)
            -- only the first matching fault applies: the trickle of the real answer
            assert.are.equal("404", cjson.decode(payload).code)
            assert.are.equal(#payload, #sizes)
        end)

        it("by default sends 8 chunks a second apart: a client with a 2 s timeout gives up mid-body", function()
            sim:fault { route = "list", kind = "trickle" }
            local t0 = helpers.now()
            local rc, out = helpers.sh(("curl -sS -D - -o /dev/null --max-time 2 -H 'tenant-id: %s' -H 'auth-type: %s' -H 'auth-value: %s' %s 2>&1")
                :format(sim.tenant_id, sim.auth_type, sim.auth_value, helpers.quote(sim.url .. LIST .. "?dagName=" .. dag)))
            local took = helpers.now() - t0
            assert.are.equal(28, rc, out)   -- curl: operation timed out
            assert.matches("HTTP/1.1 200 OK", out, 1, true)
            assert.matches("Transfer-Encoding: chunked", out, 1, true)
            assert.is_true(took >= 1.9 and took < 3, "curl took " .. took .. " s")
        end)

        it("refuses chunks below 1 or not whole, and a negative interval", function()
            for _, bad in ipairs { { chunks = 0 }, { chunks = 2.5 }, { interval = -1 } } do
                bad.route, bad.kind = "list", "trickle"
                assert.are.equal(400, (helpers.api(sim, "POST", "/__sim/faults", bad)))
            end
        end)
    end)

    describe("paging", function()
        local dag
        before_each(function()
            dag = create_ok { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-23" }  -- 46 instances
        end)

        local function page_ids(json)
            local out = {}
            for i, inst in ipairs(json.instances) do out[i] = inst.id end
            return out
        end

        it("serves one page whatever pageIndex was asked, until reset", function()
            local _, p1 = list(dag, 1)
            sim:fault { route = "list", kind = "paging", page = 1, times = -1 }
            for _, asked in ipairs { 2, 3, 7 } do
                local status, json = list(dag, asked)
                assert.are.equal(200, status)
                assert.are.same(page_ids(p1), page_ids(json))
                assert.are.equal(1, json.pageIndex)
                assert.are.equal(46, json.total)
            end
            sim:reset_faults()
            local _, p2 = list(dag, 2)
            assert.are_not.same(page_ids(p1), page_ids(p2))
        end)

        it("ignores even a pageIndex the route would refuse", function()
            sim:fault { route = "list", kind = "paging", page = 2 }
            local status, json = sim:call("GET", LIST .. "?dagName=" .. dag .. "&pageIndex=x")
            assert.are.equal(200, status)
            assert.are.equal(2, json.pageIndex)
            assert.are.equal(20, #json.instances)
        end)

        it("reports a stale or absurd total beside the real instances", function()
            sim:fault { route = "list", kind = "paging", total = 2 }
            local _, json = list(dag, 1)
            assert.are.equal(2, json.total)
            assert.are.equal(20, #json.instances)
            sim:fault { route = "list", kind = "paging", total = 1000000 }
            _, json = list(dag, 3)
            assert.are.equal(1000000, json.total)
            assert.are.equal(6, #json.instances)
            _, json = list(dag, 3)
            assert.are.equal(46, json.total)
        end)

        it("works inside the envelope when the scenario wraps lists", function()
            sim:scenario(helpers.scenario { envelope = { list = true } })
            dag = create_ok { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-23" }
            sim:fault { route = "list", kind = "paging", page = 3, total = 5 }
            local _, json = list(dag, 1)
            assert.is_true(json.success)
            assert.are.equal(3, json.data.pageIndex)
            assert.are.equal(5, json.data.total)
            assert.are.equal(6, #json.data.instances)
        end)

        it("on the plan list: page 1 for ever keeps hasNext true", function()
            sim:fault { route = "plans", kind = "paging", page = 1, times = -1 }
            local first = plans_page(1, 2)
            for n = 2, 4 do
                local json = plans_page(n, 2)
                assert.are.same(first.data, json.data)
                assert.is_true(json.hasNext)
                assert.are.equal(1, json.pageNumber)
            end
            sim:reset_faults()
            sim:fault { route = "plans", kind = "paging", total = 1000000 }
            local json = plans_page(2, 2)
            assert.are.equal(1000000, json.total)
            assert.is_false(json.hasNext)
        end)

        it("as a * fault, pages the paged routes only and is not spent on the others", function()
            sim:fault { route = "*", kind = "paging", page = 1 }
            local status, json = detail("1")
            assert.are.equal(200, status)
            assert.are.equal("404", json.code)
            local _, p = list(dag, 3)
            assert.are.equal(1, p.pageIndex)
            _, p = list(dag, 3)
            assert.are.equal(3, p.pageIndex)
        end)

        it("shifts every page back by `shift` rows, as rows added ahead of the listing would", function()
            local _, p1 = list(dag, 1)
            local _, p2 = list(dag, 2)
            sim:fault { route = "list", kind = "paging", shift = 1, times = -1 }
            local _, s1 = list(dag, 1)
            assert.are.same(page_ids(p1), page_ids(s1))   -- nothing before the first row
            local _, s2 = list(dag, 2)
            assert.are.equal(p1.instances[20].id, s2.instances[1].id)
            assert.are.equal(p2.instances[19].id, s2.instances[20].id)
            assert.are.equal(46, s2.total)
            local _, s3 = list(dag, 3)
            assert.are.equal(7, #s3.instances)               -- rows 40..46
            sim:reset_faults()
            sim:fault { route = "plans", kind = "paging", shift = 1, times = -1 }
            local first, second = plans_page(1, 2), plans_page(2, 2)
            assert.are.equal(first.data[2].id, second.data[1].id)
            assert.is_true(second.hasNext)
            local third = plans_page(3, 2)
            assert.are.equal(1, #third.data)
            assert.is_false(third.hasNext)
            assert.are.equal(4, third.total)
        end)

        it("refuses a route that does not page, and a paging fault with neither page nor total", function()
            local status, json = helpers.api(sim, "POST", "/__sim/faults", { route = "detail", kind = "paging", page = 1 })
            assert.are.equal(400, status)
            assert.matches("paged routes", json.error, 1, true)
            status, json = helpers.api(sim, "POST", "/__sim/faults", { route = "list", kind = "paging" })
            assert.are.equal(400, status)
            assert.matches("needs page, total or shift", json.error, 1, true)
            for _, bad in ipairs { { page = 0 }, { page = 1.5 }, { total = -1 }, { shift = 0 }, { shift = 1.5 } } do
                bad.route, bad.kind = "list", "paging"
                assert.are.equal(400, (helpers.api(sim, "POST", "/__sim/faults", bad)))
            end
        end)
    end)

    it("holds across workers: a fault's count is shared", function()
        sim:fault { route = "detail", kind = "status", status = 503, times = 10 }
        local n = 0
        for _ = 1, 30 do
            if detail("1") == 503 then n = n + 1 end
        end
        assert.are.equal(10, n)
    end)
end)

describe("request log", function()
    it("records method, path, raw query, decoded args, headers and body", function()
        sim:clear_requests()
        local payload = cjson.encode { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-01" }
        create(payload)
        sim:call("GET", LIST .. "?dagName=a%20b&pageIndex=2")
        local reqs = sim:requests()
        assert.are.equal(2, #reqs)
        local c, l = reqs[1], reqs[2]
        assert.are.equal("create", c.route)
        assert.are.equal("POST", c.method)
        assert.are.equal(CREATE, c.path)
        assert.are.equal(payload, c.body)
        assert.are.equal(sim.tenant_id, c.headers["tenant-id"])
        assert.are.equal(sim.auth_type, c.headers["auth-type"])
        assert.are.equal("application/json", c.headers["content-type"])
        assert.are.equal("list", l.route)
        assert.are.equal("dagName=a%20b&pageIndex=2", l.query)
        assert.are.equal("a b", l.args.dagName)
        assert.are.equal(1, #sim:requests { route = "list" })
        sim:clear_requests()
        assert.are.equal(0, #sim:requests())
    end)

    it("names the plan routes plans and plan", function()
        sim:clear_requests()
        plans { materializeType = "EXTERNAL", pager = { pageNumber = 1, pageSize = 5 } }
        plan_detail(PLAN)
        local reqs = sim:requests()
        assert.are.equal(2, #reqs)
        assert.are.equal("plans", reqs[1].route)
        assert.are.equal("POST", reqs[1].method)
        assert.are.same({ materializeType = "EXTERNAL", pager = { pageNumber = 1, pageSize = 5 } }, cjson.decode(reqs[1].body))
        assert.are.equal("plan", reqs[2].route)
        assert.are.equal(PLAN, reqs[2].args.uuid)
        assert.are.equal(1, #sim:requests { route = "plan" })
    end)

    it("records requests to paths the API does not have, which answer 404", function()
        sim:clear_requests()
        local status = sim:call("GET", "/anymetrics/api/v2/accelerate/task/create")
        assert.are.equal(404, status)
        assert.are.equal("other", sim:requests()[1].route)
    end)

    it("records notify POSTs to /__sim/notify as route notify; faults of route notify fail them, * does not",
        function()
        sim:clear_requests()
        sim:reset_faults()
        sim:fault { route = "*", kind = "status", status = 500, times = -1 }
        sim:fault { route = "notify", kind = "status", status = 503, times = 2 }
        local seen = {}
        for i = 1, 3 do
            local status = helpers.api(sim, "POST", "/__sim/notify", '{"event":"end","n":' .. i .. '}')
            seen[i] = status
        end
        sim:reset_faults()
        assert.are.same({ 503, 503, 200 }, seen)
        local reqs = sim:requests { route = "notify" }
        assert.are.equal(3, #reqs)
        assert.are.equal('{"event":"end","n":3}', reqs[3].body)
        assert.are.equal("POST", reqs[3].method)
    end)
end)

describe("workers", function()
    it("serve one shared state: every worker sees every dag", function()
        local dags = {}
        for i = 1, 6 do dags[i] = create_ok { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-02" } end
        local pids = {}
        for _ = 1, 200 do
            local _, h = helpers.api(sim, "GET", "/__sim/health")
            pids[h.pid] = true
            for _, dag in ipairs(dags) do assert.are.equal(4, #all_instances(dag)) end
            local n = 0
            for _ in pairs(pids) do n = n + 1 end
            if n >= 2 then return end
        end
        error("every request went to one worker; the test proved nothing")
    end)
end)
