-- What the library hands back prints as what it is (accelerate.show):
-- a page, an instance, a detail, a plan page, a plan, a report, a task
-- each have a __name and a one-line __tostring, and stay plain data
-- (fields, `#`, pairs, cjson.encode, util.json_encode unchanged).  The
-- other transport (accelerate.ngx) is checked in spec/conformance_spec.lua
-- ("answers print as what they are").  Run with busted --lua=lua5.4.
local helpers = require "spec.helpers"
local cjson = require "cjson"

local PLAN = "5468b0c0462e40e08e44108d8164c7c3"

-- a copy of t without any metatable, at any depth
local function plain(t)
  if type(t) ~= "table" then return t end
  local out = {}
  for k, v in pairs(t) do out[k] = plain(v) end
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

  it("leaves errors as they were (they already print well)", function()
    local det, err = client:task_detail("99999999")
    assert.is_nil(det)
    assert.equal(accelerate.error_mt, getmetatable(err))
    assert.truthy(tostring(err):find("^accelerate: %[api%]"))
  end)
end)
