-- params.plan in the workflows: a plan named by its name, display name or
-- id, looked up once through client:find_plan before anything is created
-- or journaled, and from there on only its planId.  First on the fake
-- client (spec/fake_client.lua, which matches as the real client does),
-- then on the C client against the simulator.
require("spec.helpers").paths()

local workflow = require "accelerate.workflow"
local params = require "accelerate.workflow.params"
local journal = require "accelerate.journal"
local fake = require "spec.fake_client"

local PLANS = {
  { id = "5468b0c0462e40e08e44108d8164c7c3", name = "sales_daily", displayName = "Sales daily",
    materializeType = "RESULT", metricTimeGranularity = "DAY" },
  { id = "result_34bfe9036e2e65328e9849430f54cdf5", name = "gmv_monthly", displayName = "GMV monthly",
    materializeType = "RESULT", metricTimeGranularity = "MONTH" },
}
local SALES = PLANS[1].id

local function done_instances()
  return fake.plan("2025-01-01", "2025-01-04", 2, 1, function()
    return { { 0, "WAITING" }, { 1, "RUNNING" }, { 2, "SUCCESS" } }
  end)
end

local function new_client()
  return fake.new { plans = PLANS, instances = done_instances() }
end

local function opts_of(c, extra)
  local o = { sleep = c.sleep, clock = c.clock, interval = 1 }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

describe("workflow.params.validate with params.plan", function()
  local function raised(p)
    local ok, err = pcall(params.validate, p)
    assert.is_false(ok)
    return err
  end

  it("accepts a plan's name or id in params.plan", function()
    params.validate { plan = "sales_daily", startTime = "2025-01-01", endTime = "2025-01-02" }
  end)

  it("refuses params.plan beside planId or planName, and one that is not a name", function()
    assert.matches("not both", raised { plan = "a", planId = "b", startTime = "2025-01-01", endTime = "2025-01-02" }.message)
    assert.matches("not both", raised { plan = "a", planName = "b", startTime = "2025-01-01", endTime = "2025-01-02" }.message)
    for _, bad in ipairs { "", 42, true } do
      local err = raised { plan = bad, startTime = "2025-01-01", endTime = "2025-01-02" }
      assert.equal("invalid", err.kind)
      assert.matches("params.plan must be", err.message)
    end
    assert.matches("params.plan, params.planId or params.planName is required",
      raised { startTime = "2025-01-01", endTime = "2025-01-02" }.message)
  end)

  it("names the plan as given in messages", function()
    assert.equal("plan 'sales_daily', 2025-01-01 .. 2025-01-02, lots of 1 day(s)",
      params.describe { plan = "sales_daily", startTime = "2025-01-01", endTime = "2025-01-02" })
  end)
end)

describe("workflow.backfill with params.plan (fake client)", function()
  it("looks the plan up once and creates, reports and journals its planId", function()
    local c = new_client()
    local path = os.tmpname()
    os.remove(path)
    local report = assert(workflow.backfill(c, { plan = "sales_daily", startTime = "2025-01-01",
      endTime = "2025-01-04", dateIntervalOfLot = 2 }, opts_of(c, { journal = path })))
    assert.is_true(report.ok)
    assert.same({ "sales_daily" }, c.finds)
    assert.same({ { planId = SALES, startTime = "2025-01-01", endTime = "2025-01-04", dateIntervalOfLot = 2 } },
      c.creates)
    assert.equal(SALES, report.params.planId)
    assert.is_nil(report.params.plan)
    local intent, created
    for _, ev in ipairs(assert(journal.read(path))) do
      if ev.event == "intent" then intent = ev end
      if ev.event == "created" then created = ev end
    end
    assert.equal(SALES, intent.params.planId)
    assert.equal(SALES, created.params.planId)
    assert.is_nil(created.params.plan)
    -- the same backfill named by its display name resumes from the journal
    local again = assert(workflow.backfill(c, { plan = "Sales daily", startTime = "2025-01-01",
      endTime = "2025-01-04", dateIntervalOfLot = 2 }, opts_of(c, { journal = path })))
    assert.is_true(again.resumed)
    assert.equal(1, c.calls.create)
    os.remove(path)
  end)

  it("passes find_plan's error through (a typo, with a suggestion) and creates nothing", function()
    local c = new_client()
    local r, err = workflow.backfill(c, { plan = "sales_dialy", startTime = "2025-01-01", endTime = "2025-01-02" },
      opts_of(c))
    assert.is_nil(r)
    assert.equal("invalid", err.kind)
    assert.matches("^no plan named 'sales_dialy'; did you mean 'sales_daily'", err.message)
    assert.equal(0, c.calls.create)
  end)

  it("checks the dates before looking the plan up", function()
    local c = new_client()
    local r, err = workflow.backfill(c, { plan = "sales_daily", startTime = "2025-02-30", endTime = "2025-03-01" },
      opts_of(c))
    assert.is_nil(r)
    assert.matches("no such day", err.message)
    assert.equal(0, c.calls.find_plan)
  end)

  it("gives an invalid error naming find_plan to a client that cannot look plans up", function()
    local creates = 0
    local bare = {
      create_task = function() creates = creates + 1 return "dag-1" end,
      list_instances = function() return { total = 0, instances = {} } end,
      task_detail = function() return {} end,
    }
    local r, err = workflow.backfill(bare, { plan = "sales_daily", startTime = "2025-01-01", endTime = "2025-01-02" })
    assert.is_nil(r)
    assert.equal("invalid", err.kind)
    assert.matches("find_plan", err.message)
    assert.matches("params.planId", err.message)
    local dag, cerr = workflow.create(bare, { plan = "sales_daily", startTime = "2025-01-01", endTime = "2025-01-02" })
    assert.is_nil(dag)
    assert.matches("find_plan", cerr.message)
    assert.equal(0, creates)
  end)
end)

