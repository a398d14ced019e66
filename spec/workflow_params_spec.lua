-- accelerate.workflow.params on its own: the one validation of a
-- backfill's params, comparing two parameter sets (which decides whether a
-- journal resumes or refuses) and the description used in messages.
-- The lots split itself is covered through workflow.lots in workflow_spec.
require("spec.helpers").paths()

local params = require "accelerate.workflow.params"

local function raised(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  return err
end

describe("workflow.params.validate", function()
  local base = { planId = "p", startTime = "2025-01-01", endTime = "2025-01-31", dateIntervalOfLot = 7 }

  it("accepts a plan by id or by name", function()
    params.validate(base)
    params.validate({ planName = "sales", startTime = "2025-01-01", endTime = "2025-01-01" })
  end)

  it("raises kind invalid without a plan", function()
    for _, p in ipairs({ "x", {}, { planId = "" }, { planId = 42 }, { planName = "" } }) do
      local err = raised(params.validate, p)
      assert.equal("invalid", err.kind)
    end
    assert.matches("params must be a table", raised(params.validate, nil).message)
    assert.matches("planId or params.planName", raised(params.validate, { startTime = "2025-01-01" }).message)
  end)

  it("refuses exactly what lots refuses, with the same message", function()
    local cases = {
      { "2025-02-29", "2025-03-01", 1 }, { "2025-01-02", "2025-01-01", 1 },
      { "2025-01-01", "2025-01-02", 0 }, { "2025-01-01", "2025-01-02", 1.5 }, { nil, "2025-01-02", 1 },
    }
    for _, c in ipairs(cases) do
      local _, lerr = params.lots(c[1], c[2], c[3])
      local verr = raised(params.validate, { planId = "p", startTime = c[1], endTime = c[2], dateIntervalOfLot = c[3] })
      assert.equal(lerr.message, verr.message)
    end
  end)
end)

describe("workflow.params.equal", function()
  local a = { planId = "p", startTime = "2025-01-01", endTime = "2025-01-31" }

  it("reads a missing dateIntervalOfLot as the API's one day", function()
    assert.is_true(params.equal(a, { planId = "p", startTime = "2025-01-01", endTime = "2025-01-31", dateIntervalOfLot = 1 }))
    assert.is_false(params.equal(a, { planId = "p", startTime = "2025-01-01", endTime = "2025-01-31", dateIntervalOfLot = 2 }))
  end)

  it("compares only the fields a create sends", function()
    assert.is_true(params.equal(a, { planId = "p", startTime = "2025-01-01", endTime = "2025-01-31", note = "x" }))
    assert.is_false(params.equal(a, { planName = "p", startTime = "2025-01-01", endTime = "2025-01-31" }))
    assert.is_false(params.equal(a, { planId = "p", startTime = "2025-01-01", endTime = "2025-01-30" }))
  end)
end)

describe("workflow.params.describe", function()
  it("names the plan, the range and the lot size", function()
    assert.equal("plan p, 2025-01-01 .. 2025-01-31, lots of 1 day(s)",
      params.describe({ planId = "p", startTime = "2025-01-01", endTime = "2025-01-31" }))
    assert.equal("plan name sales, 2025-01-01 .. 2025-01-02, lots of 7 day(s)",
      params.describe({ planName = "sales", startTime = "2025-01-01", endTime = "2025-01-02", dateIntervalOfLot = 7 }))
    assert.equal("unknown parameters", params.describe(nil))
  end)
end)

-- issue 17 item 10: a range typo (0001-01-01 .. 9999-12-31) was split
-- into 3.6 million lots before anything was sent: 20-45 s and 1 GB.  A
-- range is checked without being expanded, and one longer than 100 years
-- is refused (nothing sent), as every entry point's check.
describe("a range longer than 100 years", function()
  local helpers = require "spec.helpers"
  local workflow = require "accelerate.workflow"
  local campaign = require "accelerate.campaign"
  local TYPO = { planId = "p", startTime = "0001-01-01", endTime = "9999-12-31" }

  it("is refused by validate, lots and a campaign spec, with the same words", function()
    local err = raised(params.validate, TYPO)
    assert.equal("invalid", err.kind)
    assert.matches("0001-01-01 .. 9999-12-31 is longer than 100 years", err.message, 1, true)
    local lots, lerr = workflow.lots("0001-01-01", "9999-12-31", 1)
    assert.is_nil(lots)
    assert.equal(err.message, lerr.message)
    local s, serr = campaign.check { backfills = { { plan = "x", startTime = "0001-01-01", endTime = "9999-12-31" } } }
    assert.is_nil(s)
    assert.matches("backfills[1]: " .. err.message, serr.message, 1, true)
    s, serr = campaign.check { plans = { names = { "x" } }, startTime = "0001-01-01", endTime = "9999-12-31",
      chunk = 1 }
    assert.is_nil(s)
    assert.matches("longer than 100 years", serr.message, 1, true)
  end)

  it("stops at 100 years: 2000-01-01 .. 2099-12-31 is split, one day more is not", function()
    assert.equal(36525, #assert(workflow.lots("2000-01-01", "2099-12-31")))
    params.validate { planId = "p", startTime = "1900-03-01", endTime = "2000-02-29" }
    assert.matches("longer than 100 years",
      raised(params.validate, { planId = "p", startTime = "2000-01-01", endTime = "2100-01-01" }).message)
  end)

  it("is refused by create, backfill and lots on the command line: exit 2, nothing sent", function()
    local sim = helpers.start_sim { scenario = "test" }
    local ok, e = pcall(function()
      for _, argv in ipairs {
        "create --plan sales_daily --start 0001-01-01 --end 9999-12-31",
        "backfill --plan-id p --start 0001-01-01 --end 9999-12-31 --dry-run",
        "lots 0001-01-01 9999-12-31",
      } do
        local code, out, err = helpers.command(sim, argv)
        assert.equal(2, code, out .. err)
        assert.matches("longer than 100 years", err, 1, true)
      end
      assert.same({}, sim:requests())
    end)
    sim:stop()
    assert(ok, e)
  end)
end)

-- issue 17 item 9: a misspelt option was silently ignored (a watch
-- without its timeout, a create without its journal).  Every entry point
-- refuses an unknown key of its options, naming the nearest known one,
-- before anything is sent.
describe("an unknown option", function()
  local helpers = require "spec.helpers"
  local accelerate = helpers.core()
  local workflow = require "accelerate.workflow"
  local campaign = require "accelerate.campaign"
  local P = { planId = "5468b0c0462e40e08e44108d8164c7c3", startTime = "2025-01-01", endTime = "2025-01-03" }
  local REPORT = { dagName = "d", instances = {}, failures = {}, counts = {}, total = 0 }
  local sim, client

  setup(function()
    sim = helpers.start_sim { scenario = "test" }
    client = assert(accelerate.new(sim:client_options()))
  end)

  teardown(function()
    if client then client:close() end
    if sim then sim:stop() end
  end)

  local function refused(want, res, err)
    assert.is_nil(res)
    assert.is_table(err)
    assert.equal("invalid", err.kind)
    assert.equal(want, err.message)
  end

  it("is refused by every workflow and campaign entry point, naming the nearest known one; nothing sent", function()
    refused("workflow.wait: unknown option 'timout'; did you mean 'timeout'?",
      workflow.wait(client, "dag-1", { timout = 5 }))
    refused("workflow.backfill: unknown option 'jounral'; did you mean 'journal'?",
      workflow.backfill(client, P, { jounral = "/tmp/x" }))
    refused("workflow.create: unknown option 'force'; did you mean 'force_create'?",
      workflow.create(client, P, { force = true }))
    refused("workflow.inspect: unknown option 'concurency'; did you mean 'concurrency'?",
      workflow.inspect(client, REPORT, { concurency = 4 }))
    -- repair lists the creates made before an error: none
    local dags, rerr = workflow.repair(client, REPORT, { dryrun = true })
    assert.same({}, dags)
    refused("workflow.repair: unknown option 'dryrun'; did you mean 'dry_run'?", nil, rerr)
    refused("workflow.repair_preview: unknown option 'plan_id'; did you mean 'planId'?",
      workflow.repair_preview(REPORT, { plan_id = "x" }))
    refused("campaign.run: unknown option 'failure_budjet'; did you mean 'failure_budget'?",
      campaign.run(client, { backfills = { { planId = P.planId, startTime = "2025-01-01", endTime = "2025-01-01" } } },
        { failure_budjet = 1 }))
    local _, err = workflow.wait(client, "dag-1", { colour = "red" })
    assert.matches("^workflow.wait: unknown option 'colour'; the options are: backoff, clock, interval", err.message)
    assert.same({}, sim:requests())
  end)

  it("leaves every option the command passes alone", function()
    local dag = assert(workflow.create(client, P, { journal = nil, force_create = false, defer_signals = true,
      on_created = function() end }))
    local r = assert(workflow.wait(client, dag, { interval = 0.01, max_interval = 0.05, timeout = 0, backoff = 1.5,
      page_size = 500, max_poll_errors = 1, on_progress = function() end, sleep = function() end,
      clock = os.clock }))
    assert(workflow.inspect(client, r, { concurrency = 2 }))
    assert(workflow.repair_plan(r, { planId = P.planId, planName = nil, dateIntervalOfLot = 1, dry_run = true,
      again = false, force_create = false }))
  end)
end)
