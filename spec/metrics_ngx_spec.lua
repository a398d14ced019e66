-- accelerate.metrics inside Debian's nginx, as the runner uses it: the
-- counting client over accelerate.ngx with an ngx.shared.DICT as its store
-- (dict:incr with an initial 0, kept across requests), and render reading
-- the dict back among keys of other kinds; the text checked by the specs'
-- own exposition parser (spec/exposition.lua) against the simulator's log.
-- Needs build/luajit/accelerate/core.so (make build LUA_VERSION=jit); run
-- with busted --lua=lua5.4 (make test-ngx).
local helpers = require "spec.helpers"
local exposition = require "spec.exposition"

local parse, value_of = exposition.parse, exposition.value_of

local PLAN = "5468b0c0462e40e08e44108d8164c7c3"   -- sales_daily: two tables

-- The handler: the calls a campaign makes, counted in the dict; then the
-- dict rendered, with a key of the runner's own beside the counters.
local HANDLER = [[
local metrics = require "accelerate.metrics"
local acc = require "accelerate.ngx"

local _M = {}

local CONN = %s

function _M.run()
  local dict = ngx.shared.accelerate_runner
  dict:set("lease:q1", "worker 0")   -- not a counter: render leaves it out
  local client = assert(acc.new(CONN))
  local c = metrics.counting(client, dict)
  local dag = assert(c:create_task { planId = "%s", startTime = "2025-01-01", endTime = "2025-01-10" })
  local ids = {}
  for inst in c:instances(dag, { pageSize = 10 }) do ids[#ids + 1] = inst.id end
  assert(#ids == 20, #ids)
  local d, err = c:task_detail("999999999")
  assert(d == nil and err.kind == "api")
  c:task_details { ids[1], ids[2], "888888888" }
  client:close()
  ngx.header["Content-Type"] = metrics.CONTENT_TYPE
  -- in the dict itself, not in fields of the dict's Lua table
  ngx.header["X-Created"] = tostring(dict:get('accelerate_creates_total{outcome="created"}'))
  ngx.print(metrics.render { store = dict, leader = { [tostring(ngx.worker.id())] = 1 } })
end

return _M
]]

local function lua_table(t)
  local parts = {}
  for k, v in pairs(t) do parts[#parts + 1] = ("[%q] = %q"):format(k, v) end
  return "{ " .. table.concat(parts, ", ") .. " }"
end

describe("accelerate.metrics in nginx", function()
  local sim, dir, nginx

  setup(function()
    assert(helpers.read_file(helpers.root .. "/build/luajit/accelerate/core.so"), "make build LUA_VERSION=jit first")
    local p = io.popen("mktemp -d " .. helpers.quote(helpers.root .. "/build/test-metrics.XXXXXX"))
    dir = p:read("*l")
    p:close()
    sim = helpers.start_sim { scenario = "test" }
    local conn = lua_table { url = sim.url, tenant_id = sim.tenant_id, auth_type = sim.auth_type,
      auth_value = sim.auth_value }
    nginx = helpers.start_nginx { dir = dir, modules = { metrics_handler = HANDLER:format(conn, PLAN) },
      http = { "    lua_shared_dict accelerate_runner 1m;" },
      locations = { "        location /run { content_by_lua_block { require('metrics_handler').run() } }" } }
  end)

  teardown(function()
    if nginx then nginx.stop() end
    if sim then sim:stop() end
    if dir then helpers.run("rm -rf " .. helpers.quote(dir)) end
  end)

  it("counts the ngx client's calls in a shared dict, across requests, and renders them", function()
    sim:clear_requests()
    local status, _, raw, headers = helpers.api(nginx, "GET", "/run")
    assert.equal(200, status, raw .. (helpers.read_file(nginx.prefix .. "/logs/error.log") or ""))
    assert.matches("text/plain; version=0.0.4", headers["content-type"], 1, true)
    assert.equal("1", headers["x-created"])
    local fams, samples = parse(raw)
    assert.equal(1, value_of(samples, "accelerate_creates_total", { outcome = "created" }))
    assert.equal(0, value_of(samples, "accelerate_creates_total", { outcome = "unknown" }))
    assert.equal(1, value_of(samples, "accelerate_requests_total", { call = "create_task", outcome = "ok" }))
    assert.equal(2, value_of(samples, "accelerate_requests_total", { call = "list_instances", outcome = "ok" }))
    assert.equal(2, value_of(samples, "accelerate_requests_total", { call = "task_detail", outcome = "ok" }))
    assert.equal(2, value_of(samples, "accelerate_requests_total", { call = "task_detail", outcome = "api" }))
    assert.equal(1, value_of(samples, "accelerate_runner_leader", { worker = "0" }))
    for name in pairs(fams) do assert.matches("^accelerate_", name) end
    -- every request the simulator saw, counted once
    local total = 0
    for _, s in ipairs(fams.accelerate_requests_total.samples) do total = total + s.value end
    assert.equal(#sim:requests(), total)
    -- the dict keeps counting from one request to the next
    status, _, raw, headers = helpers.api(nginx, "GET", "/run")
    assert.equal(200, status, raw)
    assert.equal("2", headers["x-created"])
    _, samples = parse(raw)
    assert.equal(2, value_of(samples, "accelerate_creates_total", { outcome = "created" }))
    assert.equal(4, value_of(samples, "accelerate_requests_total", { call = "task_detail", outcome = "api" }))
  end)
end)
