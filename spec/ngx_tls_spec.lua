-- accelerate.ngx over TLS, inside Debian's nginx, against the simulator over
-- HTTPS with a certificate made here (helpers.make_pki).  Inside nginx the
-- trusted CAs come from lua_ssl_trusted_certificate (ca_file is refused).
-- Needs build/luajit/accelerate/core.so; run with busted --lua=lua5.4 (make test-ngx).
local helpers = require "spec.helpers"

local quote = helpers.quote

-- The content handler: one list call with the options in the query string,
-- answering "<kind> <tostring(err)>" or "new: <err>".
local HANDLER = [[
local _M = {}
function _M.run()
    local a = ngx.req.get_uri_args()
    local c, err = require("accelerate.ngx").new { url = a.url, tenant_id = "t1", auth_type = "UID",
        auth_value = "u-1", timeout = 5, retries = 0, insecure = a.insecure == "1", ca_file = a.ca }
    if not c then return ngx.say("new: ", tostring(err)) end
    local page, perr = c:list_instances("no-such-dag")
    if page then return ngx.say("ok") end
    ngx.say(perr.kind, " retryable=", tostring(perr.retryable), " ", tostring(perr))
end
return _M
]]

describe("accelerate.ngx over TLS", function()
    local sim, dir

    local nginx

    -- nginx with two locations: /trusted has lua_ssl_trusted_certificate set
    -- to the test CA, /default has nothing (the system's default: none).
    local function start_nginx(ca)
        nginx = helpers.start_nginx { dir = dir, modules = { tls_handler = HANDLER }, locations = {
            ('        location /trusted { lua_ssl_trusted_certificate "%s"; lua_ssl_verify_depth 3;'):format(ca),
            '            content_by_lua_block { require("tls_handler").run() } }',
            '        location /default { content_by_lua_block { require("tls_handler").run() } }',
        } }
    end

    local function ask(location, query)
        local status, _, raw = helpers.api(nginx, "GET", "/" .. location .. "?" .. query)
        assert.are.equal(200, status, raw)
        return raw
    end

    setup(function()
        assert(helpers.read_file(helpers.root .. "/build/luajit/accelerate/core.so"), "make build LUA_VERSION=jit first")
        local p = io.popen("mktemp -d " .. quote(helpers.root .. "/build/test-ngx-tls.XXXXXX"))
        dir = p:read("*l")
        p:close()
        local pki = helpers.make_pki(dir)
        sim = helpers.start_sim { scenario = "test", tls = { cert = pki.cert, key = pki.key } }
        start_nginx(pki.ca)
    end)

    teardown(function()
        if nginx then nginx.stop() end
        if sim then sim:stop() end
        if dir and not os.getenv("KEEP") then helpers.run("rm -rf " .. quote(dir)) end
    end)

    before_each(function() sim:reset() end)

    it("refuses an unknown CA by default (network, not retryable), nothing sent", function()
        local out = ask("default", "url=" .. sim.url)
        assert.matches("^network retryable=false .*TLS handshake", out)
        assert.are.same({}, sim:requests())
    end)

    it("refuses ca_file: the CA comes from lua_ssl_trusted_certificate", function()
        assert.matches("^new: .*%[invalid%].*lua_ssl_trusted_certificate", ask("trusted", "url=" .. sim.url .. "&ca=/x"))
    end)

    -- nginx checks the name with X509_check_host, which never matches an IP
    -- address: over https, accelerate.ngx needs a host name (and a resolver).
    -- (The reason, "certificate host mismatch", is not always in the message:
    -- lua-resty-core 0.1.25 sometimes fails an assert() instead, which
    -- accelerate.ngx turns into a TLS handshake error.)
    it("cannot verify a certificate for an IP address, even with the CA trusted", function()
        local out = ask("trusted", "url=" .. sim.url)
        assert.matches("^network retryable=false .*TLS handshake", out)
        assert.are.same({}, sim:requests())
    end)

    it("insecure = true accepts (explicit)", function()
        assert.matches("^api ", ask("default", "url=" .. sim.url .. "&insecure=1"))
        assert.are.equal(1, #sim:requests())
    end)

    it("never upgrades: an http URL against the https port is an http error", function()
        local out = ask("trusted", "url=http://127.0.0.1:" .. sim.port)
        assert.matches("^http retryable=false .*status=400", out)
        assert.are.same({}, sim:requests())
    end)
end)
