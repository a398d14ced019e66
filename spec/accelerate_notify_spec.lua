-- The C core's notifier (src/notify.c): post() returns at once, pump()
-- drives the transfers and returns the finished ones, against the
-- simulator's /__sim/notify; a refused connection, an error status, a
-- timeout; bad arguments raise; a notifier collected or closed with
-- transfers in flight frees them (make valgrind-core / asan-core).
-- Runs on Lua 5.1-5.4 and LuaJIT (make test-core).
local helpers = require "spec.helpers"
helpers.core()
local core = require "accelerate.core"
local socket = require "socket"

local SLACK = tonumber(os.getenv("ACCELERATE_SPEC_SLACK") or "") or 1

local sim

setup(function() sim = helpers.start_sim { scenario = "test" } end)
teardown(function() if sim then sim:stop() end end)
before_each(function()
  sim:reset_faults()
  sim:clear_requests()
end)

-- pumps until `n` transfers ended (or `seconds` passed); returns them by id
local function drain(nt, n, seconds)
  local got, count = {}, 0
  local stop = socket.gettime() + seconds * SLACK
  while count < n and socket.gettime() < stop do
    for _, r in ipairs(nt:pump(0.2)) do
      got[r.id] = r
      count = count + 1
    end
  end
  return got, count
end

local closed_port = helpers.free_port   -- nothing listens there

describe("core.notifier", function()
  it("posts without blocking and pump returns the finished transfers", function()
    local nt = core.notifier()
    local t0 = socket.gettime()
    local ids = {}
    for i = 1, 3 do
      ids[i] = assert(nt:post(sim.url .. "/__sim/notify", '{"n":' .. i .. '}', 5))
    end
    -- nothing is sent before a pump: post only hands the transfer over
    assert.is_true(socket.gettime() - t0 < 0.5 * SLACK)
    assert.equal(3, nt:pending())
    local got, count = drain(nt, 3, 10)
    assert.equal(3, count)
    for _, id in ipairs(ids) do
      assert.is_true(got[id].ok, tostring(got[id].error))
      assert.equal(200, got[id].status)
    end
    assert.equal(0, nt:pending())
    local bodies = {}
    for _, q in ipairs(sim:requests { route = "notify" }) do
      bodies[q.body] = true
      assert.equal("POST", q.method)
      assert.matches("^application/json", q.headers["content-type"])
    end
    assert.truthy(bodies['{"n":2}'])
    nt:close()
  end)

  it("reports a refused connection, an error status and a timeout as not ok", function()
    local nt = core.notifier()
    sim:fault { route = "notify", kind = "status", status = 503 }
    local a = nt:post(sim.url .. "/__sim/notify", "{}", 5)
    local got = drain(nt, 1, 10)
    assert.is_false(got[a].ok)
    assert.equal(503, got[a].status)
    assert.equal("HTTP 503", got[a].error)
    local b = nt:post("http://127.0.0.1:" .. closed_port() .. "/x", "{}", 5)
    got = drain(nt, 1, 10)
    assert.is_false(got[b].ok)
    assert.matches("onnect", got[b].error)
    sim:fault { route = "notify", kind = "delay", delay = 3 }
    local t0 = socket.gettime()
    local c = nt:post(sim.url .. "/__sim/notify", "{}", 0.3)
    got = drain(nt, 1, 10)
    assert.is_false(got[c].ok)
    assert.is_true(socket.gettime() - t0 < 2 * SLACK)
    nt:close()
  end)

  it("pump(wait) waits the whole time when nothing is in flight, and returns early when a POST ends", function()
    local nt = core.notifier()
    local t0 = socket.gettime()
    assert.same({}, nt:pump(0.3))
    assert.is_true(socket.gettime() - t0 >= 0.29)
    nt:post(sim.url .. "/__sim/notify", "{}", 5)
    t0 = socket.gettime()
    local got = drain(nt, 1, 10)
    assert.truthy(got[1])
    assert.is_true(socket.gettime() - t0 < 2 * SLACK)
  end)

  it("refuses bad arguments and a closed notifier", function()
    local nt = core.notifier()
    assert.has_error(function() nt:post("ftp://x/", "{}", 5) end)
    assert.has_error(function() nt:post("", "{}", 5) end)
    assert.has_error(function() nt:post(sim.url, "{}", 0) end)
    assert.has_error(function() nt:post(sim.url, nil, 5) end)
    nt:close()
    nt:close()
    assert.has_error(function() nt:post(sim.url, "{}", 5) end, "accelerate: the notifier is closed")
    assert.equal(0, nt:pending())
  end)

  it("frees the transfers in flight when closed or collected (valgrind, ASan)", function()
    sim:fault { route = "notify", kind = "delay", delay = 2, times = -1 }
    for _ = 1, 3 do
      local nt = core.notifier()
      for _ = 1, 4 do nt:post(sim.url .. "/__sim/notify", string.rep("x", 1000), 5) end
      nt:pump(0.05)
    end
    collectgarbage()
    collectgarbage()
    local nt = core.notifier()
    nt:post(sim.url .. "/__sim/notify", "{}", 5)
    nt:pump(0.05)
    nt:close()
    assert.equal(0, nt:pending())
  end)
end)
