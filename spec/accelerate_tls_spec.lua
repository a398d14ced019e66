-- TLS for real: the simulator over HTTPS (sim/simctl's ACCELERATE_SIM_TLS_*)
-- with a CA and a server certificate made here with openssl.  The default
-- client refuses the unknown CA, ca_file makes it trusted, a host name the
-- certificate does not name is refused even then, insecure = true is the only
-- way around verification, and nothing ever falls back to plain HTTP (nor is
-- an http:// URL upgraded).  Runs on Lua 5.1-5.4 and LuaJIT.
local helpers = require "spec.helpers"
local accelerate = require "accelerate"

local PLAN = "5468b0c0462e40e08e44108d8164c7c3"
local quote = helpers.quote

local function contains(s, needle)
    return s ~= nil and tostring(s):find(needle, 1, true) ~= nil
end

describe("accelerate over TLS", function()
    local pki, sim, plain, dir
    local clients = {}

    local function new(s, extra)
        local o = s:client_options { timeout = 5, retries = 1 }
        for k, v in pairs(extra or {}) do o[k] = v end
        local c = assert(accelerate.new(o))
        clients[#clients + 1] = c
        return c
    end

    -- The error of one list call, which must fail.
    local function list_error(c)
        local page, err = c:list_instances("no-such-dag")
        assert.is_nil(page)
        assert.is_table(err)
        return err
    end

    setup(function()
        os.execute("mkdir -p " .. quote(helpers.root .. "/build"))
        local p = io.popen("mktemp -d " .. quote(helpers.root .. "/build/test-tls.XXXXXX"))
        dir = p:read("*l")
        p:close()
        pki = helpers.make_pki(dir)
        sim = helpers.start_sim { scenario = "test", tls = { cert = pki.cert, key = pki.key } }
        plain = helpers.start_sim { scenario = "test" }
    end)

    teardown(function()
        if sim then sim:stop() end
        if plain then plain:stop() end
        if dir then helpers.run("rm -rf " .. quote(dir)) end
    end)

    before_each(function()
        sim:reset()
        plain:reset()
    end)

    after_each(function() helpers.close_all(clients) end)

    it("the simulator prints an https:// ACCELERATE_URL when started with a certificate", function()
        assert.are.equal(sim.url, sim.printed_url)
        assert.are.equal("https://", sim.printed_url:sub(1, 8))
        assert.are.equal("http://", plain.printed_url:sub(1, 7))
    end)

    it("the default client refuses a certificate from an unknown CA (network, not retryable)", function()
        local err = list_error(new(sim))
        assert.are.equal("network", err.kind)
        assert.is_false(err.retryable)
        assert.is_nil(err.status)
        assert.is_true(contains(err.message, "certificate"), err.message)
        -- refused at the handshake: no request reached the API
        assert.are.same({}, sim:requests())
    end)

    it("a create refused at the handshake was never sent (no outcome_unknown)", function()
        local dag, err = new(sim):create_task { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-02" }
        assert.is_nil(dag)
        assert.are.equal("network", err.kind)
        assert.is_false(err.retryable)
        assert.is_not_true(err.outcome_unknown)
        assert.are.same({}, sim:requests())
    end)

    it("a CA file that did not sign the certificate does not help", function()
        local err = list_error(new(sim, { ca_file = pki.other_ca }))
        assert.are.equal("network", err.kind)
        assert.is_false(err.retryable)
        assert.are.same({}, sim:requests())
    end)

    it("accepts the server with ca_file given: every call works", function()
        local c = new(sim, { ca_file = pki.ca })
        local dag = assert(c:create_task { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-03" })
        local page = assert(c:list_instances(dag))
        assert.is_true(#page.instances > 0)
        local det = assert(c:task_detail(page.instances[1].id))
        assert.are.equal(page.instances[1].id, det.taskInstanceId)
        local details, errors = c:task_details({ page.instances[1].id, page.instances[2].id }, { concurrency = 2 })
        assert.is_nil(errors)
        assert.is_table(details[page.instances[2].id])
        assert.are.equal(5, #sim:requests()) -- create, list, detail, 2 details
    end)

    it("refuses a host name the certificate does not name, even with the CA", function()
        local url = "https://localhost:" .. sim.port -- the certificate names only 127.0.0.1
        local err = list_error(new(sim, { url = url, ca_file = pki.ca }))
        assert.are.equal("network", err.kind)
        assert.is_false(err.retryable)
        assert.is_true(contains(err.message, "localhost") or contains(err.message, "name"), err.message)
        assert.are.same({}, sim:requests())
    end)

    it("insecure = true (explicit) accepts both an unknown CA and a mismatched name", function()
        local _, err = new(sim, { insecure = true }):list_instances("x")
        assert.are.equal("api", err.kind) -- the simulator's 404 for an unknown dag, not a TLS error
        local _, err2 = new(sim, { insecure = true, url = "https://localhost:" .. sim.port }):list_instances("x")
        assert.are.equal("api", err2.kind)
        assert.are.equal(2, #sim:requests())
    end)

    it("never downgrades: an https URL against a plain HTTP server fails, and no plain request arrives", function()
        plain:clear_requests()
        local url = "https://127.0.0.1:" .. plain.port
        for _, extra in ipairs { { url = url, ca_file = pki.ca }, { url = url, insecure = true } } do
            local c = new(plain, extra)
            local err = list_error(c)
            assert.are.equal("network", err.kind)
            assert.is_false(err.retryable)
            assert.is_nil(err.status)
            local dag, cerr = c:create_task { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-02" }
            assert.is_nil(dag)
            assert.are.equal("network", cerr.kind)
            assert.is_not_true(cerr.outcome_unknown)
        end
        assert.are.same({}, plain:requests())
        -- the same server over http works (the log is on)
        assert(new(plain):list_instances("x") == nil)
        assert.are.equal(1, #plain:requests())
    end)

    it("never upgrades: an http URL against the https port is an http error, not a TLS retry", function()
        local c = new(sim, { url = "http://127.0.0.1:" .. sim.port, ca_file = pki.ca })
        local err = list_error(c)
        assert.are.equal("http", err.kind)
        assert.are.equal(400, err.status) -- nginx: plain HTTP sent to an HTTPS port
        assert.are.same({}, sim:requests())
    end)

    it("never follows a redirect (a 301 from the plain server ends the call)", function()
        plain:clear_requests()
        plain:fault { route = "list", kind = "status", status = 301, times = 1 }
        local err = list_error(new(plain, { retries = 2 }))
        assert.are.equal("http", err.kind)
        assert.are.equal(301, err.status)
        assert.are.equal(1, #plain:requests())
    end)
end)
