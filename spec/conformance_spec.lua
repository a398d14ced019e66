-- One table of cases, run against both transports: the blocking client here
-- (busted) and accelerate.ngx inside Debian's nginx.  Each case is a
-- simulator fault or scenario; both must come out the same (kind, status,
-- code, retryable, outcome_unknown, what was yielded), with the same number
-- of requests reaching the simulator, and within the call's deadline.
-- docs/core-api.md, "The call policy", is the rule book these cases check.
local helpers = require "spec.helpers"
local cjson = require "cjson.safe"
local runner = require "spec.conformance_runner"

local PLAN = "5468b0c0462e40e08e44108d8164c7c3" -- sales_daily in the test scenario
local SLACK = tonumber(os.getenv("ACCELERATE_SPEC_SLACK")) or 1

local HANDLER = [[
local cjson = require "cjson.safe"
local runner = require "spec.conformance_runner"
local _M = {}
function _M.run()
  ngx.req.read_body()
  local case = cjson.decode(ngx.req.get_body_data())
  local c, err = require("accelerate.ngx").new(case.opts)
  if not c then return ngx.say(cjson.encode { new_error = tostring(err) }) end
  local out = runner.run(c, case, function() ngx.update_time() return ngx.now() end)
  c:close()
  ngx.say(cjson.encode(out))
end
return _M
]]

-- Fields compared between the transports and against the case.
local ERR_FIELDS = { "kind", "status", "code", "retryable", "outcome_unknown" }

local function soft(code)
  return ('{"success":false,"code":"%s","errorMsg":"busy","detailErrorMsg":null,"data":null}'):format(code)
end