describe("workflow.create and workflow.resolve_plan with params.plan (fake client)", function()
  it("creates the resolved planId", function()
    local c = new_client()
    local dag = assert(workflow.create(c, { plan = "gmv_monthly", startTime = "2025-01-01", endTime = "2025-01-31" }))
    assert.equal("dag-1", dag)
    assert.equal(PLANS[2].id, c.creates[1].planId)
    assert.is_nil(c.creates[1].plan)
  end)

  it("resolve_plan gives the params with planId and the plan's detail, or nil, err", function()
    local c = new_client()
    local p, detail = workflow.resolve_plan(c, { plan = PLANS[2].id, startTime = "2025-01-01", endTime = "2025-01-31" })
    assert.same({ planId = PLANS[2].id, startTime = "2025-01-01", endTime = "2025-01-31" }, p)
    assert.equal("MONTH", detail.metricTimeGranularity)
    local same = { planId = "x", startTime = "2025-01-01", endTime = "2025-01-31" }
    assert.equal(same, (workflow.resolve_plan(c, same)))
    assert.equal(1, c.calls.find_plan)
    local none, err = workflow.resolve_plan(c, { plan = "nope" })
    assert.is_nil(none)
    assert.matches("^no plan named 'nope'", err.message)
  end)
end)

describe("params.plan against the simulator", function()
  local helpers = require "spec.helpers"
  local accelerate = helpers.core()
  local sim, client

  setup(function()
    sim = helpers.start_sim { scenario = "test" }
    client = assert(accelerate.new(sim:client_options()))
  end)
  teardown(function()
    if client then client:close() end
    if sim then sim:stop() end
  end)

  it("backfills the plan a name names, sending its id", function()
    sim:clear_requests()
    local report = assert(workflow.backfill(client, { plan = "sales_daily", startTime = "2025-01-01",
      endTime = "2025-01-02" }, { interval = 0.05, timeout = 30 }))
    assert.is_true(report.ok)
    local creates = sim:requests { route = "create" }
    assert.equal(1, #creates)
    local body = helpers.json.decode(creates[1].body)
    assert.equal(SALES, body.planId)
    assert.is_nil(body.planName)
    assert.is_nil(body.plan)
    assert.equal(1, #sim:requests { route = "plan" })
  end)

  it("creates nothing for a name that names no plan", function()
    sim:clear_requests()
    local r, err = workflow.backfill(client, { plan = "sales_dialy", startTime = "2025-01-01",
      endTime = "2025-01-02" }, { interval = 0.05, timeout = 30 })
    assert.is_nil(r)
    assert.equal("invalid", err.kind)
    assert.matches("^no plan named 'sales_dialy'; did you mean 'sales_daily'", err.message)
    assert.equal(0, #sim:requests { route = "create" })
  end)
end)
