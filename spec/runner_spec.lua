-- accelerate.runner inside Debian's nginx (the OpenResty example, started
-- and stopped by pid through examples/openresty/run) against the
-- simulator: campaigns POSTed, resumed from their journals after three
-- reloads, a kill -9 of the worker that runs them and a kill -9 of the
-- master followed by a start, each task created once; two nginx on one
-- folder; stop and resume; a lost create resolved; bad specs refused with
-- nothing kept.  Needs build/luajit (make build LUA_VERSION=jit); run with
-- busted --lua=lua5.4.
local helpers = require "spec.helpers"
local socket = require "socket"
local exposition = require "spec.exposition"

local quote = helpers.quote
local json = helpers.json

local sim
local apps = {}

-- A campaign a few seconds long on the slow scenario: reloads land in it.
local SPEC = { name = "q1", plans = { names = { "sales_daily", "gmv_monthly" } }, startTime = "2025-01-01",
    endTime = "2025-03-31", chunk = "month", max_in_flight = 2 }
-- Simulated seconds per real second: at SLOW a month of sales_daily runs
-- for about 2 s and the campaign for about 15 s, time for three reloads;
-- at FAST the campaign takes a few seconds.
local SLOW, FAST = 300, 600

local free_port = helpers.free_port

-- The example nginx; opts.campaigns: another app whose campaign folder
-- this one shares.
local function start_app(opts)
    opts = opts or {}
    local a = { port = free_port() }
    a.url = "http://127.0.0.1:" .. a.port
    a.dir = helpers.root .. "/build/test-sim/runner-" .. a.port
    a.campaigns = a.dir .. "/campaigns"
    a.env = ("OPENRESTY_WORKERS=2 OPENRESTY_PORT=%d OPENRESTY_DIR=%s ACCELERATE_URL=%s ACCELERATE_TENANT_ID=%s "
        .. "ACCELERATE_AUTH_TYPE=%s ACCELERATE_AUTH_VALUE=%s ACCELERATE_TIMEOUT=5 ACCELERATE_RUNNER_INTERVAL=0.2"):format(
        a.port, quote(a.dir), sim.url, sim.tenant_id, sim.auth_type, quote(sim.auth_value))
    local run = quote(helpers.root .. "/examples/openresty/run")
    function a.run(cmd) return helpers.run(a.env .. " " .. run .. " " .. cmd .. " 2>/dev/null") end
    helpers.run("mkdir -p " .. quote(a.dir))
    if opts.campaigns then helpers.run("ln -s " .. quote(opts.campaigns.campaigns) .. " " .. quote(a.campaigns)) end
    assert(a.run("start"), "the OpenResty example did not start")
    function a.master() return tonumber(helpers.read_file(a.dir .. "/nginx.pid")) end
    function a.stop()
        if a.stopped then return end
        a.stopped = true
        a.run("stop")
        helpers.run("rm -rf " .. quote(a.dir))
    end
    function a.log() return helpers.read_file(a.dir .. "/logs/error.log") or "" end
    apps[#apps + 1] = a
    return a
end

local function api(a, method, path, body) return helpers.api(a, method, "/accelerate/" .. path, body) end

local function get(a, id)
    local status, obj, raw = api(a, "GET", "campaigns/" .. id)
    assert.equal(200, status, raw)
    return obj
end

local function post_campaign(a, spec)
    local status, j, raw = api(a, "POST", "campaigns", spec or SPEC)
    assert.equal(202, status, raw)
    return j.id, j.tasks
end

-- Waits for campaign id's object to satisfy fn; returns it.
local function wait_for(a, id, fn, seconds, what)
    local last
    local obj = helpers.eventually(function()
        local status, o = api(a, "GET", "campaigns/" .. id)
        if status == 200 then
            last = o
            if fn(o) then return o end
        end
    end, seconds or 60)
    assert(obj, (what or "the campaign") .. " did not come: " .. json.encode(last or {}) .. "\n" .. a.log():sub(-3000))
    return obj
end

local function state_is(want) return function(o) return o.state == want end end

-- Creates per backfill (plan, start, end) the simulator received.
local function create_counts()
    local n, total = {}, 0
    for _, q in ipairs(sim:requests { route = "create" }) do
        local b = json.decode(q.body)
        local k = b.planId .. " " .. b.startTime .. " " .. b.endTime
        n[k] = (n[k] or 0) + 1
        total = total + 1
    end
    return n, total
end

local function assert_once_each(obj)
    local n, total = create_counts()
    assert.equal(#obj.tasks, total, json.encode(n))
    for k, c in pairs(n) do assert.equal(1, c, k) end
    for _, t in ipairs(obj.tasks) do assert.equal("succeeded", t.state) end
    assert.equal(obj.total, obj.counts.SUCCESS)
end

-- The runner's worker of a running campaign: a new one after each event.
local function new_runner(a, id, old, seconds)
    local t0 = helpers.now()
    local o = wait_for(a, id, function(o)
        return o.state == "succeeded" or (o.runner_pid and o.runner_pid ~= old)
    end, seconds or 10, "a new runner after " .. tostring(old))
    -- a whole number (JSON's 7182 decodes as 7182.0, which names no /proc entry)
    local pid = o.runner_pid and tonumber(("%d"):format(o.runner_pid))
    return pid, helpers.now() - t0, o
end

local function events(a, id, kind)
    local out = {}
    for line in (helpers.read_file(a.campaigns .. "/" .. id .. ".journal") or ""):gmatch("[^\n]+") do
        local ev = json.decode(line)
        if ev.event == kind then out[#out + 1] = ev end
    end
    return out
end

local function listing(dir)
    local _, out = helpers.sh("ls -A " .. quote(dir))
    return out
end

local function alive(pid)
    assert(type(pid) == "number" and pid % 1 == 0 and tostring(pid):find("^%d+$"), "a pid: " .. tostring(pid))
    return helpers.alive(pid)
end

setup(function()
    sim = helpers.start_sim { scenario = "test" }
end)

teardown(function()
    for _, a in ipairs(apps) do a.stop() end
    if sim then sim:stop() end
end)

before_each(function()
    sim:scenario(helpers.scenario { speed = FAST })
end)

after_each(function()
    for _, a in ipairs(apps) do a.stop() end
    apps = {}
end)

describe("accelerate.runner's durability", function()
    it("resumes a campaign after three reloads: every task SUCCESS, one create per task", function()
        sim:scenario(helpers.scenario { speed = SLOW })
        local a = start_app()
        local id, n = post_campaign(a)
        assert.equal(6, n)
        local pid = new_runner(a, id, nil)
        local t_start = helpers.now()
        local timeline = {}
        for i = 1, 3 do
            assert(a.run("reload"))
            local new, took, o = new_runner(a, id, pid)
            if o.state == "succeeded" then break end
            timeline[#timeline + 1] = ("reload %d: worker %d -> %d in %.2f s"):format(i, pid, new, took)
            assert.is_true(took < 5, timeline[#timeline])
            pid = new
        end
        local done = wait_for(a, id, state_is("succeeded"))
        assert_once_each(done)
        timeline[#timeline + 1] = ("%d tasks, %d creates, each task once"):format(#done.tasks,
            select(2, create_counts()))
        assert.is_true(#events(a, id, "stopped") >= 2, "the reloads stopped fewer than two runs: "
            .. table.concat(timeline, "; ") .. "\n" .. a.log():sub(-4000))
        print(("\n  %s\n  the campaign took %.1f s"):format(table.concat(timeline, "\n  "), helpers.now() - t_start))
    end)

    it("resumes after kill -9 of the worker that runs it", function()
        local a = start_app()
        local id = post_campaign(a)
        local pid = new_runner(a, id, nil)
        wait_for(a, id, function(o) return (o.states.running or 0) > 0 end, 10)
        assert.is_true(alive(pid))
        assert(helpers.run(("kill -9 %d"):format(pid)))
        local new, took = new_runner(a, id, pid)
        assert.is_true(took < 5, took)
        assert.is_false(alive(pid))
        local done = wait_for(a, id, state_is("succeeded"))
        assert_once_each(done)
        print(("\n  kill -9 of worker %d: worker %d resumed in %.2f s"):format(pid, new, took))
    end)

    it("resumes after kill -9 of the master and a start: its orphaned workers quit, the new ones take over", function()
        local a = start_app()
        local id = post_campaign(a)
        local pid = new_runner(a, id, nil)
        wait_for(a, id, function(o) return (o.states.running or 0) > 0 end, 10)
        local master = a.master()
        assert.is_true(alive(pid))
        local t_kill = helpers.now()
        assert(helpers.run(("kill -9 %d"):format(master)))
        -- the orphaned workers notice within a second, and quit: the port is free
        assert(helpers.eventually(function() return not alive(pid) end, 20), "the orphaned worker did not quit")
        local quit = helpers.now() - t_kill
        local t0 = helpers.now()
        assert(helpers.eventually(function() return a.run("start") end, 10), "nginx did not start again")
        local new = new_runner(a, id, pid)
        local took = helpers.now() - t0
        assert.is_true(took < 5, took)
        local done = wait_for(a, id, state_is("succeeded"))
        assert_once_each(done)
        print(("\n  kill -9 of master %d: its orphaned worker quit %.2f s later; start: worker %d resumed %.2f s "
            .. "after the start command"):format(master, quit, new, took))
    end)

    it("two nginx on one folder, and the command: one runner per campaign, one create per task", function()
        local a = start_app()
        local b = start_app { campaigns = a }
        local id = post_campaign(a)
        wait_for(b, id, function(o) return o.state == "running" end, 10, "the campaign seen from the other nginx")
        -- the command refuses the journal a worker holds
        local cmd = ("cd %s && %s bin/accelerate campaign run %s --journal %s 2>&1"):format(quote(helpers.root),
            helpers.command_env(sim), quote(a.campaigns .. "/" .. id .. ".json"),
            quote(a.campaigns .. "/" .. id .. ".journal"))
        local code, out = helpers.sh(cmd)
        assert.equal(2, code, out)
        assert.matches("is in use by process", out, 1, true)
        local done = wait_for(a, id, state_is("succeeded"))
        assert_once_each(done)
        assert.equal("succeeded", wait_for(b, id, state_is("succeeded"), 10).state)
    end)
end)

describe("accelerate.runner's routes", function()
    local a
    before_each(function() a = start_app() end)

    it("stop: no new task; the running ones are watched to the end; resume goes on, each task once", function()
        local id = post_campaign(a)
        wait_for(a, id, function(o) return (o.states.running or 0) > 0 end, 10)
        local status, j = api(a, "POST", "campaigns/" .. id .. "/stop")
        assert.equal(202, status)
        assert.is_true(j.stop)
        local stopped = wait_for(a, id, state_is("stopped"), 60)
        local _, made = create_counts()
        assert.is_true(stopped.states.pending > 0, json.encode(stopped.states))
        assert.equal(0, stopped.states.running)
        socket.sleep(1)
        local _, still = create_counts()
        assert.equal(made, still)
        assert.equal("requested", events(a, id, "stopped")[1].reason)
        -- the stop outlives a restart
        assert(a.run("stop"))
        assert(a.run("start"))
        socket.sleep(1.5)
        assert.equal("stopped", get(a, id).state)
        assert.equal(made, select(2, create_counts()))
        status = api(a, "POST", "campaigns/" .. id .. "/resume")
        assert.equal(202, status)
        assert_once_each(wait_for(a, id, state_is("succeeded")))
    end)

    it("a create whose answer was lost: needs_attention, then resolve adopts the backfill, checked first", function()
        sim:fault { route = "create", kind = "drop", after = "respond" }
        local spec = { backfills = { { plan = "sales_daily", startTime = "2025-01-01", endTime = "2025-01-31" },
            { plan = "gmv_monthly", startTime = "2025-01-01", endTime = "2025-01-31" } } }
        local id = post_campaign(a, spec)
        local o = wait_for(a, id, state_is("needs_attention"), 20)
        assert.equal(1, o.unresolved[1].task)
        -- the wrong task, a dagName the server does not know: refused, nothing kept
        local status, j = api(a, "POST", "campaigns/" .. id .. "/resolve", { task = 2, force_create = true })
        assert.equal(400, status)
        assert.equal(1, j.error.task)
        status, j = api(a, "POST", "campaigns/" .. id .. "/resolve", { task = 1, adopt = "no-such-dag" })
        assert.equal(400, status, json.encode(j))
        assert.is_nil(io.open(a.campaigns .. "/" .. id .. ".resolve"))
        -- the backfill a person found: the lost create's own (the simulator made it)
        local dag = json.decode(sim:requests { route = "create" }[1].response or "null")
        dag = type(dag) == "table" and dag.data
        if not dag then
            local _, made = sim:call("POST", "/anymetrics/api/v1/accelerate/task/create", { planId = "5468b0c0462e40e08e44108d8164c7c3",
                startTime = "2025-01-01", endTime = "2025-01-31" })
            dag = made.data
        end
        status, j = api(a, "POST", "campaigns/" .. id .. "/resolve", { task = 1, adopt = dag })
        assert.equal(202, status, json.encode(j))
        local done = wait_for(a, id, state_is("succeeded"), 60)
        assert.equal(dag, done.tasks[1].dagName)
        assert.equal(2, #done.tasks)
    end)

    it("refuses a bad spec, a misspelt plan, a body that is not JSON: 400, nothing kept, nothing created", function()
        local before = listing(a.campaigns)
        local cases = {
            { { plans = { names = { "sales_daily" } }, startTime = "2025-01-01", endTime = "2025-01-31", chunks = "month" },
                "chunks" },
            { { plans = { names = { "sales_dialy" } }, startTime = "2025-01-01", endTime = "2025-01-31" },
                "did you mean 'sales_daily'" },
            { { backfills = { { plan = "sales_daily", startTime = "2025-02-01", endTime = "2025-01-01" } } }, "" },
        }
        for _, c in ipairs(cases) do
            local status, j, raw = api(a, "POST", "campaigns", c[1])
            assert.equal(400, status, raw)
            assert.matches(c[2], j.error.message, 1, true)
        end
        local status = helpers.api(a, "POST", "/accelerate/campaigns", "{not json")
        assert.equal(400, status)
        assert.equal(before, listing(a.campaigns))
        socket.sleep(1.2)
        assert.equal(before, listing(a.campaigns))
        assert.equal(0, #sim:requests { route = "create" })
    end)

    it("answers a second POST of a spec not yet ended with 409 naming it; lists campaigns; 404 and 405", function()
        local id = post_campaign(a)
        local status, j = api(a, "POST", "campaigns", SPEC)
        assert.equal(409, status)
        assert.equal(id, j.error.id)
        local _, list = api(a, "GET", "campaigns")
        assert.equal(1, #list)
        assert.equal(id, list[1].id)
        assert.equal("q1", list[1].name)
        assert.equal(6, list[1].tasks)
        assert.is_number(list[1].created_at)
        assert.is_table(list[1].counts)
        assert.equal(404, (api(a, "GET", "campaigns/20200101-000000-abcd")))
        assert.equal(404, (api(a, "GET", "campaigns/../../etc")))
        assert.equal(405, (api(a, "GET", "campaigns/" .. id .. "/stop")))
        local _, obj = api(a, "GET", "campaigns/" .. id)
        -- the command's --json object
        for _, k in ipairs { "tasks", "counts", "states", "groups", "total", "state", "id", "name" } do
            assert.is_not_nil(obj[k], k)
        end
    end)

    it("GET metrics: the exposition format, the campaign's tasks and instances, the calls, the leader", function()
        local id = post_campaign(a)
        local done = wait_for(a, id, state_is("succeeded"))
        local status, _, raw, headers = helpers.api(a, "GET", "/accelerate/metrics")
        assert.equal(200, status)
        assert.matches("version=0.0.4", headers["content-type"], 1, true)
        local fams, samples = exposition.parse(raw)
        local v = exposition.value_of
        assert.equal(6, v(samples, "accelerate_campaign_tasks", { campaign = id, state = "succeeded" }))
        assert.equal(0, v(samples, "accelerate_campaign_tasks", { campaign = id, state = "pending" }))
        assert.equal(done.counts.SUCCESS, v(samples, "accelerate_campaign_instances", { campaign = id, status = "SUCCESS" }))
        assert.equal(6, v(samples, "accelerate_creates_total", { outcome = "created" }))
        assert.equal(#sim:requests { route = "create" }, v(samples, "accelerate_requests_total", { call = "create_task", outcome = "ok" }))
        assert.is_true(v(samples, "accelerate_requests_total", { call = "list_instances", outcome = "ok" }) > 0)
        assert.equal(1, v(samples, "accelerate_runner_leader", { worker = "0" }))
        assert.equal(0, v(samples, "accelerate_runner_leader", { worker = "1" }))
        assert.equal("counter", fams.accelerate_requests_total.type)
        assert.equal("gauge", fams.accelerate_campaign_tasks.type)
    end)

    it("the live page in headless Chromium: no script error, one cell per task, a cell changes while it stays open", function()
        sim:scenario(helpers.scenario { speed = SLOW })
        local id, n = post_campaign(a)
        wait_for(a, id, function(o) return (o.states.running or 0) > 0 end, 10)
        local b, first, changed = helpers.watch_page(a.url .. "/accelerate/", function() end, { seconds = 30 })
        local ok, err = pcall(function()
            local cells = 0
            for _ in first:gmatch('data%-task="%d+"') do cells = cells + 1 end
            assert.equal(n, cells)
            assert.is_string(changed, "no cell changed state while the page was open")
            assert.truthy(changed:find(id .. ":", 1, true), changed)
            assert.same({}, b:errors())
            b:screenshot(helpers.root .. "/build/runner-page-live.png")
        end)
        b:close()
        assert(ok, err)
    end)

    it("notify in a spec: a POST per task change and one end, from the runner's worker; no auth value anywhere", function()
        local spec = { name = "told", backfills = { { plan = "sales_daily", startTime = "2025-01-01", endTime = "2025-01-31" },
            { plan = "gmv_monthly", startTime = "2025-01-01", endTime = "2025-01-31" } },
            notify = { url = sim.url .. "/__sim/notify" } }
        local id = post_campaign(a, spec)
        wait_for(a, id, state_is("succeeded"))
        local got = helpers.eventually(function()
            local out = {}
            for _, q in ipairs(sim:requests { route = "notify" }) do out[#out + 1] = json.decode(q.body) end
            for _, p in ipairs(out) do if p.event == "end" then return out end end
        end, 10)
        assert.is_table(got, "no end POST")
        local ends, created, settled = 0, 0, 0
        for _, p in ipairs(got) do
            assert.equal("told", p.campaign)
            if p.event == "end" then ends = ends + 1 end
            if p.change == "created" then created = created + 1 end
            if p.change == "settled" then settled = settled + 1 end
        end
        assert.equal(1, ends)
        assert.equal(2, created)
        assert.equal(2, settled)
        -- the auth value: not in the folder, the answers, the metrics, the log
        local secret = sim.auth_value
        local _, files = helpers.sh("cat " .. quote(a.campaigns) .. "/*")
        local _, _, list = api(a, "GET", "campaigns")
        local _, _, one = api(a, "GET", "campaigns/" .. id)
        local _, _, m = api(a, "GET", "metrics")
        local _, _, page = api(a, "GET", "")
        for what, text in pairs { files = files, list = list, one = one, metrics = m, page = page, log = a.log() } do
            assert.is_nil(text:find(secret, 1, true), what)
        end
    end)

    it("a failure budget's stop: failed and parked, even after a restart; resume repairs once and goes on", function()
        -- the failure happens once: its cause is fixed before the resume
        sim:scenario(helpers.scenario { speed = FAST, failures = { retries = 0, partitions = {
            { date = "2025-01-10", table = "dw.sales.orders_daily", times = 1, error = "oom" } } } })
        local spec = { plans = { names = { "sales_daily" } }, startTime = "2025-01-01", endTime = "2025-03-31",
            chunk = "month", max_in_flight = 1, failure_budget = 0 }
        local id = post_campaign(a, spec)
        local o = wait_for(a, id, state_is("failed"), 30)
        assert.equal("failure_budget", o.stopped)
        assert.equal(1, select(2, create_counts()))
        assert(a.run("stop"))
        assert(a.run("start"))
        socket.sleep(1.5)
        assert.equal("failed", get(a, id).state)
        assert.equal(1, select(2, create_counts()))
        -- resume: the FAILED instance repaired once, the other tasks created
        assert.equal(202, (api(a, "POST", "campaigns/" .. id .. "/resume")))
        local done = wait_for(a, id, state_is("succeeded"), 60)
        assert.equal(3, #done.tasks)
        assert.equal(1, #events(a, id, "retry"))
        assert.equal(4, select(2, create_counts()))   -- three tasks and one repair
    end)
end)
