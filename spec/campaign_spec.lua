-- accelerate.campaign against the simulator: the in-flight cap read from
-- the simulator's request log, both orders (and campaign.preview matching what
-- run creates), the failure budget, automatic repair of transient failures
-- only, a misspelt plan refused before any create, and kill -9 at four
-- points of a run followed by a resume that creates every task exactly once.
local helpers = require "spec.helpers"
local accelerate = helpers.core()
local campaign = require "accelerate.campaign"
local journal = require "accelerate.journal"

local SALES = "5468b0c0462e40e08e44108d8164c7c3"
local GMV = "result_34bfe9036e2e65328e9849430f54cdf5"
local TRAFFIC = "accelerate_0b6f2d94c1e84a7f9e3d5c2a1b8f7e60"

local sim, client, path

local function tmpname()
  local p = os.tmpname()
  os.remove(p)
  return p
end

local function spec(over)
  local s = { plans = { names = { "sales_daily", "gmv_monthly", "traffic_weekly" } },
    startTime = "2025-01-01", endTime = "2025-02-28", chunk = "month", max_in_flight = 2 }
  for k, v in pairs(over or {}) do s[k] = v end
  return s
end

local function opts(over)
  local o = { journal = path, interval = 0.02, max_interval = 0.1, timeout = 60 }
  for k, v in pairs(over or {}) do o[k] = v end
  return o
end

