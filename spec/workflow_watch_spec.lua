-- The watch (lua/accelerate/workflow/watch.lua) against the simulator, and
-- through the command: malformed statuses, a watch's --timeout clipping
-- every request, Ctrl-C on a pipe, and what a timeout says.
local helpers = require "spec.helpers"
helpers.paths()

local PLAN = "5468b0c0462e40e08e44108d8164c7c3"
local SLACK = tonumber(os.getenv("ACCELERATE_SPEC_SLACK")) or 1

describe("the watch", function()
  local accelerate, workflow, sim, tmp

  local function cmd(argv, extra)
    return helpers.command(sim, argv, { extra })
  end
  local function new_dag()
    local c = assert(accelerate.new(sim:client_options()))
    local dag = assert(c:create_task { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-02" })
    c:close()
    return dag
  end

  setup(function()
    accelerate = helpers.core()
    workflow = require "accelerate.workflow"
    sim = helpers.start_sim { scenario = "test" }
    tmp = os.tmpname()
  end)
  teardown(function()
    if sim then sim:stop() end
    os.remove(tmp)
  end)
  before_each(function() sim:reset() end)

  it("counts a status that is not a string as OTHER, and never crashes a summary or report", function()
    local dag = new_dag()
    sim:fault { route = "list", kind = "body", status = 200, times = -1, body = helpers.json.encode {
      dagName = dag, pageIndex = 1, pageSize = 500, total = 3, instances = {
        { id = "1", status = { code = "SUCCESS" }, startPartition = "2025-01-01", endPartition = "2025-01-01" },
        { id = "2", status = true, startPartition = "2025-01-01", endPartition = "2025-01-01" },
        { id = "3", status = "SUCCESS", startPartition = "2025-01-02", endPartition = "2025-01-02" },
      } } }
    local c = assert(accelerate.new(sim:client_options()))
    local report = assert(workflow.wait(c, dag, { interval = 0.05, timeout = 0.3 }))
    c:close()
    assert.is_true(report.timed_out)
    assert.equal(2, report.counts.OTHER)
    assert.equal(1, report.counts.SUCCESS)
    assert.is_string(workflow.summary(report))
    local code, out, err = cmd("wait " .. dag .. " --interval 0.05 --timeout 0.3")
    assert.equal(3, code, err)
    assert.matches("OTHER", out .. err)
    assert.is_nil((out .. err):find("attempt to", 1, true), out .. err)
  end)

  it("clips every request to what is left of --timeout", function()
    local dag = new_dag()
    sim:fault { route = "list", kind = "delay", delay = 8, times = -1 }
    local code, _, err, elapsed = cmd("wait " .. dag .. " --interval 0.1 --timeout 2")
    assert.are_not.equal(0, code, err)
    assert.is_true(elapsed < 2 + 1 * SLACK, "took " .. elapsed)
  end)

  it("says the last error when it times out before any poll answered, with the timeout's exit code", function()
    local code, out, err = cmd("wait some-dag --interval 0.1 --timeout 1",
      "ACCELERATE_URL=http://127.0.0.1:1")
    assert.equal(3, code, out .. err)
    assert.matches("timed out", err)
    assert.matches("refused", err:lower())
  end)

  it("ends within a second of Ctrl-C when stderr is a pipe", function()
    local dag = new_dag()
    sim:fault { route = "list", kind = "status", status = 503, times = -1 }
    local fifo = tmp .. ".fifo"
    os.execute("rm -f " .. fifo .. "; mkfifo " .. fifo .. "; (cat " .. fifo .. " >/dev/null &)")
    local code, pid = helpers.sh(helpers.command_env(sim) .. " " .. helpers.quote(helpers.root .. "/bin/accelerate")
      .. " wait " .. dag .. " --interval 10 --max-interval 10 >" .. fifo .. " 2>&1 & echo $!")
    assert.equal(0, code)
    local child = tonumber(pid:match("%d+"))
    assert.is_true(helpers.eventually(function() return #sim:requests { route = "list" } >= 1 end, 10))
    helpers.sleep(0.5)
    local t0 = helpers.now()
    os.execute("kill -INT " .. child)
    assert.is_true(helpers.eventually(function() return not helpers.alive(child) end, 5))
    assert.is_true(helpers.now() - t0 < 1 * SLACK, "took " .. (helpers.now() - t0))
    os.remove(fifo)
  end)
end)
