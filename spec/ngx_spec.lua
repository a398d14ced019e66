-- accelerate.ngx inside Debian's nginx with its Lua module: the OpenResty
-- example's endpoints, the workflow from a timer, and the proof that a slow
-- API call does not hold up the worker.  Needs build/luajit/accelerate/core.so
-- (make build LUA_VERSION=jit); run with busted --lua=lua5.4.
local helpers = require "spec.helpers"
local socket = require "socket"

local PLAN = "5468b0c0462e40e08e44108d8164c7c3"

local sim, app

-- The example nginx, started and stopped by pid through its run script.
local function start_app(timeout)
    local server = assert(socket.bind("127.0.0.1", 0))
    local _, port = server:getsockname()
    server:close()
    local a = { port = tonumber(port), url = "http://127.0.0.1:" .. port }
    a.dir = helpers.root .. "/build/test-sim/openresty-" .. port
    a.env = ("OPENRESTY_PORT=%d OPENRESTY_DIR=%s ACCELERATE_URL=%s ACCELERATE_TENANT_ID=%s "
        .. "ACCELERATE_AUTH_TYPE=%s ACCELERATE_AUTH_VALUE=%s ACCELERATE_TIMEOUT=%s"):format(
        a.port, helpers.quote(a.dir), sim.url, sim.tenant_id, sim.auth_type,
        helpers.quote(sim.auth_value), tostring(timeout or 10))
    local run = helpers.quote(helpers.root .. "/examples/openresty/run")
    assert(helpers.run(a.env .. " " .. run .. " start 2>/dev/null"), "the OpenResty example did not start")
    function a.stop()
        helpers.run(a.env .. " " .. run .. " stop 2>/dev/null")
        helpers.run("rm -rf " .. helpers.quote(a.dir))
    end
    return a
end

local function get(path)
    local status, json, raw = helpers.api(app, "GET", path)
    return status, json, raw
end

local function error_log()
    return helpers.read_file(app.dir .. "/logs/error.log") or ""
end

-- Sends a request on its own connection and returns a function that reads
-- the answer's status line later: the request stays in flight meanwhile.
local function send_async(path)
    local c = assert(socket.connect("127.0.0.1", app.port))
    c:settimeout(10)
    assert(c:send("GET " .. path .. " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"))
    return function()
        local line = c:receive("*l")
        c:close()
        return line
    end
end

local function timed_ping()
    local t0 = helpers.now()
    local status, _, raw = helpers.api(app, "GET", "/ping")
    return helpers.now() - t0, status, raw
end

setup(function()
    assert(helpers.read_file(helpers.root .. "/build/luajit/accelerate/core.so"), "make build LUA_VERSION=jit first")
    sim = helpers.start_sim { scenario = "test" }
    app = start_app()
end)

teardown(function()
    if app then app.stop() end
    if sim then sim:stop() end
end)

before_each(function()
    sim:scenario(helpers.scenario {
        failures = { retries = 1, partitions = { { date = "2025-01-02", table = "dw.sales.orders_daily" } } },
    })
end)

