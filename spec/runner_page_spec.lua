-- The runner's live page (accelerate.runner.page, issue 19): the fragment
-- rendered from real campaign objects (`campaign run --json` against the
-- simulator), one cell per task with its state, a hostile plan name
-- escaped, the failure groups of the report; the document and its policy;
-- then the page in Debian's headless Chromium, served by a small nginx
-- module from campaign objects this spec rewrites: no script error and no
-- CSP violation, one cell per task, a cell changing state while the page
-- stays open, a <details> the user opened kept open, a lost connection
-- said and recovered from; and screenshots (light and dark) in build/.
-- Needs build/lua5.4 and build/luajit (make build; make build LUA_VERSION=jit).
local helpers = require "spec.helpers"
helpers.paths()

local page = require "accelerate.runner.page"
local render_html = require "accelerate.render.html"

local json = helpers.json
local quote = helpers.quote
local EVIL = '<script>window.PWNED=1</script><img src=x onerror="window.PWNED=2">'
local OUT = helpers.root .. "/build/runner-page"

local function count(s, needle)
  local n, at = 0, 1
  while true do
    local i = s:find(needle, at, true)
    if not i then return n end
    n, at = n + 1, i + #needle
  end
end

local function write(path, s)
  local f = assert(io.open(path .. ".tmp", "wb"))
  f:write(s)
  f:close()
  assert(os.rename(path .. ".tmp", path))   -- the server never reads half a file
end

local function deep_copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = deep_copy(x) end
  return setmetatable(out, getmetatable(v))
end

-- The task cells of a page (page.fragment's or a browser's DOM, whose
-- attribute values keep < and > as they are): {[task] = state}, and how
-- many there are.
local function cells_of(html)
  local by, n = {}, 0
  for k, st in html:gmatch(' data%-task="([^"]*)" data%-state="([^"]*)"') do
    assert.is_nil(by[k], "two cells for task " .. tostring(k))
    by[k], n = st, n + 1
  end
  return by, n
end

