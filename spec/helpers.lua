-- Test helpers: a private simulator per spec file, on a free loopback port,
-- started and stopped by pid through sim/simctl, and its admin API.
--
--   local helpers = require "spec.helpers"
--   local sim = helpers.start_sim { scenario = "test" }   -- in setup()
--   sim:stop()                                            -- in teardown()
--
-- Works on Lua 5.1-5.4 and LuaJIT (luasocket and lua-cjson from Debian).
local cjson = require "cjson.safe"
local socket = require "socket"
local http = require "socket.http"
local ltn12 = require "ltn12"

local helpers = {}

local function script_dir()
    local src = debug.getinfo(1, "S").source:sub(2)
    return (src:match("^(.*)/[^/]*$") or ".")
end

helpers.root = (function()
    local d = script_dir()
    local p = io.popen('cd "' .. d .. '/.." && pwd')
    local root = p:read("*l")
    p:close()
    return root
end)()

-- Runs a shell command; returns true on exit 0 (5.1 and 5.2+ differ here).
local function run(cmd)
    local a, _, c = os.execute(cmd)
    if type(a) == "number" then return a == 0 end
    return a == true and (c == nil or c == 0)
end
helpers.run = run

-- True while a process exists and is not a zombie (an exited daemon stays a
-- zombie until init reaps it).
function helpers.alive(pid)
    local stat = helpers.read_file("/proc/" .. tostring(pid) .. "/stat")
    return stat ~= nil and stat:match("^%d+ %b() (%a)") ~= "Z"
end

local function quote(s)
    return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
helpers.quote = quote

-- Reads a whole file, or nil.
function helpers.read_file(path)
    local f = io.open(path, "rb")
    if not f then return nil end
    local s = f:read("*a")
    f:close()
    return s
end

-- Points package.path at lua/ and package.cpath at the C core built for the
-- running interpreter (make build-all), both in this checkout.
function helpers.paths()
    local dir = rawget(_G, "jit") and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
    local so = helpers.root .. "/build/" .. dir .. "/?.so"
    if not package.cpath:find(so, 1, true) then package.cpath = so .. ";" .. package.cpath end
    local lpath = helpers.root .. "/lua/?.lua"
    if not package.path:find(lpath, 1, true) then package.path = lpath .. ";" .. package.path end
    return dir
end

-- The C core and its Lua half, loaded from the build tree.  Raises when it
-- is missing: a spec must fail, not skip.
function helpers.core()
    local dir = helpers.paths()
    local ok, accelerate = pcall(require, "accelerate")
    if not ok then
        error("the C core for " .. dir .. " is missing or does not load (make build-all): " .. tostring(accelerate), 2)
    end
    return accelerate
end

-- Runs a shell command; returns its exit code and its standard output.
function helpers.sh(cmd)
    local p = io.popen(cmd .. "; echo \"rc=$?\"")
    local out = p:read("*a")
    p:close()
    local code = tonumber(out:match("rc=(%d+)%s*$"))
    return code, (out:gsub("rc=%d+%s*$", ""))
end

-- The HOME (and XDG_CONFIG_HOME) the specs give the command: a folder that
-- does not exist, so that no user config is read and no state (repair
-- records) is written or found.  Below /nonexistent, not /nonexistent
-- itself: a program run as root with HOME=/nonexistent (Chromium does)
-- creates that folder, and a state written there outlived the run.
helpers.NO_HOME = "/nonexistent/accelerate-spec-home"
do
    local f = io.open(helpers.NO_HOME .. "/.", "rb")
    if f then
        f:close()
        error(helpers.NO_HOME .. " exists: the specs need it not to; a run that made it left it behind "
            .. "(remove it)")
    end
end

