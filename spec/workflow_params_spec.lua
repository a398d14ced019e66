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
