-- Every example runs as it is, against the simulator.
require("spec.helpers").paths()

describe("examples", function()
  local helpers = require "spec.helpers"
  assert(helpers.read_file(helpers.root .. "/build/lua5.4/accelerate/core.so"), "make build LUA_VERSION=5.4 first")

  local sim
  setup(function() sim = helpers.start_sim { scenario = "test" } end)
  teardown(function() if sim then sim:stop() end end)

  local function run(script, args)
    local p = io.popen("env ACCELERATE_URL=" .. helpers.quote(sim.url)
      .. " ACCELERATE_TENANT_ID=" .. sim.tenant_id .. " ACCELERATE_AUTH_TYPE=" .. sim.auth_type
      .. " ACCELERATE_AUTH_VALUE=" .. helpers.quote(sim.auth_value)
      .. " lua5.4 examples/" .. script .. " " .. args .. " 2>&1; echo \"rc=$?\"")
    local out = p:read("*a")
    p:close()
    return tonumber(out:match("rc=(%d+)%s*$")), out
  end

  it("backfill.lua runs a scripted backfill with its progress callback", function()
    local code, out = run("backfill.lua", "sales_daily 2025-01-01 2025-01-31 7")
    assert.equal(0, code, out)
    assert.matches("100%%  10 ok", out)
    assert.matches("all SUCCESS", out)
  end)

  it("watch.lua watches an existing dagName; repair_loop.lua repairs within a budget", function()
    sim:scenario(helpers.scenario { failures = { probability = 0, retries = 0, partitions = {
      { date = "2025-01-02", times = 1, error = "timeout" },
    } } })
    local code, out = run("backfill.lua", "sales_daily 2025-01-01 2025-01-05 1")
    assert.equal(1, code, out)
    local dag = out:match("\n(%x+%-[%x%-]+): some FAILED")
    assert.truthy(dag, out)
    code, out = run("watch.lua", dag)
    assert.equal(1, code, out)
    assert.matches("FAILED", out)
    code, out = run("repair_loop.lua", dag .. " 2")
    assert.equal(0, code, out)
    assert.matches("round 1: %S+ re%-runs 2025%-01%-02 .. 2025%-01%-02", out)
    assert.matches("every date of " .. dag:gsub("%-", "%%-") .. " has succeeded after 1 repair round", out)
  end)
end)