local function create()
    local status, json, raw = helpers.api(app, "POST", "/backfills",
        { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-03" })
    assert.are.equal(201, status, raw)
    return json.dagName
end

describe("the OpenResty example", function()
    it("starts a backfill through cosockets and reports its status as JSON", function()
        local dag = create()
        assert.matches("^%x+%-", dag)
        local reqs = sim:requests { route = "create" }
        assert.are.equal(1, #reqs)
        assert.are.equal("application/json", reqs[1].headers["content-type"])
        assert.are.equal(sim.tenant_id, reqs[1].headers["tenant-id"])
        local state = helpers.eventually(function()
            local status, json = get("/backfills/" .. dag)
            assert.are.equal(200, status)
            return json.done and json
        end, 10)
        assert.is_table(state)
        assert.are.equal(6, state.total)
        assert.are.equal(5, state.counts.SUCCESS)
        assert.are.equal(1, state.counts.FAILED)
        assert.are.equal(1, #state.failures)
        assert.are.equal("2025-01-02", state.failures[1].startPartition)
        assert.matches("Exception", state.failures[1].error)
    end)

    it("watches the backfill from a timer with the unchanged workflow and logs its outcome", function()
        local dag = create()
        local line = helpers.eventually(function()
            return error_log():match("backfill " .. dag:gsub("%-", "%%-") .. " [^\n]*")
        end, 15)
        assert.is_string(line, "no outcome logged")
        assert.matches("failed: SUCCESS 5  FAILED 1", line, 1, true)
        local _, json = get("/backfills/" .. dag)
        assert.are.equal("failed", json.watcher.state)
    end)

    it("answers an instance's detail, retrying a 503 on its own", function()
        local dag = create()
        sim:advance(1e6)
        local _, state = get("/backfills/" .. dag)
        local id = state.failures[1].id
        sim:clear_requests()
        sim:fault { route = "detail", kind = "status", status = 503, times = 1 }
        local status, d = get("/instances/" .. id)
        assert.are.equal(200, status)
        assert.are.equal(id, tostring(d.taskInstanceId))
        assert.are.equal("FAILED", d.status)
        assert.are.equal(2, #sim:requests { route = "detail" })
    end)

    it("turns API errors into gateway answers with the error's kind", function()
        local status, json = helpers.api(app, "POST", "/backfills", { planId = PLAN, startTime = "2025-02-30", endTime = "2025-03-01" })
        assert.are.equal(400, status)
        assert.are.equal("invalid", json.kind)
        assert.are.equal(0, #sim:requests { route = "create" })
        status, json = get("/instances/99999999")
        assert.are.equal(404, status)
        assert.are.equal("api", json.kind)
        assert.are.equal("404", json.code)
        assert.is_string(json.trace_id)
        assert.is_nil(json.error:find(sim.auth_value, 1, true))
        sim:fault { route = "list", kind = "status", status = 503, times = -1 }
        status = get("/backfills/no-such-dag")
        assert.are.equal(502, status, "a gateway error stays 502")
        sim:reset_faults()
    end)

    -- issue 20 item 9: the API's own refusal was a 502, as if it had failed
    it("answers a plan the API does not know with 400 and the API's error", function()
        sim:clear_requests()
        local status, json, raw = helpers.api(app, "POST", "/backfills",
            { planId = "no_such_plan", startTime = "2025-01-01", endTime = "2025-01-02" })
        assert.are.equal(400, status, raw)
        assert.are.equal("api", json.kind)
        assert.are.equal("400", json.code)
        assert.matches("no_such_plan does not exist", json.error, 1, true)
        assert.is_string(json.trace_id)
        assert.are.equal(1, #sim:requests { route = "create" })
    end)

    it("answers 404 for a backfill, an instance or a plan the API does not know", function()
        for _, path in ipairs { "/backfills/no-such-dag", "/instances/99999999", "/plans/no_such_plan" } do
            local status, json, raw = get(path)
            assert.are.equal(404, status, path .. ": " .. tostring(raw))
            assert.are.equal("404", json.code, path)
        end
        local status, plan = get("/plans/" .. PLAN)
        assert.are.equal(200, status)
        assert.are.equal("sales_daily", plan.name)
    end)

    it("gives failures as an array, [] when none failed", function()
        sim:scenario(helpers.scenario {})
        local dag = create()
        sim:advance(1e6)
        local status, json, raw = get("/backfills/" .. dag)
        assert.are.equal(200, status)
        assert.is_true(json.done)
        assert.matches('"failures":[]', raw, 1, true)
    end)

    it("answers a body of the wrong types with 400, naming no file of the server", function()
        local status, json, raw = helpers.api(app, "POST", "/backfills",
            { planId = { 1 }, startTime = "2025-01-01", endTime = "2025-01-01" })
        assert.are.equal(400, status, raw)
        assert.are.equal("invalid", json.kind)
        assert.is_nil(raw:find(".lua", 1, true), raw)
        assert.is_nil(raw:find(helpers.root, 1, true), raw)
    end)

    it("never retries a create, and says the backfill may exist when its answer is lost", function()
        sim:fault { route = "create", kind = "drop", after = "respond" }
        local status, json = helpers.api(app, "POST", "/backfills", { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-01" })
        assert.are.equal(502, status)
        assert.are.equal("network", json.kind)
        assert.matches("may have been created", json.error, 1, true)
        assert.are.equal(1, #sim:requests { route = "create" })
    end)
end)

describe("the worker", function()
    local id
    before_each(function()
        local dag = create()
        sim:advance(1e6)
        local _, state = get("/backfills/" .. dag)
        id = state.failures[1].id
    end)
    after_each(function() sim:reset_faults() end)

    it("answers another request in well under 200 ms while a 2 s call is in flight", function()
        sim:fault { route = "detail", kind = "delay", delay = 2 }
        local t0 = helpers.now()
        local finish = send_async("/instances/" .. id)
        helpers.sleep(0.2)   -- the slow call is now waiting on the simulator
        local latency, status, raw = timed_ping()
        assert.are.equal(200, status)
        assert.are.equal("pong\n", raw)
        local line = finish()
        local slow = helpers.now() - t0
        io.stderr:write(("\n[ngx] second request while a 2 s detail was in flight: %.1f ms (cosockets); "
            .. "slow call took %.2f s\n"):format(latency * 1000, slow))
        assert.matches("^HTTP/1.1 200", line)
        assert.is_true(slow >= 1.9)
        assert.is_true(latency < 0.2, ("second request took %.3f s"):format(latency))
    end)

    it("is held up by the blocking client, for contrast", function()
        sim:fault { route = "detail", kind = "delay", delay = 2 }
        local finish = send_async("/blocking/instances/" .. id)
        helpers.sleep(0.2)
        local latency = timed_ping()
        local line = finish()
        io.stderr:write(("[ngx] second request while a 2 s detail was in flight: %.1f ms (blocking libcurl client)\n")
            :format(latency * 1000))
        assert.matches("^HTTP/1.1 200", line)
        assert.is_true(latency > 1.5, ("second request took %.3f s"):format(latency))
    end)

    it("warns once, clearly, when the blocking client runs in a request handler", function()
        for _ = 1, 2 do assert.are.equal(200, (get("/blocking/instances/" .. id))) end
        local _, n = error_log():gsub("the blocking client was called in nginx's content phase: each call blocks "
            .. "this worker and every request on it; use require \"accelerate.ngx\"", "")
        assert.are.equal(1, n)
    end)

    it("keeps the call's timeout with cosockets", function()
        app.stop()
        app = start_app(1)
        sim:fault { route = "detail", kind = "delay", delay = 3, times = -1 }
        local t0 = helpers.now()
        local status, json = get("/instances/" .. id)
        local took = helpers.now() - t0
        assert.are.equal(504, status)
        assert.are.equal("timeout", json.kind)
        assert.is_true(took < 1.6, ("took %.2f s"):format(took))
    end)
end)

-- Issue 6, items 1 and 2 for accelerate.ngx: a create that outlived the
-- timeout is a timeout (as with the C client) that says the backfill may
-- exist, and is never retried; a body over max_body keeps its status and
-- trace id.
describe("accelerate.ngx faults", function()
    after_each(function() sim:reset_faults() end)

    it("says a create that timed out may exist, as kind timeout, and sends it once", function()
        app.stop()
        app = start_app(1)
        sim:clear_requests()
        sim:fault { route = "create", kind = "delay", delay = 2 }
        local t0 = helpers.now()
        local status, json = helpers.api(app, "POST", "/backfills",
            { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-01" })
        assert.is_true(helpers.now() - t0 < 1.6)
        assert.are.equal(504, status)
        assert.are.equal("timeout", json.kind)
        assert.matches("timed out after the request was sent; the backfill may have been created", json.error, 1, true)
        assert.are.equal(1, #sim:requests { route = "create" })
    end)

    it("turns a body over max_body into a decode error with the status and trace id", function()
        local dag = create()
        sim:advance(1e6)
        local _, state = get("/backfills/" .. dag)
        local id = state.failures[1].id
        sim:fault { route = "detail", kind = "huge", size = 9 * 1024 * 1024 }
        local status, json = get("/instances/" .. id)
        assert.are.equal(502, status)
        assert.are.equal("decode", json.kind)
        assert.matches("max_body", json.error, 1, true)
        assert.is_string(json.trace_id)
        assert.are.equal(200, (get("/instances/" .. id)))
    end)

    it("says a create answered with a 5xx or an unreadable body may exist", function()
        for _, fault in ipairs {
            { route = "create", kind = "status", status = 503 },
            { route = "create", kind = "huge", size = 9 * 1024 * 1024 },
        } do
            sim:clear_requests()
            sim:fault(fault)
            local status, json = helpers.api(app, "POST", "/backfills",
                { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-01" })
            assert.are.equal(502, status)
            assert.matches("the backfill may have been created", json.error, 1, true)
            assert.are.equal(1, #sim:requests { route = "create" })
        end
    end)
end)

-- The example's handlers when one raises (here: a client stub that raises a
-- message naming a file, as a Lua error does): a generic 500 with a trace
-- id, and the message in the log under that id.
describe("the OpenResty example's handlers", function()
    local n
    setup(function()
        local dir = helpers.root .. "/build/test-sim/ngx-guard-" .. tostring(os.time())
        os.execute("mkdir -p " .. helpers.quote(dir))
        n = helpers.start_nginx {
            dir = dir,
            locations = {
                "        location ~ ^/instances/([0-9]+)$ { content_by_lua_block {",
                "            package.loaded[\"accelerate.ngx\"] = { new = function() return { task_detail = function()",
                "                error(\"/srv/secret/app/lua/thing.lua:42: attempt to index a nil value\", 0) end } end }",
                "            package.path = \"" .. helpers.root .. "/examples/openresty/?.lua;\" .. package.path",
                "            require(\"backfill_app\").detail(ngx.var[1])",
                "        } }",
            },
        }
        n.dir = dir
    end)
    teardown(function()
        if n then n.stop() helpers.run("rm -rf " .. helpers.quote(n.dir)) end
    end)

    it("answer a Lua error with a generic 500 and a trace id, and log the message under it", function()
        local status, json, raw = helpers.api(n, "GET", "/instances/12")
        assert.are.equal(500, status, raw)
        assert.are.equal("internal", json.kind)
        assert.matches("^%x+$", json.trace_id)
        assert.is_nil(raw:find("/srv/secret", 1, true), raw)
        assert.is_nil(raw:find(".lua", 1, true), raw)
        local log = helpers.eventually(function()
            local text = helpers.read_file(n.prefix .. "/logs/error.log") or ""
            return text:find("trace " .. json.trace_id, 1, true) and text
        end, 2)
        assert.is_string(log, "the error is not in the log")
        assert.matches("trace " .. json.trace_id .. ": /srv/secret/app/lua/thing.lua:42: attempt to index", log, 1, true)
    end)
end)

-- The README's nginx configuration, as it is printed, with this checkout's
-- paths, a free port and (started as root) a `user` line for a checkout
-- that only its owner can read: it must start alone and create a backfill.
describe("the README's nginx configuration", function()
    it("starts on its own and creates a backfill", function()
        local readme = assert(helpers.read_file(helpers.root .. "/README.md"))
        local conf = readme:match("<!%-%- spec/ngx_spec%.lua starts this configuration[^\n]*\n```nginx\n(.-)```")
        assert.is_string(conf, "README.md has no marked nginx configuration")
        -- issue 20 item 9: what a checkout nginx's workers cannot read looks
        -- like, and what to do about it
        assert.matches("module 'accelerate.ngx' not found", conf, 1, true)
        assert.matches("`user OWNER;`", conf, 1, true)
        local server = assert(socket.bind("127.0.0.1", 0))
        local _, port = server:getsockname()
        server:close()
        conf = conf:gsub("/path/to/accelerate", helpers.root):gsub("listen 127%.0%.0%.1:8090;", "listen 127.0.0.1:" .. port .. ";")
        assert.matches("listen 127.0.0.1:" .. port .. ";", conf, 1, true)
        local ngxctl = ". " .. helpers.quote(helpers.root .. "/sim/nginxctl.sh") .. "; say() { :; }; "
        local p = io.popen("bash -c " .. helpers.quote(ngxctl .. "ngx_conf_user " .. helpers.quote(helpers.root)))
        local user_line = p:read("*a")
        p:close()
        local prefix = helpers.root .. "/build/test-sim/readme-nginx-" .. port
        os.execute("mkdir -p " .. helpers.quote(prefix .. "/conf") .. " " .. helpers.quote(prefix .. "/logs"))
        local f = assert(io.open(prefix .. "/conf/nginx.conf", "wb"))
        f:write(user_line, conf)
        f:close()
        local env = ("ACCELERATE_URL=%s ACCELERATE_TENANT_ID=%s ACCELERATE_AUTH_TYPE=%s ACCELERATE_AUTH_VALUE=%s "):format(
            sim.url, sim.tenant_id, sim.auth_type, helpers.quote(sim.auth_value))
        local started = helpers.run(env .. "bash -c " .. helpers.quote(ngxctl .. "ngx_start " .. helpers.quote(prefix)))
        local ok, status, raw
        if started then
            local n = { url = "http://127.0.0.1:" .. port }
            helpers.eventually(function()
                local c = socket.connect("127.0.0.1", port)
                if c then c:close() return true end
            end, 5)
            status, _, raw = helpers.api(n, "POST", "/backfills",
                { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-02" })
            ok = status == 200 and raw:match("^%x+%-%x+%-%x+%-%x+%-%x+\n$")
        end
        local log = helpers.read_file(prefix .. "/logs/start.log") or ""
        helpers.run("bash -c " .. helpers.quote(ngxctl .. "ngx_stop " .. helpers.quote(prefix)))
        helpers.run("rm -rf " .. helpers.quote(prefix))
        assert.is_true(started, "nginx did not start: " .. log)
        assert.is_truthy(ok, tostring(status) .. " " .. tostring(raw))
    end)
end)

-- Issue 10, item 16: a checkout other users cannot read (a clone in /root,
-- a `mktemp -d` folder): nginx's workers must still read lua/ and sim/lua/.
describe("a checkout in a folder only its owner can read", function()
    local copy, csim, capp

    -- runs cmd with the copy's simulator settings; true on exit 0
    local function in_copy(env, cmd)
        return helpers.run(env .. " " .. cmd .. " >>" .. helpers.quote(copy .. "/run.log") .. " 2>&1")
    end

    setup(function()
        local _, out = helpers.sh("mktemp -d")
        copy = out:match("[^\n]+") .. "/accelerate"
        local r = helpers.quote(helpers.root)
        assert(helpers.run("mkdir -p " .. helpers.quote(copy .. "/build") .. " && chmod 700 "
            .. helpers.quote(copy) .. "/.. " .. helpers.quote(copy)
            .. " && cp -a " .. r .. "/lua " .. r .. "/sim " .. r .. "/examples " .. helpers.quote(copy)
            .. " && cp -a " .. r .. "/build/luajit " .. helpers.quote(copy .. "/build/")))
        local port = helpers.start_sim({ scenario = "test" })   -- only to borrow a free port, then stopped
        local sim_port = port.port
        port:stop()
        csim = { port = sim_port, url = "http://127.0.0.1:" .. sim_port,
            env = ("ACCELERATE_SIM_PORT=%d ACCELERATE_SIM_DIR=%s ACCELERATE_SIM_SCENARIO=test"):format(
                sim_port, helpers.quote(copy .. "/build/sim")) }
        local server = assert(socket.bind("127.0.0.1", 0))
        local _, app_port = server:getsockname()
        server:close()
        capp = { port = tonumber(app_port), url = "http://127.0.0.1:" .. app_port }
        capp.env = ("OPENRESTY_PORT=%d OPENRESTY_DIR=%s ACCELERATE_URL=%s ACCELERATE_TENANT_ID=t1 "
            .. "ACCELERATE_AUTH_TYPE=UID ACCELERATE_AUTH_VALUE=u-1"):format(capp.port,
            helpers.quote(copy .. "/build/openresty"), csim.url)
    end)

    teardown(function()
        if capp then in_copy(capp.env, helpers.quote(copy .. "/examples/openresty/run") .. " stop") end
        if csim then in_copy(csim.env, helpers.quote(copy .. "/sim/simctl") .. " stop") end
        if copy then helpers.run("rm -rf " .. helpers.quote(copy:match("^(.*)/accelerate$"))) end
    end)

    it("runs the simulator and the OpenResty example from it", function()
        assert.equal("700", select(2, helpers.sh("stat -c %a " .. helpers.quote(copy))):match("%d+"))
        assert(in_copy(csim.env, helpers.quote(copy .. "/sim/simctl") .. " start"),
            helpers.read_file(copy .. "/run.log"))
        local status, json = helpers.api(csim, "POST", "/anymetrics/api/v1/accelerate/task/create",
            { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-02" },
            { ["tenant-id"] = "t1", ["auth-type"] = "UID", ["auth-value"] = "u-1" })
        assert.equal(200, status)
        assert.is_true(json.success, helpers.read_file(copy .. "/build/sim/logs/error.log"))
        assert(in_copy(capp.env, helpers.quote(copy .. "/examples/openresty/run") .. " start"),
            helpers.read_file(copy .. "/run.log"))
        local astatus, ajson, raw = helpers.api(capp, "POST", "/backfills",
            { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-03" })
        assert.equal(201, astatus, tostring(raw) .. "\n" .. tostring(helpers.read_file(copy .. "/build/openresty/logs/error.log")))
        assert.is_string(ajson.dagName)
    end)
end)

-- issue 17 item 9: accelerate.ngx.new ignored an unknown option as
-- accelerate.new did (`tenantId` talked to the environment's tenant); both
-- refuse it the same way, naming the nearest known one.
describe("accelerate.ngx.new's options", function()
    local NEW_HANDLER = [[
local cjson = require "cjson.safe"
local _M = {}
function _M.run()
    ngx.req.read_body()
    local c, err = require("accelerate.ngx").new(cjson.decode(ngx.req.get_body_data()))
    if not c then return ngx.say(err.kind, ": ", err.message) end
    c:close()
    ngx.say("ok")
end
return _M
]]
    local nginx, dir

    setup(function()
        local p = io.popen("mktemp -d " .. helpers.quote(helpers.root .. "/build/test-ngx-new.XXXXXX"))
        dir = p:read("*l")
        p:close()
        nginx = helpers.start_nginx { dir = dir, modules = { new_handler = NEW_HANDLER }, locations = {
            '        location /new { content_by_lua_block { require("new_handler").run() } }' } }
    end)

    teardown(function()
        if nginx then nginx.stop() end
        if dir then helpers.run("rm -rf " .. helpers.quote(dir)) end
    end)

    local function new(extra)
        local status, _, raw = helpers.api(nginx, "POST", "/new", sim:client_options(extra))
        assert.equal(200, status, raw)
        return (raw:gsub("\n$", ""))
    end

    it("refuses an unknown option as accelerate.new does, naming the nearest known one", function()
        assert.equal("invalid: unknown option 'tenantId'; did you mean 'tenant_id'?", new { tenantId = "t2" })
        assert.equal("invalid: unknown option 'pool_sise'; did you mean 'pool_size'?", new { pool_sise = 4 })
        assert.equal("ok", new { pool_size = 4, keepalive_timeout = 10, timeout = 5, retries = 1 })
    end)
end)
