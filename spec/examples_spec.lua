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

-- Issue 17, item 16: `make demo` carried on after the simulator failed to
-- start (its port busy), printing "no API url" errors.  It stops at the
-- first failed step with one line naming the cause and ACCELERATE_SIM_PORT,
-- and leaves nothing running.
describe("examples/demo.sh on a busy port", function()
  local helpers = require "spec.helpers"
  local socket = require "socket"

  it("stops at once with one line naming the port and ACCELERATE_SIM_PORT", function()
    local server = assert(socket.bind("127.0.0.1", 0))
    finally(function() server:close() end)
    local _, port = server:getsockname()
    port = tonumber(port)
    local dir = helpers.root .. "/build/demo-sim-" .. port
    local code, out = helpers.sh("cd " .. helpers.quote(helpers.root) .. " && env -u ACCELERATE_URL "
      .. "ACCELERATE_SIM_PORT=" .. port .. " HOME=/nonexistent/accelerate-spec-home XDG_CONFIG_HOME=/nonexistent/accelerate-spec-home"
      .. " timeout 60 examples/demo.sh 2>&1")
    assert.is_true(code ~= 0 and code ~= 124, "exit " .. tostring(code) .. ":\n" .. out)
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.equal(1, #lines, out)
    assert.truthy(lines[1]:find(tostring(port), 1, true), out)
    assert.truthy(lines[1]:find("ACCELERATE_SIM_PORT", 1, true), out)
    assert.is_nil(out:find("no API url", 1, true))
    -- nothing left running: neither simulator answers nor has a pid file
    for _, d in ipairs { dir, helpers.root .. "/build/demo-sim-" .. (port + 1) } do
      assert.is_nil(helpers.read_file(d .. "/nginx.pid"), d)
    end
    local c = socket.tcp()
    c:settimeout(1)
    local ok = c:connect("127.0.0.1", port + 1)
    c:close()
    assert.is_nil(ok, "something listens on " .. (port + 1))
  end)
end)

-- Issue 20: `make demo` shows one readable REPL exchange (answers printed
-- as their one line, accelerate.show), besides the command's steps; the
-- whole demo runs on two free ports and leaves nothing running.
describe("examples/demo.sh", function()
  local helpers = require "spec.helpers"
  local socket = require "socket"

  -- a port p free, and p + 1 free too
  local function two_free_ports()
    for _ = 1, 20 do
      local s = assert(socket.bind("127.0.0.1", 0))
      local _, p = s:getsockname()
      s:close()
      p = tonumber(p)
      local t = socket.bind("127.0.0.1", p + 1)
      if t then t:close() return p end
    end
    error("no two free ports in a row")
  end

  it("runs to the end and shows the backfill at Lua's prompt, each answer on one line", function()
    local port = two_free_ports()
    local code, out = helpers.sh("cd " .. helpers.quote(helpers.root) .. " && env -u ACCELERATE_URL "
      .. "ACCELERATE_SIM_PORT=" .. port .. " HOME=/nonexistent/accelerate-spec-home XDG_CONFIG_HOME=/nonexistent/accelerate-spec-home"
      .. " timeout 180 examples/demo.sh 2>&1")
    assert.equal(0, code, out)
    assert.matches("== lua5.4 -i lua/accelerate/repl.lua", out, 1, true)
    assert.matches("\n> page\naccelerate.page{dag=", out, 1, true)
    assert.matches("\naccelerate.instance{%d+ FAILED ", out)
    assert.matches("\naccelerate.detail{%d+ FAILED retries=%d+: ", out)
    assert.is_nil(out:find("table: 0x", 1, true), out)
    for _, d in ipairs { "/build/demo-sim-" .. port, "/build/demo-sim-" .. (port + 1) } do
      assert.is_nil(helpers.read_file(helpers.root .. d .. "/nginx.pid"), d)
    end
  end)
end)
