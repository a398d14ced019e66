-- The C core without a server: options, request preparation, decoding,
-- error objects, retry policy and clock helpers (the sans-I/O interface a
-- Lua transport builds on).  Runs on Lua 5.1-5.4 and LuaJIT.
local accelerate = require "accelerate"

local CFG = { url = "http://127.0.0.1:8083", tenant_id = "t1", auth_type = "UID", auth_value = "u-secret-1" }

local function merge(a, b)
    local t = {}
    for k, v in pairs(a) do t[k] = v end
    for k, v in pairs(b or {}) do t[k] = v end
    return t
end

local function invalid(res, err, pattern)
    assert.is_nil(res)
    assert.is_table(err)
    assert.equal("invalid", err.kind)
    if pattern then assert.matches(pattern, err.message) end
    return err
end

-- pattern first: a call in the middle of an argument list keeps one value
local function refused(pattern, res, err)
    return invalid(res, err, pattern)
end

local CREATE = { planId = "5468b0c0462e40e08e44108d8164c7c3", startTime = "2025-01-01", endTime = "2025-01-31" }

describe("accelerate (core)", function()
    it("has a version and the documented functions", function()
        assert.matches("^%d+%.%d+%.%d+$", accelerate.VERSION)
        for _, f in ipairs { "new", "config", "prepare", "decode", "error", "retry_delay", "sleep", "now" } do
            assert.is_function(accelerate[f], f)
        end
    end)

    describe("config", function()
        it("normalises options and applies defaults", function()
            local c = assert(accelerate.config(merge(CFG,
                { url = "HTTPS://gw.example.com/prefix//", auth_type = "token" })))
            assert.equal("HTTPS://gw.example.com/prefix", c.url)
            assert.equal("TOKEN", c.auth_type)
            assert.equal(30, c.timeout)
            assert.equal(5, c.connect_timeout)
            assert.equal(2, c.retries)
            assert.equal(8 * 1024 * 1024, c.max_body)
            assert.is_false(c.insecure)
        end)

        it("refuses bad values with kind invalid", function()
            for _, bad in ipairs {
                { url = "ftp://h" }, { url = "http://" }, { url = "http://h:0" }, { url = "http://h:99999" },
                { url = "http://u:p@h" }, { url = "http://h/a?b" }, { url = "http://h /x" }, { url = "h:8083" },
                { auth_type = "BASIC" }, { tenant_id = "" }, { tenant_id = "t\r\nX-Evil: 1" },
                { auth_value = "a\nb" }, { auth_value = "a\0b" }, { timeout = 0 }, { timeout = -1 },
                { connect_timeout = 0 }, { retries = -1 }, { retries = 1.5 }, { retries = 11 }, { max_body = 10 },
            } do
                invalid(accelerate.config(merge(CFG, bad)))
            end
        end)

        it("never puts the auth value in an error", function()
            local _, err = accelerate.config(merge(CFG, { auth_value = "sekret\nvalue" }))
            assert.is_nil(tostring(err):find("sekret", 1, true))
        end)

        it("raises on wrong Lua types", function()
            assert.has_error(function() accelerate.config(merge(CFG, { url = 8083 })) end)
            assert.has_error(function() accelerate.config(merge(CFG, { timeout = "5" })) end)
            assert.has_error(function() accelerate.config(merge(CFG, { insecure = "yes" })) end)
            assert.has_error(function() accelerate.config("http://x") end)
        end)

        it("falls back to the environment", function()
            -- a child interpreter (the one running this spec) gets the
            -- variables; options given explicitly still win
            local lua = arg and arg[-1]
            if not lua then return pending("interpreter unknown") end
            local script = os.tmpname()
            local f = assert(io.open(script, "w"))
            f:write(("package.cpath = %q\n"):format(package.cpath), ("package.path = %q\n"):format(package.path), [[
                local a = require "accelerate"
                local c = assert(a.config { timeout = 2 })
                local o = a.config { url = "http://opt:1", tenant_id = "t", auth_type = "UID", auth_value = "v" }
                io.write(c.url, " ", c.tenant_id, " ", c.auth_type, " ", c.auth_value, " ", o.url)
            ]])
            f:close()
            local p = io.popen("env ACCELERATE_URL=http://env-host:9/p/ ACCELERATE_TENANT_ID=te"
                .. " ACCELERATE_AUTH_TYPE=apikey ACCELERATE_AUTH_VALUE=ve '" .. lua .. "' " .. script)
            local out = p:read("*a")
            p:close()
            os.remove(script)
            assert.equal("http://env-host:9/p te APIKEY ve http://opt:1", out)
            local _, err = accelerate.config { tenant_id = "t", auth_type = "UID", auth_value = "v",
                url = os.getenv("ACCELERATE_URL") and 5 or nil }
            if err then assert.matches("ACCELERATE_URL", err.message) end
        end)
    end)

    describe("prepare", function()
        it("builds create_task as a POST with a JSON body", function()
            local r = assert(accelerate.prepare(CFG, "create_task", merge(CREATE, { dateIntervalOfLot = 7 })))
            assert.equal("POST", r.method)
            assert.equal("create_task", r.call)
            assert.is_false(r.idempotent)
            assert.equal("http://127.0.0.1:8083/anymetrics/api/v1/accelerate/task/create", r.url)
            assert.equal("", r.query)
            assert.same({ ["tenant-id"] = "t1", ["auth-type"] = "UID", ["auth-value"] = "u-secret-1",
                ["Content-Type"] = "application/json" }, r.headers)
            local body = require("cjson").decode(r.body)
            assert.same(merge(CREATE, { dateIntervalOfLot = 7 }), body)
        end)

        it("accepts planName instead of planId and escapes JSON", function()
            local r = assert(accelerate.prepare(CFG, "create_task",
                { planName = 'sales "daily" \\', startTime = "2024-02-29", endTime = "2024-02-29" }))
            assert.equal('sales "daily" \\', require("cjson").decode(r.body).planName)
        end)

        it("keeps a gateway prefix in front of the path", function()
            local r = assert(accelerate.prepare(merge(CFG, { url = "https://gw.example.com/am/" }), "task_detail", "1"))
            assert.equal("https://gw.example.com/am/anymetrics/api/v1/scheduler/task/detail?id=1", r.url)
        end)

        it("refuses invalid create input", function()
            local function bad(over, pat)
                local args = merge(CREATE, over)
                for k, v in pairs(over) do if v == false then args[k] = nil end end
                refused(pat, accelerate.prepare(CFG, "create_task", args))
            end
            bad({ planId = false }, "planId or planName")
            bad({ startTime = "2025-02-30" }, "startTime")
            bad({ startTime = "2023-02-29" }, "startTime")
            bad({ endTime = "2025-13-01" }, "endTime")
            bad({ endTime = "2025-1-01" }, "endTime")
            bad({ endTime = "2025-01-01T00:00:00" }, "endTime")
            bad({ startTime = "2025-02-01" }, "after")
            bad({ dateIntervalOfLot = 0 }, "dateIntervalOfLot")
            bad({ dateIntervalOfLot = 1.5 }, "dateIntervalOfLot")
            bad({ planId = "p\r\nx" }, "planId")
            bad({ planID = "typo" }, "unknown field 'planID'")
            bad({ endTime = false }, "required")
        end)

        it("raises on wrong Lua types", function()
            assert.has_error(function() accelerate.prepare(CFG, "create_task", "x") end)
            assert.has_error(function() accelerate.prepare(CFG, "create_task", merge(CREATE, { planId = 5 })) end)
            assert.has_error(function()
                accelerate.prepare(CFG, "create_task", merge(CREATE, { dateIntervalOfLot = "7" }))
            end)
            assert.has_error(function() accelerate.prepare(CFG, "task_detail", {}) end)
            assert.has_error(function() accelerate.prepare(CFG, "list_instances", 5) end)
            assert.has_error(function() accelerate.prepare(CFG, "nope", {}) end)
        end)

        it("percent-encodes query values", function()
            local r = assert(accelerate.prepare(CFG, "list_instances",
                { dagName = "a b&c=d/é+%", pageIndex = 3, pageSize = 50 }))
            assert.equal("GET", r.method)
            assert.is_true(r.idempotent)
            assert.is_nil(r.body)
            assert.equal("dagName=a%20b%26c%3Dd%2F%C3%A9%2B%25&pageIndex=3&pageSize=50", r.query)
            assert.equal("/anymetrics/api/v1/accelerate/task/instance/list", r.path)
        end)

        it("defaults pageIndex 1 and pageSize 20", function()
            local r = assert(accelerate.prepare(CFG, "list_instances", "dag-1"))
            assert.equal("dagName=dag-1&pageIndex=1&pageSize=20", r.query)
        end)

        it("refuses bad list input", function()
            refused("dagName", accelerate.prepare(CFG, "list_instances", { pageIndex = 1 }))
            invalid(accelerate.prepare(CFG, "list_instances", "dag\r\n1"))
            invalid(accelerate.prepare(CFG, "list_instances", ""))
            invalid(accelerate.prepare(CFG, "list_instances", { dagName = "d", pageIndex = 0 }))
            invalid(accelerate.prepare(CFG, "list_instances", { dagName = "d", pageSize = 2.5 }))
            refused("unknown", accelerate.prepare(CFG, "list_instances", { dagName = "d", page = 2 }))
        end)

        it("formats numeric ids exactly", function()
            local r = assert(accelerate.prepare(CFG, "task_detail", 12876560))
            assert.equal("id=12876560", r.query)
            r = assert(accelerate.prepare(CFG, "task_detail", 12876560.0))
            assert.equal("id=12876560", r.query)
            r = assert(accelerate.prepare(CFG, "task_detail", 2 ^ 53))
            assert.equal("id=9007199254740992", r.query)
            r = assert(accelerate.prepare(CFG, "task_detail", "123456789012345678901"))
            assert.equal("id=123456789012345678901", r.query)
            invalid(accelerate.prepare(CFG, "task_detail", 1.5))
            invalid(accelerate.prepare(CFG, "task_detail", -1))
            invalid(accelerate.prepare(CFG, "task_detail", 2 ^ 60))
            invalid(accelerate.prepare(CFG, "task_detail", "12\n34"))
            invalid(accelerate.prepare(CFG, "task_detail", ""))
        end)

        it("does not modify the caller's tables", function()
            local args = merge(CREATE, {})
            accelerate.prepare(CFG, "create_task", args)
            assert.same(CREATE, args)
        end)
    end)

    describe("decode", function()
        local ENV = '{"data":%s,"success":%s,"code":"%s","errorMsg":%s,"detailErrorMsg":%s,"traceId":"tr-1"}'

        it("reads create's envelope", function()
            local dag = assert(accelerate.decode("create_task", 200, {},
                ENV:format('"e94bc831-f5f9-4604-8717-6742ae61e729"', "true", "200", "null", "null")))
            assert.equal("e94bc831-f5f9-4604-8717-6742ae61e729", dag)
        end)

        it("treats a create without a dagName as an api error", function()
            for _, data in ipairs { "true", "null", "{}", '""' } do
                local _, err = accelerate.decode("create_task", 200, {},
                    ENV:format(data, "true", "200", '"Failed to create the data backfill task"', "null"))
                assert.equal("api", err.kind)
                assert.equal("200", err.code)
                assert.equal("tr-1", err.trace_id)
            end
            local _, err = accelerate.decode("create_task", 200, {}, ENV:format("true", "true", "200", "null", "null"))
            assert.matches("dagName", err.message)
        end)

        -- issue 17: an answer with no usable dagName and no reason does not
        -- rule the create out; one with errorMsg or detailErrorMsg does.
        it("takes a create answered without a usable dagName and without a reason as outcome unknown", function()
            local datas = { "null", "true", "false", "12345", "{}", "[]", '""', '"  "', '"\\t"', '"a b"',
                '"e94bc831\\nx"', '"e94bc831\\u0001"', '"\\u00a0"', '"' .. ("d"):rep(257) .. '"' }
            for _, data in ipairs(datas) do
                for _, msgs in ipairs { { "null", "null" }, { '""', '"  "' } } do
                    local body = ENV:format(data, "true", "200", msgs[1], msgs[2])
                    local dag, err = accelerate.decode("create_task", 200, {}, body)
                    assert.is_nil(dag, body)
                    assert.equal("api", err.kind, body)
                    assert.is_true(err.outcome_unknown, body)
                    assert.is_false(err.retryable, body)
                    assert.equal("tr-1", err.trace_id, body)
                    assert.matches("may have been created", err.message, 1, true)
                end
            end
            -- no data at all, no errorMsg
            local _, err = accelerate.decode("create_task", 200, {}, '{"success":true,"code":"200"}')
            assert.is_true(err.outcome_unknown)
            -- a bare string that is no dagName is not an answer that can be read
            _, err = accelerate.decode("create_task", 200, {}, '"  "')
            assert.is_true(err.outcome_unknown)
            assert.is_false(err.retryable)
            -- the longest plausible id still is one
            local long = ("d"):rep(256)
            assert.equal(long, (accelerate.decode("create_task", 200, {}, ENV:format('"' .. long .. '"', "true",
                "200", "null", "null"))))
        end)

        it("keeps a create answered without a dagName but with a reason a stated refusal", function()
            for _, msgs in ipairs { { '"Failed to create"', "null" }, { "null", '"stack"' } } do
                for _, data in ipairs { "null", "true", '"  "' } do
                    local body = ENV:format(data, "true", "200", msgs[1], msgs[2])
                    local _, err = accelerate.decode("create_task", 200, {}, body)
                    assert.equal("api", err.kind, body)
                    assert.is_false(err.outcome_unknown, body)
                    assert.is_false(err.retryable, body)
                end
            end
        end)

        it("turns success=false into kind api with every field", function()
            local _, err = accelerate.decode("list_instances", 200, { ["X-Trace-Id"] = "hdr" },
                ENV:format("null", "false", "404", '"no such dag"', '"stack\\nline 2"'))
            assert.equal("api", err.kind)
            assert.equal("404", err.code)
            assert.equal("no such dag", err.message)
            assert.equal("stack\nline 2", err.detail)
            assert.equal("tr-1", err.trace_id)
            assert.is_false(err.retryable)
            assert.equal("accelerate: [api] no such dag (code=404, trace_id=tr-1)", tostring(err))
        end)

        it("accepts the bare and the wrapped list", function()
            local page = '{"dagName":"d","pageIndex":1,"pageSize":20,"total":2,"instances":['
                .. '{"id":"12876560","status":"SUCCESS","endTime":null},{"id":12876561}]}'
            local a = assert(accelerate.decode("list_instances", 200, {}, page))
            local b = assert(accelerate.decode("list_instances", 200, {},
                ENV:format(page, "true", "200", "null", "null")))
            assert.same(a, b)
            assert.equal("12876560", a.instances[1].id)
            assert.equal("12876561", a.instances[2].id)
            assert.is_nil(a.instances[1].endTime)
            assert.equal(2, a.total)
            assert.equal("1", tostring(a.pageIndex))
        end)

        it("keeps the digits of ids beyond 2^53", function()
            local a = assert(accelerate.decode("list_instances", 200, {},
                '{"instances":[{"id": 123456789012345678901, "x": 1}, {"id":-5}],"total":2}'))
            assert.equal("123456789012345678901", a.instances[1].id)
            assert.equal("-5", a.instances[2].id)
            local d = assert(accelerate.decode("task_detail", 200, {},
                '{"taskInstanceId":9007199254740993,"retryCnt":0}'))
            assert.equal("9007199254740993", d.taskInstanceId)
            -- a key merely containing "id" is left alone, strings too
            d = assert(accelerate.decode("task_detail", 200, {}, '{"taskInstanceId":"77","uuid":5,"s":"\\"id\\":1"}'))
            assert.equal("77", d.taskInstanceId)
            assert.equal(5, d.uuid)
            assert.equal('"id":1', d.s)
        end)

        it("turns JSON null into nil everywhere", function()
            local d = assert(accelerate.decode("task_detail", 200, {},
                '{"taskInstanceId":1,"msg":null,"sql":{"originalSql":null,"formattedSql":"x"},'
                .. '"statusTime":{"WAITING":null}}'))
            assert.is_nil(d.msg)
            assert.is_nil(d.sql.originalSql)
            assert.equal("x", d.sql.formattedSql)
            assert.is_nil(next(d.statusTime))
        end)

        it("reads an answer alike whether its own reader or cjson takes it", function()
            -- the core's JSON reader gives up on what it does not read exactly
            -- as cjson (a surrogate pair, "1.", -0) and cjson reads it: ids,
            -- nulls and integers must come out the same either way
            local tail = '"n":2.0,"e":1e3,"a":[1,null,"x"],"d":1,"d":null,"u":"\\u00e9\\n\\/"}'
            local fast = assert(accelerate.decode("task_detail", 200, {},
                '{"taskInstanceId":9007199254740993,"msg":null,"s":"ok",' .. tail))
            local slow = assert(accelerate.decode("task_detail", 200, {},
                '{"taskInstanceId":9007199254740993,"msg":null,"s":"\\ud83d\\ude00","z":1.,' .. tail))
            for _, d in ipairs({ fast, slow }) do
                assert.equal("9007199254740993", d.taskInstanceId)
                assert.is_nil(d.msg)
                assert.is_nil(d.d) -- the last of a repeated key wins, null included
                assert.equal(2, d.n)
                assert.equal(1000, d.e)
                local mtype = rawget(math, "type") -- 5.3+: integers are a subtype
                if mtype then
                    assert.equal("integer", mtype(d.n))
                    assert.equal("integer", mtype(d.e))
                end
                assert.equal(3, #d.a)
                assert.equal(require("cjson").null, d.a[2])
                assert.equal("\195\169\n/", d.u)
            end
            assert.equal("ok", fast.s)
            assert.equal("\240\159\152\128", slow.s)
            assert.equal(1, slow.z)
            local _, err = accelerate.decode("task_detail", 500, {}, '{"success":false,"code":-0}')
            assert.equal("-0", err.code)
        end)

        it("reports HTTP errors with the envelope's fields", function()
            local _, err = accelerate.decode("task_detail", 503, { ["x-trace-id"] = "hdr-9" },
                ENV:format("null", "false", "503", '"busy"', "null"))
            assert.equal("http", err.kind)
            assert.equal(503, err.status)
            assert.equal("503", err.code)
            assert.equal("tr-1", err.trace_id)
            assert.is_true(err.retryable)
            assert.matches("busy", err.message)
            _, err = accelerate.decode("task_detail", 404, { ["X-TRACE-ID"] = "hdr-9" }, "")
            assert.equal("hdr-9", err.trace_id)
            assert.is_false(err.retryable)
            _, err = accelerate.decode("task_detail", 429, nil, "")
            assert.is_true(err.retryable)
            -- a create answered 5xx may have happened: not retryable
            _, err = accelerate.decode("create_task", 503, nil, "")
            assert.is_false(err.retryable)
            _, err = accelerate.decode("create_task", 429, nil, "")
            assert.is_true(err.retryable)
        end)

        it("reads a gateway's Spring error body", function()
            local _, err = accelerate.decode("task_detail", 404, {},
                '{"timestamp":"2025-01-01T00:00:00","status":404,"error":"Not Found","path":"/x"}')
            assert.equal("HTTP 404: Not Found", err.message)
            _, err = accelerate.decode("task_detail", 500, {}, '{"status":500,"error":"Internal","message":"boom"}')
            assert.equal("HTTP 500: boom", err.message)
        end)

        it("summarises an HTML page in one short line", function()
            local html = "<html><head><title>502 Bad Gateway</title></head><body>"
                .. ("x"):rep(100000) .. "</body></html>"
            local _, err = accelerate.decode("list_instances", 502, {}, html)
            assert.equal("http", err.kind)
            assert.equal("HTTP 502: 502 Bad Gateway", err.message)
            _, err = accelerate.decode("list_instances", 200, {}, html)
            assert.equal("decode", err.kind)
            assert.truthy(#tostring(err) < 400)
            assert.is_nil(tostring(err):find("\n"))
        end)

        it("reports malformed, empty, scalar and nested answers as decode", function()
            local deep = ("["):rep(200000) .. ("]"):rep(200000)
            for _, body in ipairs { '{"data": "e94bc831-f5f9, "success": tru', "", "42", "[1,2]", deep, "NaN" } do
                local _, err = accelerate.decode("task_detail", 200, {}, body)
                assert.equal("decode", err.kind, body:sub(1, 20))
                assert.truthy(#err.message <= 310)
            end
        end)

        it("says that redirects are not followed", function()
            local _, err = accelerate.decode("task_detail", 302, {}, "")
            assert.equal("http", err.kind)
            assert.matches("redirect", err.message)
        end)

        it("redacts the auth value when given the config", function()
            local _, err = accelerate.decode("task_detail", 401, {},
                ENV:format("null", "false", "401", '"bad auth-value u-secret-1"', '"u-secret-1"'), CFG)
            assert.is_nil(tostring(err):find("u-secret-1", 1, true))
            assert.is_nil(err.detail:find("u-secret-1", 1, true))
        end)
    end)

    describe("errors", function()
        it("are built by accelerate.error with the shared metatable", function()
            local err = accelerate.error("network", "connection reset", { retryable = true, status = 0 })
            assert.equal("network", err.kind)
            assert.is_true(err.retryable)
            assert.equal(accelerate.error_mt, getmetatable(err))
            assert.equal("accelerate: [network] connection reset (status=0)", tostring(err))
            assert.has_error(function() accelerate.error("bogus", "x") end)
        end)
    end)

    describe("retry policy and clock", function()
        it("backs off exponentially with jitter, capped", function()
            for _ = 1, 50 do
                local d1, d3, d9 = accelerate.retry_delay(1), accelerate.retry_delay(3), accelerate.retry_delay(9)
                assert.truthy(d1 >= 0.1 and d1 <= 0.2)
                assert.truthy(d3 >= 0.4 and d3 <= 0.8)
                assert.truthy(d9 >= 2.5 and d9 <= 5)
            end
        end)

        it("honours Retry-After seconds and dates, capped", function()
            assert.equal(3, accelerate.retry_delay(1, "3"))
            assert.equal(2, accelerate.retry_delay(1, 2))
            assert.equal(60, accelerate.retry_delay(1, "86400"))
            local d = accelerate.retry_delay(1, os.date("!%a, %d %b %Y %H:%M:%S GMT", os.time() + 5))
            assert.truthy(d >= 3 and d <= 6)
            local j = accelerate.retry_delay(1, "soon")
            assert.truthy(j >= 0.1 and j <= 0.2)
        end)

        it("sleeps on a monotonic clock", function()
            local t0 = accelerate.now()
            accelerate.sleep(0.05)
            local dt = accelerate.now() - t0
            assert.truthy(dt >= 0.045 and dt < 0.5)
        end)
    end)
end)

-- Files for the journal: created 0600 from the start, and fsync, without a
-- shell (lua/accelerate/journal.lua uses both when the core has them).
describe("accelerate.create_private and accelerate.fsync", function()
    local function tmpname()
        local p = os.tmpname()
        os.remove(p)
        return p
    end
    local function mode_of(path)
        local p = io.popen("stat -c %a '" .. path .. "' 2>/dev/null")
        local m = p:read("*l")
        p:close()
        return m
    end

    it("creates a missing file readable by its owner only, and keeps an existing one", function()
        local p = tmpname()
        assert.is_true(accelerate.create_private(p))
        assert.equal("600", mode_of(p))
        local f = assert(io.open(p, "ab"))
        f:write("kept\n")
        f:close()
        os.execute("chmod 640 '" .. p .. "'")
        assert.is_true(accelerate.create_private(p))
        assert.equal("640", mode_of(p)) -- an existing file is neither truncated nor re-moded
        f = assert(io.open(p, "rb"))
        assert.equal("kept\n", f:read("*a"))
        f:close()
        os.remove(p)
        local ok, err = accelerate.create_private("/nonexistent-dir/journal")
        assert.is_nil(ok)
        assert.matches("cannot create /nonexistent%-dir/journal", err)
        assert.has_error(function() accelerate.create_private() end)
    end)

    it("lists a folder's entries (the command's own modules), with no subprocess", function()
        local core = require "accelerate.core"
        local d = tmpname()
        assert(os.execute("mkdir -p '" .. d .. "/sub' && : >'" .. d .. "/a.lua' && : >'" .. d .. "/b b'"))
        local names = assert(core.list_dir(d))
        table.sort(names)
        assert.same({ "a.lua", "b b", "sub" }, names)
        os.execute("rm -rf '" .. d .. "'")
        local none, err = core.list_dir(d)
        assert.is_nil(none)
        assert.matches("cannot list " .. d:gsub("%p", "%%%0"), err)
        assert.has_error(function() core.list_dir() end)
    end)

    it("fsyncs an open file handle or a path; refuses a closed handle", function()
        local p = tmpname()
        local f = assert(io.open(p, "wb"))
        f:write("line\n")
        assert.is_true(accelerate.fsync(f))
        assert.is_true(accelerate.fsync(p))
        f:close()
        local rf = assert(io.open(p, "rb"))
        assert.equal("line\n", rf:read("*a")) -- fsync flushed the buffer
        rf:close()
        assert.has_error(function() accelerate.fsync(f) end)
        assert.has_error(function() accelerate.fsync(42) end)
        assert.has_error(function() accelerate.fsync({}) end)
        os.remove(p)
        local ok, err = accelerate.fsync(p)
        assert.is_nil(ok)
        assert.matches("cannot open", err)
    end)

    it("the journal uses them: no shell to create a journal, which is 0600", function()
        package.loaded["accelerate.journal"] = nil
        local real = os.execute
        local shelled = 0
        os.execute = function(...) shelled = shelled + 1 return real(...) end -- luacheck: ignore
        local ok, journal = pcall(require, "accelerate.journal")
        os.execute = real -- luacheck: ignore
        package.loaded["accelerate.journal"] = nil
        assert.is_true(ok, journal)
        assert.equal(accelerate.fsync, journal.fsync())
        local p = tmpname()
        local j = assert(journal.open(p))
        assert(j:append { event = "watch", dagName = "d" })
        j:close()
        assert.equal(0, shelled)
        assert.equal("600", mode_of(p))
        os.remove(p)
    end)
end)

-- What the command needs from the process: a journal locked by one process,
-- an interrupt held across a window, the terminal's width.
describe("accelerate.lock, defer_signals and term_width", function()
    local helpers = require "spec.helpers"
    local interp = arg and arg[-1]
    local function child(script)
        local p = os.tmpname()
        local f = assert(io.open(p, "wb"))
        f:write(("package.cpath = %q package.path = %q\n"):format(package.cpath, package.path), script)
        f:close()
        return p
    end

    it("locks a file for one process; another is told the holder's pid", function()
        if not interp then return pending("interpreter unknown") end
        local path = os.tmpname()
        local holder = child([[
            local a = require "accelerate"
            local f = assert(io.open(arg[1], "ab"))
            assert(a.lock(f))
            io.write("locked\n") io.flush()
            os.execute("sleep 20") -- a child must not inherit the lock
        ]])
        local p = io.popen(("'%s' %s %s & echo $!"):format(interp, holder, path), "r")
        local pid = tonumber(p:read("*l"))
        assert.truthy(pid)
        assert.equal("locked", p:read("*l"))
        local f = assert(io.open(path, "ab"))
        local ok, msg, who = accelerate.lock(f)
        assert.is_nil(ok)
        assert.matches("locked by another process", msg)
        assert.equal(pid, who)
        os.execute("kill " .. pid)
        p:close()
        -- the lock dies with its process
        assert.is_true(helpers.eventually(function() return accelerate.lock(f) == true end, 5))
        f:close()
        os.remove(path)
        os.remove(holder)
        assert.has_error(function() accelerate.lock("not a file") end)
    end)

    it("holds SIGINT across a deferred window and delivers it after", function()
        if not interp then return pending("interpreter unknown") end
        local script = child([[
            local a = require "accelerate"
            assert(a.defer_signals())
            os.execute("kill -INT " .. io.open("/proc/self/stat"):read("*l"):match("^(%d+)"))
            io.write("survived the window\n") io.flush()
            a.allow_signals()
            for _ = 1, 1e7 do end
            io.write("not interrupted\n")
        ]])
        local code, out = helpers.sh(("'%s' %s 2>&1"):format(interp, script))
        os.remove(script)
        assert.matches("survived the window", out)
        assert.is_nil(out:find("not interrupted", 1, true))
        -- the interpreter's hook raises "interrupted!"; a host without one
        -- (the ASan host) dies of the signal: either way, right after
        assert.is_true(out:find("interrupted", 1, true) ~= nil or code == 130, out)
        assert.are_not.equal(0, code)
    end)

    it("turns SIGTERM into the interrupt Ctrl-C raises, once asked to", function()
        if not interp then return pending("interpreter unknown") end
        local script = child([[
            local a = require "accelerate"
            assert(a.interrupt_on_sigterm())
            local ok, err = pcall(function()
                os.execute("kill -TERM " .. io.open("/proc/self/stat"):read("*l"):match("^(%d+)"))
                for _ = 1, 1e8 do end
                return "not interrupted"
            end)
            io.write(tostring(ok), " ", tostring(err), "\n")
            os.exit(7)
        ]])
        local code, out = helpers.sh(("'%s' %s 2>&1"):format(interp, script))
        os.remove(script)
        assert.matches("^false .*interrupted!", out)
        assert.equal(7, code)
    end)

    -- The command's stop (bin/accelerate installs it first thing): SIGINT
    -- sets a flag and raises nothing, the blocking sleep returns at once, a
    -- transfer in progress is cut (a create that was sent: outcome
    -- unknown) and nothing more is sent.  Never installed at require time.
    it("turns SIGINT into a flag under stop_on_signals: sleep and transfers cut, nothing sent after", function()
        if not interp then return pending("interpreter unknown") end
        local script = child([[
            local a = require "accelerate"
            local core = require "accelerate.core"
            local socket = require "socket"
            local sig, installed = core.stop_requested()
            io.write("before ", tostring(sig), " ", tostring(installed), "\n")
            assert(core.stop_on_signals())
            -- a server that takes the request and never answers
            local srv = assert(socket.bind("127.0.0.1", 0))
            local _, port = srv:getsockname()
            local c = assert(a.new { url = "http://127.0.0.1:" .. port, tenant_id = "t1", auth_type = "UID",
                auth_value = "u-1", timeout = 20, retries = 0 })
            local pid = io.open("/proc/self/stat"):read("*l"):match("^(%d+)")
            os.execute("(sleep 0.3; kill -INT " .. pid .. ") &")
            local t0 = a.now()
            local dag, err = c:create_task { planId = "p1", startTime = "2025-01-01", endTime = "2025-01-31" }
            io.write(("create %s %s %s %s %.1f\n"):format(tostring(dag), err.kind, tostring(err.outcome_unknown),
                tostring(err.retryable), a.now() - t0))
            for _ = 1, 1e6 do end -- no hook armed: plain code runs on
            t0 = a.now()
            io.write(("sleep %s %.1f\n"):format(tostring(a.sleep(10)), a.now() - t0))
            local conn = srv:accept()
            srv:settimeout(0.5)
            local page, lerr = c:list_instances { dagName = "d1", pageIndex = 1, pageSize = 10 }
            dag, err = c:create_task { planId = "p1", startTime = "2025-01-01", endTime = "2025-01-31" }
            io.write(("after %s %s %s %s %s\n"):format(tostring(page), lerr.kind, err.kind,
                tostring(err.outcome_unknown), tostring(srv:accept())))
            io.write("stop ", tostring(core.stop_requested()), "\n")
            if conn then conn:close() end
        ]])
        local code, out = helpers.sh(("'%s' %s 2>&1"):format(interp, script))
        os.remove(script)
        assert.equal(0, code, out)
        assert.matches("before false false\n", out, 1, true)
        -- cut within the progress callback's second, not the 20 s timeout
        local took = tonumber(out:match("create nil interrupted true false (%S+)"))
        assert.is_truthy(took, out)
        assert.is_true(took < 2, out)
        assert.matches("sleep false 0.0\n", out, 1, true)
        -- nothing more sent: no connection reached the server
        assert.matches("after nil interrupted interrupted false nil\n", out, 1, true)
        assert.matches("stop 2\n", out, 1, true)
    end)

    it("says whether a descriptor is a terminal, and installs nothing at require time", function()
        assert.is_false(require("accelerate.core").isatty(1000))
        local sig, installed = require("accelerate.core").stop_requested()
        assert.is_false(sig)
        assert.is_false(installed)
    end)

    it("gives no width when the output is not a terminal", function()
        assert.is_nil(accelerate.term_width(1000))
    end)
end)

-- issue 17 item 7: a null element of a JSON array used to become a hole
-- (nil), and ipairs and # stopped there: a list answer could be read short
-- without a word.  A null element now stays in its place (the
-- lightuserdata NULL, equal to cjson.null); where the answer's shape wants
-- an object (an instance, a plan) it is a decode error naming the index.
describe("accelerate.decode: a null inside an array", function()
    local null = require("cjson").null
    local A = '{"id":"1","status":"SUCCESS"}'
    local B = '{"id":"3","status":"FAILED"}'

    local function decode_error(pattern, res, err)
        assert.is_nil(res)
        assert.is_table(err)
        assert.equal("decode", err.kind)
        assert.matches(pattern, err.message)
    end

    it("refuses a list answer whose instances hold a null, naming its index", function()
        local body = '{"total":3,"instances":[' .. A .. ',null,' .. B .. ']}'
        decode_error("instance 2 is not an object", accelerate.decode("list_instances", 200, {}, body))
        decode_error("instance 2 is not an object", accelerate.decode("list_instances", 200, {},
            '{"success":true,"code":"200","data":' .. body .. "}"))
        -- the streaming reducer agrees with the full decoder
        local s = accelerate.store { failed = { FAILED = true } }
        s:expect(1, "append")
        decode_error("instance 2 is not an object", accelerate.reduce(s, 200, {}, body))
    end)

    it("refuses a plan list with a null plan, naming its index", function()
        decode_error("plan 2 is not an object", accelerate.decode("list_plans", 200, {},
            '{"success":true,"code":"200","data":[{"id":"a","name":"x"},null,{"id":"b","name":"y"}],'
            .. '"hasNext":false,"total":3}'))
    end)

    it("keeps a null element of any other array in its place, the array whole", function()
        local d = assert(accelerate.decode("task_detail", 200, {},
            '{"taskInstanceId":1,"msg":null,"acceleratePlanUuid":["a",null,"b"],"mtGuid":[null]}'))
        assert.is_nil(d.msg)
        assert.equal(3, #d.acceleratePlanUuid)
        assert.equal(null, d.acceleratePlanUuid[2])
        assert.equal("b", d.acceleratePlanUuid[3])
        assert.equal(1, #d.mtGuid)
        local page = assert(accelerate.decode("list_instances", 200, {},
            '{"instances":[{"id":"1","status":"FAILED","extra":[1,null,3]}]}'))
        assert.equal(3, #page.instances[1].extra)
        assert.equal(3, page.instances[1].extra[3])
    end)
end)

-- issue 17 item 9: `tenantId = "t2"` (the API's own fields are camelCase)
-- was ignored, and the client talked to the environment's tenant.
describe("accelerate.new: an unknown option", function()
    it("is refused, naming the nearest known one", function()
        local c, err = accelerate.new(merge(CFG, { tenantId = "t2" }))
        assert.is_nil(c)
        assert.equal("invalid", err.kind)
        assert.equal("unknown option 'tenantId'; did you mean 'tenant_id'?", err.message)
        refused("^unknown option 'timout'; did you mean 'timeout'%?$", accelerate.new(merge(CFG, { timout = 5 })))
        refused("^unknown option 'colour'; the options are: auth_type, auth_value, ca_file, connect_timeout",
            accelerate.new(merge(CFG, { colour = "red" })))
    end)

    it("leaves every documented option alone", function()
        local c = assert(accelerate.new(merge(CFG, { timeout = 5, connect_timeout = 2, retries = 1,
            max_body = 1048576, insecure = false })))
        c:close()
    end)
end)

-- issue 21 item 2: the timing line of a 200,000-instance report keeps
-- 800,000 numbers; packed in C, and sorted there, as table.sort would
describe("accelerate.numbers", function()
  local core = require "accelerate.core"
  local math_type = rawget(math, "type")   -- Lua 5.3+

  local function lua_sorted(t)
    local c = {}
    for i, v in ipairs(t) do c[i] = v end
    table.sort(c)
    return c
  end

  -- the same values in the same order, each of the same subtype (5.3+)
  local function same_numbers(want, got)
    assert.equal(#want, #got)
    for i = 1, #want do
      assert.equal(want[i], got[i], "at " .. i)
      if math_type then assert.equal(math_type(want[i]), math_type(got[i]), "at " .. i) end
    end
  end

  local function of(t, capacity)
    local v = core.numbers(capacity)
    for _, x in ipairs(t) do v:push(x) end
    return v
  end

  it("keeps what is pushed, in order, and sorts it as table.sort does", function()
    math.randomseed(2121)
    for _, n in ipairs { 0, 1, 2, 3, 17, 1000, 50000 } do
      local ints, floats = {}, {}
      for i = 1, n do
        ints[i] = math.random(-5000, 5000) * 2 + 1   -- integers on 5.3+, duplicates among them
        floats[i] = (math.random() - 0.5) * 1e6
      end
      if n > 3 then floats[1], floats[2] = -0.5, 1 / 0 end
      for _, t in ipairs { ints, floats } do
        for _, capacity in ipairs { nil, n, 1 } do   -- sized once, grown from the default, grown from 1
          local v = of(t, capacity)
          same_numbers(t, v)
          v:sort()
          same_numbers(lua_sorted(t), v)
        end
      end
    end
  end)

  it("answers nil out of range, floats once a float is pushed, and a NaN sorts last", function()
    local v = of { 3, 1, 2 }
    assert.is_nil(v[0])
    assert.is_nil(v[4])
    assert.is_nil(v[1.5])
    assert.is_function(v.push)
    assert.is_nil(v.nothing)
    v:push(0.5)
    v:push(0 / 0)
    v:push(-1)
    v:sort()
    assert.equal(6, #v)
    assert.same({ -1, 0.5, 1, 2, 3 }, { v[1], v[2], v[3], v[4], v[5] })
    assert.is_true(v[6] ~= v[6])
    if math_type then assert.equal("float", math_type(v[3])) end
    assert.matches("accelerate.numbers %(6 numbers%)", tostring(v))
  end)

  it("refuses what is not a number, and other objects as itself", function()
    local v = core.numbers()
    assert.has_error(function() v:push("1") end)
    assert.has_error(function() v:push(nil) end)
    assert.has_error(function() v.push({}, 1) end)
    assert.has_error(function() v.sort(core.store { failed = {} }) end)
    assert.has_error(function() getmetatable(v).__len(io.stdout) end)
    assert.equal(0, #v)
  end)
end)
