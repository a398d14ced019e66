-- The fault matrix: every call of the blocking client against every fault
-- the simulator can inject.  Each case checks the error kind, the status,
-- code and trace id the server gave (and none it did not), the retryable
-- and outcome_unknown flags as docs/core-api.md documents them, that
-- nothing raises, and that the very next call on the same client succeeds.
-- The cases are generated from two tables (CALLS x FAULTS) and counted.
-- Then the same faults with retries on (GETs recover, a create never
-- repeats), and the default 8 MiB max_body against a body just over it.
-- Runs on Lua 5.1-5.4 and LuaJIT (make test-core).
local helpers = require "spec.helpers"
local accelerate = require "accelerate"

local PLAN = "5468b0c0462e40e08e44108d8164c7c3"

-- Under valgrind or a sanitizer everything is slower (make valgrind-core).
local SLACK = tonumber(os.getenv("ACCELERATE_SPEC_SLACK") or "") or 1

-- The simulator's trace ids: 32 hex digits, a node, a timestamp-sequence.
local TRACE = "^%x+%.%d%d%d%.%d+$"

-- The three calls.  args(ctx) gives the arguments; ok(res) checks a success.
local CALLS = {
    {
        name = "create_task", route = "create", get = false,
        args = function() return { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-02" } end,
        ok = function(res) return type(res) == "string" and res:match("^%x+%-") ~= nil end,
    },
    {
        name = "list_instances", route = "list", get = true,
        args = function(ctx) return ctx.dag end,
        ok = function(res, ctx) return type(res) == "table" and res.dagName == ctx.dag end,
    },
    {
        name = "task_detail", route = "detail", get = true,
        args = function(ctx) return ctx.id end,
        ok = function(res, ctx) return type(res) == "table" and res.taskInstanceId == ctx.id end,
    },
}

local DELAY_TIMEOUT = 0.5 * SLACK

-- Every fault kind the simulator has (docs/sim-contract.md), with what the
-- client must make of it.
--   kind      the error kind
--   status    the HTTP status the error must carry (nil: none)
--   code      the envelope code (nil: none)
--   trace     true: a trace id from the server (envelope or X-Trace-Id)
--   retryable for GETs; a create's is `create_retryable` (never true: creates are not retried)
--   lost      a create that was sent and never answered: outcome_unknown
--   create_unknown  a create answered in a way that does not rule out that
--             it happened (5xx, an unreadable 2xx): outcome_unknown too
--   message   a plain substring the message must contain
--   opts      client options for this case
local FAULTS = {
    { name = "status 500", fault = { kind = "status", status = 500 },
        kind = "http", status = 500, code = "500", trace = true, retryable = true, create_retryable = false,
        create_unknown = true },
    { name = "status 502", fault = { kind = "status", status = 502 },
        kind = "http", status = 502, code = "502", trace = true, retryable = true, create_retryable = false,
        create_unknown = true },
    { name = "status 503", fault = { kind = "status", status = 503 },
        kind = "http", status = 503, code = "503", trace = true, retryable = true, create_retryable = false,
        create_unknown = true },
    { name = "ratelimit 429 Retry-After", fault = { kind = "ratelimit", retry_after = 1 },
        kind = "http", status = 429, code = "429", trace = true, retryable = true, create_retryable = false },
    { name = "html 502 page", fault = { kind = "html", status = 502 },
        kind = "http", status = 502, trace = true, retryable = true, create_retryable = false,
        create_unknown = true, message = "502 Bad Gateway" },
    { name = "html 200 page", fault = { kind = "html", status = 200 },
        kind = "decode", status = 200, trace = true, retryable = false, create_retryable = false,
        create_unknown = true, message = "HTML" },
    { name = "malformed JSON", fault = { kind = "malformed" },
        kind = "decode", status = 200, trace = true, retryable = false, create_retryable = false,
        create_unknown = true, message = "not valid JSON" },
    { name = "truncated body", fault = { kind = "truncated" },
        kind = "network", retryable = true, lost = true },
    { name = "empty body", fault = { kind = "empty" },
        kind = "decode", status = 200, trace = true, retryable = false, create_retryable = false,
        create_unknown = true, message = "empty" },
    { name = "delay past the timeout", fault = { kind = "delay", delay = DELAY_TIMEOUT + 1 },
        opts = { timeout = DELAY_TIMEOUT },
        kind = "timeout", retryable = true, lost = true },
    { name = "drop before handling", fault = { kind = "drop" },
        kind = "network", retryable = true, lost = true },
    { name = "drop after responding", fault = { kind = "drop", after = "respond" },
        kind = "network", retryable = true, lost = true },
    { name = "huge body (1 MiB > max_body 64 KiB)", fault = { kind = "huge", size = 1024 * 1024 },
        kind = "decode", status = 200, trace = true, retryable = false, create_retryable = false,
        create_unknown = true, message = "max_body" },
    { name = "nested JSON (depth 100000)", fault = { kind = "nested", depth = 100000 },
        opts = { max_body = 1024 * 1024 }, -- 200000 bytes: the nesting limit, not max_body, refuses it
        kind = "decode", message = "nested", status = 200, trace = true, retryable = false, create_retryable = false,
        create_unknown = true },
}

local function copy(t, extra)
    local out = {}
    for k, v in pairs(t or {}) do out[k] = v end
    for k, v in pairs(extra or {}) do out[k] = v end
    return out
end

-- Every (call, fault) pair, in a stable order.
local function matrix()
    local cases = {}
    for _, call in ipairs(CALLS) do
        for _, f in ipairs(FAULTS) do cases[#cases + 1] = { call = call, f = f } end
    end
    return cases
end

-- Calls without letting anything escape: returns ok, res, err.
local function call(client, c, ctx)
    local ok, res, err = pcall(client[c.name], client, c.args(ctx))
    return ok, res, err
end

describe("fault matrix", function()
    local sim
    local ctx = {}
    local clients = {}

    local function new(extra)
        local c = assert(accelerate.new(sim:client_options(copy({ timeout = 5 * SLACK, retries = 0,
            max_body = 64 * 1024 }, extra))))
        clients[#clients + 1] = c
        return c
    end

    setup(function()
        sim = helpers.start_sim { scenario = "test" }
        local c = assert(accelerate.new(sim:client_options { timeout = 5 * SLACK }))
        ctx.dag = assert(c:create_task { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-03" })
        ctx.id = assert(c:list_instances(ctx.dag)).instances[1].id
        c:close()
    end)

    teardown(function()
        if sim then sim:stop() end
    end)

    before_each(function()
        sim:clear_requests()
    end)

    after_each(function()
        sim:reset_faults()
        helpers.close_all(clients)
    end)

    local cases = matrix()
    io.stderr:write(("\n[faults] matrix: %d calls x %d faults = %d cases (retries 0), "
        .. "%d more with retries 2, 1 at the default max_body\n"):format(#CALLS, #FAULTS, #cases, #cases))

    for _, case in ipairs(cases) do
        local c, f = case.call, case.f
        it(c.name .. " x " .. f.name, function()
            -- a new client per case: its first request goes on a connection
            -- of its own, so that libcurl's silent re-send of a GET whose
            -- reused connection closed cannot hide the fault
            local client = new(f.opts)
            sim:fault(copy(f.fault, { route = c.route, times = 1 }))
            local ok, res, err = call(client, c, ctx)
            assert.is_true(ok, "raised: " .. tostring(res))
            assert.is_nil(res)
            assert.is_table(err)
            assert.equal(f.kind, err.kind)
            local line = tostring(err)
            assert.matches("^accelerate: %[" .. f.kind .. "%] ", line)
            assert.is_nil(line:find("[%c]"), "one clean line")
            assert.truthy(#line < 500)
            if f.message then assert.truthy(err.message:find(f.message, 1, true), err.message) end

            assert.equal(f.status, err.status)
            assert.equal(f.code, err.code)
            if f.trace then
                assert.is_string(err.trace_id)
                assert.matches(TRACE, err.trace_id)
            else
                assert.is_nil(err.trace_id)
            end

            if c.get then
                assert.equal(f.retryable, err.retryable)
                assert.is_nil(err.outcome_unknown)
            elseif f.lost then
                -- sent, and no answer: the backfill may exist
                assert.is_false(err.retryable)
                assert.is_true(err.outcome_unknown)
                assert.truthy(err.message:find("may have been created", 1, true), err.message)
            elseif f.create_unknown then
                -- answered, but not in a way that rules out the create
                assert.is_false(err.retryable)
                assert.is_true(err.outcome_unknown)
                assert.truthy(err.message:find("may have been created", 1, true), err.message)
            else
                assert.equal(f.create_retryable, err.retryable)
                assert.is_nil(err.outcome_unknown)
            end
            -- the fault was seen, not retried away (retries = 0; a create never)
            assert.equal(1, #sim:requests { route = c.route })

            -- the very next call on the same client succeeds
            local ok2, res2, err2 = call(client, c, ctx)
            assert.is_true(ok2, tostring(res2))
            assert.truthy(c.ok(res2, ctx), "next call after " .. f.name .. ": " .. tostring(err2))
        end)
    end

    -- The same faults with retries on: a GET recovers from every retryable
    -- one within the same call (unless no time is left: the delay case), a
    -- create is never repeated, and nothing non-retryable is retried.
    for _, case in ipairs(cases) do
        local c, f = case.call, case.f
        it(c.name .. " x " .. f.name .. " (retries 2)", function()
            local client = new(copy(f.opts, { retries = 2 }))
            sim:fault(copy(f.fault, { route = c.route, times = 1 }))
            local ok, res, err = call(client, c, ctx)
            assert.is_true(ok, "raised: " .. tostring(res))
            local recovers = c.get and f.retryable and f.kind ~= "timeout"
            if recovers then
                assert.truthy(c.ok(res, ctx), tostring(err))
                assert.equal(2, #sim:requests { route = c.route })
            else
                assert.is_nil(res)
                assert.equal(f.kind, err.kind)
                assert.equal(1, #sim:requests { route = c.route })
            end
            assert.truthy(c.ok(select(2, call(client, c, ctx)), ctx), "next call after " .. f.name)
        end)
    end

    it("turns a body just over the default max_body (8 MiB) into a decode error", function()
        local client = assert(accelerate.new(sim:client_options { timeout = 10 * SLACK, retries = 0 }))
        clients[#clients + 1] = client
        assert.equal(8 * 1024 * 1024, accelerate.config(sim:client_options()).max_body)
        -- the simulator's huge body is '{"data":"' .. size bytes .. '"}'
        sim:fault { route = "list", kind = "huge", size = 8 * 1024 * 1024 - 10, times = 1 }
        local page, err = client:list_instances(ctx.dag)
        assert.is_nil(page)
        assert.equal("decode", err.kind)
        assert.matches("max_body %(8388608 bytes%)", err.message)
        assert.is_false(err.retryable)
        assert(client:list_instances(ctx.dag))
    end)
end)
