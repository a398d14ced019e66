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

  it("names a status value as statuses.of names the instance that holds it", function()
    local statuses = require "accelerate.statuses"
    for _, v in ipairs { "SUCCESS", "KILLED", "PAUSED", "", "a b", ("X"):rep(65), false, 3, {} } do
      assert.equal(statuses.of({ status = v }), statuses.name(v), tostring(v))
    end
    assert.equal("UNKNOWN", statuses.name(nil))
    assert.equal("OTHER", statuses.name(""))
    assert.equal("OTHER", statuses.name(3))
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

describe("a report's instances", function()
  local instances = require "accelerate.instances"
  local util = require "accelerate.util"

  it("are one collection: an array answers :each(), :counts(), :failures() and stays an array", function()
    local a, b = { id = 1, status = "TIMEOUT" }, { id = 3, status = "FAILED" }
    local plain = { a, { id = 2, status = "SUCCESS" }, b, { id = 4 } }
    local json = util.json_encode(plain)
    local list = instances.of(plain)
    assert.equal(plain, list)   -- taken over, not copied
    assert.equal(4, #list)
    assert.equal(b, list[3])
    local seen = {}
    for inst in list:each() do seen[#seen + 1] = inst end
    assert.same(plain, seen)
    local counts, terminal, failed, n = list:counts()
    assert.same({ WAITING = 0, RUNNING = 0, SUCCESS = 1, FAILED = 1, TIMEOUT = 1, UNKNOWN = 1 }, counts)
    assert.same({ 3, 2, 4 }, { terminal, failed, n })
    assert.same({ a, b }, list:failures())
    assert.same(plain, list:list())
    assert.is_not.equal(list, list:list())
    assert.equal(json, util.json_encode(list))
    assert.equal("[]", util.json_encode(instances.of(nil)))
    local ok, cjson = pcall(require, "cjson")
    if ok then assert.equal(cjson.encode(plain), cjson.encode(list)) end
  end)

  it("leave an array with a metatable of its own as it is, and read a copy", function()
    local mt = { __index = function(_, k) if type(k) == "string" then return "x" end end }
    local t = setmetatable({ { id = 1, status = "SUCCESS" } }, mt)
    local list = instances.of(t)
    assert.equal(mt, getmetatable(t))
    assert.same({ { id = 1, status = "SUCCESS" } }, list:list())
  end)
end)

describe("the status vocabulary", function()
  -- Every Lua file under lua/, read as text.
  local function sources()
    local out = {}
    local p = assert(io.popen("find lua -name '*.lua' | sort"))
    for path in p:lines() do
      local f = assert(io.open(path))
      out[path] = f:read("*a")
      f:close()
    end
    p:close()
    return out
  end

  it("is written once (accelerate.statuses), and no reader branches on the form of the instances", function()
    local seen = 0
    for path, text in pairs(sources()) do
      seen = seen + 1
      if path ~= "lua/accelerate/statuses.lua" then
        assert.is_nil(text:find('"KILLED"', 1, true), path .. " lists the failed statuses")
        assert.is_nil(text:find("WAITING = 0", 1, true), path .. " writes the zero counts")
        assert.is_nil(text:find('"SUCCESS", "FAILED", "RUNNING", "WAITING"', 1, true), path .. " lists the classes")
        assert.is_nil(text:find('st == "SUCCESS" or st == "RUNNING"', 1, true), path .. " writes a class rule")
      end
      assert.is_nil(text:find("is_store", 1, true), path .. " branches on the form of the instances")
    end
    assert.is_true(seen > 20)
  end)

  it("is pure Lua: accelerate.statuses and accelerate.instances load without the core", function()
    local code = [[
      package.preload["accelerate.core"] = function() error("loaded the core") end
      require "accelerate.statuses"
      require "accelerate.instances"
      print("ok")
    ]]
    local p = assert(io.popen("lua5.4 -e 'package.path=\"lua/?.lua;\"..package.path' -e "
      .. "'" .. code:gsub("'", "'\\''") .. "' 2>&1"))
    local out = p:read("*a")
    p:close()
    assert.equal("ok\n", out)
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
