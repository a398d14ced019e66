-- Helpers under the workflow: dates without os.time, ids, JSON output.
require("spec.helpers").paths()

local util = require "accelerate.util"
local dates = require "accelerate.dates"

describe("accelerate.dates", function()
  it("round-trips every day from 1900 to 2100 and agrees with the weekday", function()
    local z = dates.parse("1900-01-01")
    local stop = dates.parse("2100-12-31")
    local prev
    while z <= stop do
      local s = dates.format(z)
      assert.equal(z, dates.parse(s))
      if prev then assert.equal(prev + 1, z) end
      prev = z
      z = z + 1
    end
    assert.equal(0, dates.parse("1970-01-01"))
    assert.equal(4, dates.weekday(0))                       -- a Thursday
    assert.equal(1, dates.weekday(dates.parse("2025-03-24"))) -- a Monday
  end)

  it("refuses what is not a real date in YYYY-MM-DD form", function()
    for _, s in ipairs { "2025-02-29", "2100-02-29", "2025-00-10", "2025-01-32", "25-01-01",
      "2025/01/01", "2025-01-01T00:00:00", " 2025-01-01", "" } do
      assert.is_nil(dates.parse(s))
    end
    assert.truthy(dates.parse("2000-02-29"))
    assert.is_nil(dates.parse(20250101))
  end)

  it("reads timestamps and partitions in the forms the API uses", function()
    assert.equal(150, dates.parse_timestamp("2025-03-25T10:02:30") - dates.parse_timestamp("2025-03-25T10:00:00"))
    assert.equal(86400, dates.parse_timestamp("2025-01-02 00:00:00") - dates.parse_timestamp("2025-01-01"))
    assert.equal(dates.parse("2025-01-01"), dates.parse_partition("2025-01-01T00:00:00"))
    assert.is_nil(dates.parse_timestamp(nil))
  end)
end)

describe("accelerate.util", function()
  it("writes ids as the digits the server sent", function()
    assert.equal("12876560", util.id_string(12876560))
    assert.equal("12876560", util.id_string(12876560.0))
    assert.equal("9007199254740993", util.id_string("9007199254740993"))
    assert.is_nil(util.id_string(nil))
  end)

  it("encodes JSON with [] for empty lists, sorted keys and escapes", function()
    assert.equal('{"a":[],"b":{}}', util.json_encode { a = util.array(), b = {} })
    assert.equal('[1,2.5,"x"]', util.json_encode { 1, 2.5, "x" })
    assert.equal('"a\\"b\\\\c\\n\\u0001"', util.json_encode('a"b\\c\n\1'))
    assert.equal('{"n":12876560}', util.json_encode { n = 12876560.0 })
    local err = util.new_error("api", "nope", { code = "404" })
    local decoded = util.json_decode(util.json_encode { err = err })
    assert.same({ kind = "api", message = "nope", code = "404", retryable = false }, decoded.err)
    assert.equal("accelerate: [api] nope (code=404)", tostring(err))
  end)

  it("decodes JSON with null dropped", function()
    assert.same({ a = 1, list = { 1, 2 } }, util.json_decode('{"a":1,"b":null,"list":[1,2]}'))
    assert.is_nil((util.json_decode("{broken")))
  end)

  -- issue 17 item 7: a null element used to vanish, leaving a hole where
  -- ipairs and # stopped, so every element after it was lost unseen.
  it("keeps a null inside a list as a null element: never a hole that cuts the list short", function()
    local null = require("cjson").null
    local v = assert(util.json_decode('{"a":null,"list":["x",null,"y"],"nested":[[null,1],{"b":null}]}'))
    assert.is_nil(v.a)
    assert.equal(3, #v.list)
    assert.equal(null, v.list[2])
    assert.equal("y", v.list[3])
    assert.equal(2, #v.nested[1])
    assert.equal(null, v.nested[1][1])
    assert.same({}, v.nested[2])
    local top = assert(util.json_decode("[null,2]"))
    assert.equal(2, #top)
    assert.equal(2, top[2])
    assert.equal("[null,2]", util.json_encode(top))
  end)

  it("makes errors with the core's metatable, util.error_mt read when first asked", function()
    local e = util.new_error("invalid", "a message", { journal = "j" })
    assert.equal(require("accelerate.core").error_mt, util.error_mt)
    assert.equal(util.error_mt, getmetatable(e))
    assert.equal("accelerate: [invalid] a message", tostring(e))
    assert.equal("j", e.journal)
  end)

  it("formats durations for people", function()
    assert.equal("0s", util.format_duration(0))
    assert.equal("59s", util.format_duration(59.4))
    assert.equal("1m00s", util.format_duration(60))
    assert.equal("2h05m", util.format_duration(7500))
    assert.equal("?", util.format_duration(nil))
  end)
end)

-- util.lua is the lowest helper: if it loaded the C core at require time,
-- nothing pure Lua above it (the status vocabulary, insight, the
-- renderers) could load without the build.  A child interpreter with no C
-- path and a core that refuses to load requires each of them.
describe("pure-Lua modules", function()
  local PURE = {
    "accelerate.util", "accelerate.statuses", "accelerate.instances", "accelerate.dates",
    "accelerate.periods", "accelerate.plans", "accelerate.insight", "accelerate.insight.rules",
    "accelerate.insight.timing", "accelerate.insight.entry", "accelerate.insight.stack", "accelerate.render.text",
    "accelerate.render.calendar",
    "accelerate.render.html", "accelerate.render.charts", "accelerate.workflow.checks",
    "accelerate.workflow.params", "accelerate.workflow.plan", "accelerate.workflow.create",
    "accelerate.workflow.repair", "accelerate.workflow.status", "accelerate.journal",
    "accelerate.campaign.definition", "accelerate.campaign.tasks", "accelerate.campaign.state",
    "accelerate.campaign.record", "accelerate.cli.parser", "accelerate.cli.progress", "accelerate.cli.campaign_view",
  }
  local CHILD = [[
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
package.cpath = ""
package.preload["accelerate.core"] = function() error("the C core is not built", 0) end
for _, name in ipairs(arg) do
  local ok, err = pcall(require, name)
  if not ok then io.write(name, ": ", tostring(err), "\n") end
end
local util = require "accelerate.util"
io.write(util.json_encode { id = util.id_string(12876560), list = util.array() }, "\n")
local ok, err = pcall(util.new_error, "invalid", "x")
io.write(ok and "made" or tostring(err), "\n")
]]

  it("load with the C core unavailable, and util's pure helpers work", function()
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(CHILD)
    f:close()
    local p = assert(io.popen("LUA_CPATH= LUA_CPATH_5_4= lua5.4 " .. script .. " " .. table.concat(PURE, " ")
      .. " 2>&1"))
    local out = p:read("*a")
    p:close()
    os.remove(script)
    -- no module failed; then util's JSON line; then a clear error where the core is needed
    assert.equal('{"id":"12876560","list":[]}\nthe C core is not built\n', out)
  end)
end)