-- The tags of page.fragment's or page.document's HTML, their attribute
-- values emptied (escaped text has no < and no quote, so this is exact).
local function tags_of(html)
  local out = {}
  for tag in html:gsub('"[^"]*"', '""'):gmatch("<[^>]*>") do out[#out + 1] = tag end
  return table.concat(out, "\n")
end

-- What `campaign run --json` prints, plus what the runner adds.
local function run_campaign(sim, spec, extra)
  local dir = os.tmpname()
  os.remove(dir)
  assert(helpers.run("mkdir -p " .. quote(dir)))
  write(dir .. "/spec.json", json.encode(spec))
  local code, out, err = helpers.command(sim, "campaign run " .. quote(dir .. "/spec.json") .. " --journal "
    .. quote(dir .. "/journal") .. " --json --interval 0.02", { "NO_COLOR=1" })
  helpers.run("rm -rf " .. quote(dir))
  assert(code == 0 or code == 1, err)
  local c = assert(json.decode(out), out)
  c.name = spec.name
  for k, v in pairs(extra or {}) do c[k] = v end
  return c
end

local function plan(id, name, tables) return { id = id, name = name, tables = tables } end

-- The simulator's test tenant with more plans, one with a hostile name,
-- and failures of four causes (one hostile, when `hostile`).
local function scenario(sim, hostile)
  local s = helpers.scenario { failures = { probability = 0, retries = 1, partitions = {
    { date = "2025-01-09", ["until"] = "2025-01-10", table = "dw.sales.orders_daily", error = "oom" },
    { date = "2025-02-21", error = "partition_locked" },
    { date = "2025-03-14", table = "dw.sales.refunds_daily", error = "source_missing" },
    { date = "2025-03-27", table = "dw.sales.orders_by_region", error = hostile and EVIL or "timeout" },
  } } }
  local plans = s.tenants.t1.plans
  plans[#plans + 1] = plan("aaaabbbbccccddddeeeeffff00001111", "evil" .. EVIL, { "dw.x.evil" })
  plans[#plans + 1] = plan("bbbbccccddddeeeeffff000011112222", "orders_hourly", { "dw.sales.orders_hourly" })
  plans[#plans + 1] = plan("ccccddddeeeeffff0000111122223333", "refunds_daily", { "dw.sales.refunds_daily" })
  sim:scenario(s)
end

-- The page's objects: one run, then an earlier moment of it (the later
-- tasks running or not created yet), as the runner serves them.
local function earlier(c, from)
  local e = deep_copy(c)
  e.state, e.eta = "running", 95
  e.states = { succeeded = 0, failed = 0, running = 0, pending = 0 }
  e.counts = { SUCCESS = 0, FAILED = 0, RUNNING = 0, WAITING = 0 }
  e.total = 0
  for _, t in ipairs(e.tasks) do
    if t.task >= from then
      t.state = t.task < from + 2 and "running" or "pending"
      t.failed, t.counts = {}, { SUCCESS = 0, FAILED = 0, RUNNING = t.total, WAITING = 0 }
      if t.state == "pending" then t.dagName, t.counts, t.total = nil, nil, nil end
    end
    e.states[t.state] = e.states[t.state] + 1
    for k, n in pairs(t.counts or {}) do e.counts[k] = e.counts[k] + n end
    e.total = e.total + (t.total or 0)
  end
  local keep = {}
  for _, g in ipairs(e.groups) do
    local ids = {}
    for _, t in ipairs(e.tasks) do for _, id in ipairs(t.failed or {}) do ids[tostring(id)] = true end end
    local still = {}
    for _, id in ipairs(g.instances) do if ids[tostring(id)] then still[#still + 1] = id end end
    if #still > 0 then
      g.instances, g.count = still, #still
      keep[#keep + 1] = g
    end
  end
  e.groups = keep
  return e
end

local sim, evil, shown, done
setup(function()
  assert(helpers.read_file(helpers.root .. "/build/lua5.4/accelerate/core.so"), "make build LUA_VERSION=5.4 first")
  os.execute("mkdir -p " .. quote(OUT))
  sim = helpers.start_sim { scenario = "test" }
  scenario(sim, true)
  evil = run_campaign(sim, { name = "Q1 " .. EVIL, plans = { materializeType = "RESULT",
    names = { "sales_daily", "evil" .. EVIL } }, startTime = "2025-01-01", endTime = "2025-03-31", chunk = "month",
    max_in_flight = 3 }, { id = "c-1", created_at = 1796660000, state = "failed" })
  scenario(sim, false)
  shown = run_campaign(sim, { name = "H1 2025 sales rebuild", backfills = {
    { plan = "sales_daily" }, { plan = "gmv_monthly" }, { plan = "orders_hourly" }, { plan = "refunds_daily" } },
    startTime = "2025-01-01", endTime = "2025-06-30", chunk = "month", max_in_flight = 4 },
    { id = "20261207-h1-sales", created_at = 1796659200, state = "failed", eta = nil })
  done = run_campaign(sim, { name = "Q4 2024 catch-up", backfills = { { plan = "sales_daily" },
    { plan = "gmv_monthly" } }, startTime = "2024-10-01", endTime = "2024-12-31", chunk = "month",
    max_in_flight = 2 }, { id = "20261206-q4-catchup", created_at = 1796565600, state = "succeeded", elapsed = 3725 })
end)

teardown(function()
  if sim then sim:stop() end
end)

describe("page.fragment", function()
  it("draws one cell per task with its state, every server string escaped, and the failures by cause", function()
    local html = page.fragment({ evil })
    local f = io.open(OUT .. "/fragment.html", "wb")
    f:write(html)
    f:close()
    assert.equal(6, #evil.tasks)
    local cells, n = cells_of(html)
    assert.equal(#evil.tasks, n)
    for _, t in ipairs(evil.tasks) do
      local k = ("%d"):format(t.task)
      assert.equal(t.state, cells[k], "task " .. k)
      assert.truthy(html:find('class="task s-' .. t.state .. '" data-task="' .. k .. '" data-state="' .. t.state
        .. '"', 1, true))
    end
    assert.is_true(evil.states.failed > 0 and evil.states.succeeded > 0)   -- some of each
    -- the hostile plan name and campaign name as text only
    assert.is_nil(html:find("<script", 1, true))
    assert.is_nil(html:find("<img", 1, true))
    assert.truthy(html:find('<th class="plan" title="evil&lt;script&gt;window.PWNED=1&lt;/script&gt;', 1, true))
    assert.truthy(html:find("Q1 &lt;script&gt;", 1, true))
    -- a row per plan, a column per month
    assert.equal(2, count(html, '<th class="plan"'))
    assert.truthy(html:find("<th>Jan</th><th>Feb</th><th>Mar</th>", 1, true))
    -- the groups: the report's markup, one block per cause, keyed by the campaign
    assert.equal(#evil.groups, count(html, '<details class="group'))
    assert.truthy(#evil.groups >= 2)
    for _, g in ipairs(evil.groups) do
      assert.truthy(html:find(render_html.escape(g.title), 1, true), g.title)
    end
    assert.truthy(html:find('data-key="c:c-1/g-', 1, true))
    assert.truthy(html:find("<code>accelerate repair " .. evil.tasks[1].dagName .. "</code>", 1, true))
    assert.truthy(html:find("onerror=&quot;", 1, true))               -- the hostile stack, escaped
    assert.is_nil(tags_of(html):find("%sstyle="))
    assert.is_nil(tags_of(html):find("%son%a+="))
  end)

  it("shows state, counts and ETA, and takes the lighter list objects and nothing at all", function()
    local e = earlier(shown, 13)
    local html = page.fragment({ e })
    assert.truthy(html:find('data-state="running"', 1, true))
    assert.truthy(html:find('<span class="state st-running">running</span>', 1, true))
    assert.truthy(html:find("ETA 1m35s", 1, true))
    assert.truthy(html:find("started 2026-12-07 16:00 UTC", 1, true))
    assert.matches("<b>24</b> tasks: %d+ succeeded, %d+ failed, 2 running, 10 pending", html)
    local cells, n = cells_of(html)
    assert.equal(24, n)
    assert.equal("pending", cells["24"])
    assert.equal("running", cells["13"])
    -- GET P campaigns's objects: no grid, no groups, no error
    local light = page.fragment({ { id = 7, name = "x", state = "needs_attention", counts = {}, tasks = 3,
      created_at = 0 } })
    assert.truthy(light:find('data-campaign="7"', 1, true))
    assert.truthy(light:find("needs attention", 1, true))
    assert.equal("<p class=\"muted\">No campaign yet.</p>", page.fragment({}))
    -- a long campaign: a column per year
    local long = { id = "l", state = "pending", tasks = {
      { task = 1, plan = "p", state = "pending", startTime = "2001-01-01", endTime = "2010-12-31" },
      { task = 2, plan = "p", state = "pending", startTime = "2011-01-01", endTime = "2020-12-31" } } }
    local lh = page.fragment({ long })
    assert.truthy(lh:find("<th>2001</th>", 1, true))
    assert.equal(2, select(2, cells_of(lh)))
    assert.equal(18, count(lh, 'class="cont s-pending"'))
  end)
end)

describe("page.document and page.csp", function()
  it("is strict: nonce'd style and script, nothing inline else, no network but its own origin", function()
    local nonce = assert(page.nonce())
    assert.matches("^[%w_%-]+$", nonce)
    assert.equal(24, #nonce)
    assert.are_not.equal(nonce, page.nonce())
    local csp = assert(page.csp(nonce))
    assert.equal("default-src 'none'; script-src 'nonce-" .. nonce .. "'; style-src 'nonce-" .. nonce .. "'; "
      .. "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'", csp)
    assert.is_nil(csp:find("unsafe", 1, true))
    local doc = assert(page.document("/accelerate/", nonce, { fragment = page.fragment({ evil }) }))
    assert.equal(1, count(doc, '<script nonce="' .. nonce .. '">'))
    assert.equal(1, count(doc, "<script"))
    assert.equal(1, count(doc, '<style nonce="' .. nonce .. '">'))
    assert.truthy(doc:find('data-fragment="/accelerate/?fragment=1"', 1, true))
    assert.is_nil(tags_of(doc):find("%sstyle="))
    assert.is_nil(tags_of(doc):find("%son%a+="))
    assert.is_nil(tags_of(doc):find("%ssrc="))
    assert.is_nil(tags_of(doc):find('<link rel="" href=""', 1, true) and nil)
    assert.is_nil(doc:find("https?://"))
    -- a nonce that is not one
    for _, bad in ipairs { "short", "x' 'unsafe-inline", ("a"):rep(15), 42 } do
      local v, err = page.csp(bad)
      assert.is_nil(v)
      assert.matches("nonce", err)
      assert.is_nil((page.document("/p/", bad)))
    end
  end)
end)

-- The driving function can fail: it reports what a strict policy refuses
-- and what a script throws, while the page keeps running in real time.
describe("helpers.browser", function()
  it("reports CSP violations, uncaught errors and console errors, and waits in real time", function()
    local base = os.tmpname()
    local file = base .. ".html"
    write(file, [[<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy"
content="default-src 'none'; script-src 'nonce-abcdefghijklmnop'; style-src 'nonce-abcdefghijklmnop'"></head>
<body><p style="color:red">styled</p><button onclick="go()">x</button><script>window.RAN=1</script>
<script nonce="abcdefghijklmnop">var n=0;setInterval(function(){n++;
document.documentElement.setAttribute('data-n',String(n));},200);
console.error('said so');setTimeout(function(){undefinedFunction();},50);</script></body></html>]])
    local t0 = helpers.now()
    local dom, errs, v = helpers.browse("file://" .. file, { ["until"] = "+document.documentElement"
      .. ".getAttribute('data-n') >= 5" })
    local elapsed = helpers.now() - t0
    os.remove(file)
    os.remove(base)
    assert.is_true(v)
    assert.is_true(elapsed > 0.9, "the page's timers ran ahead of real time: " .. elapsed)
    assert.truthy(dom:find('data-n="', 1, true))
    local all = table.concat(errs, "\n")
    assert.matches("violates the following Content Security Policy directive 'style%-src", all)
    assert.matches("inline event handler violates", all)
    assert.matches("inline script violates", all)
    assert.matches("Uncaught ReferenceError: undefinedFunction is not defined", all)
    assert.matches("console.error: said so", all)
  end)
end)

-- The page in a browser: the driving part (helpers.watch_page) takes a URL
-- and a function that makes the server change; the fixture (a small nginx
-- module over files) is only one server it can watch (spec/runner_spec.lua
-- can point it at the runner).
describe("the live page in headless Chromium", function()
  local dir, ngx_srv

  local FIXTURE = [[
-- Serves runner.page from campaign objects in files the spec rewrites:
-- campaigns.json (a JSON array); a file named "down" makes the fragment 503.
local page = require "accelerate.runner.page"
local cjson = require "cjson.safe"
local DIR = %q
local _M = {}
function _M.serve(prefix)
  ngx.header["Cache-Control"] = "no-store"
  ngx.header["Content-Type"] = "text/html; charset=utf-8"
  if ngx.var.arg_fragment then
    local down = io.open(DIR .. "/down", "rb")
    if down then down:close() return ngx.exit(503) end
    local f = assert(io.open(DIR .. "/campaigns.json", "rb"))
    local list = assert(cjson.decode(f:read("*a")))
    f:close()
    return ngx.print(page.fragment(list))
  end
  local nonce = assert(page.nonce())
  ngx.header["Content-Security-Policy"] = assert(page.csp(nonce))
  ngx.print(assert(page.document(prefix, nonce)))
end
return _M
]]

  local function set_campaigns(list) write(dir .. "/campaigns.json", json.encode(list)) end

  setup(function()
    assert(helpers.read_file(helpers.root .. "/build/luajit/accelerate/core.so"), "make build LUA_VERSION=jit first")
    dir = helpers.root .. "/build/test-sim/runner-page-" .. tostring(os.time()) .. "-" .. tostring(math.random(1e6))
    assert(helpers.run("mkdir -p " .. quote(dir)))
    ngx_srv = helpers.start_nginx { dir = dir, modules = { page_fixture = FIXTURE:format(dir) }, locations = {
      "location /accelerate/ { content_by_lua_block { require('page_fixture').serve('/accelerate/') } }",
    } }
  end)
  teardown(function()
    if ngx_srv then ngx_srv.stop() end
    if dir then helpers.run("rm -rf " .. quote(dir)) end
  end)

  local ATTR = "document.documentElement.getAttribute"

  it("runs with no error, one cell per task, a cell that changes state, opened details kept", function()
    os.remove(dir .. "/down")
    local before = earlier(evil, 4)
    before.id, before.name = evil.id, evil.name
    set_campaigns({ before })
    local opened_key
    local b, first, changed = helpers.watch_page(ngx_srv.url .. "/accelerate/", function() set_campaigns({ evil }) end, {
      -- the person opens the first group's sample stack
      before_change = function(br)
        opened_key = br:eval([[(function(){var d=document.querySelector('details.group details');
          d.querySelector('summary').click();return d.parentElement.getAttribute('data-key');})()]])
        assert.truthy(br:wait("document.querySelector('details.group details').open"))
      end })
    local ok, err = pcall(function()
      assert.is_string(opened_key)
      local cells, n = cells_of(first)
      assert.equal(#evil.tasks, n)
      assert.equal("running", cells["4"])
      assert.equal("pending", cells["6"])
      assert.is_string(changed, "no cell changed state")
      assert.truthy(changed:find("c-1:4", 1, true), changed)
      assert.truthy(changed:find("c-1:6", 1, true), changed)
      local dom = b:dom()
      cells, n = cells_of(dom)
      assert.equal(#evil.tasks, n)
      for _, t in ipairs(evil.tasks) do assert.equal(t.state, cells[("%d"):format(t.task)]) end
      assert.equal(tostring(#evil.tasks), b:eval(ATTR .. "('data-cells')"))
      -- still open after the update replaced the campaigns' HTML
      assert.is_true(b:eval("document.querySelector('details[data-key=\"" .. opened_key
        .. "\"] details').open"))
      assert.is_nil(dom:find("PWNED=1</script>", 1, true))
      assert.is_nil(b:eval("window.PWNED"))
      assert.same({}, b:errors())

      -- the server goes away: the page says so, keeps trying, and recovers
      local updates = tonumber(b:eval(ATTR .. "('data-updates')"))
      write(dir .. "/down", "")
      assert.truthy(b:wait(ATTR .. "('data-offline')", 10))
      assert.matches("connection lost %(HTTP 503%), retrying", b:eval("document.getElementById('conn').textContent"))
      assert.is_false(b:eval("document.getElementById('conn').hidden"))
      os.remove(dir .. "/down")
      assert.truthy(b:wait("!" .. ATTR .. "('data-offline') && +" .. ATTR .. "('data-updates') > " .. updates, 15))
      assert.is_true(b:eval("document.getElementById('conn').hidden"))
      for _, e in ipairs(b:errors()) do   -- only the refused fetches, said by the browser
        assert.matches("^network: Failed to load resource: the server responded with a status of 503", e)
      end
    end)
    b:close()
    assert(ok, err)
  end)

  it("takes screenshots of a realistic page, light and dark", function()
    os.remove(dir .. "/down")
    local running = earlier(shown, 15)
    running.elapsed, running.eta = 2470, 1385
    local failed = deep_copy(shown)
    failed.id, failed.name, failed.created_at, failed.elapsed = "20261205-h1-first-try", "H1 2025 sales, first try",
      1796400000, 5190
    assert.equal("succeeded", done.state)
    set_campaigns({ running, done, failed })
    local b = helpers.browser()
    local ok, err = pcall(function()
      b:open(ngx_srv.url .. "/accelerate/")
      assert(b:wait("+" .. ATTR .. "('data-updates') >= 1", 10))
      assert.same({}, b:errors())
      for _, dark in ipairs { false, true } do
        local png = OUT .. (dark and "/runner-page-dark.png" or "/runner-page.png")
        os.remove(png)
        b:screenshot(png, { width = 1280, dark = dark })
        local shot = assert(helpers.read_file(png), "no screenshot written")
        assert.equal("\137PNG", shot:sub(1, 4))
        assert.is_true(#shot > 20000)
      end
    end)
    b:close()
    assert(ok, err)
  end)
end)
