-- accelerate.metrics and `accelerate campaign run --metrics FILE`: every
-- text is read back by a parser of the exposition format 0.0.4 of the
-- specs' own (spec/exposition.lua, not the module's code), which refuses
-- what Prometheus would; first, that it does.  Then: tricky label
-- values, the counting client on a plain table store against the
-- simulator through the C client (errors and a lost create too), and the
-- file the command writes, checked against the simulator's log and the
-- --json report.
-- Run with busted --lua=lua5.4 (utf8.len checks the text).
local helpers = require "spec.helpers"
helpers.paths()

local metrics = require "accelerate.metrics"
local json = helpers.json
local quote = helpers.quote

local exposition = require "spec.exposition"
local parse, value_of = exposition.parse, exposition.value_of

describe("the spec's exposition parser", function()
  it("reads a valid text and refuses what Prometheus refuses", function()
    local ok = '# HELP a_total x \\\\ y \\n z\n# TYPE a_total counter\na_total{l="q\\"\\\\\\n"} 1\na_total 2 1700\n'
      .. "# a comment\nb NaN\nc{x=\"1\",} +Inf\n"
    local fams, samples = parse(ok)
    assert.equal("counter", fams.a_total.type)
    assert.equal('q"\\\n', samples[1].labels.l)
    assert.is_true(samples[3].value ~= samples[3].value)
    for _, bad in ipairs {
      "a 1",                                         -- no newline at the end
      "a{l=\"x\"} 1\na{l=\"x\"} 2\n",                -- a series twice
      "a 1\n# TYPE a gauge\n",                       -- TYPE after the samples
      "# HELP a x\n# HELP a y\na 1\n",               -- HELP twice
      "a 1\nb 1\na{x=\"1\"} 1\n",                    -- a family's samples apart
      "a{l=\"\\t\"} 1\n",                            -- a bad escape
      "a{l=\"x} 1\n",                                -- an open quote
      "1a 1\n",                                      -- a bad metric name
      "a{1l=\"x\"} 1\n",                             -- a bad label name
      "a{l=\"x\",l=\"y\"} 1\n",                      -- a label twice
      "a one\n",                                     -- not a float
      "a{l=\"\255\"} 1\n",                           -- not UTF-8
      "# TYPE a countr\n",                           -- no such type
    } do
      assert.has_error(function() parse(bad) end, nil, bad)
    end
  end)
end)

-- render ------------------------------------------------------------------------

local function report(states, counts, elapsed, ntasks)
  local tasks = {}
  for i = 1, ntasks or 4 do tasks[i] = { task = i } end
  return { tasks = tasks, states = states, counts = counts, elapsed = elapsed }
end

