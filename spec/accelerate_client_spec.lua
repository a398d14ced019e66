-- The blocking client against the simulator over loopback: every call, both
-- answer shapes, the wire format, retries, timeouts, paging, concurrency,
-- id round-trip and secret redaction.  Runs on Lua 5.1-5.4 and LuaJIT.
local helpers = require "spec.helpers"
local accelerate = require "accelerate"

local PLAN = "5468b0c0462e40e08e44108d8164c7c3"

-- Under valgrind or a sanitizer everything is slower: timing bounds grow by
-- this factor (make valgrind-core sets it).
local SLACK = tonumber(os.getenv("ACCELERATE_SPEC_SLACK") or "") or 1

local function keys(t)
    local out = {}
    for k in pairs(t) do out[#out + 1] = k end
    table.sort(out)
    return out
end

local function contains(s, needle)
    return s ~= nil and tostring(s):find(needle, 1, true) ~= nil
end

describe("accelerate client", function()
    local sim, client
    local clients = {}

    local function new(extra)
        local c = assert(accelerate.new(sim:client_options(extra)))
        clients[#clients + 1] = c
        return c
    end

    local function backfill(days)
        local dag = assert(client:create_task { planId = PLAN, startTime = "2025-01-01",
            endTime = ("2025-01-%02d"):format(days or 3) })
        return dag
    end

    setup(function()
        sim = helpers.start_sim { scenario = "test" }
    end)

    teardown(function()
        if sim then sim:stop() end
    end)

    before_each(function()
        sim:reset()
        client = new { timeout = 5, retries = 2 }
    end)

    after_each(function() helpers.close_all(clients) end)

    it("creates a backfill, lists its instances and reads a detail", function()
        local dag = backfill(3)
        assert.matches("^%x+%-%x+%-%x+%-%x+%-%x+$", dag)
        local page = assert(client:list_instances { dagName = dag, pageIndex = 1, pageSize = 20 })
        assert.equal(dag, page.dagName)
        assert.equal(1, page.pageIndex)
        assert.equal(20, page.pageSize)
        assert.equal(#page.instances, page.total)
        assert.truthy(page.total > 0)
        local inst = page.instances[1]
        assert.is_string(inst.id)
        assert.is_string(inst.status)
        local det = assert(client:task_detail(inst.id))
        assert.equal(inst.id, det.taskInstanceId)
        assert.is_table(det.sql)
        assert.is_nil(det.msg) -- JSON null
        local again = assert(client:list_instances(dag))
        assert.equal(page.total, again.total)
    end)

    it("sends exactly the documented headers and percent-encodes queries", function()
        local dag = backfill(1)
        sim:clear_requests()
        client:list_instances { dagName = "a b&c=d/é+%", pageSize = 5 }
        client:list_instances(dag)
        client:task_detail(tonumber(assert(client:list_instances(dag)).instances[1].id))
        local reqs = sim:requests()
        assert.equal(4, #reqs)
        assert.equal("dagName=a%20b%26c%3Dd%2F%C3%A9%2B%25&pageIndex=1&pageSize=5", reqs[1].query)
        assert.equal("a b&c=d/é+%", reqs[1].args.dagName)
        for _, r in ipairs(reqs) do
            assert.equal("GET", r.method)
            assert.same({ "auth-type", "auth-value", "content-type", "host", "tenant-id" }, keys(r.headers))
            assert.equal("application/json", r.headers["content-type"])
            assert.equal(sim.tenant_id, r.headers["tenant-id"])
            assert.equal(sim.auth_type, r.headers["auth-type"])
            assert.equal(sim.auth_value, r.headers["auth-value"])
        end
        sim:clear_requests()
        backfill(1)
        local post = sim:requests()[1]
        assert.equal("POST", post.method)
        assert.same({ "auth-type", "auth-value", "content-length", "content-type", "host", "tenant-id" },
            keys(post.headers))
        assert.same({ planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-01" }, helpers.json.decode(post.body))
    end)

    it("sends nothing for invalid input", function()
        sim:clear_requests()
        local _, e1 = client:create_task { planId = PLAN, startTime = "2025-02-29", endTime = "2025-03-01" }
        local _, e2 = client:create_task { startTime = "2025-01-01", endTime = "2025-01-02" }
        local _, e3 = client:create_task { planId = PLAN, startTime = "2025-01-02", endTime = "2025-01-01" }
        local _, e4 = client:create_task { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-01",
            dateIntervalOfLot = 0 }
        local _, e5 = client:list_instances("dag\r\nX-Injected: 1")
        local _, e6 = client:task_detail("1\n2")
        local _, e7 = accelerate.new(sim:client_options { tenant_id = "t1\r\nX-Injected: 1" })
        local _, e8 = accelerate.new(sim:client_options { url = "gopher://127.0.0.1/" })
        for _, e in ipairs { e1, e2, e3, e4, e5, e6, e7, e8 } do
            assert.equal("invalid", e.kind)
        end
        assert.same({}, sim:requests())
    end)

    it("accepts list and detail wrapped in the envelope", function()
        local dag = backfill(2)
        local bare_page = assert(client:list_instances(dag))
        local bare = assert(client:task_detail(bare_page.instances[1].id))
        sim:scenario(helpers.scenario { envelope = { list = true, detail = true } })
        local dag2 = backfill(2)
        local page = assert(client:list_instances(dag2))
        assert.same(keys(bare_page), keys(page))
        -- fields that are null (an unfinished instance's endTime) are
        -- dropped, so compare those every answer has
        assert.equal(bare_page.total, page.total)
        local det = assert(client:task_detail(page.instances[1].id))
        for _, k in ipairs { "taskInstanceId", "status", "sql", "mtGuid", "acceleratePlanUuid", "runType" } do
            assert.equal(type(bare[k]), type(det[k]), k)
        end
        assert.equal(page.instances[1].id, det.taskInstanceId)
        sim:scenario(helpers.scenario())
    end)

    it("turns API failures into kind api with code, message and trace id", function()
        local _, err = client:list_instances("no-such-dag")
        assert.equal("api", err.kind)
        assert.equal("404", err.code)
        assert.is_string(err.message)
        assert.is_string(err.trace_id)
        assert.is_false(err.retryable)
        local _, e2 = client:create_task { planId = "no-such-plan", startTime = "2025-01-01", endTime = "2025-01-01" }
        assert.equal("api", e2.kind)
        assert.matches("^accelerate: %[api%] ", tostring(e2))
    end)

    it("reports a wrong url prefix as an HTTP error", function()
        local c = new { url = sim.url .. "/no/such/prefix/" }
        local _, err = c:task_detail("1")
        assert.equal("http", err.kind)
        assert.equal(404, err.status)
        assert.is_false(err.retryable)
    end)

    it("refuses a create answered without a dagName", function()
        sim:fault { route = "create", kind = "body", status = 200,
            body = '{"data":true,"success":true,"code":"200","errorMsg":null,"traceId":"tr-old"}' }
        local dag, err = client:create_task { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-01" }
        assert.is_nil(dag)
        assert.equal("api", err.kind)
        assert.equal("tr-old", err.trace_id)
        sim:fault { route = "create", kind = "body", status = 200,
            body = '{"data":null,"success":true,"code":"200",'
                .. '"errorMsg":"Failed to create the data backfill task","traceId":"t"}' }
        dag, err = client:create_task { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-01" }
        assert.is_nil(dag)
        assert.equal("api", err.kind)
        assert.equal("Failed to create the data backfill task", err.message)
    end)

    it("round-trips ids exactly, whatever their size", function()
        local dag = backfill(1)
        sim:clear_requests()
        local page = assert(client:list_instances(dag))
        for _, inst in ipairs(page.instances) do
            local det = assert(client:task_detail(inst.id))
            assert.equal(inst.id, det.taskInstanceId)
        end
        local big = "123456789012345678901"
        sim:fault { route = "list", kind = "body", status = 200,
            body = '{"dagName":"d","pageIndex":1,"pageSize":20,"total":1,"instances":[{"id":'
                .. big .. ',"status":"FAILED"}]}' }
        page = assert(client:list_instances(dag))
        assert.equal(big, page.instances[1].id)
        sim:clear_requests()
        client:task_detail(page.instances[1].id)
        assert.equal("id=" .. big, sim:requests { route = "detail" }[1].query)
    end)

    it("retries GETs on 5xx and counts the attempts", function()
        local dag = backfill(1)
        sim:clear_requests()
        sim:fault { route = "list", kind = "status", status = 503, times = 2 }
        assert(client:list_instances(dag))
        assert.equal(3, #sim:requests { route = "list" })

        sim:clear_requests()
        sim:fault { route = "list", kind = "status", status = 502, times = -1 }
        local _, err = client:list_instances(dag)
        assert.equal("http", err.kind)
        assert.equal(502, err.status)
        assert.is_true(err.retryable)
        assert.equal(3, #sim:requests { route = "list" })
        sim:reset_faults()

        local c0 = new { retries = 0 }
        sim:clear_requests()
        sim:fault { route = "list", kind = "status", status = 503, times = 1 }
        assert.is_nil((c0:list_instances(dag)))
        assert.equal(1, #sim:requests { route = "list" })
    end)

    it("honours Retry-After on 429, within the deadline", function()
        local dag = backfill(1)
        sim:clear_requests()
        sim:fault { route = "list", kind = "ratelimit", retry_after = 1, times = 1 }
        local t0 = accelerate.now()
        assert(client:list_instances(dag))
        local dt = accelerate.now() - t0
        assert.truthy(dt >= 0.9, dt)
        assert.equal(2, #sim:requests { route = "list" })

        -- a Retry-After beyond the timeout is not waited for
        local quick = new { timeout = 1 }
        sim:clear_requests()
        sim:fault { route = "list", kind = "ratelimit", retry_after = 30, times = 1 }
        t0 = accelerate.now()
        local _, err = quick:list_instances(dag)
        assert.truthy(accelerate.now() - t0 < 0.5 * SLACK)
        assert.equal(429, err.status)
        assert.is_true(err.retryable)
        assert.equal(1, #sim:requests { route = "list" })
    end)

    it("never retries a create", function()
        for _, f in ipairs {
            { route = "create", kind = "status", status = 503 },
            { route = "create", kind = "ratelimit", retry_after = 0 },
            { route = "create", kind = "drop" },
        } do
            sim:reset_faults()
            sim:clear_requests()
            sim:fault(f)
            local dag, err = client:create_task { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-01" }
            assert.is_nil(dag)
            assert.equal(1, #sim:requests { route = "create" })
            -- retryable means "the client retries this": never for a create
            assert.is_false(err.retryable)
        end
    end)

    it("says a create whose answer was lost may have happened", function()
        sim:fault { route = "create", kind = "drop", after = "respond" }
        local dag, err = client:create_task { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-01" }
        assert.is_nil(dag)
        assert.equal("network", err.kind)
        assert.is_false(err.retryable)
        assert.is_true(err.outcome_unknown)
        assert.matches("may have been created", err.message)
        assert.equal(1, #sim:requests { route = "create" })
        assert(backfill(1)) -- the client still works
    end)

    it("keeps timeouts real, retries included", function()
        local dag = backfill(1)
        local c = new { timeout = 0.5, retries = 2 }
        sim:fault { route = "list", kind = "delay", delay = 3, times = -1 }
        local t0 = accelerate.now()
        local page, err = c:list_instances(dag)
        local dt = accelerate.now() - t0
        assert.is_nil(page)
        assert.equal("timeout", err.kind)
        assert.is_true(err.retryable)
        assert.truthy(dt >= 0.45 and dt < 0.5 + 0.3 * SLACK, dt)
        sim:reset_faults()
        assert(c:list_instances(dag))
    end)

    it("turns faults into the right kinds and recovers on the next call", function()
        local dag = backfill(1)
        for _, case in ipairs {
            { { kind = "html", status = 502 }, "http" },
            { { kind = "html", status = 200 }, "decode" },
            { { kind = "malformed" }, "decode" },
            { { kind = "empty" }, "decode" },
            { { kind = "truncated" }, "network" },
            { { kind = "drop" }, "network" },
            { { kind = "huge", size = 1024 * 1024 }, "decode" },
            { { kind = "nested", depth = 100000 }, "decode" },
            { { kind = "status", status = 401 }, "http" },
        } do
            -- a new client per case: a drop on a reused connection is
            -- re-sent by libcurl itself, which this case is not about
            local c = new { retries = 0, max_body = 64 * 1024 }
            local f = case[1]
            f.route = "list"
            sim:fault(f)
            local page, err = c:list_instances(dag)
            assert.is_nil(page, f.kind)
            assert.equal(case[2], err.kind, f.kind)
            assert.truthy(#tostring(err) < 500, f.kind)
            assert.is_nil(tostring(err):find("\n"), f.kind)
            if f.kind == "html" and f.status == 502 then
                assert.equal(502, err.status)
                assert.is_string(err.trace_id) -- from X-Trace-Id
            end
            if f.kind == "huge" then assert.matches("max_body", err.message) end
            assert(c:list_instances(dag), "next call after " .. f.kind)
        end
    end)

    it("recovers from a truncated answer by retrying the GET", function()
        local dag = backfill(1)
        sim:clear_requests()
        sim:fault { route = "list", kind = "truncated" }
        assert(client:list_instances(dag))
        assert.equal(2, #sim:requests { route = "list" })
    end)

    it("does not follow redirects", function()
        local target = sim.url .. "/anymetrics/api/v1/scheduler/task/detail?id=1"
        local script = ([[
            local socket = require "socket"
            local s = assert(socket.bind("127.0.0.1", 0))
            local _, port = s:getsockname()
            io.stdout:write(port, "\n") io.stdout:flush()
            s:settimeout(10)
            local c = s:accept()
            if c then
                c:settimeout(2)
                repeat local l = c:receive("*l") until not l or l == ""
                c:send("HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                c:close()
            end
        ]]):format(target)
        local p = io.popen("lua5.1 -e " .. helpers.quote(script), "r")
        local port = p:read("*l")
        sim:clear_requests()
        local c = new { url = "http://127.0.0.1:" .. port }
        local det, err = c:task_detail("1")
        p:close()
        assert.is_nil(det)
        assert.equal("http", err.kind)
        assert.equal(302, err.status)
        assert.matches("redirect", err.message)
        assert.same({}, sim:requests())
    end)

    it("pages lazily through every instance", function()
        local dag = backfill(20)
        sim:clear_requests()
        local it = client:instances(dag, { pageSize = 7 })
        assert.equal(0, #sim:requests { route = "list" }) -- lazy
        local seen, ids = 0, {}
        for inst in it do
            seen = seen + 1
            assert.is_nil(ids[inst.id])
            ids[inst.id] = true
        end
        local total = assert(client:list_instances(dag)).total
        assert.equal(total, seen)
        local reqs = sim:requests { route = "list" }
        assert.equal(math.ceil(total / 7) + 1, #reqs)
        for i = 1, #reqs - 1 do
            assert.equal(tostring(i), reqs[i].args.pageIndex)
            assert.equal("7", reqs[i].args.pageSize)
        end
    end)

    it("raises the error object from the iterator", function()
        local ok, err = pcall(function()
            for _ in client:instances("no-such-dag") do end
        end)
        assert.is_false(ok)
        assert.equal("api", err.kind)
        ok, err = pcall(client.instances, client, "dag", { pageSize = 0 })
        assert.is_false(ok)
        assert.equal("invalid", err.kind)
    end)

    it("fetches many details concurrently, keyed by id", function()
        local dag = backfill(5)
        local page = assert(client:list_instances(dag))
        local ids = {}
        for i = 1, 8 do ids[i] = page.instances[i].id end
        ids[9] = tonumber(ids[1]) -- a duplicate as a number
        sim:fault { route = "detail", kind = "delay", delay = 0.3, times = -1 }
        local t0 = accelerate.now()
        local details, errors = client:task_details(ids, { concurrency = 8 })
        local dt = accelerate.now() - t0
        assert.is_nil(errors)
        for i = 1, 8 do
            assert.equal(ids[i], details[ids[i]].taskInstanceId)
        end
        assert.truthy(dt < 1.2 * SLACK, dt) -- one at a time would take 2.4 s
        sim:reset_faults()

        sim:fault { route = "detail", kind = "status", status = 503, times = 1 }
        details, errors = client:task_details({ ids[1], ids[2], "bad\nid", "nope" }, { concurrency = 2 })
        assert.is_table(details[ids[1]])
        assert.is_table(details[ids[2]])
        assert.equal("invalid", errors["bad\nid"].kind)
        assert.equal("api", errors["nope"].kind)

        local none, e = client:task_details({}, {})
        assert.same({}, none)
        assert.is_nil(e)
        local _, bad = client:task_details(ids, { concurrency = 0 })
        assert.equal("invalid", bad.kind)
        assert.has_error(function() client:task_details(ids, { concurrency = "8" }) end)
        assert.has_error(function() client:task_details({ {} }) end)
    end)

    it("never shows the auth value", function()
        local secret = "sekret-XYZ-1"
        local c = new { auth_value = secret }
        assert.is_nil(tostring(c):find(secret, 1, true))
        assert.matches("accelerate.client", tostring(c))
        assert.matches(sim.url, tostring(c), 1, true)
        local _, err = c:list_instances("d")
        assert.equal("http", err.kind)
        for k, v in pairs(err) do
            assert.is_false(contains(v, secret), k)
        end
        assert.is_false(contains(tostring(err), secret))
        -- an answer that echoes the secret is redacted
        sim:fault { route = "detail", kind = "body", status = 400,
            body = '{"success":false,"code":"400","errorMsg":"bad auth-value ' .. secret
                .. '","detailErrorMsg":"' .. secret .. '"}' }
        _, err = c:task_detail("1")
        assert.is_false(contains(tostring(err), secret))
        assert.is_false(contains(err.detail, secret))
    end)

    it("closes idempotently and refuses use after close", function()
        local c = assert(accelerate.new(sim:client_options()))
        assert(c:list_instances(backfill(1)))
        c:close()
        c:close()
        assert.matches("closed", tostring(c))
        local ok, msg = pcall(c.list_instances, c, "d")
        assert.is_false(ok)
        assert.matches("closed client", msg)
        assert.has_error(function() c:task_details({ "1" }) end)
        assert.has_error(function() c:instances("d") end)
    end)

    it("is collected without close", function()
        for _ = 1, 50 do
            local c = assert(accelerate.new(sim:client_options()))
            c:task_detail("1")
        end
        collectgarbage()
        collectgarbage()
        if _VERSION == "Lua 5.4" then
            local f = assert(load([[
                local accelerate, opts = ...
                local c <close> = assert(accelerate.new(opts))
                return c
            ]]))
            local c = f(accelerate, sim:client_options())
            assert.matches("closed", tostring(c))
        end
    end)

    it("lets a Lua transport reuse prepare and decode", function()
        local http = require "socket.http"
        local ltn12 = require "ltn12"
        local cfg = assert(accelerate.config(sim:client_options()))
        local function call(name, args)
            local req = assert(accelerate.prepare(cfg, name, args))
            local chunks, headers = {}, {}
            for k, v in pairs(req.headers) do headers[k] = v end
            if req.body then headers["content-length"] = tostring(#req.body) end
            local _, status, rheaders = http.request {
                url = req.url, method = req.method, headers = headers,
                source = req.body and ltn12.source.string(req.body) or nil,
                sink = ltn12.sink.table(chunks),
            }
            return accelerate.decode(name, status, rheaders, table.concat(chunks), cfg)
        end
        local dag = assert(call("create_task", { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-02" }))
        local page = assert(call("list_instances", dag))
        -- the simulated clock runs fast, so statuses may move between the
        -- two reads: compare what cannot change
        local mine = assert(client:list_instances(dag))
        assert.equal(mine.total, page.total)
        for i, inst in ipairs(mine.instances) do
            assert.equal(inst.id, page.instances[i].id)
            assert.equal(inst.startPartition, page.instances[i].startPartition)
        end
        local det = assert(call("task_detail", page.instances[1].id))
        local det2 = assert(client:task_detail(page.instances[1].id))
        assert.equal(det2.taskInstanceId, det.taskInstanceId)
        assert.same(det2.sql, det.sql)
        local _, err = call("list_instances", "no-such-dag")
        assert.equal("api", err.kind)
        assert.is_string(err.trace_id)
        _, err = accelerate.prepare(cfg, "task_detail", "1\r\n")
        assert.equal("invalid", err.kind)
    end)

    -- issue 18 point 2: facts below, decisions above.  A transport reports
    -- what happened; one table in accelerate.client decides.
    it("reports facts on raw transport errors; the policy's table decides", function()
        local core = require "accelerate.core"
        local policy = require "accelerate.client"
        -- nothing listens: the connection fails before a byte left
        local sock = require "socket"
        local srv = assert(sock.bind("127.0.0.1", 0))
        local _, port = srv:getsockname()
        srv:close()
        local opts = sim:client_options { timeout = 2, retries = 0 }
        opts.url = "http://127.0.0.1:" .. port
        local t = assert(core.transport(opts))
        local _, err = t:request("create_task", { planId = PLAN, startTime = "2025-01-01",
            endTime = "2025-01-02" }, 2)
        assert.equal("network", err.kind)
        assert.equal("connect", err.failure)
        assert.is_false(err.sent)
        assert.is_false(err.answered)
        assert.is_nil(err.outcome_unknown) -- a fact-only error: no decision yet
        t:close()
        -- a create sent and its answer lost: the transport says sent, the
        -- policy says it may have happened
        t = assert(core.transport(sim:client_options { timeout = 2, retries = 0 }))
        sim:fault { route = "create", kind = "drop", after = "respond", times = 1 }
        _, err = t:request("create_task", { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-02" }, 2)
        t:close()
        assert.equal("network", err.kind)
        assert.is_true(err.sent)
        assert.is_nil(err.outcome_unknown)
        assert.is_not_nil(({ reset = true, receive = true })[err.failure], tostring(err.failure))
        assert.equal(err, policy.judge("create_task", err))
        assert.is_true(err.outcome_unknown)
        assert.is_false(err.retryable)
        assert.matches("may have been created", err.message, 1, true)
        -- judged twice, said once
        policy.judge("create_task", err)
        local _, n = err.message:gsub("may have been created", "")
        assert.equal(1, n)
        -- the same table for a read: a lost answer is worth another try
        local read = accelerate.error("network", "x", { failure = "reset", sent = true, answered = false })
        assert.is_true(policy.judge("task_detail", read).retryable)
        assert.is_nil(read.outcome_unknown)
        -- and the decoder's facts: a create answered success without a dagName
        local _, derr = core.decode("create_task", 200, {}, '{"success":true,"code":"200","data":null}')
        assert.is_true(derr.success)
        assert.is_false(derr.explained)
    end)

    it("reuses one connection for sequential calls", function()
        local dag = backfill(1)
        sim:clear_requests()
        for _ = 1, 5 do assert(client:list_instances(dag)) end
        local reqs = sim:requests { route = "list" }
        assert.equal(5, #reqs)
        if reqs[1].connection then
            for i = 2, 5 do assert.equal(reqs[1].connection, reqs[i].connection) end
        end
    end)
end)