-- The create bodies the simulator received, decoded, in order.
local function creates()
  local out = {}
  for _, q in ipairs(sim:requests { route = "create" }) do out[#out + 1] = helpers.json.decode(q.body) end
  return out
end

local function key(p) return p.planId .. " " .. p.startTime .. " " .. p.endTime end

-- How many creates each backfill (plan, start, end) got.
local function create_counts()
  local n = {}
  for _, b in ipairs(creates()) do n[key(b)] = (n[key(b)] or 0) + 1 end
  return n
end

local function events_of(kind)
  local out = {}
  for _, ev in ipairs((journal.read(path))) do
    if ev.event == kind then out[#out + 1] = ev end
  end
  return out
end

setup(function()
  sim = helpers.start_sim { scenario = "test" }
  client = assert(accelerate.new(sim:client_options()))
end)

teardown(function()
  if client then client:close() end
  if sim then sim:stop() end
end)

before_each(function()
  sim:scenario(helpers.scenario {})
  path = tmpname()
end)

after_each(function() os.remove(path) end)

describe("campaign.run", function()
  it("never has more than max_in_flight backfills unfinished, and fills every slot", function()
    -- slow enough that each backfill is polled several times
    sim:scenario(helpers.scenario { speed = 4000 })
    local report = assert(campaign.run(client, spec { max_in_flight = 2 }, opts()))
    assert.is_true(report.ok)
    local dag_of = {}
    for _, t in ipairs(report.tasks) do dag_of[key(t)] = t.dagName end
    -- a backfill is unfinished from its create until the last list poll of
    -- it (the one that saw every instance terminal)
    local opened, closed = {}, {}
    for _, q in ipairs(sim:requests()) do
      if q.route == "create" then
        opened[assert(dag_of[key(helpers.json.decode(q.body))])] = q.seq
      elseif q.route == "list" then
        closed[q.args.dagName] = q.seq
      end
    end
    local most = 0
    for _, at in pairs(opened) do
      local n = 0
      for dag, from in pairs(opened) do
        if from <= at and closed[dag] and closed[dag] >= at then n = n + 1 end
      end
      if n > most then most = n end
    end
    assert.equal(6, #creates())
    assert.equal(2, most)
  end)

  it("polls through the watch's sweep: pages all SUCCESS skipped while the backfill runs, counts exact", function()
    -- 2 tables x 31 days = 62 instances, 7 pages of 10, finishing roughly
    -- in list order (8 run at once): the early pages end all SUCCESS first
    sim:scenario(helpers.scenario { speed = 1500 })
    local s = { backfills = { { planId = SALES, startTime = "2025-01-01", endTime = "2025-01-31" } },
      max_in_flight = 1 }
    local report = assert(campaign.run(client, s, opts { page_size = 10, interval = 0.05, max_interval = 0.05 }))
    assert.is_true(report.ok)
    local T = report.tasks[1]
    assert.equal(62, T.total)
    assert.same({ SUCCESS = 62, FAILED = 0, RUNNING = 0, WAITING = 0 }, T.counts)
    local fetched = {}
    for _, q in ipairs(sim:requests { route = "list" }) do
      assert.equal(T.dagName, q.args.dagName)
      local k = tonumber(q.args.pageIndex)
      fetched[k] = (fetched[k] or 0) + 1
    end
    assert.equal(7, #fetched)
    -- the last page is fetched at every poll; the first is skipped once it
    -- was all SUCCESS, until the full sweep that confirms the end
    assert.is_true(fetched[7] >= 4, "too few polls to see a skip: " .. fetched[7])
    assert.is_true(fetched[1] < fetched[7], "page 1 fetched " .. fetched[1] .. " times, page 7 " .. fetched[7])
    -- the settled line carries the exact counts of the last full sweep
    local settled = events_of("settled")
    assert.equal(1, #settled)
    assert.equal(62, settled[1].total)
    assert.equal(62, settled[1].counts.SUCCESS)
  end)

  it("creates the oldest dates first across all plans, in campaign.preview's order", function()
    local planned = assert(campaign.preview(client, spec()))
    sim:clear_requests()
    assert(campaign.run(client, spec(), opts()))
    local sent = creates()
    assert.equal(#planned, #sent)
    for i, t in ipairs(planned) do
      assert.same({ planId = t.planId, startTime = t.startTime, endTime = t.endTime, dateIntervalOfLot = 1 }, sent[i])
    end
    assert.same({ "2025-01-01", "2025-01-01", "2025-01-01", "2025-02-01", "2025-02-01", "2025-02-01" },
      { sent[1].startTime, sent[2].startTime, sent[3].startTime, sent[4].startTime, sent[5].startTime, sent[6].startTime })
    assert.same({ SALES, GMV, TRAFFIC }, { sent[1].planId, sent[2].planId, sent[3].planId })
  end)

  it("creates the newest dates first with order newest", function()
    local s = spec { order = "newest", chunk = 14, endTime = "2025-01-31",
      plans = { names = { "traffic_weekly", "sales_daily" } } }
    local planned = assert(campaign.preview(client, s))
    sim:clear_requests()
    assert(campaign.run(client, s, opts()))
    local sent = creates()
    assert.equal(6, #sent)
    for i, t in ipairs(planned) do assert.equal(key(t), key(sent[i])) end
    assert.same({ TRAFFIC .. " 2025-01-29 2025-01-31", SALES .. " 2025-01-29 2025-01-31",
      TRAFFIC .. " 2025-01-15 2025-01-28" }, { key(sent[1]), key(sent[2]), key(sent[3]) })
    assert.equal(SALES .. " 2025-01-01 2025-01-14", key(sent[6]))
  end)

  it("stops creating at the first failure with failure_budget 0", function()
    sim:scenario(helpers.scenario { failures = { retries = 0, partitions = {
      { date = "2025-01-10", table = "dw.sales.orders_daily", error = "oom" } } } })
    local report = assert(campaign.run(client, spec { max_in_flight = 1, failure_budget = 0 }, opts()))
    assert.is_false(report.ok)
    assert.equal("failure_budget", report.stopped)
    assert.equal(1, #creates())
    assert.equal("failed", report.tasks[1].state)
    assert.equal(1, report.counts.FAILED)
    for i = 2, 6 do assert.equal("pending", report.tasks[i].state) end
    assert.equal("failure_budget", events_of("stopped")[1].reason)
  end)

  it("goes on while the FAILED instances stay within the budget", function()
    sim:scenario(helpers.scenario { failures = { retries = 0, partitions = {
      { date = "2025-01-10", table = "dw.sales.orders_daily", error = "oom" },
      { date = "2025-02-10", table = "dw.sales.orders_daily", error = "oom" } } } })
    local report = assert(campaign.run(client, spec { max_in_flight = 1, failure_budget = 1 }, opts()))
    assert.equal("failure_budget", report.stopped)
    -- sales Jan (1 failed: within), gmv Jan, traffic Jan, sales Feb (2 > 1: stop)
    assert.equal(4, #creates())
    assert.equal(2, report.failed)
  end)

  it("repairs transient failures only, once per round, and reports the rest with their stacks", function()
    sim:scenario(helpers.scenario { failures = { retries = 0, partitions = {
      { date = "2025-01-09", table = "dw.sales.orders_daily", times = 1, error = "partition_locked" },
      { date = "2025-01-20", table = "dw.sales.orders_daily", error = "oom" } } } })
    local s = { backfills = { { plan = "sales_daily", startTime = "2025-01-01", endTime = "2025-01-31" } },
      repair_rounds = 1 }
    local report = assert(campaign.run(client, s, opts()))
    local sent = creates()
    assert.equal(2, #sent)
    assert.equal(SALES .. " 2025-01-09 2025-01-09", key(sent[2]))
    local t = report.tasks[1]
    assert.equal("failed", t.state)
    assert.equal(1, #t.repairs)
    assert.equal(1, #t.failures)
    assert.equal("2025-01-20", t.failures[1].instance.startPartition)
    assert.matches("OutOfMemoryError", t.failures[1].detail.msg, 1, true)
    assert.same({ SUCCESS = 61, FAILED = 1, RUNNING = 0, WAITING = 0 }, t.counts)
    assert.equal(1, #events_of("settled")[1].repair)
  end)

  it("judges by the spec's own transient patterns when it gives them", function()
    sim:scenario(helpers.scenario { failures = { retries = 0, partitions = {
      { date = "2025-01-09", table = "dw.sales.orders_daily", times = 1, error = "partition_locked" },
      { date = "2025-01-20", table = "dw.sales.orders_daily", times = 1, error = "oom" } } } })
    local s = { backfills = { { plan = "sales_daily", startTime = "2025-01-01", endTime = "2025-01-31" } },
      repair_rounds = 1, transient = { "outofmemoryerror" } }
    local report = assert(campaign.run(client, s, opts()))
    local sent = creates()
    assert.equal(2, #sent)
    assert.equal(SALES .. " 2025-01-20 2025-01-20", key(sent[2]))
    assert.equal(1, #report.tasks[1].failures)
    assert.equal("2025-01-09", report.tasks[1].failures[1].instance.startPartition)
  end)

  it("refuses a misspelt plan before any create, with the names near it", function()
    local r, err = campaign.run(client, spec { plans = { names = { "sales_daily", "gmv_montly" } } }, opts())
    assert.is_nil(r)
    assert.equal("invalid", err.kind)
    assert.matches("no plan named 'gmv_montly'; did you mean 'gmv_monthly'", err.message, 1, true)
    assert.equal(0, #creates())
    assert.equal(0, #events_of("intent"))
    local _, perr = campaign.preview(client, { backfills = { { plan = "sale_daily" } }, startTime = "2025-01-01",
      endTime = "2025-01-02" })
    assert.matches("did you mean 'sales_daily'", perr.message, 1, true)
  end)

  it("refuses a journal made for another spec", function()
    assert(campaign.run(client, spec { endTime = "2025-01-31" }, opts()))
    sim:clear_requests()
    local r, err = campaign.run(client, spec { endTime = "2025-02-28" }, opts())
    assert.is_nil(r)
    assert.matches("another campaign spec", err.message, 1, true)
    assert.same({}, sim:requests())
  end)

  -- issue 17: success without a dagName and without a reason may have
  -- created the backfill: never sent again, however many runs
  it("a create answered success without a dagName nor errorMsg: runs again send it once, then create_unknown", function()
    sim:fault { route = "create", kind = "body", status = 200, times = -1,
      body = '{"success":true,"code":"200","data":null}' }
    local r, err = campaign.run(client, spec(), opts())
    assert.is_nil(r)
    assert.equal("api", err.kind)
    assert.is_true(err.outcome_unknown)
    assert.equal(1, #creates())
    for _ = 1, 2 do
      r, err = campaign.run(client, spec(), opts())
      assert.is_nil(r)
      assert.equal("create_unknown", err.kind)
      assert.matches("--adopt DAG", err.message, 1, true)
      assert.equal(1, #creates())
    end
  end)

  -- issue 17, item 2: a damaged journal line
  local function journal_lines()
    local out = {}
    for line in (helpers.read_file(path) or ""):gmatch("([^\n]*)\n") do out[#out + 1] = line end
    return out
  end

  -- Cuts the n-th line holding `kind` in half; returns its line number.
  local function damage(kind, n)
    local ls, seen, at = journal_lines(), 0, nil
    for i, line in ipairs(ls) do
      if line:find('"event":"' .. kind .. '"', 1, true) then
        seen = seen + 1
        if seen == n then at = i end
      end
    end
    ls[at] = ls[at]:sub(1, math.floor(#ls[at] / 2))
    local f = assert(io.open(path, "wb"))
    f:write(table.concat(ls, "\n") .. "\n")
    f:close()
    return at
  end

  it("a damaged intent line in a finished campaign's journal: the next run creates nothing and names it", function()
    assert(campaign.run(client, spec(), opts()))
    local line = damage("intent", 2)
    sim:clear_requests()
    local r = assert(campaign.run(client, spec(), opts()))
    assert.is_true(r.ok)
    assert.same({}, sim:requests { route = "create" })
    assert.matches(path .. ":" .. line, r.journal_error, 1, true)
    local st = assert(campaign.status(path))
    assert.same({ line }, st.damaged_lines)
    assert.is_true(st.ok)
  end)

  it("a damaged line in an unfinished campaign holds every task not known created, until --force-create", function()
    -- the third create refused: tasks 1 and 2 created, the rest not
    local made = 0
    local refusing = setmetatable({ create_task = function(_, p)
      made = made + 1
      if made == 3 then return nil, accelerate.error("api", "refused", { outcome_unknown = false }) end
      return client:create_task(p)
    end }, { __index = function(_, k)
      local v = client[k]
      if type(v) == "function" then return function(_, ...) return v(client, ...) end end
      return v
    end })
    local r, err = campaign.run(refusing, spec(), opts())
    assert.is_nil(r)
    assert.equal("api", err.kind)
    assert.equal(2, #creates())
    local line = damage("intent", 1)
    for _ = 1, 2 do
      r, err = campaign.run(client, spec(), opts())
      assert.is_nil(r)
      assert.equal("create_unknown", err.kind)
      assert.matches(path .. ":" .. line, err.message, 1, true)
      assert.matches("task 3 ", err.message, 1, true)
      assert.matches("--force-create", err.message, 1, true)
      assert.equal(2, #creates())
    end
    local st = assert(campaign.status(path))
    assert.same({ line }, st.damaged_lines)
    assert.equal(4, #st.unresolved)
    local report = assert(campaign.run(client, spec(), opts { force_create = true }))
    assert.is_true(report.ok)
    for k, count in pairs(create_counts()) do assert.equal(1, count, k) end
    assert.equal(6, #creates())
    -- and the next run, without --force-create, is not held again
    sim:clear_requests()
    assert.is_true(assert(campaign.run(client, spec(), opts())).ok)
    assert.same({}, sim:requests { route = "create" })
  end)
end)

-- A child process runs the campaign through a client that kills its own
-- process (kill -9) at one point; the resume then runs in this process.
-- issue 18 point 6: "plan" is the API's acceleration plan, so the dry run
-- is campaign.preview; its older name and every other public name stay.
describe("campaign's public names", function()
  it("keeps campaign.plan as the dry run's older name, and run, status, check, warnings", function()
    assert.equal(campaign.preview, campaign.plan)
    assert.same(assert(campaign.preview(client, spec())), assert(campaign.plan(client, spec())))
    for _, name in ipairs { "run", "status", "check", "warnings", "interrupted" } do
      assert.is_function(campaign[name], name)
    end
    local _, err = campaign.plan(client, { backfills = {} })
    assert.equal("invalid", err.kind)
    assert.same({}, creates())
  end)
end)

describe("campaign.run after kill -9", function()
  local script = tmpname() .. ".lua"
  local side = tmpname()
  local KILL_SPEC = { plans = { names = { "sales_daily", "gmv_monthly" } }, startTime = "2025-01-01",
    endTime = "2025-02-28", chunk = "month", max_in_flight = 2, repair_rounds = 1 }

  setup(function()
    local f = assert(io.open(script, "wb"))
    f:write(([[
package.path = %q .. "/?.lua;" .. package.path
local helpers = require "spec.helpers"
local accelerate = helpers.core()
local campaign = require "accelerate.campaign"
local json = helpers.json
local point, n, side = arg[1], tonumber(arg[2]), arg[3]
local conn = json.decode(arg[4])
local real = assert(accelerate.new(conn))
local pid = io.open("/proc/self/stat"):read("*l"):match("^(%%d+)")
local function die(note)
  if note then local f = io.open(side, "wb") f:write(note) f:close() end
  os.execute("kill -9 " .. pid)
end
local c = setmetatable({}, { __index = function(_, k)
  local v = real[k]
  if type(v) == "function" then return function(_, ...) return v(real, ...) end end
  return v
end })
local made, looks, repair_dag = 0, 0, nil
function c:create_task(p)
  made = made + 1
  if point == "intent" and made == n then die() end
  local dag, err = real:create_task(p)
  if point == "created" and made == n then die(dag) end
  if p.startTime == "2025-01-09" then repair_dag = dag end
  return dag, err
end
-- a campaign polls page by page through the watch's sweep (list_into)
function c:list_into(args, ...)
  local dag = args.dagName
  looks = looks + 1
  if point == "watch" and looks == n then die(dag) end
  if point == "repair" and dag == repair_dag then die(dag) end
  return real:list_into(args, ...)
end
campaign.run(c, json.decode(arg[5]), { journal = arg[6], interval = 0.02, max_interval = 0.05, timeout = 30 })
print("not killed")
]]):format(helpers.root))
    f:close()
  end)
  teardown(function()
    os.remove(script)
    os.remove(side)
  end)

  before_each(function()
    sim:scenario(helpers.scenario { speed = 20000, failures = { retries = 0, partitions = {
      { date = "2025-01-09", table = "dw.sales.orders_daily", times = 1, error = "partition_locked" } } } })
    os.remove(side)
  end)

  local function killed_at(point, n)
    local code, out = helpers.sh(table.concat({ "lua5.4", helpers.quote(script), point, tostring(n),
      helpers.quote(side), helpers.quote(helpers.json.encode(sim:client_options())),
      helpers.quote(helpers.json.encode(KILL_SPEC)), helpers.quote(path), "2>&1" }, " "))
    assert.is_nil(out:find("not killed", 1, true), out)
    assert.are_not.equal(0, code)
    return helpers.read_file(side)
  end

  -- every task and the one repair created exactly once, every task succeeded
  local function finished_once(report)
    assert.is_true(report.ok)
    local n = create_counts()
    local keys = 0
    for k, count in pairs(n) do
      keys = keys + 1
      assert.equal(1, count, k)
    end
    assert.equal(5, keys)
    assert.equal(1, n[SALES .. " 2025-01-09 2025-01-09"])
  end

  it("after the intent line, before the create: stops with create_unknown, then --force-create creates it once", function()
    killed_at("intent", 2)
    assert.equal(1, #creates())
    local r, err = campaign.run(client, KILL_SPEC, opts())
    assert.is_nil(r)
    assert.equal("create_unknown", err.kind)
    assert.matches("--adopt DAG", err.message, 1, true)
    assert.equal(1, #creates())
    finished_once(assert(campaign.run(client, KILL_SPEC, opts { force_create = true })))
  end)

  it("after the create, before its created line: stops with create_unknown, then --adopt takes the backfill", function()
    local dag = assert(killed_at("created", 2))
    assert.equal(2, #creates())
    local r, err = campaign.run(client, KILL_SPEC, opts())
    assert.is_nil(r)
    assert.equal("create_unknown", err.kind)
    local report = assert(campaign.run(client, KILL_SPEC, opts { adopt = dag }))
    assert.equal(dag, report.tasks[2].dagName)
    finished_once(report)
  end)

  it("while watching: the running backfills are watched again, none created twice", function()
    local dag = assert(killed_at("watch", 2))
    local report = assert(campaign.run(client, KILL_SPEC, opts()))
    local found = false
    for _, t in ipairs(report.tasks) do if t.dagName == dag then found = true end end
    assert.is_true(found)
    finished_once(report)
  end)

  it("during a repair: the repair is watched again, not created twice", function()
    local repair = assert(killed_at("repair", 0))
    local report = assert(campaign.run(client, KILL_SPEC, opts()))
    assert.same({ repair }, report.tasks[1].repairs)
    finished_once(report)
  end)
end)

-- issue 17 item 5: the advice after a failure-budget stop works when
-- followed; a budget given to the run overrides the spec's.
describe("campaign.run after a failure-budget stop", function()
  local S = { plans = { names = { "sales_daily", "gmv_monthly" } }, startTime = "2025-01-01",
    endTime = "2025-02-28", chunk = "month", max_in_flight = 1, failure_budget = 0 }

  local function once_each()
    for k, n in pairs(create_counts()) do assert.equal(1, n, k) end
  end

  it("a resume repairs the failures left once each, before new tasks, and goes on to the end", function()
    -- the failure happens once only: the cause is fixed before the resume
    sim:scenario(helpers.scenario { failures = { retries = 0, partitions = {
      { date = "2025-01-10", table = "dw.sales.orders_daily", times = 1, error = "oom" } } } })
    local r1 = assert(campaign.run(client, S, opts()))
    assert.equal("failure_budget", r1.stopped)
    assert.equal(1, #creates())
    local r2 = assert(campaign.run(client, S, opts()))
    assert.is_nil(r2.stopped)
    assert.is_true(r2.ok)
    local sent = creates()
    assert.equal(5, #sent)
    -- the repair goes out before any new task
    assert.equal(SALES .. " 2025-01-10 2025-01-10", key(sent[2]))
    once_each()
    assert.equal(1, #r2.tasks[1].repairs)
    assert.equal(0, r2.failed)
  end)

  it("a failure that fails again is counted again and stops the run again", function()
    sim:scenario(helpers.scenario { failures = { retries = 0, partitions = {
      { date = "2025-01-10", table = "dw.sales.orders_daily", error = "oom" } } } })
    assert.equal("failure_budget", assert(campaign.run(client, S, opts())).stopped)
    local r2 = assert(campaign.run(client, S, opts()))
    assert.equal("failure_budget", r2.stopped)
    assert.equal(1, r2.failed)
    -- the task, its one repair; nothing new
    assert.equal(2, #creates())
    once_each()
  end)

  it("opts.failure_budget overrides the spec's, on a first run and on a resume", function()
    sim:scenario(helpers.scenario { failures = { retries = 0, partitions = {
      { date = "2025-01-10", table = "dw.sales.orders_daily", error = "oom" } } } })
    assert.equal("failure_budget", assert(campaign.run(client, S, opts())).stopped)
    local r2 = assert(campaign.run(client, S, opts { failure_budget = 1 }))
    assert.is_nil(r2.stopped)
    assert.is_false(r2.ok)
    assert.equal(1, r2.failed)
    assert.equal(5, #creates())
    once_each()
    os.remove(path)
    sim:clear_requests()
    local r3 = assert(campaign.run(client, S, opts { failure_budget = 5 }))
    assert.is_nil(r3.stopped)
    assert.equal(4, #creates())
    local _, err = campaign.run(client, S, opts { failure_budget = -1 })
    assert.equal("invalid", err.kind)
    assert.matches("failure_budget", err.message, 1, true)
  end)
end)

-- issue 19: the host's stop (accelerate.runner's stop and worker exit).
describe("campaign.run with opts.hold", function()
  it("requested: creates nothing more, watches the unfinished to the end, and a resume goes on", function()
    sim:scenario(helpers.scenario { speed = 4000 })
    local asked = false
    local hold = function()
      if #creates() >= 2 then asked = true end
      return asked and "requested" or nil
    end
    local r = assert(campaign.run(client, spec { max_in_flight = 2 }, opts { hold = hold }))
    assert.equal("requested", r.stopped)
    assert.equal(2, #creates())
    assert.equal(2, r.states.succeeded)
    assert.equal(4, r.states.pending)
    assert.equal(0, r.on_server)
    assert.equal("requested", events_of("stopped")[1].reason)
    assert.equal("requested", assert(campaign.status(path)).stopped)
    local again = assert(campaign.run(client, spec { max_in_flight = 2 }, opts()))
    assert.is_true(again.ok)
    for k, n in pairs(create_counts()) do assert.equal(1, n, k) end
    assert.equal(6, #creates())
  end)

  it("shutdown: ends the run at once, sends nothing more, and a resume watches what runs", function()
    sim:scenario(helpers.scenario { speed = 4000 })
    local hold = function() return #creates() >= 1 and "shutdown" or nil end
    local r = assert(campaign.run(client, spec { max_in_flight = 2 }, opts { hold = hold }))
    assert.equal("shutdown", r.stopped)
    assert.equal(1, #creates())
    assert.equal(1, r.on_server)
    local seen = #sim:requests()
    assert.equal("shutdown", events_of("stopped")[1].reason)
    assert.equal(seen, #sim:requests())
    local again = assert(campaign.run(client, spec { max_in_flight = 2 }, opts()))
    assert.is_true(again.ok)
    for k, n in pairs(create_counts()) do assert.equal(1, n, k) end
  end)

  it("refuses a hold that is not a function", function()
    local r, err = campaign.run(client, spec(), opts { hold = "stop" })
    assert.is_nil(r)
    assert.equal("invalid", err.kind)
    assert.equal(0, #creates())
  end)
end)

-- issue 17 item 6: an adopted dagName is checked before it is journaled;
-- a journal that holds a wrong one (an older version) has a way out.
describe("campaign.run with opts.adopt", function()
  local S = { backfills = { { plan = "sales_daily", startTime = "2025-01-01", endTime = "2025-02-28" } },
    chunk = "month" }

  -- A client whose first create's answer is lost: sent to the server
  -- (really) or not; lost.dag is what the server made, if anything.
  local function losing(really)
    local lost = {}
    local c = setmetatable({}, { __index = function(_, k)
      local v = client[k]
      if type(v) == "function" then return function(_, ...) return v(client, ...) end end
      return v
    end })
    function c.create_task(_, p)
      if lost.done then return client:create_task(p) end
      lost.done = true
      if really then lost.dag = assert(client:create_task(p)) end
      return nil, { kind = "network", message = "connection reset", outcome_unknown = true, retryable = false }
    end
    return c, lost
  end

  it("refuses a dagName the server does not know, or one of other dates, and writes nothing", function()
    local c, lost = losing(true)
    local _, err = campaign.run(c, S, opts())
    assert.is_true(err.outcome_unknown)
    local other = assert(client:create_task { planId = SALES, startTime = "2025-02-01", endTime = "2025-02-28",
      dateIntervalOfLot = 1 })
    local before = helpers.read_file(path)
    sim:clear_requests()
    local r
    r, err = campaign.run(client, S, opts { adopt = "no_such_dag_1" })
    assert.is_nil(r)
    assert.equal("invalid", err.kind)
    assert.matches("no backfill no_such_dag_1", err.message, 1, true)
    assert.equal(before, helpers.read_file(path))
    assert.equal(1, #sim:requests { route = "list" })
    r, err = campaign.run(client, S, opts { adopt = other })
    assert.is_nil(r)
    assert.equal("invalid", err.kind)
    assert.matches("2025-02-01", err.message, 1, true)
    assert.equal(before, helpers.read_file(path))
    assert.same({}, sim:requests { route = "create" })
    -- the right one is taken
    r = assert(campaign.run(client, S, opts { adopt = lost.dag }))
    assert.is_true(r.ok)
    assert.equal(lost.dag, r.tasks[1].dagName)
  end)

  it("a journal that adopted a dagName the server does not know: refused with the way out, "
    .. "which force_create takes", function()
    local c = losing(false)
    local _, err = campaign.run(c, S, opts())
    assert.is_true(err.outcome_unknown)
    -- what an older version journaled for --adopt wrong_dag_1
    local intent = events_of("intent")[1]
    local f = assert(io.open(path, "ab"))
    f:write(helpers.json.encode { event = "created", op = intent.op, dagName = "wrong_dag_1", params = intent.params,
      task = intent.task, round = 0, adopted = true, at = os.time() } .. "\n")
    f:close()
    local r, partial
    r, err, partial = campaign.run(client, S, opts())
    assert.is_nil(r)
    assert.equal("invalid", err.kind)
    assert.matches("wrong_dag_1", err.message, 1, true)
    assert.matches("force_create", err.message, 1, true)
    assert.equal(0, partial.on_server)
    r = assert(campaign.run(client, S, opts { force_create = true }))
    assert.is_true(r.ok)
    for k, n in pairs(create_counts()) do assert.equal(1, n, k) end
    assert.equal(2, #creates())
  end)
end)

-- issue 17 item 12: a campaign's tasks go through the checks backfill
-- makes: an EXTERNAL plan refused without "force", the period warnings.
describe("campaign guards", function()
  local LEDGER = { backfills = { { plan = "ledger_external", startTime = "2025-01-01", endTime = "2025-01-31" } } }

  it("a task whose dates a backfill's create refuses (a journal edited by hand) is refused, nothing sent", function()
    -- the journal of a run that planned the tasks and created none
    local s = spec { plans = { names = { "sales_daily" } }, endTime = "2025-01-31" }
    local r, err = campaign.run(client, s, opts { timeout = 0.05 })
    assert.is_nil(err)
    assert.equal("timeout", r.stopped)
    assert.equal(0, #creates())
    local lines = {}
    for line in io.lines(path) do
      local ev = helpers.json.decode(line)
      if ev.event == "campaign" then
        ev.tasks[1].endTime = "2025-02-30"
        line = helpers.json.encode(ev)
      end
      lines[#lines + 1] = line
    end
    local f = assert(io.open(path, "wb"))
    f:write(table.concat(lines, "\n"), "\n")
    f:close()
    r, err = campaign.run(client, s, opts())
    assert.is_nil(r)
    assert.equal("invalid", err.kind)
    assert.matches("endTime: no such day: 2025-02-30", err.message, 1, true)
    assert.equal(0, #creates())
    assert.equal(0, #events_of("intent"))
  end)

  it("refuses an EXTERNAL plan unless the spec says force, creating nothing, writing no plan", function()
    local r, err = campaign.run(client, LEDGER, opts())
    assert.is_nil(r)
    assert.equal("invalid", err.kind)
    assert.matches("ledger_external is an EXTERNAL plan", err.message, 1, true)
    assert.matches('"force": true', err.message, 1, true)
    assert.equal(0, #creates())
    assert.equal(0, #events_of("campaign"))
    local forced = {}
    for k, v in pairs(LEDGER) do forced[k] = v end
    forced.force = true
    local warned = {}
    r = assert(campaign.run(client, forced, opts { on_event = function(ev)
      if ev.event == "warning" then warned[#warned + 1] = ev.message end
    end }))
    assert.is_true(r.ok)
    assert.equal(1, #creates())
    assert.equal(1, #r.warnings)
    assert.matches("creating the backfill anyway", r.warnings[1], 1, true)
    assert.same(r.warnings, warned)
  end)

  it("warns of tasks that cut a plan's periods, in campaign.warnings and before the run's first create", function()
    local S = { backfills = { { plan = "gmv_monthly", startTime = "2025-01-01", endTime = "2025-01-31" } }, chunk = 7 }
    local tasks = assert(campaign.preview(client, S))
    local lines = assert(campaign.warnings(tasks, S))
    assert.equal(1, #lines)
    assert.matches("gmv_monthly is MONTH: 2025-01-01 .. 2025-01-07 cuts months; the aligned range is "
      .. "2025-01-01 .. 2025-01-31", lines[1], 1, true)
    assert.matches("4 more task(s) of gmv_monthly", lines[1], 1, true)
    local seen = {}
    local r = assert(campaign.run(client, S, opts { on_event = function(ev) seen[#seen + 1] = ev.event end }))
    assert.same(lines, r.warnings)
    assert.equal("warning", seen[1])
    assert.equal(5, #creates())
    -- a resume warns the same, from the journal, with no plan lookup
    sim:clear_requests()
    r = assert(campaign.run(client, S, opts()))
    assert.same(lines, r.warnings)
    assert.same({}, sim:requests { route = "plan" })
    assert.same({}, sim:requests { route = "plans" })
  end)
end)

-- opts.timeout bounds the whole run, creates included: each create is given
-- what is left of it (client:create_task's budget), and none is sent once
-- too little is left.
describe("campaign.run with opts.timeout", function()
  it("gives each create at most the time left, and sends none once it is nearly out", function()
    sim:scenario(helpers.scenario { speed = 4000 })
    local budgets = {}
    local proxy = setmetatable({
      create_task = function(_, p, budget)
        budgets[#budgets + 1] = budget
        return client:create_task(p, budget)
      end,
    }, { __index = function(_, k)
      local f = client[k]
      if type(f) ~= "function" then return f end
      return function(_, ...) return f(client, ...) end
    end })
    local r = assert(campaign.run(proxy, spec { max_in_flight = 6 }, opts { timeout = 5 }))
    assert.is_true(#budgets >= 1)
    for _, b in ipairs(budgets) do assert.is_true(type(b) == "number" and b > 0.1 and b <= 5, tostring(b)) end
    assert.equal(#budgets, #creates())
    assert.is_nil(r.stopped)
    -- a run whose timeout leaves nothing for a create stops before sending one
    os.remove(path)
    sim:clear_requests()
    local r2 = assert(campaign.run(proxy, spec(), opts { timeout = 0.05 }))
    assert.equal("timeout", r2.stopped)
    assert.same({}, creates())
  end)

  it("gives the details of a settling backfill only the time left: cut, it settles on the next run", function()
    sim:scenario(helpers.scenario { failures = { retries = 0, partitions = {
      { date = "2025-01-10", table = "dw.sales.orders_daily", error = "oom" } } } })
    sim:fault { route = "detail", kind = "delay", delay = 4, times = -1 }
    local S = { backfills = { { plan = "sales_daily", startTime = "2025-01-01", endTime = "2025-01-31" } } }
    local t0 = helpers.now()
    local r = assert(campaign.run(client, S, opts { timeout = 1.5 }))
    local took = helpers.now() - t0
    assert.is_true(took < 1.5 + 1, ("took %.2f s"):format(took))
    assert.equal("timeout", r.stopped)
    -- not judged without its details: no settled line, the next run settles it
    assert.same({}, events_of("settled"))
    sim:reset_faults()
    r = assert(campaign.run(client, S, opts()))
    assert.is_nil(r.stopped)
    local settled = events_of("settled")
    assert.equal(1, #settled)
    assert.equal(1, #settled[1].failed)
    assert.matches("OutOfMemoryError", r.tasks[1].failures[1].detail.msg, 1, true)
    assert.equal(1, #creates())
  end)
end)

-- issue 17, items 7-10: bad input refused before anything is sent, naming
-- where it is; never half-used.
describe("campaign spec: bad input refused, not half-used", function()
  local util = require "accelerate.util"
  local ENTRY = '{"plan":"sales_daily","startTime":"2025-01-01","endTime":"2025-01-31"}'

  local function refused(s, want)
    local ok, err = campaign.check(s)
    assert.is_nil(ok, "accepted: " .. want)
    assert.equal("invalid", err.kind)
    assert.matches(want, err.message, 1, true)
    return err
  end

  -- item 7: a null used to drop every entry after it
  it("refuses a null inside a list, naming its path", function()
    refused(assert(util.json_decode('{"backfills":[' .. ENTRY .. ',null,' .. ENTRY:gsub("01%-31", "02-28")
      .. "]}")), "backfills[2]")
    refused(assert(util.json_decode('{"backfills":[' .. ENTRY .. '],"transient":["a",null,"b"]}')), "transient[2]")
    refused(assert(util.json_decode('{"plans":{"names":["sales_daily",null,"gmv_monthly"]},'
      .. '"startTime":"2025-01-01","endTime":"2025-01-31"}')), "plans.names[2]")
    -- the same hole made in Lua
    local e = { plan = "sales_daily", startTime = "2025-01-01", endTime = "2025-01-31" }
    refused({ backfills = { e, nil, e } }, "backfills[2]")
    refused({ backfills = { e }, transient = { "a", nil, "b" } }, "transient[2]")
  end)

  -- item 8: "heap[" passed the check and crashed every run at the first failure
  it("refuses a transient pattern that is not a valid Lua pattern, whatever the subject would be", function()
    local e = { plan = "sales_daily", startTime = "2025-01-01", endTime = "2025-01-31" }
    refused({ backfills = { e }, transient = { "timeout", "heap[" } }, "transient[2]")
    refused({ backfills = { e }, transient = { "(lock" } }, "transient[1]")
    refused({ backfills = { e }, transient = { "%f" } }, "transient[1]")
    assert(campaign.check { backfills = { e }, transient = { "heap%[", "[]]", "%b()" } })
  end)
end)

-- A client of list_instances only (no list_into: the store is filled from
-- its tables): the campaign polls it through the same sweep.
describe("campaign.run on a client without list_into", function()
  local fake = require "spec.fake_client"

  after_each(function() os.remove(path) end)

  it("gets partial sweeps, exact counts and the settled line's failed instances", function()
    -- 2 tables x 10 days: 20 instances, 4 pages of 5, ending in list order;
    -- one fails for good
    local c = fake.new {
      plans = { { id = SALES, name = "sales_daily" } },
      instances = fake.plan("2025-01-01", "2025-01-10", 1, 2, function(li, _, ti)
        return { { 0, "RUNNING" }, { 10 * li, (li == 3 and ti == 2) and "FAILED" or "SUCCESS" } }
      end),
    }
    c.instances[6].detail = { msg = "java.lang.IllegalStateException: bad metric definition" }
    assert.is_nil(c.list_into)
    local s = { backfills = { { planId = SALES, startTime = "2025-01-01", endTime = "2025-01-10" } } }
    local report = assert(campaign.run(c, s, { journal = path, interval = 10, max_interval = 10, page_size = 5,
      sleep = c.sleep, clock = c.clock }))
    assert.is_false(report.ok)
    local T = report.tasks[1]
    assert.equal(20, T.total)
    assert.same({ SUCCESS = 19, FAILED = 1, RUNNING = 0, WAITING = 0 }, T.counts)
    local fetched = {}
    for _, q in ipairs(c.lists) do fetched[q.pageIndex] = (fetched[q.pageIndex] or 0) + 1 end
    assert.equal(4, #fetched)
    assert.is_true(fetched[1] < fetched[4], "page 1 fetched " .. fetched[1] .. " times, page 4 " .. fetched[4])
    local settled = events_of("settled")
    assert.equal(1, #settled)
    assert.equal(20, settled[1].total)
    assert.same({ { id = "1006", status = "FAILED", mtGuid = "cat.sch.t2", startPartition = "2025-01-03",
      endPartition = "2025-01-03", transient = false } }, settled[1].failed)
    assert.same({}, settled[1].repair)
  end)
end)