describe("metrics.render", function()
  local TRICKY = { 'q"uote', "back\\slash", "new\nline", "\\n not a newline", "Ünïcødé 日本語 🚀",
    "braces{},=\"", "" }

  it("writes label values that read back exactly: quotes, backslashes, newlines, unicode", function()
    local campaigns = {}
    for i, id in ipairs(TRICKY) do
      campaigns[i] = { id = id, name = id .. " name", state = "running",
        report = report({ pending = 1, running = 1, succeeded = i, failed = 0 }, { SUCCESS = i }, 10 * i) }
    end
    local fams, samples, order = parse(metrics.render { campaigns = campaigns, store = {} })
    for i, id in ipairs(TRICKY) do
      assert.equal(i, value_of(samples, "accelerate_campaign_tasks", { campaign = id, state = "succeeded" }), id)
      assert.equal(i, value_of(samples, "accelerate_campaign_instances", { campaign = id, status = "SUCCESS" }))
      assert.equal(1, value_of(samples, "accelerate_campaign_info", { campaign = id, name = id .. " name" }))
    end
    -- families in name order, each typed and explained
    local sorted = {}
    for i, name in ipairs(order) do sorted[i] = name end
    table.sort(sorted)
    assert.same(sorted, order)
    for name, f in pairs(fams) do
      assert.truthy(f.type, name)
      assert.truthy(f.help, name)
    end
  end)

  it("replaces bytes that are not UTF-8 (Prometheus refuses them), and keeps the series apart", function()
    local _, samples = parse(metrics.render { campaigns = {
      { id = "latin1 caf\233", report = report({}, {}) },
      { id = "cut \230\151", report = report({}, {}) },
      { id = "surrogate \237\160\128", report = report({}, {}) },
    } })
    assert.equal(0, value_of(samples, "accelerate_campaign_tasks", { campaign = "latin1 caf\239\191\189",
      state = "pending" }))
    assert.equal(0, value_of(samples, "accelerate_campaign_tasks", { campaign = "cut \239\191\189\239\191\189",
      state = "running" }))
    assert.truthy(value_of(samples, "accelerate_campaign_tasks", { campaign = "surrogate \239\191\189\239\191\189\239\191\189",
      state = "failed" }))
  end)

  it("draws every task state and status class, 0 included, and the ETA only when known", function()
    local r = report({ pending = 1, running = 1, succeeded = 2, failed = 0 }, { SUCCESS = 5, KILLED = 2, WAITING = 1 }, 30)
    local fams, samples = parse(metrics.render { campaigns = {
      { id = "a", report = r, state = "running" },
      { id = "a", report = report({}, {}) },                         -- the same id again: no series twice
      { id = "b", report = report({ succeeded = 4 }, {}, 9) },       -- all settled: no ETA
      { id = "c", report = report({ succeeded = 1, pending = 3 }, {}), eta = 7.25 },
      { id = "d", report = { tasks = { { state = "failed" }, { state = "running" } }, counts = { SUCCESS = 1 } } },
    } })
    for _, s in ipairs(metrics.TASK_STATES) do
      assert.truthy(value_of(samples, "accelerate_campaign_tasks", { campaign = "b", state = s }), s)
    end
    assert.equal(0, value_of(samples, "accelerate_campaign_tasks", { campaign = "b", state = "failed" }))
    -- states counted from the tasks when the report has none
    assert.equal(1, value_of(samples, "accelerate_campaign_tasks", { campaign = "d", state = "failed" }))
    -- KILLED is a failed status: FAILED's class
    assert.equal(2, value_of(samples, "accelerate_campaign_instances", { campaign = "a", status = "FAILED" }))
    assert.equal(0, value_of(samples, "accelerate_campaign_instances", { campaign = "a", status = "RUNNING" }))
    assert.equal(#require("accelerate.statuses").CLASSES, #fams.accelerate_campaign_instances.samples / 4)
    -- 30 s for 2 settled of 4: 30 more
    assert.equal(30, value_of(samples, "accelerate_campaign_eta_seconds", { campaign = "a" }))
    assert.equal(7.25, value_of(samples, "accelerate_campaign_eta_seconds", { campaign = "c" }))
    assert.is_nil(value_of(samples, "accelerate_campaign_eta_seconds", { campaign = "b" }))
    assert.is_nil(value_of(samples, "accelerate_campaign_eta_seconds", { campaign = "d" }))
    assert.equal(1, value_of(samples, "accelerate_campaign_state", { campaign = "a", state = "running" }))
    assert.equal(0, value_of(samples, "accelerate_campaign_state", { campaign = "a", state = "stopped" }))
    assert.is_nil(value_of(samples, "accelerate_campaign_state", { campaign = "b", state = "running" }))
    -- creates_total's outcomes exist from the start; no leader without one
    for _, o in ipairs { "created", "refused", "unknown" } do
      assert.equal(0, value_of(samples, "accelerate_creates_total", { outcome = o }))
    end
    assert.is_nil(fams.accelerate_runner_leader)
    assert.equal("counter", fams.accelerate_creates_total.type)
  end)

  it("writes floats Prometheus parses back (NaN, infinities, large and small) and the leader", function()
    local store = {}
    local values = { 0.1, 1e300, 2 ^ 53 + 2, 1 / 3, -2.5e-7, 0 / 0, math.huge, 12345678901 }
    for i, v in ipairs(values) do
      store[metrics.series("accelerate_requests_total", { { "call", "c" .. i }, { "outcome", "ok" } })] = v
    end
    store.unrelated_key = 5   -- a runner's dict holds other keys: left out
    local fams, samples = parse(metrics.render { store = store, leader = { [0] = 1, [1] = 0 } })
    for i, v in ipairs(values) do
      local got = value_of(samples, "accelerate_requests_total", { call = "c" .. i })
      if v ~= v then assert.is_true(got ~= got) else assert.equal(v, got) end
    end
    assert.equal(1, value_of(samples, "accelerate_runner_leader", { worker = "0" }))
    assert.equal(0, value_of(samples, "accelerate_runner_leader", { worker = "1" }))
    assert.is_nil(fams.unrelated_key)
    local _, one = parse(metrics.render { leader = 1 })
    samples = one
    assert.equal(1, value_of(samples, "accelerate_runner_leader"))
  end)

  it("computes the ETA the progress line shows (campaign_view's overall line)", function()
    local r = report({ pending = 2, running = 0, succeeded = 1, failed = 1 }, {}, 20)
    assert.equal(20, metrics.eta(r))
    assert.matches("eta 20s", require("accelerate.cli.campaign_view").overall(r), 1, true)
    r.stopped = "interrupted"
    assert.is_nil(metrics.eta(r))
    assert.is_nil(metrics.eta { tasks = r.tasks, states = r.states })   -- a journal's status: no elapsed
  end)
end)

-- Against the simulator -------------------------------------------------------------

local PLAN = "5468b0c0462e40e08e44108d8164c7c3"   -- sales_daily of sim/scenarios/test.json

describe("metrics.counting", function()
  local sim, accelerate
  local clients = {}

  setup(function()
    accelerate = helpers.core()
    sim = helpers.start_sim { scenario = "test" }
  end)

  teardown(function()
    if sim then sim:stop() end
  end)

  before_each(function() sim:reset() end)

  after_each(function() helpers.close_all(clients) end)

  local function new()
    local c = assert(accelerate.new(sim:client_options { timeout = 5, retries = 2 }))
    clients[#clients + 1] = c
    return c
  end

  local function count(store, call, outcome)
    return store[metrics.series("accelerate_requests_total", { { "call", call }, { "outcome", outcome } })]
  end

  it("counts each call of the C client by outcome in a plain table, and renders it", function()
    local store = {}
    local client = metrics.counting(new(), store)
    local dag = assert(client:create_task { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-25" })
    -- 50 instances (two tables) in pages of 10: five list calls, each counted
    local n = 0
    for _ in client:instances(dag, { pageSize = 10 }) do n = n + 1 end
    assert.equal(50, n)
    assert(client:list_instances { dagName = dag, pageIndex = 1, pageSize = 5 })
    local page = assert(client:list_instances { dagName = dag, pageIndex = 1, pageSize = 2 })
    assert(client:task_detail(page.instances[1].id))
    -- an unknown id: the server's refusal, counted by its kind
    local d, err = client:task_detail("999999999")
    assert.is_nil(d)
    assert.equal("api", err.kind)
    -- task_details: one per id, the good and the bad
    local details, errs = client:task_details { page.instances[1].id, page.instances[2].id, "888888888" }
    assert.truthy(details[page.instances[1].id])
    assert.truthy(errs["888888888"])
    for _ in client:plans() do end
    assert(client:plan_detail(PLAN))
    assert.equal(1, count(store, "create_task", "ok"))
    assert.equal(7, count(store, "list_instances", "ok"))
    assert.equal(3, count(store, "task_detail", "ok"))
    assert.equal(2, count(store, "task_detail", "api"))
    assert.equal(1, count(store, "list_plans", "ok"))
    assert.equal(1, count(store, "plan_detail", "ok"))
    -- no fault, no retry: every request the server saw, counted once
    local total = 0
    for k, v in pairs(store) do
      if k:find("^accelerate_requests_total") then total = total + v end
    end
    assert.equal(#sim:requests(), total)
    -- and through render, parsed
    local _, samples = parse(metrics.render { store = store })
    assert.equal(2, value_of(samples, "accelerate_requests_total", { call = "task_detail", outcome = "api" }))
    assert.equal(1, value_of(samples, "accelerate_creates_total", { outcome = "created" }))
  end)

  it("counts creates refused and lost (unknown), and a call's retries as one call", function()
    local store = {}
    local inner = new()
    local client = metrics.counting(inner, store)
    local params = { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-01" }
    sim:fault { route = "create", kind = "status", status = 400 }
    local dag, err = client:create_task(params)
    assert.is_nil(dag)
    assert.is_falsy(err.outcome_unknown)
    sim:fault { route = "create", kind = "drop", after = "respond" }
    dag, err = client:create_task(params)
    assert.is_nil(dag)
    assert.is_true(err.outcome_unknown)
    dag = assert(client:create_task(params))
    local created = store[metrics.series("accelerate_creates_total", { { "outcome", "created" } })]
    assert.equal(1, created)
    assert.equal(1, store[metrics.series("accelerate_creates_total", { { "outcome", "refused" } })])
    assert.equal(1, store[metrics.series("accelerate_creates_total", { { "outcome", "unknown" } })])
    assert.equal(1, count(store, "create_task", "http"))
    assert.equal(1, count(store, "create_task", "network"))
    -- a 503 the client rides out: one call, ok
    sim:fault { route = "list", kind = "status", status = 503, times = 1 }
    assert(client:list_instances { dagName = dag, pageIndex = 1, pageSize = 1 })
    assert.equal(1, count(store, "list_instances", "ok"))
    assert.is_nil(count(store, "list_instances", "http"))
    -- a listing whose page cannot be read: counted by its kind, and raised
    sim:fault { route = "list", kind = "malformed", times = 1 }
    local ok, lerr = pcall(function() for _ in client:instances(dag, { pageSize = 50 }) do end end)
    assert.is_false(ok)
    assert.equal("decode", lerr.kind)
    assert.equal(1, count(store, "list_instances", "decode"))
    -- the wrapper is the client for everything else
    assert.equal(tostring(inner), tostring(client))
    assert.equal(inner.url, client.url)
    client:close()
    assert.has_error(function() inner:list_plans() end)
    -- a call that raises sent nothing and is not counted
    assert.has_error(function() client:task_detail("1") end)
  end)
end)

describe("accelerate campaign run --metrics FILE", function()
  local sim, dir, spec_path, jpath, mpath

  local BIN = quote(helpers.root .. "/bin/accelerate")

  local function write(path, text)
    local f = assert(io.open(path, "wb"))
    f:write(text)
    f:close()
  end

  setup(function()
    sim = helpers.start_sim { scenario = "test" }
  end)

  teardown(function()
    if sim then sim:stop() end
  end)

  before_each(function()
    sim:scenario(helpers.scenario {})
    dir = os.tmpname()
    os.remove(dir)
    assert(helpers.run("mkdir -p " .. quote(dir)))
    spec_path, jpath, mpath = dir .. "/q1.json", dir .. "/q1 \"2025\".journal", dir .. "/campaign.prom"
    write(spec_path, json.encode { name = "Q1 \"result\" plans",
      plans = { materializeType = "RESULT", names = { "sales_daily", "gmv_monthly" } },
      startTime = "2025-01-01", endTime = "2025-03-31", chunk = "month", max_in_flight = 2 })
  end)

  after_each(function()
    helpers.run("rm -rf " .. quote(dir))
  end)

  local function argv(extra)
    return "campaign run " .. quote(spec_path) .. " --journal " .. quote(jpath) .. " --interval 0.02 --metrics "
      .. quote(mpath) .. (extra or "")
  end

  local function mode_of(path)
    local _, out = helpers.sh("stat -c %a " .. quote(path))
    return out:match("%d+")
  end

  it("writes a file that parses, its creates and task gauges the simulator's and the report's; mode 0644", function()
    -- umask 077 would make a private file: the collector is another user
    local code, out = helpers.sh("umask 077 && " .. helpers.command_env(sim, { "NO_COLOR=1" }) .. " " .. BIN .. " "
      .. argv(" --json") .. " 2>" .. quote(dir .. "/err"))
    assert.equal(0, code, helpers.read_file(dir .. "/err"))
    local r = assert(json.decode(out))
    local text = assert(helpers.read_file(mpath), "the file exists")
    local fams, samples = parse(text)
    assert.equal("644", mode_of(mpath))
    assert.is_nil(helpers.read_file(mpath .. ".tmp"))
    -- the campaign label: the journal's name without its extension
    local label = 'q1 "2025"'
    local creates = #sim:requests { route = "create" }
    assert.equal(6, creates)
    assert.equal(creates, value_of(samples, "accelerate_creates_total", { outcome = "created" }))
    assert.equal(creates, value_of(samples, "accelerate_requests_total", { call = "create_task", outcome = "ok" }))
    for _, s in ipairs(metrics.TASK_STATES) do
      assert.equal(r.states[s] or 0, value_of(samples, "accelerate_campaign_tasks", { campaign = label, state = s }), s)
    end
    assert.equal(r.counts.SUCCESS, value_of(samples, "accelerate_campaign_instances",
      { campaign = label, status = "SUCCESS" }))
    assert.equal(1, value_of(samples, "accelerate_campaign_state", { campaign = label, state = "succeeded" }))
    assert.equal(1, value_of(samples, "accelerate_campaign_info", { campaign = label, name = 'Q1 "result" plans' }))
    assert.is_nil(fams.accelerate_campaign_eta_seconds)   -- finished: no ETA
    -- every request the simulator saw, counted once
    local total = 0
    for _, s in ipairs(fams.accelerate_requests_total.samples) do total = total + s.value end
    assert.equal(#sim:requests(), total)
  end)

  it("rewrites the file at each poll while the campaign runs", function()
    sim:scenario(helpers.scenario { speed = 0 })   -- time stands still until advanced
    local rc = dir .. "/rc"
    local sh = ("%s %s %s >%s 2>%s; echo $? >%s"):format(helpers.command_env(sim, { "NO_COLOR=1" }), BIN, argv(),
      quote(dir .. "/out"), quote(dir .. "/err"), quote(rc))
    assert(helpers.run("bash -c " .. quote(sh) .. " >/dev/null 2>&1 &"))
    -- the first poll: two tasks created and running, four pending
    local samples = helpers.eventually(function()
      local text = helpers.read_file(mpath)
      if not text then return nil end
      local _, s = parse(text)
      return value_of(s, "accelerate_campaign_tasks", { campaign = 'q1 "2025"', state = "running" }) == 2 and s
    end, 20)
    assert.truthy(samples, helpers.read_file(dir .. "/err"))
    assert.equal(4, value_of(samples, "accelerate_campaign_tasks", { campaign = 'q1 "2025"', state = "pending" }))
    assert.equal(1, value_of(samples, "accelerate_campaign_state", { campaign = 'q1 "2025"', state = "running" }))
    assert.equal(2, value_of(samples, "accelerate_creates_total", { outcome = "created" }))
    -- the file becomes a folder: every later write fails, warned once, and the campaign goes on
    assert.truthy(helpers.eventually(function()   -- a write may land between the two
      os.remove(mpath)
      return helpers.run("mkdir " .. quote(mpath) .. " 2>/dev/null")
    end, 5))
    assert.truthy(helpers.eventually(function()
      sim:advance(100000)
      return helpers.read_file(rc)
    end, 30), helpers.read_file(dir .. "/err"))
    local err = helpers.read_file(dir .. "/err")
    assert.equal("0", helpers.read_file(rc):match("%d+"), err)
    local _, n = err:gsub("warning: cannot write the metrics file", "")
    assert.equal(1, n, err)
    assert.matches("the campaign goes on", err, 1, true)
    assert.equal(6, #sim:requests { route = "create" })
  end)

  it("ends a run stopped by a lost create with needs_attention and the create counted unknown", function()
    sim:fault { route = "create", kind = "drop", after = "respond" }
    local code, out, err = helpers.command(sim, argv(), { "NO_COLOR=1" })
    assert.equal(4, code, out .. err)
    local _, samples = parse(assert(helpers.read_file(mpath)))
    assert.equal(1, value_of(samples, "accelerate_creates_total", { outcome = "unknown" }))
    assert.equal(0, value_of(samples, "accelerate_creates_total", { outcome = "created" }))
    assert.equal(1, value_of(samples, "accelerate_requests_total", { call = "create_task", outcome = "network" }))
    assert.equal(1, value_of(samples, "accelerate_campaign_state", { campaign = 'q1 "2025"', state = "needs_attention" }))
    assert.equal(0, value_of(samples, "accelerate_campaign_state", { campaign = 'q1 "2025"', state = "running" }))
  end)

  it("refuses a FILE it cannot write before anything is sent or journaled (exit 2)", function()
    for _, bad in ipairs { dir .. "/no/such/folder/m.prom", dir } do
      mpath = bad
      local code, out, err = helpers.command(sim, argv(), { "NO_COLOR=1" })
      assert.equal(2, code, out .. err)
      assert.matches("cannot write the metrics file " .. bad, err, 1, true)
      assert.same({}, sim:requests())
      assert.is_nil(helpers.read_file(jpath))
    end
  end)
end)