-- The environment that points bin/accelerate at sim: its connection, and
-- HOME and XDG_CONFIG_HOME nowhere, so that no user config is read.
-- extra: more "NAME=value" words.
function helpers.command_env(sim, extra)
    local env = {
        "ACCELERATE_URL=" .. quote(sim.url), "ACCELERATE_TENANT_ID=" .. quote(sim.tenant_id),
        "ACCELERATE_AUTH_TYPE=" .. quote(sim.auth_type), "ACCELERATE_AUTH_VALUE=" .. quote(sim.auth_value),
        "HOME=/nonexistent/accelerate-spec-home", "XDG_CONFIG_HOME=/nonexistent/accelerate-spec-home",
    }
    for _, e in ipairs(extra or {}) do env[#env + 1] = e end
    return "env " .. table.concat(env, " ")
end

-- Runs bin/accelerate against sim; returns exit code, stdout, stderr and
-- the seconds it took.  extra: as for command_env.
function helpers.command(sim, argv, extra)
    local errf = os.tmpname()
    local t0 = socket.gettime()
    local code, out = helpers.sh(helpers.command_env(sim, extra) .. " " .. quote(helpers.root .. "/bin/accelerate")
        .. " " .. argv .. " 2>" .. errf)
    local elapsed = socket.gettime() - t0
    local err = helpers.read_file(errf) or ""
    os.remove(errf)
    return code, out, err, elapsed
end

-- Closes and forgets every client a spec collected (in after_each).
function helpers.close_all(clients)
    for i = #clients, 1, -1 do
        clients[i]:close()
        clients[i] = nil
    end
end

-- Undoes the shell quoting of simctl's export lines.
local function unquote(v)
    if v and v:sub(1, 1) == "'" then return (v:sub(2, -2):gsub("'\\''", "'")) end
    return v
end

-- A loopback port nothing listens on: bound, then closed.
local function free_port()
    local server = assert(socket.bind("127.0.0.1", 0))
    local _, port = server:getsockname()
    server:close()
    return tonumber(port)
end
helpers.free_port = free_port

-- The same exchange through curl -k, for a simulator over https (luasocket
-- has no TLS; curl is already a dependency, lua-sec would be another).  The
-- headers are not returned.
local function api_curl(sim, method, path, body, headers)
    local args = { "curl -k -sS --max-time 10 -o - -w '\\n%{http_code}' -X " .. quote(method) }
    for k, v in pairs(headers or {}) do args[#args + 1] = "-H " .. quote(k .. ": " .. v) end
    local tmp
    if body ~= nil then
        if type(body) ~= "string" then body = assert(cjson.encode(body)) end
        tmp = os.tmpname()
        local f = assert(io.open(tmp, "wb"))
        f:write(body)
        f:close()
        args[#args + 1] = "-H 'content-type: application/json' --data-binary @" .. quote(tmp)
    end
    args[#args + 1] = quote(sim.url .. path) .. " 2>/dev/null"
    local p = io.popen(table.concat(args, " "))
    local out = p:read("*a")
    p:close()
    if tmp then os.remove(tmp) end
    local raw, code = out:match("^(.*)\n(%d%d%d)$")
    if not code or code == "000" then return nil, nil, out end
    return tonumber(code), cjson.decode(raw), raw
end

-- One HTTP exchange with the simulator; returns status, decoded JSON (or
-- nil), the raw body and the headers.
function helpers.api(sim, method, path, body, headers)
    if sim.url:sub(1, 8) == "https://" then return api_curl(sim, method, path, body, headers) end
    local chunks = {}
    local hdrs = {}
    for k, v in pairs(headers or {}) do hdrs[k] = v end
    local source
    if body ~= nil then
        if type(body) ~= "string" then body = assert(cjson.encode(body)) end
        hdrs["content-length"] = tostring(#body)
        hdrs["content-type"] = hdrs["content-type"] or "application/json"
        source = ltn12.source.string(body)
    end
    local _, status, rheaders = http.request {
        url = sim.url .. path,
        method = method,
        headers = hdrs,
        source = source,
        sink = ltn12.sink.table(chunks),
    }
    local raw = table.concat(chunks)
    return status, cjson.decode(raw), raw, rheaders
end

local Sim = {}
Sim.__index = Sim

function Sim:admin(method, path, body)
    local status, json, raw = helpers.api(self, method, path, body)
    if status ~= 200 then
        error(("simulator admin %s %s answered %s: %s"):format(method, path, tostring(status), raw), 2)
    end
    return json
end

function Sim:fault(f) return self:admin("POST", "/__sim/faults", f).id end
function Sim:reset_faults() self:admin("DELETE", "/__sim/faults") end
function Sim:clear_requests() self:admin("DELETE", "/__sim/requests") end
function Sim:reset() self:admin("POST", "/__sim/reset") end
function Sim:advance(seconds) return self:admin("POST", "/__sim/clock", { advance = seconds }).now end

function Sim:requests(filter)
    local q = filter and filter.route and ("?route=" .. filter.route) or ""
    return self:admin("GET", "/__sim/requests" .. q).requests
end

-- Replaces the scenario (a table) and resets all state.
function Sim:scenario(s)
    self:admin("PUT", "/__sim/scenario", s)
    local c = s.connection
    if c then
        self.tenant_id, self.auth_type, self.auth_value = c.tenant_id, c.auth_type, c.auth_value
    end
end

-- Connection settings for accelerate.new, merged with `extra`.
function Sim:client_options(extra)
    local o = { url = self.url, tenant_id = self.tenant_id, auth_type = self.auth_type, auth_value = self.auth_value }
    for k, v in pairs(extra or {}) do o[k] = v end
    return o
end

-- The documented headers with this simulator's credentials.
function Sim:headers(extra)
    local h = { ["tenant-id"] = self.tenant_id, ["auth-type"] = self.auth_type, ["auth-value"] = self.auth_value }
    for k, v in pairs(extra or {}) do h[k] = v end
    return h
end

-- Calls the API as the documentation's curl examples do.
function Sim:call(method, path, body, headers)
    return helpers.api(self, method, path, body, self:headers(headers))
end

function Sim:env()
    return ("ACCELERATE_SIM_PORT=%d ACCELERATE_SIM_DIR=%s"):format(self.port, quote(self.dir))
end

function Sim:stop()
    if self.stopped then return end
    self.stopped = true
    run(self:env() .. " " .. quote(helpers.root .. "/sim/simctl") .. " stop 2>/dev/null")
    run("rm -rf " .. quote(self.dir))
end

-- Starts a private simulator.  opts.scenario: a name or path (default
-- "test"); opts.workers (default 2); opts.tls = {cert = path, key = path}:
-- HTTPS on the same port (sim.url is then https://, admin calls go
-- through curl -k).
function helpers.start_sim(opts)
    opts = opts or {}
    local last_log
    for _ = 1, 5 do
        local port = free_port()
        local sim = setmetatable({
            port = port,
            url = (opts.tls and "https" or "http") .. "://127.0.0.1:" .. port,
            dir = helpers.root .. "/build/test-sim/" .. port,
        }, Sim)
        local log = sim.dir .. ".start.log"
        os.execute("mkdir -p " .. quote(helpers.root .. "/build/test-sim"))
        local tls = opts.tls and ("ACCELERATE_SIM_TLS_CERT=%s ACCELERATE_SIM_TLS_KEY=%s"):format(
            quote(opts.tls.cert), quote(opts.tls.key)) or ""
        local cmd = ("%s %s ACCELERATE_SIM_SCENARIO=%s ACCELERATE_SIM_WORKERS=%d %s start >%s 2>&1"):format(
            sim:env(), tls, quote(opts.scenario or "test"), opts.workers or 2,
            quote(helpers.root .. "/sim/simctl"), quote(log))
        if run(cmd) then
            local out = helpers.read_file(log) or ""
            sim.printed_url = unquote(out:match("ACCELERATE_URL=([^\n]*)"))
            sim.tenant_id = unquote(out:match("ACCELERATE_TENANT_ID=([^\n]*)"))
            sim.auth_type = unquote(out:match("ACCELERATE_AUTH_TYPE=([^\n]*)"))
            sim.auth_value = unquote(out:match("ACCELERATE_AUTH_VALUE=([^\n]*)"))
            os.remove(log)
            return sim
        end
        last_log = helpers.read_file(log)
        os.remove(log)
    end
    error("could not start the simulator:\n" .. tostring(last_log))
end

-- An nginx with its Lua module, on a free loopback port, for specs that run
-- accelerate.ngx inside nginx.  opts: dir (a folder of the spec's own; the
-- modules in opts.modules {name = source} are written there), locations
-- (the server block's lines), http (more lines of the http block:
-- lua_shared_dict ...).  Returns {port, url, prefix, stop()}; stopped
-- by pid through sim/nginxctl.sh.
function helpers.start_nginx(opts)
    local dir = opts.dir
    local server = assert(socket.bind("127.0.0.1", 0))
    local _, p = server:getsockname()
    server:close()
    local n = { port = tonumber(p), prefix = dir .. "/nginx" }
    n.url = "http://127.0.0.1:" .. n.port
    os.execute("mkdir -p " .. quote(n.prefix .. "/conf") .. " " .. quote(n.prefix .. "/logs") .. " "
        .. quote(n.prefix .. "/tmp"))
    -- nginx workers (nobody when run as root) read the modules
    os.execute("chmod 755 " .. quote(dir))
    for name, src in pairs(opts.modules or {}) do
        local f = assert(io.open(dir .. "/" .. name .. ".lua", "wb"))
        f:write(src)
        f:close()
    end
    local ngxctl = ". " .. quote(helpers.root .. "/sim/nginxctl.sh") .. "; say() { :; }; "
    local p1 = io.popen("bash -c " .. quote(ngxctl .. "ngx_conf_lua_modules; ngx_conf_temp_paths " .. quote(n.prefix)))
    local common = p1:read("*a")
    p1:close()
    -- workers that can read this checkout even where others cannot enter it
    local p2 = io.popen("bash -c " .. quote(ngxctl .. "ngx_conf_user " .. quote(helpers.root)))
    local user_line = p2:read("*a"):gsub("\n$", "")
    p2:close()
    local conf = table.concat({
        common:match("^(.-load_module[^\n]*ngx_http_lua_module[^\n]*\n)"),
        user_line,
        "worker_processes 1;",
        ('pid "%s/nginx.pid";'):format(n.prefix),
        ('error_log "%s/logs/error.log" warn;'):format(n.prefix),
        "events { worker_connections 256; }",
        "http {",
        (common:gsub("^.-ngx_http_lua_module[^\n]*\n", "")),
        ('    lua_package_path "%s/?.lua;%s/lua/?.lua;%s/?.lua;;";'):format(dir, helpers.root, helpers.root),
        ('    lua_package_cpath "%s/build/luajit/?.so;;";'):format(helpers.root),
        "    lua_socket_log_errors off;",
        table.concat(opts.http or {}, "\n"),
        ("    server { listen 127.0.0.1:%d;"):format(n.port),
        table.concat(opts.locations, "\n"),
        "    }",
        "}",
    }, "\n")
    local f = assert(io.open(n.prefix .. "/conf/nginx.conf", "wb"))
    f:write(conf, "\n")
    f:close()
    assert(run("bash -c " .. quote(ngxctl .. "ngx_start " .. quote(n.prefix))),
        "nginx did not start: " .. tostring(helpers.read_file(n.prefix .. "/logs/start.log")))
    assert(helpers.eventually(function()
        local c = socket.connect("127.0.0.1", n.port)
        if c then c:close() return true end
    end, 5), "nginx did not listen")
    function n.stop()
        run("bash -c " .. quote(ngxctl .. "ngx_stop " .. quote(n.prefix)))
    end
    return n
end

-- Test certificates, made with openssl in `dir`: a CA, an unrelated second
-- CA, and a server certificate signed by the first that names only IP
-- 127.0.0.1 (not "localhost").  EC keys: fast to make.  Returns the paths
-- {ca, other_ca, cert, key}.
function helpers.make_pki(dir)
    local ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
    local d = quote(dir)
    local script = table.concat({
        "set -e", "cd " .. d,
        "printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\nbasicConstraints=CA:FALSE\\n' >server.ext",
        "for ca in ca other-ca; do openssl req -x509 " .. ec .. " -keyout $ca.key -out $ca.pem -days 2"
            .. " -subj \"/CN=accelerate test $ca\" -addext basicConstraints=critical,CA:TRUE"
            .. " -addext keyUsage=critical,keyCertSign,cRLSign; done",
        "openssl req " .. ec .. " -keyout server.key -out server.csr -subj '/CN=accelerate test server'",
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem"
            .. " -days 2 -extfile server.ext",
    }, "\n")
    assert(helpers.run("(" .. script .. ") >" .. d .. "/openssl.log 2>&1"),
        "openssl failed: " .. tostring(helpers.read_file(dir .. "/openssl.log")))
    return { ca = dir .. "/ca.pem", other_ca = dir .. "/other-ca.pem",
             cert = dir .. "/server.pem", key = dir .. "/server.key" }
end

-- A scenario table: sim/scenarios/test.json with `overrides` applied at the
-- top level (a shallow merge: give whole sub-tables).
function helpers.scenario(overrides)
    local s = assert(cjson.decode(assert(helpers.read_file(helpers.root .. "/sim/scenarios/test.json"))))
    for k, v in pairs(overrides or {}) do s[k] = v end
    return s
end

-- Headless Chromium (Debian's), driven over the DevTools protocol on a
-- pipe (--remote-debugging-pipe: JSON messages ended by a NUL byte, read
-- on its fd 3, written on its fd 4), here two FIFOs.  Real time, unlike
-- --dump-dom with --virtual-time-budget, whose virtual clock runs the
-- page's timers ahead of a server that changes at its own pace; and the
-- page's errors come as events, attached before the page loads:
-- exceptions (Runtime.exceptionThrown), console.error, and the browser's
-- own log (a CSP violation, a failed load: Log.entryAdded).
--
--   local b = helpers.browser()              -- raises when chromium is missing
--   b:open(url)                              -- navigates, waits for the load
--   b:wait("js expression", seconds)         -- its value once truthy, or nil
--   b:eval("js expression")                  -- its value (JSON-able)
--   b:dom()  b:errors()  b:screenshot(path, {width =, dark =})  b:close()
--
-- As root Chromium needs --no-sandbox; every run is bounded by `timeout`
-- (opts.timeout, 120 s) and stopped by pid in close().
local Browser = {}
Browser.__index = Browser

local function browser_read(b)
    local buf = {}
    while true do
        local c = b.rd:read(1)
        if not c then
            error("chromium exited: " .. tostring(helpers.read_file(b.dir .. "/chromium.log")), 3)
        end
        if c == "\0" then break end
        buf[#buf + 1] = c
    end
    return assert(cjson.decode(table.concat(buf)))
end

-- Sends one command and reads until its answer, keeping the events.
function Browser:send(method, params, browser_level)
    self.seq = self.seq + 1
    local msg = { id = self.seq, method = method, params = params or {} }
    if not browser_level then msg.sessionId = self.session end
    assert(self.wr:write(assert(cjson.encode(msg)), "\0"))
    assert(self.wr:flush())
    while true do
        local m = browser_read(self)
        if m.id == self.seq then
            if m.error then error(method .. ": " .. tostring(m.error.message), 2) end
            return m.result
        end
        if m.method then self:event(m) end
    end
end

-- The errors a person would see in the console, as lines of text.
function Browser:event(m)
    local p = m.params or {}
    local line
    if m.method == "Runtime.exceptionThrown" then
        local d = p.exceptionDetails or {}
        local ex = d.exception or {}
        line = ("%s %s (%s:%s)"):format(tostring(d.text), tostring(ex.description or ex.value or ""),
            tostring(d.url), tostring(d.lineNumber))
    elseif m.method == "Runtime.consoleAPICalled" and (p.type == "error" or p.type == "assert") then
        local words = {}
        for _, a in ipairs(p.args or {}) do words[#words + 1] = tostring(a.value or a.description) end
        line = "console." .. p.type .. ": " .. table.concat(words, " ")
    elseif m.method == "Log.entryAdded" and p.entry and p.entry.level == "error" then
        line = ("%s: %s"):format(tostring(p.entry.source), tostring(p.entry.text))
    end
    if line then self.errs[#self.errs + 1] = line end
end

function Browser:eval(expr)
    local r = self:send("Runtime.evaluate", { expression = expr, returnByValue = true })
    if r.exceptionDetails then error("evaluate " .. expr .. ": " .. tostring(r.exceptionDetails.text), 2) end
    local v = r.result and r.result.value
    if v == cjson.null then return nil end
    return v
end

function Browser:wait(expr, seconds)
    return helpers.eventually(function()
        local v = self:eval(expr)
        if v and v ~= "" then return v end
        socket.sleep(0.1)
    end, seconds or 10)
end

function Browser:open(url)
    self:send("Page.navigate", { url = url })
    assert(self:wait("document.readyState === 'complete'", 20), "the page did not load: " .. url)
end

function Browser:dom() return self:eval("document.documentElement.outerHTML") end

-- Every error so far (a copy; the browser's events read up to now).
function Browser:errors()
    self:eval("1")
    local out = {}
    for i, e in ipairs(self.errs) do out[i] = e end
    return out
end

-- A PNG of the whole page, opts.width (1280) wide, in the light or
-- opts.dark colour scheme.
function Browser:screenshot(path, opts)
    opts = opts or {}
    local width = opts.width or 1280
    self:send("Emulation.setEmulatedMedia", { features = { { name = "prefers-color-scheme",
        value = opts.dark and "dark" or "light" } } })
    self:send("Emulation.setDeviceMetricsOverride", { width = width, height = opts.height or 800,
        deviceScaleFactor = 1, mobile = false })
    local h = opts.height or self:eval("Math.ceil(document.documentElement.scrollHeight)")
    self:send("Emulation.setDeviceMetricsOverride", { width = width, height = h, deviceScaleFactor = 1,
        mobile = false })
    local shot = self:send("Page.captureScreenshot", { format = "png" })
    local b64 = self.dir .. "/shot.b64"
    local f = assert(io.open(b64, "wb"))
    f:write(shot.data)
    f:close()
    assert(run("base64 -d " .. quote(b64) .. " >" .. quote(path)), "base64 -d failed")
    return path
end

function Browser:close()
    if self.closed then return end
    self.closed = true
    pcall(self.send, self, "Browser.close", nil, true)
    if not helpers.eventually(function() return not helpers.alive(self.pid) end, 5) then
        run("kill " .. self.pid .. " 2>/dev/null")
        helpers.eventually(function() return not helpers.alive(self.pid) end, 5)
    end
    self.wr:close()
    self.rd:close()
    run("rm -rf " .. quote(self.dir))
end

-- syntax: b = helpers.browser([opts])
-- opts.timeout: seconds the browser may live (120); opts.flags: more
-- command-line flags.
function helpers.browser(opts)
    opts = opts or {}
    local code, path = helpers.sh("command -v chromium")
    assert(code == 0, "chromium is missing: run `make deps` (it is in the Makefile's DEB_PACKAGES)")
    local p = io.popen("mktemp -d")
    local dir = p:read("*l")
    p:close()
    local b = setmetatable({ dir = dir, seq = 0, errs = {} }, Browser)
    assert(run("mkfifo " .. quote(dir .. "/in") .. " " .. quote(dir .. "/out")))
    -- read-write: the FIFO always has a reader, so a write after Chromium
    -- died never raises SIGPIPE here; the EOF on out says it died
    b.wr = assert(io.open(dir .. "/in", "r+b"))
    -- a HOME of its own: Chromium writes caches and crash reports there,
    -- and a spec's HOME must stay a folder that does not exist
    assert(run(("HOME=%s XDG_CONFIG_HOME=%s XDG_CACHE_HOME=%s timeout %d %s --headless --no-sandbox --disable-gpu --no-first-run --no-default-browser-check "
        .. "--hide-scrollbars --mute-audio --user-data-dir=%s --remote-debugging-pipe %s about:blank "
        .. "3<%s 4>%s 2>%s & echo $! >%s"):format(quote(dir .. "/home"), quote(dir .. "/home/.config"),
        quote(dir .. "/home/.cache"), opts.timeout or 120, quote(path:gsub("%s+$", "")),
        quote(dir .. "/profile"), opts.flags or "", quote(dir .. "/in"), quote(dir .. "/out"),
        quote(dir .. "/chromium.log"), quote(dir .. "/pid"))))
    b.rd = assert(io.open(dir .. "/out", "rb"))
    b.pid = assert(tonumber(helpers.read_file(dir .. "/pid")), "no pid")
    local page
    for _, t in ipairs(b:send("Target.getTargets", nil, true).targetInfos) do
        if t.type == "page" then page = t.targetId end
    end
    b.session = b:send("Target.attachToTarget", { targetId = assert(page, "no page target"), flatten = true },
        true).sessionId
    b:send("Runtime.enable")
    b:send("Log.enable")
    b:send("Page.enable")
    return b
end

-- syntax: dom, errors, value = helpers.browse(url, opts)
-- Opens url, lets the page run until opts.until (a JS expression) is
-- truthy (within opts.seconds, 10), calling opts.during(b) first when
-- given (to change the server meanwhile); returns its DOM, the errors
-- seen, and the expression's value (nil when it never came true).
function helpers.browse(url, opts)
    opts = opts or {}
    local b = helpers.browser(opts)
    local ok, dom, errs, value = pcall(function()
        b:open(url)
        if opts.during then opts.during(b) end
        local v = opts["until"] and b:wait(opts["until"], opts.seconds)
        return b:dom(), b:errors(), v
    end)
    b:close()
    if not ok then error(dom, 2) end
    return dom, errs, value
end

-- syntax: b, first_dom, changed = helpers.watch_page(url, change [, opts])
-- The live page of accelerate.runner.page at url: waits (10 s) for its
-- first update (data-updates on <html>), calls opts.before_change(b),
-- then change() (whatever makes the server's campaigns move on), then
-- waits (opts.seconds, 20) until a task cell's state differs from the one
-- first shown, the page open all along.  Returns the browser, still open
-- (b:close() it), the DOM of the first update, and the changed cells
-- ("CAMPAIGN:TASK" words of data-changed; nil when none changed).
function helpers.watch_page(url, change, opts)
    opts = opts or {}
    local attr = "document.documentElement.getAttribute"
    local b = helpers.browser(opts)
    local ok, first, changed = pcall(function()
        b:open(url)
        assert(b:wait("+" .. attr .. "('data-updates') >= 1", 10), "the page never updated: "
            .. table.concat(b:errors(), "\n"))
        local dom = b:dom()
        if opts.before_change then opts.before_change(b) end
        change()
        return dom, b:wait(attr .. "('data-changed')", opts.seconds or 20)
    end)
    if not ok then
        b:close()
        error(first, 2)
    end
    return b, first, changed
end

-- Polls fn until it returns a truthy value or `seconds` pass.
function helpers.eventually(fn, seconds)
    local deadline = socket.gettime() + (seconds or 5)
    repeat
        local v = fn()
        if v then return v end
        socket.sleep(0.02)
    until socket.gettime() > deadline
    return nil
end

helpers.now = socket.gettime
helpers.sleep = socket.sleep
helpers.json = cjson

return helpers
