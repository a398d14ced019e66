-- What the library hands back prints as what it is (accelerate.show):
-- a page, an instance, a detail, a plan page, a plan, a report, a task
-- each have a __name and a one-line __tostring, and stay plain data
-- (fields, `#`, pairs, cjson.encode, util.json_encode unchanged).  The
-- other transport (accelerate.ngx) is checked in spec/conformance_spec.lua
-- ("answers print as what they are").  Run with busted --lua=lua5.4.
local helpers = require "spec.helpers"
local cjson = require "cjson"

local PLAN = "5468b0c0462e40e08e44108d8164c7c3"

-- a copy of t without accelerate.show's metatables, at any depth (the
-- others, an array's, are kept: they are what they were before)
local function plain(t)
  if type(t) ~= "table" then return t end
  local out = {}
  for k, v in pairs(t) do out[k] = plain(v) end
  local mt = getmetatable(t)
  local mine = false
  for _, m in pairs(require("accelerate.show").metatables) do mine = mine or m == mt end
  if not mine then setmetatable(out, mt) end
  return out
end

local function keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = tostring(k) end
  table.sort(out)
  return out
end

-- the object is still the plain data it was: same JSON both ways, same
-- length, same keys, and no behaviour but printing
local function same_data(obj)
  local util = require "accelerate.util"
  local copy = plain(obj)
  -- (cjson's key order follows the table's hash: compare what it means)
  assert.same(cjson.decode(cjson.encode(copy)), cjson.decode(cjson.encode(obj)))
  assert.equal(util.json_encode(copy), util.json_encode(obj))
  assert.equal(#copy, #obj)
  assert.same(keys(copy), keys(obj))
  local mt = getmetatable(obj)
  for _, k in ipairs { "__index", "__newindex", "__len", "__pairs", "__eq", "__call" } do
    assert.is_nil(rawget(mt, k), k)
  end
end

describe("what the client hands back", function()
  local sim, accelerate, client, dag

  setup(function()
    accelerate = helpers.core()
    sim = helpers.start_sim { scenario = "test" }
    client = assert(accelerate.new(sim:client_options()))
    dag = assert(client:create_task { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-10" })
  end)

  teardown(function()
    if client then client:close() end
    if sim then sim:stop() end
  end)

  it("prints a list page and its instances on one line each, and keeps them plain data", function()
    local page = assert(client:list_instances { dagName = dag, pageIndex = 1, pageSize = 8 })
    local mt = getmetatable(page)
    assert.equal("accelerate.page", mt and mt.__name)
    local line = tostring(page)
    assert.truthy(line:match("^accelerate%.page{dag=" .. dag:sub(1, 8):gsub("%-", "%%-")
      .. "%.%.%., page 1 of 3 %(8 of 20%): [A-Z]+ %d+.*}$"), line)
    assert.is_nil(line:find("\n"))
    local inst = page.instances[1]
    assert.equal("accelerate.instance", getmetatable(inst).__name)
    assert.equal(("accelerate.instance{%s %s %s %s}"):format(inst.id, inst.status, inst.mtGuid, inst.startPartition),
      tostring(inst))
    -- the array of instances itself is left alone: it encodes as an array
    assert.is_nil(getmetatable(page.instances))
    assert.equal("[", cjson.encode(page.instances):sub(1, 1))
    same_data(page)
    same_data(inst)
    for got in client:instances(dag) do
      assert.equal("accelerate.instance", getmetatable(got).__name)
    end
  end)

  it("prints a detail with its status, retries and the error that matters", function()
    local page = assert(client:list_instances { dagName = dag, pageSize = 100 })
    local det = assert(client:task_detail(page.instances[1].id))
    assert.equal("accelerate.detail", getmetatable(det).__name)
    local line = tostring(det)
    assert.truthy(line:match("^accelerate%.detail{" .. det.taskInstanceId .. " " .. det.status .. " retries=%d+.*}$"), line)
    assert.is_nil(line:find("\n"))
    same_data(det)
    local details = assert(client:task_details { page.instances[1].id, page.instances[2].id })
    for _, d in pairs(details) do assert.equal("accelerate.detail", getmetatable(d).__name) end
  end)

  it("names the cause of a failure's stack in a detail's line", function()
    local show = require "accelerate.show"
    local d = show.mark("detail", { taskInstanceId = "12876562", status = "FAILED", retryCnt = 2,
      msg = "x.TaskExecuteException: failed\nCaused by: Lost task (TID 211): java.lang.OutOfMemoryError: Java heap space\n\tat a.b(C.java:1)" })
    assert.equal("accelerate.detail{12876562 FAILED retries=2: java.lang.OutOfMemoryError: Java heap space}", tostring(d))
    -- an odd answer still prints (tostring never raises at the prompt)
    assert.equal("accelerate.page{dag=?, page 1.5 of 2 (0 of 3.5)}",
      tostring(show.mark("page", { pageIndex = 1.5, total = 3.5, pageSize = 2, instances = {} })))
    for kind in pairs(show.metatables) do assert.is_string(tostring(show.mark(kind, {}))) end
  end)

  it("prints a plan page and a plan", function()
    local page = assert(client:list_plans { pageNumber = 1, pageSize = 2 })
    assert.equal("accelerate.plan_page", getmetatable(page).__name)
    local line = tostring(page)
    assert.truthy(line:match("^accelerate%.plan_page{page 1 of %d+ %(2 of %d+%), more follow: [%w_]+, [%w_]+}$"), line)
    assert.equal("accelerate.plan", getmetatable(page.plans[1]).__name)
    same_data(page)
    local plan = assert(client:plan_detail(PLAN))
    assert.equal("accelerate.plan", getmetatable(plan).__name)
    assert.truthy(tostring(plan):match("^accelerate%.plan{[%w_]+ [A-Z]+ [A-Z]+ [%w_]+%.[%w_]+%.[%w_]+ 5468b0c0%.%.%.}$"),
      tostring(plan))
    same_data(plan)
    for p in client:plans() do assert.equal("accelerate.plan", getmetatable(p).__name) end
  end)

  it("prints a workflow's report and a campaign's report and tasks", function()
    local workflow = require "accelerate.workflow"
    local report = assert(workflow.wait(client, dag, { interval = 0.02, max_interval = 0.1, timeout = 30 }))
    assert.equal("accelerate.report", getmetatable(report).__name)
    local line = tostring(report)
    assert.truthy(line:match("^accelerate%.report{dag=%S+ [a-z]+, 20 instances: [A-Z]+ %d+.*}$"), line)
    -- the instances collection keeps its own metatable (an array in JSON)
    -- and prints as what it is
    assert.equal("accelerate.instances", getmetatable(report.instances).__name)
    assert.equal("accelerate.instances{20 instances: ", tostring(report.instances):sub(1, 35))
    assert.equal("[", cjson.encode(report.instances):sub(1, 1))
    local campaign = require "accelerate.campaign"
    local journal = os.tmpname()
    os.remove(journal)
    local c = assert(campaign.run(client, { plans = { names = { "sales_daily" } }, startTime = "2025-01-01",
      endTime = "2025-01-03", chunk = "month", max_in_flight = 1 }, { journal = journal, interval = 0.02,
      max_interval = 0.1, timeout = 30 }))
    os.remove(journal)
    assert.equal("accelerate.campaign", getmetatable(c).__name)
    line = tostring(c)
    assert.truthy(line:match("^accelerate%.campaign{[a-z]+, 1 tasks: [a-z]+ 1, %d+ instances: [A-Z]+ %d+.*}$"), line)
    local t = c.tasks[1]
    assert.equal("accelerate.task", getmetatable(t).__name)
    assert.truthy(tostring(t):match("^accelerate%.task{#1 sales_daily 2025%-01%-01%.%.2025%-01%-03 [a-z]+ dag=.*}$"),
      tostring(t))
    same_data(t)
  end)

  -- issue 20: a first answer in three lines; what a newcomer types at
  -- Lua 5.4's own prompt (lua5.4 -i, input on stdin)
  it("starts a REPL with accelerate and a client, that prints answers as their one line", function()
    local q = helpers.quote
    local input = q('plan = client:plan_detail("' .. PLAN .. '")\nplan\nprint(accelerate.inspect(plan.tablePath))\n'
      .. 'print(accelerate.inspect({ auth_value = "k" }))\n')
    -- from a checkout, started from anywhere
    local code, out = helpers.sh("cd /tmp && printf " .. input .. " | " .. helpers.command_env(sim)
      .. " lua5.4 -i " .. q(helpers.root .. "/lua/accelerate/repl.lua") .. " 2>&1")
    assert.equal(0, code, out)
    assert.truthy(out:find("accelerate: client = accelerate.client{url=" .. sim.url, 1, true), out)
    assert.truthy(out:find("accelerate%.plan{sales_daily RESULT DAY dw%.sales%.orders_daily 5468b0c0%.%.%.}\n"), out)
    assert.truthy(out:find('tableName = "orders_daily"', 1, true), out)
    assert.truthy(out:find('auth_value = "<secret>"', 1, true), out)
    assert.is_nil(out:find(sim.auth_value, 1, true), out)
    -- installed (the paths set): lua5.4 -i -l accelerate.repl
    code, out = helpers.sh("cd " .. q(helpers.root) .. " && printf 'client\n' | " .. helpers.command_env(sim,
      { "LUA_PATH='lua/?.lua;;'", "LUA_CPATH='build/lua5.4/?.so;;'" }) .. " lua5.4 -i -l accelerate.repl 2>&1")
    assert.equal(0, code, out)
    assert.truthy(out:find("[\n>] ?accelerate%.client{url=" .. sim.url:gsub("%p", "%%%0")), out)
    -- no settings: no client, and it says how to make one
    code, out = helpers.sh("cd /tmp && printf 'client\n' | env -u ACCELERATE_URL -u ACCELERATE_TENANT_ID "
      .. "-u ACCELERATE_AUTH_TYPE -u ACCELERATE_AUTH_VALUE HOME=/nonexistent/accelerate-spec-home XDG_CONFIG_HOME=/nonexistent/accelerate-spec-home lua5.4 -i "
      .. q(helpers.root .. "/lua/accelerate/repl.lua") .. " 2>&1")
    assert.equal(0, code, out)
    assert.truthy(out:find("accelerate: no client (no API url", 1, true), out)
    assert.truthy(out:find("\nnil\n", 1, true) or out:find("> nil\n", 1, true), out)
  end)

  it("leaves errors as they were (they already print well)", function()
    local det, err = client:task_detail("99999999")
    assert.is_nil(det)
    assert.equal(accelerate.error_mt, getmetatable(err))
    assert.truthy(tostring(err):find("^accelerate: %[api%]"))
  end)
end)

describe("accelerate.inspect", function()
  local accelerate

  setup(function() accelerate = helpers.core() end)

  it("renders any value on several lines, keys sorted, metatables not shown", function()
    local show = require "accelerate.show"
    local page = show.mark("page", { total = 1, dagName = "d", instances = { { id = "1", status = "FAILED" } } })
    local text = assert(accelerate.inspect(page))
    assert.equal(table.concat({
      "{",
      "  dagName = \"d\",",
      "  instances = { {",
      "      id = \"1\",",
      "      status = \"FAILED\"",
      "    } },",
      "  total = 1",
      "}" }, "\n"), text)
    assert.is_nil(text:find("metatable", 1, true))
  end)

  it("stops at a depth and cuts a long string, saying its length", function()
    local text = assert(accelerate.inspect({ a = { b = { c = { d = {} } } }, s = string.rep("x", 500) }, { depth = 2 }))
    assert.truthy(text:find("b = {...}", 1, true), text)
    assert.truthy(text:find(string.rep("x", 120) .. "... (500 characters)\"", 1, true), text)
    assert.is_nil(text:find(string.rep("x", 121), 1, true))
    text = assert(accelerate.inspect("abcdef", { max_string = 3 }))
    assert.equal('"abc... (6 characters)"', text)
  end)

  it("never shows a secret: an auth_value key, or the client's auth value anywhere", function()
    local c = assert(accelerate.new { url = "http://127.0.0.1:9", tenant_id = "t", auth_type = "UID",
      auth_value = "s3cr3t-token" })
    local text = assert(accelerate.inspect({ auth_value = "other", authValue = "x", headers = { "Bearer", "s3cr3t-token" },
      nested = { auth_value = { deep = 1 } }, given = "mine" }, { secret = "mine" }))
    c:close()
    for _, s in ipairs { "other", "s3cr3t", "\"x\"", "deep", "mine" } do
      assert.is_nil(text:find(s, 1, true), s .. " in " .. text)
    end
    assert.truthy(text:find('auth_value = "<secret>"', 1, true), text)
  end)

  it("refuses options it does not know", function()
    local text, err = accelerate.inspect({}, { depht = 2 })
    assert.is_nil(text)
    assert.truthy(err:find("unknown option depht", 1, true))
  end)
end)
