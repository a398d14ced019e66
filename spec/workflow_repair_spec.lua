-- accelerate.workflow.repair's preview on its own: the failed ranges a
-- report's instances merge into, and the creates repair_preview derives from
-- them.  The repair itself (creates, journal, resume) is covered against a
-- fake client and the simulator in workflow_spec and journal_spec.
require("spec.helpers").paths()

local repair = require "accelerate.workflow.repair"
local dates = require "accelerate.dates"

local function inst(id, st, s, e)
  return { id = id, status = st, startPartition = s, endPartition = e }
end

-- The ranges as { "first", "last" } date strings.
local function ranges(instances)
  local out = {}
  for i, r in ipairs(repair.failed_ranges(instances)) do
    out[i] = { dates.format(r[1]), dates.format(r[2]) }
  end
  return out
end

describe("workflow.repair.failed_ranges", function()
  it("keeps a one-day gap between failures apart, ignores what did not fail", function()
    assert.same({ { "2025-01-01", "2025-01-02" }, { "2025-01-04", "2025-01-04" } }, ranges({
      inst(1, "FAILED", "2025-01-01", "2025-01-02"),
      inst(2, "SUCCESS", "2025-01-03", "2025-01-03"),
      inst(3, "RUNNING", "2025-01-05", "2025-01-05"),
      inst(4, "TIMEOUT", "2025-01-04", "2025-01-04"),
    }))
  end)

  it("reads timestamps, a missing endPartition as one day, and reversed partitions", function()
    assert.same({ { "2025-01-01", "2025-01-03" }, { "2025-02-01", "2025-02-01" } }, ranges({
      inst(1, "KILLED", "2025-01-03T00:00:00", "2025-01-02T00:00:00"),
      inst(2, "FAILED", "2025-02-01"),
      inst(3, "FAILED", "2025-01-01", "2025-01-01"),
    }))
  end)

  it("has no ranges when nothing failed", function()
    assert.same({}, ranges({ inst(1, "SUCCESS", "2025-01-01", "2025-01-01") }))
    assert.same({}, ranges({}))
  end)

  it("refuses a failed instance without a usable startPartition", function()
    local ok, err = pcall(repair.failed_ranges, { inst(12876560, "FAILED", "yesterday", "2025-01-01") })
    assert.is_false(ok)
    assert.equal("invalid", err.kind)
    assert.matches("12876560", err.message)
    local plan, perr = repair.repair_preview({ dagName = "d", instances = { inst(7, "FAILED", nil, nil) } }, { planId = "p" })
    assert.is_nil(plan)
    assert.equal("invalid", perr.kind)
  end)
end)

describe("workflow.repair.repair_preview", function()
  -- "plan" is the API's acceleration plan: the creates a repair would send
  -- are its preview; repair_plan, the older name, is the same function
  it("keeps workflow.repair_plan, its older name", function()
    local workflow = require "accelerate.workflow"
    assert.is_function(workflow.repair_preview)
    assert.equal(workflow.repair_preview, workflow.repair_plan)
    assert.equal(repair.repair_preview, repair.repair_plan)
    assert.equal(repair.repair_preview, workflow.repair_preview)
  end)

  it("counts the lots of each range at the report's lot size", function()
    local report = {
      dagName = "d", params = { planId = "p", dateIntervalOfLot = 3 },
      instances = { inst(1, "FAILED", "2025-01-01", "2025-01-03"), inst(2, "FAILED", "2025-01-04", "2025-01-07") },
    }
    local plan = assert(repair.repair_preview(report))
    assert.equal(1, #plan)
    assert.same({ repairs = "d", startTime = "2025-01-01", endTime = "2025-01-07", lots = 3,
      params = { planId = "p", startTime = "2025-01-01", endTime = "2025-01-07", dateIntervalOfLot = 3 } }, plan[1])
  end)

  it("refuses a lot size that is not a whole number of days", function()
    local report = { dagName = "d", params = { planId = "p" }, instances = {} }
    for _, lot in ipairs({ 0, 1.5, "x" }) do
      local plan, err = repair.repair_preview(report, { dateIntervalOfLot = lot })
      assert.is_nil(plan)
      assert.equal("invalid", err.kind)
    end
  end)
end)
