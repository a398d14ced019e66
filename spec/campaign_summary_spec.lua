-- accelerate.campaign.summary: the --json object (tasks with the ids of
-- their failures, the groups) and the one state word the runner's routes,
-- its metrics and the command's --metrics share.
require("spec.helpers").paths()
local summary = require "accelerate.campaign.summary"

-- A report of n tasks with these task states.
local function report(states, over)
  local r = { tasks = {}, states = states, counts = {} }
  local n = 0
  for _, c in pairs(states) do n = n + c end
  for i = 1, n do r.tasks[i] = { task = i } end
  for k, v in pairs(over or {}) do r[k] = v end
  return r
end

describe("summary.state", function()
  it("names a run the command ended (done)", function()
    local done = { done = true }
    assert.equal("succeeded", summary.state(report({ succeeded = 4 }, { ok = true }), done))
    assert.equal("failed", summary.state(report({ succeeded = 3, failed = 1 }), done))
    assert.equal("failed", summary.state(report({ succeeded = 1, pending = 3 }, { stopped = "failure_budget" }), done))
    assert.equal("stopped", summary.state(report({ succeeded = 1, running = 1, pending = 2 }, { stopped = "interrupted" }), done))
    assert.equal("stopped", summary.state(report({ running = 2, pending = 2 }, { stopped = "timeout" }), done))
    assert.equal("needs_attention", summary.state(report({ running = 1 }),
      { done = true, err = { kind = "network", outcome_unknown = true } }))
    local held = report({ pending = 4 })
    held.tasks[1].create_unknown = true
    assert.equal("needs_attention", summary.state(held, done))
    assert.equal("failed", summary.state(nil, { done = true, err = { kind = "api" } }))
  end)

  it("names a campaign of the runner from its journal and what its worker knows", function()
    assert.equal("pending", summary.state(report({ pending = 4 })))
    assert.equal("running", summary.state(report({ running = 1, pending = 3 }), { running = true }))
    -- a shutdown's stop is a pause: the next worker resumes it
    assert.equal("running", summary.state(report({ running = 1, pending = 3 }, { stopped = "shutdown" })))
    -- a person's stop: stopped once nothing of it runs on the server
    assert.equal("running", summary.state(report({ running = 1, pending = 3 }), { stop = true, running = true }))
    assert.equal("stopped", summary.state(report({ succeeded = 1, pending = 3 }, { stopped = "requested" })))
    assert.equal("failed", summary.state(report({ succeeded = 1, failed = 1, pending = 2 }, { stopped = "failure_budget" })))
    assert.equal("running", summary.state(report({ succeeded = 1, failed = 1, pending = 2 }, { stopped = "failure_budget" }),
      { running = true }))
    assert.equal("succeeded", summary.state(report({ succeeded = 2 }, { ended = true, ok = true })))
    assert.equal("failed", summary.state(report({ succeeded = 1, failed = 1 }, { ended = true, ok = false })))
    assert.equal("needs_attention", summary.state(report({ pending = 2 }, { unresolved = { { task = 1 } } })))
  end)
end)

describe("summary.object", function()
  it("gives each task the ids of its failures, groups them by cause, and masks what the server sent", function()
    local secret = "s3cr3tvalue"
    local r = report({ failed = 1 }, { counts = { FAILED = 1 } })
    r.tasks[1].failures = { { instance = { id = "7", status = "FAILED" },
      detail = { msg = "java.lang.OutOfMemoryError: Java heap space " .. secret } } }
    local obj = summary.object(r, { redact = function(s) return (s:gsub(secret, "***")) end })
    assert.same({ "7" }, obj.tasks[1].failed)
    assert.is_nil(obj.tasks[1].failures)
    assert.equal(1, #obj.groups)
    local text = require("accelerate.util").json_encode(obj)
    assert.is_nil(text:find(secret, 1, true))
    assert.is_nil(r.tasks[1].failed)   -- the report is left as it was
  end)
end)
