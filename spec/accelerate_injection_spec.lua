-- Injection: a CR, LF, NUL or any other control byte in a header value
-- (tenant_id, auth_type, auth_value), the url, an id, a dagName, a planId or
-- planName is refused with kind invalid before anything is sent; what is
-- sent is percent-encoded (queries) or JSON-escaped (the create's body).
-- The simulator's request log is the proof: nothing raw ever arrives.
-- Runs on Lua 5.1-5.4 and LuaJIT (make test-core).
local helpers = require "spec.helpers"
local accelerate = require "accelerate"

local PLAN = "5468b0c0462e40e08e44108d8164c7c3"

-- Every control byte, and the classic splitting sequences.
local BAD = { "\r\n", "\r\n\r\n", "\r\nX-Injected: 1", "\nX-Injected: 1", "\rX-Injected: 1" }
for c = 0, 31 do BAD[#BAD + 1] = string.char(c) end
BAD[#BAD + 1] = "\127"

-- `bad` at the start, in the middle and at the end of `base`.
local function placements(base, bad)
    local mid = math.floor(#base / 2)
    return { bad .. base, base:sub(1, mid) .. bad .. base:sub(mid + 1), base .. bad }
end

local function printable(s)
    return (s:gsub("[%c\128-\255]", function(c) return ("\\%d"):format(c:byte()) end))
end

local ROUTE_PATHS = {
    create = "/anymetrics/api/v1/accelerate/task/create",
    list = "/anymetrics/api/v1/accelerate/task/instance/list",
    detail = "/anymetrics/api/v1/scheduler/task/detail",
}

describe("injection", function()
    local sim, client, dag
    local cases = 0

    -- Every request the simulator logged: a known route and path, exactly
    -- the documented headers, no control byte anywhere, a query of
    -- unreserved characters and percent escapes only.
    local function check_log(expect_n)
        local reqs = sim:requests()
        if expect_n then assert.equal(expect_n, #reqs) end
        for _, r in ipairs(reqs) do
            assert.truthy(ROUTE_PATHS[r.route], r.path)
            assert.equal(ROUTE_PATHS[r.route], r.path)
            local names = {}
            for k, v in pairs(r.headers) do
                names[#names + 1] = k
                assert.is_string(v, k) -- a repeated header would be an array
                assert.is_nil(v:find("%c"), k)
            end
            table.sort(names)
            local want = r.method == "POST"
                and { "auth-type", "auth-value", "content-length", "content-type", "host", "tenant-id" }
                or { "auth-type", "auth-value", "content-type", "host", "tenant-id" }
            assert.same(want, names)
            assert.equal(sim.tenant_id, r.headers["tenant-id"])
            assert.matches("^[%w%-%._~%%&=]*$", r.query)
            assert.is_nil(r.body:find("%c"), "raw control byte in the body")
        end
        return reqs
    end

    setup(function()
        sim = helpers.start_sim { scenario = "test" }
        client = assert(accelerate.new(sim:client_options { timeout = 5, retries = 0 }))
        dag = assert(client:create_task { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-02" })
    end)

    teardown(function()
        if client then client:close() end
        if sim then sim:stop() end
        io.stderr:write(("\n[injection] %d refused inputs checked\n"):format(cases))
    end)

    before_each(function()
        sim:clear_requests()
    end)

    it("refuses a control byte in tenant_id, auth_type or auth_value, and in the url", function()
        for _, bad in ipairs(BAD) do
            for _, field in ipairs { "tenant_id", "auth_type", "auth_value" } do
                local base = ({ tenant_id = sim.tenant_id, auth_type = "UID", auth_value = sim.auth_value })[field]
                for _, v in ipairs(placements(base, bad)) do
                    cases = cases + 1
                    local what = field .. "=" .. printable(v)
                    local c, err = accelerate.new(sim:client_options { [field] = v })
                    assert.is_nil(c, what)
                    assert.equal("invalid", err.kind, what)
                    assert.is_nil(tostring(err):find(sim.auth_value, 1, true), what)
                    assert.is_nil(tostring(err):find("%c"), what)
                    local cfg, err2 = accelerate.config(sim:client_options { [field] = v })
                    assert.is_nil(cfg, what)
                    assert.equal("invalid", err2.kind, what)
                end
            end
            for _, u in ipairs { sim.url .. bad, sim.url .. "/" .. bad .. "/x", sim.url .. bad .. "/",
                "http://127.0.0.1" .. bad .. ":" .. sim.port } do
                cases = cases + 1
                local c, err = accelerate.new(sim:client_options { url = u })
                assert.is_nil(c, printable(u))
                assert.equal("invalid", err.kind, printable(u))
            end
        end
        -- spaces and other characters that would need escaping in a url
        for _, u in ipairs { sim.url .. "/a b", sim.url .. "/a\"b", sim.url .. "/<x>", sim.url .. "/é" } do
            local c, err = accelerate.new(sim:client_options { url = u })
            assert.is_nil(c, u)
            assert.equal("invalid", err.kind, u)
        end
        assert.same({}, sim:requests())
    end)

    it("refuses a control byte taken from the environment too", function()
        -- a plain interpreter with the plain build of this Lua: under
        -- make asan-core the module loaded here cannot load there
        local interp = rawget(_G, "jit") and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
        local dir = helpers.root .. "/build/" .. (rawget(_G, "jit") and "luajit" or interp)
        if not helpers.read_file(dir .. "/accelerate/core.so") then
            return pending("needs " .. dir .. "/accelerate/core.so (make build-all)")
        end
        local script = "package.cpath = " .. ("%q"):format(dir .. "/?.so;" .. package.cpath)
            .. " package.path = " .. ("%q"):format(package.path)
            .. " local a = require 'accelerate' local c, e = a.new {} io.write(c and 'client' or e.kind)"
        for _, var in ipairs { "ACCELERATE_TENANT_ID", "ACCELERATE_AUTH_VALUE", "ACCELERATE_URL" } do
            local env = {
                ACCELERATE_URL = sim.url, ACCELERATE_TENANT_ID = sim.tenant_id,
                ACCELERATE_AUTH_TYPE = sim.auth_type, ACCELERATE_AUTH_VALUE = sim.auth_value,
            }
            local parts = {}
            for k, v in pairs(env) do
                if k == var then
                    parts[#parts + 1] = k .. "=\"$(printf '%s\\r\\nX-Injected: 1' " .. helpers.quote(v) .. ")\""
                else
                    parts[#parts + 1] = k .. "=" .. helpers.quote(v)
                end
            end
            local p = io.popen("env " .. table.concat(parts, " ") .. " " .. interp .. " -e "
                .. helpers.quote(script) .. " 2>&1")
            local out = p:read("*a")
            p:close()
            assert.equal("invalid", out, var)
        end
        assert.same({}, sim:requests())
    end)

    it("refuses a control byte in any id, dagName, planId or planName: nothing is sent", function()
        for _, bad in ipairs(BAD) do
            for _, d in ipairs(placements(dag, bad)) do
                cases = cases + 5
                local what = printable(d)
                local page, err = client:list_instances(d)
                assert.is_nil(page, what)
                assert.equal("invalid", err.kind, what)
                page, err = client:list_instances { dagName = d, pageIndex = 1, pageSize = 5 }
                assert.is_nil(page, what)
                assert.equal("invalid", err.kind, what)
                local ok, e = pcall(client.instances, client, d)
                assert.is_false(ok, what)
                assert.equal("invalid", e.kind, what)
                local req, e2 = accelerate.prepare(accelerate.config(sim:client_options()), "list_instances", d)
                assert.is_nil(req, what)
                assert.equal("invalid", e2.kind, what)
                req, e2 = accelerate.prepare(accelerate.config(sim:client_options()), "task_detail", d)
                assert.is_nil(req, what)
                assert.equal("invalid", e2.kind, what)
            end
            for _, id in ipairs(placements("12876560", bad)) do
                cases = cases + 2
                local what = printable(id)
                local det, err = client:task_detail(id)
                assert.is_nil(det, what)
                assert.equal("invalid", err.kind, what)
                local details, errors = client:task_details({ id }, { concurrency = 2 })
                assert.is_nil(next(details), what)
                assert.equal("invalid", errors[id].kind, what)
            end
            for _, field in ipairs { "planId", "planName" } do
                for _, v in ipairs(placements(PLAN, bad)) do
                    cases = cases + 1
                    local what = field .. "=" .. printable(v)
                    local d, err = client:create_task { [field] = v, startTime = "2025-01-01", endTime = "2025-01-01" }
                    assert.is_nil(d, what)
                    assert.equal("invalid", err.kind, what)
                end
            end
            for _, field in ipairs { "startTime", "endTime" } do
                local p = { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-01" }
                p[field] = p[field] .. bad
                local d, err = client:create_task(p)
                assert.is_nil(d)
                assert.equal("invalid", err.kind)
            end
        end
        assert.same({}, sim:requests())
    end)

    it("percent-encodes what it sends in a query, and the server reads back exactly that", function()
        local tricky = {
            "%0D%0AX-Injected:%201", "%0d%0a", "a b", "a+b", "a&pageSize=1", "a=b", "a#frag", "a?b=c",
            "../../x", "a/b", "é", "\"quoted\"", "a;b,c", "%", "%%00", "\192\128", -- overlong NUL
        }
        for _, t in ipairs(tricky) do
            sim:clear_requests()
            client:list_instances { dagName = t, pageIndex = 1, pageSize = 5 }
            client:task_detail(t)
            local reqs = check_log(2)
            assert.equal(t, reqs[1].args.dagName, printable(t))
            assert.equal("1", reqs[1].args.pageIndex)
            assert.equal("5", reqs[1].args.pageSize)
            assert.equal(t, reqs[2].args.id, printable(t))
        end
    end)

    it("JSON-escapes what it sends in a create's body, and adds no field", function()
        local tricky = {
            'x","planId":"evil', 'a\\"b', "\\u000d\\u000a", '"}', "{}", "é ü 中", "a\\", "</script>",
        }
        for _, t in ipairs(tricky) do
            for _, field in ipairs { "planName", "planId" } do
                sim:clear_requests()
                local d, err = client:create_task { [field] = t, startTime = "2025-01-01", endTime = "2025-01-01" }
                -- the simulator knows no such plan: refused by the server,
                -- after the request arrived intact
                assert.is_nil(d)
                assert.equal("api", err.kind)
                local reqs = check_log(1)
                local body = assert(helpers.json.decode(reqs[1].body))
                assert.same({ [field] = t, startTime = "2025-01-01", endTime = "2025-01-01" }, body)
            end
        end
    end)

    it("never sends back a dagName or id with a control byte that a server gave", function()
        sim:fault { route = "create", kind = "body", status = 200,
            body = '{"data":"abc\\r\\nX-Injected: 1","success":true,"code":"200","traceId":"t"}' }
        local d, err = client:create_task { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-01" }
        assert.is_nil(d)
        assert.equal("api", err.kind)
        sim:fault { route = "list", kind = "body", status = 200,
            body = '{"dagName":"d","pageIndex":1,"pageSize":20,"total":1,'
                .. '"instances":[{"id":"1\\r\\nX-Injected: 1","status":"FAILED"}]}' }
        local page = assert(client:list_instances(dag))
        local det, e2 = client:task_detail(page.instances[1].id)
        assert.is_nil(det)
        assert.equal("invalid", e2.kind)
        local reqs = check_log()
        for _, r in ipairs(reqs) do assert.is_nil(r.query:find("Injected", 1, true)) end
        assert.equal(0, #sim:requests { route = "detail" })
    end)
end)
