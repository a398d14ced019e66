-- accelerate.workflow.status on its own: which statuses are final or
-- failed, counting a list, the one-line summary, and that the facade and
-- the other modules share these rules rather than copying them.
require("spec.helpers").paths()

local status = require "accelerate.workflow.status"

describe("workflow.status", function()
  it("tells final and failed statuses apart", function()
    assert.is_true(status.is_terminal("SUCCESS"))
    assert.is_false(status.is_failed("SUCCESS"))
    for _, st in ipairs({ "FAILED", "KILLED", "STOPPED", "CANCELED", "CANCELLED", "ERROR", "TIMEOUT" }) do
      assert.is_true(status.is_terminal(st), st)
      assert.is_true(status.is_failed(st), st)
    end
    for _, st in ipairs({ "WAITING", "RUNNING", "PAUSED", "failed", "", false }) do
      assert.is_false(status.is_terminal(st), tostring(st))
      assert.is_false(status.is_failed(st), tostring(st))
    end
    assert.is_false(status.is_terminal(nil))
  end)

  it("counts every status seen, the documented ones even at zero, a missing one as UNKNOWN", function()
    local counts, terminal, failed = status.count({
      { status = "SUCCESS" }, { status = "KILLED" }, { status = "FAILED" },
      { status = "RUNNING" }, { status = "PAUSED" }, {},
    })
    assert.same({ WAITING = 0, RUNNING = 1, SUCCESS = 1, FAILED = 1, KILLED = 1, PAUSED = 1, UNKNOWN = 1 }, counts)
    assert.equal(3, terminal)
    assert.equal(2, failed)
    assert.same({ { WAITING = 0, RUNNING = 0, SUCCESS = 0, FAILED = 0 }, 0, 0 }, { status.count({}) })
  end)

  it("keeps the failed instances of a list in order", function()
    local a, b = { id = 1, status = "TIMEOUT" }, { id = 3, status = "FAILED" }
    assert.same({ a, b }, status.failed_of({ a, { id = 2, status = "SUCCESS" }, b, { id = 4 } }))
  end)

  it("summarises in STATUS_ORDER, then other statuses alphabetically, then the total", function()
    assert.equal("SUCCESS 3  FAILED 1  RUNNING 0  WAITING 0  KILLED 2  PAUSED 1 / 7",
      status.summary({ counts = { PAUSED = 1, SUCCESS = 3, KILLED = 2, FAILED = 1 }, total = 7 }))
    assert.equal("SUCCESS 0  FAILED 0  RUNNING 0  WAITING 0 / 0", status.summary({}))
  end)
end)

describe("workflow modules", function()
  local SUBMODULES = { "status", "checks", "params", "create", "watch", "inspect", "backfill", "repair" }

  local function unload()
    for name in pairs(package.loaded) do
      if name == "accelerate.workflow" or name:match("^accelerate%.workflow%.") then package.loaded[name] = nil end
    end
  end

  it("load without the facade, so there is no cycle through it", function()
    for _, m in ipairs(SUBMODULES) do
      unload()
      require("accelerate.workflow." .. m)
      assert.is_nil(package.loaded["accelerate.workflow"], m .. " requires accelerate.workflow")
    end
  end)

  it("re-export the status rules from their one home", function()
    unload()
    local fresh = require "accelerate.workflow.status"
    local workflow = require "accelerate.workflow"
    assert.equal(fresh.FAILED_STATUSES, workflow.FAILED_STATUSES)
    assert.equal(fresh.STATUS_ORDER, workflow.STATUS_ORDER)
    assert.equal(fresh.is_terminal, workflow.is_terminal)
    assert.equal(fresh.is_failed, workflow.is_failed)
    assert.equal(fresh.summary, workflow.summary)
  end)
end)