-- call defaults to task_detail on a real instance; route to the call's.
-- Expected: ok, or err fields; requests = exact count (or requests_max);
-- min_elapsed; items/duplicates for listings.
local CASES = {
  { name = "answers print as what they are", call = "shown", ok = true },
  { name = "503 then success", fault = { kind = "status", status = 503, times = 1 },
    ok = true, requests = 2 },
  { name = "429 with Retry-After: 1", fault = { kind = "ratelimit", retry_after = 1, times = 1 },
    ok = true, requests = 2, min_elapsed = 0.9 },
  { name = "two Retry-After headers: the first valid one", fault = { kind = "status", status = 503, times = 1,
      headers = { ["Retry-After"] = { "soon", "1", "30" } } },
    ok = true, requests = 2, min_elapsed = 0.9, max_elapsed = 5 },
  { name = "200 with success:false and code 503", fault = { kind = "body", status = 200, body = soft("503"), times = -1 },
    kind = "api", code = "503", retryable = true, requests = 3 },
  { name = "200 with success:false and code 400", fault = { kind = "body", status = 200, body = soft("400"), times = -1 },
    kind = "api", code = "400", retryable = false, requests = 1 },
  { name = "HTML 502", fault = { kind = "html", status = 502, times = -1 },
    kind = "http", status = 502, retryable = true, requests = 3 },
  { name = "malformed JSON", fault = { kind = "malformed", times = -1 },
    kind = "decode", retryable = false, requests = 1 },
  { name = "body cut short of its Content-Length", fault = { kind = "truncated", times = -1 },
    kind = "network", retryable = true, requests = 3 },
  { name = "empty body", fault = { kind = "empty", times = -1 },
    kind = "decode", retryable = false, requests = 1 },
  { name = "connection reset", fault = { kind = "drop", times = -1 },
    kind = "network", retryable = true, requests = 3 },
  { name = "a redirect is not followed", fault = { kind = "status", status = 302, times = -1,
      headers = { Location = "/elsewhere" } },
    kind = "http", status = 302, retryable = false, requests = 1 },
  { name = "a trickled body past the timeout", opts = { timeout = 2 },
    fault = { kind = "trickle", interval = 1, chunks = 8, times = -1 },
    kind = "timeout", requests = 1, min_elapsed = 1.5 },
  { name = "a dropped create (the answer lost)", call = "create_task",
    fault = { route = "create", kind = "drop", after = "respond" },
    kind = "network", retryable = false, outcome_unknown = true, requests = 1 },
  { name = "a create answered 503", call = "create_task", fault = { route = "create", kind = "status", status = 503 },
    kind = "http", status = 503, retryable = false, outcome_unknown = true, requests = 1 },
  { name = "a create answered 429 is not retried", call = "create_task",
    fault = { route = "create", kind = "ratelimit", retry_after = 0 },
    kind = "http", status = 429, retryable = false, requests = 1 },
  { name = "a server ignoring pageIndex", call = "instances",
    fault = { route = "list", kind = "paging", page = 1, total = 1000000, times = -1 },
    kind = "api", requests_max = 3, duplicates = 0, message = "repeated page" },
  { name = "a stale total smaller than the list", call = "instances",
    fault = { route = "list", kind = "paging", total = 2, times = -1 },
    ok = true, requests = 1, items = 20, duplicates = 0 },
  { name = "paging through every instance", call = "instances", args = { pageSize = 7 },
    ok = true, requests = 3, items = 20, duplicates = 0 },
  -- the same rules for a watch's sweep, its pages reduced into a store
  { name = "sweep: a server ignoring pageIndex", call = "sweep",
    fault = { route = "list", kind = "paging", page = 1, total = 1000000, times = -1 },
    kind = "api", requests_max = 3, message = "repeated page" },
  { name = "sweep: a stale total smaller than the list", call = "sweep",
    fault = { route = "list", kind = "paging", total = 2, times = -1 },
    ok = true, requests = 1, items = 20 },
  { name = "sweep: every page into the store", call = "sweep", args = { pageSize = 7 },
    ok = true, requests = 3, items = 20 },
  { name = "sweep: a 503 then the page", call = "sweep", args = { pageSize = 7 },
    fault = { route = "list", kind = "status", status = 503, times = 1 },
    ok = true, requests = 4, items = 20 },
  { name = "sweep: a malformed page", call = "sweep", fault = { route = "list", kind = "malformed", times = -1 },
    kind = "decode", retryable = false, requests = 1 },
  -- the plan calls: list_plans is a read sent as a POST, retried all the same
  { name = "list_plans", call = "list_plans", ok = true, requests = 1, items = 4 },
  { name = "list_plans: 503 then success", call = "list_plans", fault = { kind = "status", status = 503, times = 1 },
    ok = true, requests = 2, items = 4 },
  { name = "list_plans: a soft 503 is retried (idempotent, not GET)", call = "list_plans",
    fault = { kind = "body", status = 200, body = soft("503"), times = -1 },
    kind = "api", code = "503", retryable = true, requests = 3 },
  { name = "list_plans: a dropped connection is a read's, not a create's", call = "list_plans",
    fault = { kind = "drop", times = -1 },
    kind = "network", retryable = true, requests = 3 },
  { name = "list_plans: a bad materializeType, nothing sent", call = "list_plans",
    args = { materializeType = "MATERIALIZED" }, kind = "invalid", retryable = false, requests = 0 },
  { name = "plans: every page, each plan once", call = "plans", args = { pageSize = 1 },
    ok = true, requests = 4, items = 4, duplicates = 0 },
  { name = "plans: a server ignoring pageNumber", call = "plans", args = { pageSize = 1 },
    fault = { kind = "paging", page = 1, times = -1 },
    kind = "api", requests_max = 3, duplicates = 0, message = "repeated page" },
  { name = "plan_detail", call = "plan_detail", ok = true, requests = 1, granularity = "MONTH" },
  { name = "plan_detail: an unknown id is the server's api error", call = "plan_detail", args = "no-such-plan",
    kind = "api", code = "404", retryable = false, requests = 1 },
  { name = "plan_detail: HTML 502 retried", call = "plan_detail", fault = { kind = "html", status = 502, times = -1 },
    kind = "http", status = 502, retryable = true, requests = 3 },
  { name = "plan_detail: a CR/LF-bearing id, nothing sent", call = "plan_detail", args = "a\r\nb",
    kind = "invalid", retryable = false, requests = 0 },
  { name = "find_plan: a typo names the near plan, no detail asked", call = "find_plan", args = "gmv_montly",
    kind = "invalid", message = "did you mean 'gmv_monthly'", requests = 0 },
  { name = "find_plan: by name", call = "find_plan", args = "gmv_monthly", ok = true, requests = 1,
    granularity = "MONTH" },
  { name = "task_details: one 503 retried, ids keyed by their wire string", call = "task_details",
    fault = { kind = "status", status = 503, times = 1 },
    ok = true, requests = 3 },
  -- a page overlapping the one before (a row added ahead during the listing):
  -- the repeat is dropped and the listing goes on while the server says more follow
  { name = "plans: a page overlapping the previous one", call = "plans", args = { pageSize = 2 },
    fault = { route = "plans", kind = "paging", shift = 1, times = -1 },
    ok = true, requests = 3, items = 4, duplicates = 0 },
  { name = "instances: a page overlapping the previous one", call = "instances", args = { pageSize = 7 },
    fault = { route = "list", kind = "paging", shift = 1, times = -1 },
    ok = true, requests = 3, items = 20, duplicates = 0 },
  -- issue 17: a create answered success without a dagName and without a
  -- reason may have happened; with a reason it is the server's refusal
  { name = "a create answered data:null without errorMsg may have happened", call = "create_task",
    fault = { route = "create", kind = "body", status = 200,
      body = '{"success":true,"code":"200","data":null}' },
    kind = "api", retryable = false, outcome_unknown = true, requests = 1 },
  { name = "a create answered a blank dagName may have happened", call = "create_task",
    fault = { route = "create", kind = "body", status = 200,
      body = '{"success":true,"code":"200","data":"  ","errorMsg":null,"detailErrorMsg":null}' },
    kind = "api", retryable = false, outcome_unknown = true, requests = 1 },
  { name = "a create answered data:null with errorMsg was refused", call = "create_task",
    fault = { route = "create", kind = "body", status = 200,
      body = '{"success":true,"code":"200","data":null,"errorMsg":"Failed to create the data backfill task"}' },
    kind = "api", retryable = false, outcome_unknown = false, requests = 1 },
  -- issue 17 item 4: a create gets at most the budget it is given (the time
  -- a campaign's --timeout leaves); one cut after it was sent may exist
  { name = "a create cut by its budget may have happened", call = "create_task_budget",
    args = { params = { planId = PLAN, startTime = "2025-02-01", endTime = "2025-02-02" }, budget = 1 },
    fault = { route = "create", kind = "delay", delay = 3 },
    kind = "timeout", retryable = false, outcome_unknown = true, requests = 1, max_elapsed = 1.5 },
  -- the details of a settling campaign backfill get its time left, the batch as a whole
  { name = "task_details: a budget for the whole batch cuts what it cannot wait for", call = "task_details_budget",
    fault = { route = "detail", kind = "delay", delay = 3, times = -1 },
    ok = true, items = 0, cut = 2, max_elapsed = 1.5 },
}

describe("one call policy, two transports", function()
  local sim, dir, nginx, dag, ids
  local accelerate

  setup(function()
    accelerate = helpers.core()
    assert(helpers.read_file(helpers.root .. "/build/luajit/accelerate/core.so"), "make build LUA_VERSION=jit first")
    local p = io.popen("mktemp -d " .. helpers.quote(helpers.root .. "/build/test-conformance.XXXXXX"))
    dir = p:read("*l")
    p:close()
    sim = helpers.start_sim { scenario = "test" }
    nginx = helpers.start_nginx { dir = dir, modules = { conformance_handler = HANDLER }, locations = {
      "        location /run { content_by_lua_block { require('conformance_handler').run() } }",
    } }
    local c = assert(accelerate.new(sim:client_options()))
    dag = assert(c:create_task { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-10" })
    local page = assert(c:list_instances { dagName = dag, pageSize = 100 })
    assert.equal(20, #page.instances)
    ids = { page.instances[1].id, page.instances[2].id }
    c:close()
  end)

  teardown(function()
    if nginx then nginx.stop() end
    if sim then sim:stop() end
    if dir and not os.getenv("KEEP") then helpers.run("rm -rf " .. helpers.quote(dir)) end
  end)

  local function args_for(case)
    if case.args ~= nil and case.call ~= "instances" and case.call ~= "sweep" then return case.args end
    if case.call == "plan_detail" then return "result_34bfe9036e2e65328e9849430f54cdf5" end -- gmv_monthly
    if case.call == "list_plans" or case.call == "plans" then return {} end
    if case.call == "shown" then return { dagName = dag, id = ids[1], plan = PLAN } end
    if case.call == "create_task" then
      return { planId = PLAN, startTime = "2025-02-01", endTime = "2025-02-02" }
    elseif case.call == "instances" or case.call == "sweep" then
      return { dagName = dag, pageSize = case.args and case.args.pageSize or 100 }
    elseif case.call == "task_details_budget" then
      return { ids = { ids[1], ids[2] }, budget = 1 }
    elseif case.call == "task_details" then
      -- the same id as a string and as a number, and two refused ones (a
      -- number beyond 2^53 is keyed by its full digits, never tostring)
      return { ids[1], tonumber(ids[1]), ids[2], "bad\nid", 1.2345678901234e16 }
    end
    return ids[1]
  end

  local function route_of(case)
    if case.fault and case.fault.route then return case.fault.route end
    if case.call == "create_task" then return "create" end
    if case.call == "instances" or case.call == "sweep" then return "list" end
    if case.call == "list_plans" or case.call == "plans" then return "plans" end
    if case.call == "plan_detail" or case.call == "find_plan" or case.call == "shown" then return "plan" end
    return "detail"
  end

  local function opts_for(case)
    local o = sim:client_options { retries = 2, timeout = 5 }
    for k, v in pairs(case.opts or {}) do o[k] = v end
    return o
  end

  -- Runs the case on one transport; returns its outcome and the number of
  -- requests the simulator received on the case's route.
  local function run_on(transport, case)
    sim:reset_faults()
    sim:clear_requests()
    if case.fault then
      local f = {}
      for k, v in pairs(case.fault) do f[k] = v end
      f.route = route_of(case)
      sim:fault(f)
    end
    local c = { call = case.call or "task_detail", args = args_for(case), opts = opts_for(case) }
    local out
    if transport == "blocking" then
      local client = assert(accelerate.new(c.opts))
      out = runner.run(client, c, helpers.now)
      client:close()
    else
      local status, json, raw = helpers.api(nginx, "POST", "/run", c)
      assert.equal(200, status, raw)
      assert.is_nil(json.new_error)
      out = json
    end
    return out, #sim:requests { route = route_of(case) }
  end

  local function check(case, transport, out, requests)
    local where = transport .. ": " .. case.name .. ": " .. cjson.encode(out)
    local timeout = (case.opts and case.opts.timeout) or 5
    assert.is_true(out.elapsed <= (case.max_elapsed or timeout) + 0.5 * SLACK, where)
    if case.min_elapsed then assert.is_true(out.elapsed >= case.min_elapsed, where) end
    if case.requests then assert.equal(case.requests, requests, where) end
    if case.requests_max then assert.is_true(requests <= case.requests_max, where) end
    if case.items then assert.equal(case.items, out.items, where) end
    if case.cut then assert.equal(case.cut, out.cut, where) end
    if case.granularity then assert.equal(case.granularity, out.granularity, where) end
    if case.duplicates then assert.equal(case.duplicates, out.duplicates or 0, where) end
    if case.ok then
      assert.is_true(out.ok, where)
      return
    end
    assert.is_false(out.ok, where)
    for _, f in ipairs(ERR_FIELDS) do
      if case[f] ~= nil then assert.equal(case[f], out.err[f], where .. " (" .. f .. ")") end
    end
    if case.message then assert.truthy(out.err.message:find(case.message, 1, true), where) end
  end

  for _, case in ipairs(CASES) do
    it(case.name, function()
      local a, na = run_on("blocking", case)
      check(case, "blocking", a, na)
      local b, nb = run_on("ngx", case)
      check(case, "ngx", b, nb)
      -- and the same as each other
      assert.equal(na, nb, case.name .. ": requests")
      assert.equal(a.ok, b.ok, case.name)
      assert.equal(a.items, b.items, case.name)
      if not a.ok then
        for _, f in ipairs(ERR_FIELDS) do
          assert.equal(a.err[f], b.err[f], case.name .. ": " .. f)
        end
      end
      if case.call == "shown" then
        for _, what in ipairs { "page", "instance", "detail", "plan" } do
          assert.equal("accelerate." .. what, a.shown[what].name, what)
          assert.same(a.shown[what], b.shown[what], what)
        end
      end
      if case.call == "task_details" then
        local want = { ids[1], ids[2] }
        table.sort(want)
        assert.same(want, a.details)
        assert.same(want, b.details)
        local bad = {}
        for k in pairs(a.errors) do bad[#bad + 1] = k end
        table.sort(bad)
        assert.same({ "12345678901234000", "bad\nid" }, bad)
        assert.equal("invalid", a.errors["bad\nid"].kind)
        assert.same(a.errors, b.errors)
      end
    end)
  end
end)
