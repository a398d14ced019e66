-- accelerate report DAG --html FILE: the page as a string (escaping, one
-- cell and one bar per instance, nothing from the network), then a real
-- backfill with failures against the simulator, its page opened in
-- Debian's headless Chromium: it loads without a script error, draws one
-- heatmap cell and one timeline bar per instance, and leaves a screenshot
-- in build/ for a person to look at.
local helpers = require "spec.helpers"
helpers.paths()

local render_html = require "accelerate.render.html"

local quote = helpers.quote
local EVIL = '<script>window.PWNED=1</script><img src=x onerror="window.PWNED=2">'

local function count(s, needle)
  local n, at = 0, 1
  while true do
    local i = s:find(needle, at, true)
    if not i then return n end
    n, at = n + 1, i + #needle
  end
end

-- The page makes no request: no src, href, url() or @import anywhere, and
-- the only address is the SVG namespace.
local function assert_self_contained(html)
  -- tags as the browser reads them: links inside the page (href="#id")
  -- taken out, then attribute values (escaped, no quote in them) emptied
  local tags = html:gsub('%shref="#[%w_%-]+"', ""):gsub('"[^"]*"', '""')
  assert.is_nil(tags:find("<[^>]-%ssrc%s*="))
  assert.is_nil(tags:find("<[^>]-%shref%s*="))
  assert.is_nil(tags:find("<[^>]-%son%a+%s*="))             -- nor an event handler
  assert.is_nil(html:find("url(", 1, true))
  assert.is_nil(html:find("@import", 1, true))
  local rest = html:gsub('xmlns="http://www%.w3%.org/2000/svg"', "")
  assert.is_nil(rest:find("https?://"))
  assert.equal(1, count(html, "<script>"))
end

describe("render_html.render", function()
  local function inst(id, tbl, day, st, extra)
    local i = { id = id, mtGuid = tbl, startPartition = day, endPartition = day, status = st, resourceGroup = "g1" }
    for k, v in pairs(extra or {}) do i[k] = v end
    return i
  end

  it("escapes every string a server sent", function()
    local bad = inst("7" .. EVIL, "dw." .. EVIL, "2025-01-02", "FAILED", { resourceGroup = EVIL })
    local r = {
      dagName = "dag" .. EVIL, total = 2, counts = { SUCCESS = 1, FAILED = 1 },
      instances = { inst("6", "dw.t", "2025-01-01", "SUCCESS"), bad },
      failures = { { instance = bad, detail = { msg = "java.lang.RuntimeException: " .. EVIL,
        sql = { formattedSql = "SELECT '" .. EVIL .. "'" },
        statusTime = { WAITING = "2025-03-25T10:00:00", RUNNING = "2025-03-25T10:01:00",
          FAILED = "2025-03-25T10:02:00" } } } },
    }
    local html = render_html.render(r, { generated_at = EVIL })
    assert.is_nil(html:find("<script>window", 1, true))
    assert.is_nil(html:find("<img", 1, true))
    assert.truthy(html:find("&lt;script&gt;window.PWNED=1&lt;/script&gt;", 1, true))
    assert.truthy(html:find("onerror=&quot;", 1, true))
    assert_self_contained(html)
  end)

  it("draws one cell per instance and one bar per instance that has times", function()
    local instances = {}
    for i = 1, 30 do
      instances[i] = inst(tostring(100 + i), "dw.t" .. (i % 3), ("2025-01-%02d"):format(i), i % 7 == 0 and "FAILED"
        or "SUCCESS", { createTime = "2025-03-25T10:00:00", startTime = ("2025-03-25T10:%02d:00"):format(i),
        endTime = ("2025-03-25T10:%02d:30"):format(i) })
    end
    -- one that never ran and has no time at all: a cell, no bar
    instances[31] = inst("131", "dw.t0", "2025-01-31", "WAITING")
    local html = render_html.render({ dagName = "d", total = 31, counts = {}, instances = instances, failures = {} })
    assert.equal(31, count(html, 'data-inst="'))
    assert.equal(30, count(html, 'data-bar="'))
    assert.equal(4, count(html, '<rect class="mark"'))      -- the failed ones (7, 14, 21, 28) are marked
    assert.truthy(html:find("No instance failed.", 1, true))
    assert.truthy(html:find("@media print", 1, true))
    assert.truthy(html:find("prefers-color-scheme:dark", 1, true))
  end)
end)

