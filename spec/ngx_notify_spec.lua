-- A campaign's notify inside Debian's nginx: campaign.run in an ngx.timer
-- with the accelerate.ngx client, its POSTs sent by the cosocket sender
-- (accelerate.notify.ngx) to the simulator's /__sim/notify.  One "task"
-- POST per create and settle and one "end"; a receiver that is down
-- leaves the campaign ok with a warning; the first POSTs failing are
-- delivered by the retries; the auth value is in no payload.  Needs
-- build/luajit/accelerate/core.so (make build LUA_VERSION=jit); run with
-- busted --lua=lua5.4.
local helpers = require "spec.helpers"

local json = helpers.json

local sim, tls_sim, nginx, dir

-- One worker: the module's `result` is the worker's.
local APP = [[
local cjson = require "cjson.safe"
local _M = {}
local result

local function run(premature, b)
    if premature then return end
    local campaign = require "accelerate.campaign"
    local c = assert(require("accelerate.ngx").new(b.client))
    ngx.update_time()
    local t0 = ngx.now()
    local report, err = campaign.run(c, b.spec, { interval = 0.05, max_interval = 0.2, timeout = 60 })
    ngx.update_time()
    result = { elapsed = ngx.now() - t0, err = err and tostring(err) }
    if report then
        result.ok, result.notify, result.warnings, result.tasks = report.ok, report.notify, report.warnings,
            #report.tasks
    end
end

function _M.start()
    ngx.req.read_body()
    result = nil
    local ok, err = ngx.timer.at(0, run, cjson.decode(ngx.req.get_body_data()))
    ngx.say(ok and "started" or tostring(err))
end

function _M.result()
    ngx.say(result and cjson.encode(result) or "")
end

return _M
]]

local closed_port = helpers.free_port   -- nothing listens there

-- runs the campaign in nginx; returns what the timer found
local function run(notify, location)
  local spec = { name = "ngx-notify", plans = { names = { "sales_daily", "gmv_monthly" } },
    startTime = "2025-02-01", endTime = "2025-03-31", chunk = "month", max_in_flight = 2, notify = notify }
  local status, _, raw = helpers.api(nginx, "POST", location or "/start", { spec = spec, client = sim:client_options() })
  assert.equal(200, status, raw)
  assert.equal("started\n", raw)
  local r = helpers.eventually(function()
    local _, _, body = helpers.api(nginx, "GET", "/result")
    return body and body ~= "\n" and json.decode(body)
  end, 30)
  assert.is_table(r, "the campaign did not end")
  return r
end

local function posts()
  local out = {}
  for _, q in ipairs(sim:requests { route = "notify" }) do
    out[#out + 1] = json.decode(q.body)
    assert.is_nil(q.body:find(sim.auth_value, 1, true))
    assert.is_nil(q.headers.authorization)
    -- the cosocket sender's, not the C core's (which would block the worker)
    assert.equal("accelerate-notify", q.headers["user-agent"])
  end
  table.sort(out, function(a, b) return a.seq < b.seq end)
  return out
end

setup(function()
  assert(helpers.read_file(helpers.root .. "/build/luajit/accelerate/core.so"), "make build LUA_VERSION=jit first")
  sim = helpers.start_sim { scenario = "test" }
  local p = io.popen("mktemp -d " .. helpers.quote(helpers.root .. "/build/test-ngx-notify.XXXXXX"))
  dir = p:read("*l")
  p:close()
  -- an HTTPS receiver whose certificate only /tls/start's timers trust
  local pki = helpers.make_pki(dir)
  tls_sim = helpers.start_sim { scenario = "test", tls = { cert = pki.cert, key = pki.key } }
  nginx = helpers.start_nginx { dir = dir, modules = { notify_app = APP }, locations = {
    '        location = /start { content_by_lua_block { require("notify_app").start() } }',
    ('        location = /tls/start { lua_ssl_trusted_certificate "%s"; lua_ssl_verify_depth 3;'):format(pki.ca),
    '            content_by_lua_block { require("notify_app").start() } }',
    '        location = /result { content_by_lua_block { require("notify_app").result() } }' } }
end)

teardown(function()
  if nginx then nginx.stop() end
  if dir then helpers.run("rm -rf " .. helpers.quote(dir)) end
  if sim then sim:stop() end
  if tls_sim then tls_sim:stop() end
end)

before_each(function()
  sim:scenario(helpers.scenario {})
  sim:reset_faults()
end)

describe("campaign notify inside nginx", function()
  it("POSTs one task payload per create and per settle of each task, then one end payload", function()
    local r = run { url = sim.url .. "/__sim/notify" }
    assert.is_nil(r.err)
    assert.is_true(r.ok)
    assert.equal(4, r.tasks)
    local got = posts()
    assert.equal(9, #got, json.encode(got))
    local seen = {}
    for i = 1, 8 do
      local p = got[i]
      assert.equal("task", p.event)
      assert.equal("ngx-notify", p.campaign)
      local k = ("%d %s"):format(p.task.task, p.change)
      assert.is_nil(seen[k], k)
      seen[k] = true
      assert.equal(p.change == "created" and "running" or "succeeded", p.task.state)
      assert.matches("^%x+%-", p.task.dagName)
    end
    assert.equal("end", got[9].event)
    assert.is_true(got[9].ok)
    assert.equal(4, got[9].states.succeeded)
    assert.same({ delivered = 9, failed = 0, dropped = 0 }, r.notify)
  end)

  -- nginx checks a certificate's name with X509_check_host, which never
  -- matches an IP address (spec/ngx_tls_spec.lua): the test certificate,
  -- made for 127.0.0.1, is refused even where its CA is trusted.  What is
  -- checked here: the handshake is made, and verifies (never accepted
  -- unverified), and a refusal is a warning, not a failure of the campaign.
  it("HTTPS: the receiver's certificate is verified; a refused one is warned about, the campaign ok", function()
    tls_sim:clear_requests()
    local url = tls_sim.url .. "/__sim/notify"
    for _, location in ipairs { "/start", "/tls/start" } do
      local r = run({ url = url, retries = 0 }, location)
      assert.is_true(r.ok, r.err)
      assert.equal(9, r.notify.failed)
      assert.matches("TLS handshake", table.concat(r.warnings, "\n"))
    end
    assert.equal(0, #tls_sim:requests { route = "notify" })
  end)

  it("a receiver that is down: the campaign ends ok with a warning; the first POSTs failing are retried", function()
    local plain = run(nil)
    assert.is_true(plain.ok)
    local r = run { url = "http://127.0.0.1:" .. closed_port() .. "/hook", timeout = 1, retries = 1 }
    assert.is_true(r.ok, r.err)
    assert.is_true(r.notify.failed > 0)
    assert.matches("not delivered after 2 attempt", table.concat(r.warnings, "\n"))
    -- loose: only the end's flush (5 s at most) may add to the run
    assert.is_true(r.elapsed < plain.elapsed + 6, ("%.2f s with notify, %.2f s without"):format(r.elapsed,
      plain.elapsed))
    sim:clear_requests()
    sim:fault { route = "notify", kind = "status", status = 503, times = 2 }
    r = run { url = sim.url .. "/__sim/notify" }
    assert.is_true(r.ok, r.err)
    assert.same({ delivered = 9, failed = 0, dropped = 0 }, r.notify)
    assert.equal(11, #posts())
  end)
end)