describe("accelerate report --html in a browser", function()
  local PLAN = "5468b0c0462e40e08e44108d8164c7c3"
  local OUT = helpers.root .. "/build/html-report"
  local sim, chromium

  local function cmd(argv)
    local env = "env ACCELERATE_URL=" .. quote(sim.url) .. " ACCELERATE_TENANT_ID=" .. sim.tenant_id
      .. " ACCELERATE_AUTH_TYPE=" .. sim.auth_type .. " ACCELERATE_AUTH_VALUE=" .. quote(sim.auth_value)
      .. " HOME=/nonexistent/accelerate-spec-home XDG_CONFIG_HOME=/nonexistent/accelerate-spec-home "
    local code, out = helpers.sh("cd " .. quote(helpers.root) .. " && " .. env .. "bin/accelerate " .. argv
      .. " 2>" .. quote(OUT .. "/stderr.txt"))
    return code, out, helpers.read_file(OUT .. "/stderr.txt") or ""
  end

  -- Runs headless Chromium on a file; returns its stdout and its log.
  local function browse(args, file)
    local log = OUT .. "/chromium.log"
    -- a HOME of its own: Chromium writes caches and crash reports there
    local home = quote(OUT .. "/chromium-home")
    local _, out = helpers.sh("HOME=" .. home .. " XDG_CONFIG_HOME=" .. home .. " XDG_CACHE_HOME=" .. home
      .. " timeout 120 " .. quote(chromium) .. " --headless --no-sandbox --disable-gpu "
      .. "--no-first-run --hide-scrollbars --enable-logging=stderr --v=0 " .. args .. " "
      .. quote("file://" .. file) .. " 2>" .. quote(log))
    return out, helpers.read_file(log) or ""
  end

  setup(function()
    local code, path = helpers.sh("command -v chromium")
    assert(code == 0, "chromium is missing: run `make deps` (it is in the Makefile's DEB_PACKAGES)")
    chromium = path:gsub("%s+$", "")
    assert(helpers.read_file(helpers.root .. "/build/lua5.4/accelerate/core.so"), "make build LUA_VERSION=5.4 first")
    os.execute("mkdir -p " .. quote(OUT))
    sim = helpers.start_sim { scenario = "test" }
  end)
  teardown(function()
    if sim then sim:stop() end
  end)

  it("loads with no script error, one cell and one bar per instance, and a screenshot", function()
    sim:scenario(helpers.scenario { failures = { probability = 0, retries = 1, partitions = {
      { date = "2025-01-09", ["until"] = "2025-01-10", table = "dw.sales.orders_daily", error = "oom" },
      { date = "2025-01-21", error = "partition_locked" },
      { date = "2025-01-27", table = "dw.sales.orders_by_region", error = EVIL },
    } } })
    local code, out = cmd("backfill --plan-id " .. PLAN .. " --start 2025-01-01 --end 2025-01-31 "
      .. "--interval 0.05 --json --quiet")
    assert.equal(1, code)
    local dag = helpers.json.decode(out).dagName
    local page = OUT .. "/report.html"
    local err
    code, out, err = cmd("report " .. dag .. " --html " .. quote(page) .. " --json")
    assert.equal(1, code, err)
    local r = helpers.json.decode(out)
    assert.equal(62, r.total)
    assert.equal(3, #r.groups)
    assert.equal(62, r.timing.instances)
    assert.equal(62, r.timing.run.count)                 -- every detail was fetched: statusTime for all
    assert.matches("wrote .*report%.html: 62 instances, 62 details fetched in [%d.]+ s %(62 requests%)", err)
    local html = assert(helpers.read_file(page))
    assert_self_contained(html)
    assert.is_nil(html:find(sim.auth_value, 1, true))

    -- a copy that reports any script error into the DOM before anything else runs
    local probe = OUT .. "/report-probe.html"
    local f = assert(io.open(probe, "wb"))
    f:write((html:gsub("<head>", "<head><script>window.onerror=function(m){document.documentElement"
      .. ".setAttribute('data-js-error',String(m));};</script>", 1)))
    f:close()
    local dom, log = browse("--dump-dom", probe)
    assert.truthy(dom:find('data-ready="1"', 1, true), "the page's script did not run:\n" .. log)
    assert.is_nil(dom:match('data%-js%-error="[^"]*"'))
    assert.is_nil(log:find("Uncaught", 1, true), log)
    assert.is_nil(log:find("Refused to", 1, true), log)
    assert.is_nil(dom:find("PWNED=1</script>", 1, true))  -- written as text, never run
    local ids = {}
    for _, inst in ipairs(r.instances) do ids[tostring(inst.id)] = true end
    local cells, bars = 0, 0
    for id in dom:gmatch('data%-inst="([^"]*)"') do assert.truthy(ids[id], id) cells = cells + 1 end
    for id in dom:gmatch('data%-bar="([^"]*)"') do assert.truthy(ids[id], id) bars = bars + 1 end
    assert.equal(62, cells)
    assert.equal(62, bars)
    assert.equal(r.counts.FAILED, count(dom, '<rect class="mark"'))

    -- issue 20 item 10: each legend names a state once ("failed" was
    -- twice: the status and the timeline's mark)
    local legends = 0
    for legend in dom:gmatch('<p class="legend">(.-)</p>') do
      legends = legends + 1
      local seen = {}
      for label in legend:gmatch("</i>([^<]*)</span>") do
        assert.is_nil(seen[label], "the legend names '" .. label .. "' twice")
        seen[label] = true
      end
      assert.truthy(seen.failed)
    end
    assert.equal(2, legends)
    -- a summary before the first section links to each failure group and
    -- to the timing section, and every link lands on an element
    local top = assert(dom:match("^(.-)<h2"))
    local summary = assert(top:match('<nav class="summary">(.-)</nav>'), "no summary at the top")
    local targets = {}
    for id in dom:gmatch('%sid="([^"]+)"') do targets[id] = true end
    for id in summary:gmatch('href="#([^"]+)"') do
      assert.truthy(targets[id], "a link to #" .. id .. " lands nowhere")
    end
    assert.truthy(summary:find('href="#timing"', 1, true))
    assert.truthy(summary:find('href="#failures"', 1, true))
    local groups = 0
    for id in dom:gmatch('<details class="group[^"]*" id="([^"]+)"') do
      groups = groups + 1
      assert.truthy(summary:find('href="#' .. id .. '"', 1, true), "no link to " .. id)
    end
    assert.equal(3, groups)

    local png = helpers.root .. "/build/html-report.png"
    os.remove(png)
    browse("--screenshot=" .. quote(png) .. " --window-size=1280,1700", page)
    local shot = assert(helpers.read_file(png), "no screenshot written")
    assert.equal("\137PNG", shot:sub(1, 4))
    assert.is_true(#shot > 20000)
  end)
end)

-- Issue 17, item 14: the --html file is opened before anything is fetched,
-- and a page that cannot be written is exit 5 (output not written), never
-- 2 (usage); a failed report leaves no file it created behind.
describe("accelerate report --html FILE that cannot be written", function()
  local PLAN = "5468b0c0462e40e08e44108d8164c7c3"
  local sim, dag, tmp

  local function cmd(argv)
    local env = "env ACCELERATE_URL=" .. quote(sim.url) .. " ACCELERATE_TENANT_ID=" .. sim.tenant_id
      .. " ACCELERATE_AUTH_TYPE=" .. sim.auth_type .. " ACCELERATE_AUTH_VALUE=" .. quote(sim.auth_value)
      .. " HOME=/nonexistent/accelerate-spec-home XDG_CONFIG_HOME=/nonexistent/accelerate-spec-home NO_COLOR=1 "
    local code, out = helpers.sh("cd " .. quote(helpers.root) .. " && " .. env .. "bin/accelerate " .. argv
      .. " 2>" .. quote(tmp .. ".err"))
    return code, out, helpers.read_file(tmp .. ".err") or ""
  end

  setup(function()
    assert(helpers.read_file(helpers.root .. "/build/lua5.4/accelerate/core.so"), "make build LUA_VERSION=5.4 first")
    sim = helpers.start_sim { scenario = "test" }
    tmp = os.tmpname()
    local code, out, err = cmd("create --plan-id " .. PLAN .. " --start 2025-01-01 --end 2025-01-03 --json")
    assert.equal(0, code, err)
    dag = helpers.json.decode(out).dagName
    sim:advance(100000)
  end)
  teardown(function()
    if sim then sim:stop() end
    os.remove(tmp .. ".err")
    os.remove(tmp)
  end)

  it("exits 5 for a full device, and says why", function()
    local code, out, err = cmd("report " .. dag .. " --html /dev/full")
    assert.equal(5, code, err)
    assert.matches("cannot write %-%-html /dev/full", err)
    assert.is_nil(err:find("--help", 1, true), err)     -- not a usage error
    assert.equal("", out)
    code, out, err = cmd("report " .. dag .. " --html /dev/full --json")
    assert.equal(5, code, err)
    local j = helpers.json.decode(out)
    assert.equal(5, j.exit)
    assert.equal(dag, j.dagName)
  end)

  it("opens the file before anything is fetched: a path it cannot open sends nothing", function()
    sim:clear_requests()
    local code, out, err = cmd("report " .. dag .. " --html /nonexistent-dir/report.html")
    assert.equal(5, code, err)
    assert.matches("cannot write %-%-html /nonexistent%-dir/report%.html", err)
    assert.equal("", out)
    assert.equal(0, #sim:requests {})
  end)

  it("leaves no file it created when the report fails, and writes it when it does not", function()
    local page = tmp .. ".html"
    os.remove(page)
    local code, _, err = cmd("report no-such-dag --html " .. quote(page))
    assert.equal(4, code, err)
    assert.is_nil(io.open(page, "rb"))
    code, _, err = cmd("report " .. dag .. " --html " .. quote(page))
    assert.is_true(code == 0 or code == 1, err)
    assert.truthy((helpers.read_file(page) or ""):find("</html>", 1, true))
    os.remove(page)
  end)
end)
