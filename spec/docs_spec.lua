-- The documentation's examples, run: every fenced block of README.md and
-- docs/*.md that is marked runnable is run against a simulator this spec
-- starts, and what it prints is compared with what the block shows.
--
-- The marker is an HTML comment (invisible once rendered) on the line
-- right before the block's opening fence:
--
--   <!-- runnable: lua scenario=NAME -->    a Lua REPL session: lines "> code"
--                                           (">> " continues the line above) are
--                                           typed in, the lines after each are what
--                                           it prints; a first line "$ lua5.4" is
--                                           the command that starts the REPL ("$ lua5.4
--                                           -i lua/accelerate/repl.lua": that one, its
--                                           greeting the lines after it)
--   <!-- runnable: sh scenario=NAME -->     a shell session: lines "$ command" (a
--                                           trailing \ continues it) are run with
--                                           bash, stdout and stderr both compared;
--                                           lines starting with # are comments
--
-- NAME is a scenario of sim/scenarios/; each block starts on a fresh state
-- of it (PUT /__sim/scenario: no backfill, the clock at its start), from
-- the checkout's root, with the ACCELERATE_* variables of that simulator
-- (as `eval "$(ACCELERATE_SIM_SCENARIO=NAME sim/simctl start)"` sets them).
--
-- Normalisation, applied to the block and to the output alike, for what
-- differs from run to run and says nothing about the example:
--   a UUID (a dagName)                       -> <dag>
--   a time 2025-03-25T10:00:00 or 2025-03-25 10:00[:00] -> <time>
--   0x55be3a1f6c18 (an address in tostring)  -> 0x<addr>
--   127.0.0.1:8083 (the simulator's port)    -> 127.0.0.1:<port>
--   trace_id=..., "traceId":"..."            -> trace_id=<trace>, "traceId":"<trace>"
--   trailing blanks of every line, and a block's trailing empty lines
-- Dates without a time (partitions), ids, statuses and counts are compared
-- as they are: the scenarios are seeded, so they repeat.
local helpers = require "spec.helpers"

local root = helpers.root
local quote = helpers.quote

local DOCS = { "README.md" }
do
  local _, out = helpers.sh("cd " .. quote(root) .. " && ls docs/*.md")
  for f in out:gmatch("[^\n]+") do DOCS[#DOCS + 1] = f end
end

local function normalise(text)
  local h = "%x"
  local uuid = h:rep(8) .. "%-" .. h:rep(4) .. "%-" .. h:rep(4) .. "%-" .. h:rep(4) .. "%-" .. h:rep(12)
  text = text:gsub(uuid, "<dag>")
  text = text:gsub("%d%d%d%d%-%d%d%-%d%d[T ]%d%d:%d%d:%d%d", "<time>")
  text = text:gsub("%d%d%d%d%-%d%d%-%d%d %d%d:%d%d", "<time>")
  text = text:gsub("0x%x+", "0x<addr>")
  text = text:gsub("127%.0%.0%.1:%d+", "127.0.0.1:<port>")
  text = text:gsub("trace_id=[^%s%),]+", "trace_id=<trace>")
  text = text:gsub('"traceId":"[^"]*"', '"traceId":"<trace>"')
  text = text:gsub("[ \t]+\n", "\n"):gsub("[ \t]+$", ""):gsub("\n+$", "")
  return text
end

-- Every marked block of a file: {file, line, kind, scenario, body}.
local function blocks_of(file)
  local text = assert(helpers.read_file(root .. "/" .. file))
  local list, lines = {}, {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
  local i = 1
  while i <= #lines do
    local kind, scenario = lines[i]:match("^<!%-%- runnable: (%a+) scenario=([%w_%-]+) %-%->$")
    if kind then
      assert(lines[i + 1] and lines[i + 1]:match("^```"), file .. ":" .. i .. ": a runnable marker must precede a fence")
      local body = {}
      local j = i + 2
      while lines[j] and not lines[j]:match("^```%s*$") do body[#body + 1] = lines[j] j = j + 1 end
      list[#list + 1] = { file = file, line = i, kind = kind, scenario = scenario, body = body }
      i = j
    end
    i = i + 1
  end
  return list
end

-- Splits a session into steps {input, expected}: lines starting with
-- `prompt` begin an input, `cont` lines continue it, other lines are what
-- the input prints.
-- accelerate.repl's start, as a statement of the session (prints nothing
-- of its own on stdout)
local REPL_START = 'local _ = dofile("lua/accelerate/repl.lua")'

local function steps_of(body, prompt, cont, skip)
  local steps = {}
  local kept = {}
  for _, line in ipairs(body) do
    if not (skip and skip(line)) then kept[#kept + 1] = line end
  end
  for _, line in ipairs(kept) do
    if cont and line:sub(1, #cont) == cont and #steps > 0 then
      local s = steps[#steps]
      s.input = s.input .. "\n" .. line:sub(#cont + 1)
    elseif line:sub(1, #prompt) == prompt then
      steps[#steps + 1] = { input = line:sub(#prompt + 1), expected = {} }
    elseif #steps > 0 then
      local e = steps[#steps].expected
      e[#e + 1] = line
    end
  end
  return steps
end

describe("the documentation's runnable examples", function()
  local sim, tmp
  local all = {}
  for _, f in ipairs(DOCS) do
    for _, b in ipairs(blocks_of(f)) do all[#all + 1] = b end
  end

  setup(function()
    assert(helpers.read_file(root .. "/build/lua5.4/accelerate/core.so"), "make build LUA_VERSION=5.4 first")
    sim = helpers.start_sim { scenario = "test" }
    tmp = os.tmpname()
  end)
  teardown(function()
    if sim then sim:stop() end
    os.remove(tmp)
    helpers.run("rm -rf " .. quote(tmp .. ".state"))
  end)

  local function fresh(scenario)
    local text = assert(helpers.read_file(root .. "/sim/scenarios/" .. scenario .. ".json"), "no scenario " .. scenario)
    local status, _, raw = helpers.api(sim, "PUT", "/__sim/scenario", text)
    assert(status == 200, raw)
    local c = helpers.json.decode(text).connection
    return ("ACCELERATE_URL=%s ACCELERATE_TENANT_ID=%s ACCELERATE_AUTH_TYPE=%s ACCELERATE_AUTH_VALUE=%s "
      .. "HOME=/nonexistent/accelerate-spec-home XDG_CONFIG_HOME=/nonexistent/accelerate-spec-home XDG_STATE_HOME=%s NO_COLOR=1 "):format(
      quote(sim.url), quote(c.tenant_id), quote(c.auth_type), quote(c.auth_value), quote(tmp .. ".state"))
  end

  it("are found: the README's REPL session and the workflow's walk-through among them", function()
    local where = {}
    for _, b in ipairs(all) do where[b.file] = (where[b.file] or 0) + 1 end
    assert.is_true((where["README.md"] or 0) >= 2, "README.md: too few runnable blocks")
    assert.is_true((where["docs/workflow.md"] or 0) >= 1, "docs/workflow.md: no runnable block")
  end)

  for _, b in ipairs(all) do
    it(("%s:%d (%s, scenario %s) prints what it shows"):format(b.file, b.line, b.kind, b.scenario), function()
      local env = fresh(b.scenario)
      local steps, outputs
      if b.kind == "lua" then
        -- "$ lua5.4 -i lua/accelerate/repl.lua" starts the REPL of
        -- accelerate.repl: run as the session's first input, what it
        -- prints (stderr) compared with the lines that follow it
        local body = b.body
        if body[1] and body[1]:match("^%$ lua5%.4 %-i lua/accelerate/repl%.lua%s*$") then
          body = { "> " .. REPL_START }
          for i = 2, #b.body do body[i] = b.body[i] end
        end
        steps = steps_of(body, "> ", ">> ", function(l) return l:match("^%$ lua5%.4%s*$") end)
        local f = assert(io.open(tmp, "wb"))
        for _, s in ipairs(steps) do f:write(s.input, "\n--8<--\n") end
        f:close()
        local code, out = helpers.sh("cd " .. quote(root) .. " && env " .. env .. "lua5.4 spec/docs_repl.lua "
          .. quote(tmp) .. " 2>&1")
        assert.equal(0, code, out)
        outputs = {}
        for chunk in (out):gmatch("(.-)%-%-8<%-%-\n") do outputs[#outputs + 1] = chunk end
      else
        assert.equal("sh", b.kind)
        local body = {}
        for _, l in ipairs(b.body) do
          if #body > 0 and body[#body]:match("\\$") then body[#body] = body[#body]:sub(1, -2) .. l:gsub("^%s+", " ")
          else body[#body + 1] = l end
        end
        steps = steps_of(body, "$ ", nil, function(l) return l:match("^#") end)
        outputs = {}
        for i, s in ipairs(steps) do
          local _, out = helpers.sh("cd " .. quote(root) .. " && env " .. env .. "bash -c " .. quote(s.input) .. " 2>&1")
          outputs[i] = out
        end
      end
      assert.is_true(#steps > 0, "an empty runnable block")
      for i, s in ipairs(steps) do
        local want = normalise(table.concat(s.expected, "\n"))
        local got = normalise(outputs[i] or "<no output: the session stopped>")
        assert.equal(want, got, ("%s:%d, input %q"):format(b.file, b.line, s.input))
      end
    end)
  end
end)

-- The README is what a newcomer reads first: short, and its Layout table
-- names every file of the C core and the Lua layer, each in the row of its
-- folder, so that a newcomer finds where a thing lives from the table.
describe("README.md's Layout", function()
  local readme = assert(helpers.read_file(root .. "/README.md"))

  -- issue 20 item 8: the demo failed on a taken port with nothing saying
  -- how to move it, and the LuaRocks recipe's warning looked like a failure
  it("names the ports' variables first, and says the LuaRocks warning is expected", function()
    local first = assert(readme:match("^(.-)\n## Install\n"))
    assert.matches("ACCELERATE_SIM_PORT", first, 1, true)
    assert.matches("OPENRESTY_PORT", first, 1, true)
    local recipe = assert(readme:match("\n([^\n]*LuaRocks[^<]*)<!%-%- spec/packaging_spec%.lua runs"))
    assert.matches("Missing dependencies", recipe, 1, true)
    assert.matches("lua-cjson (not installed)", recipe, 1, true)
    assert.matches("expected", recipe, 1, true)
  end)

  -- issue 20 item 8: docs/workflow.md described an older demo (no campaign,
  -- no HTML page) and another duration than the README's
  it("agrees with docs/workflow.md on what make demo does and how long it takes", function()
    local workflow = assert(helpers.read_file(root .. "/docs/workflow.md"))
    local readme_s = assert(readme:match("`make demo`.-about (%d+) seconds"))
    local make_demo = assert(workflow:match("\n%- `make demo`: (.-)\n%-"))
    assert.equal(readme_s, make_demo:match("about (%d+) seconds"), make_demo)
    local script = assert(workflow:match("\n%- `examples/demo%.sh` %(`make demo`%): (.-)\n\n"))
    for _, step in ipairs { "repair", "demo-report.html", "campaign" } do
      assert.matches(step, script, 1, true)
    end
  end)

  it("is at most 330 lines", function()
    local n = select(2, readme:gsub("\n", "\n"))
    assert.is_true(n <= 330, "README.md has " .. n .. " lines")
  end)

  it("lists every file under src/ and lua/ in the row of its folder", function()
    local layout = assert(readme:match("\n## Layout\n(.-)\n## ") or readme:match("\n## Layout\n(.*)$"),
      "README.md has no Layout section")
    local rows = {}
    for dir, text in layout:gmatch("\n| `([^`]+/)` | ([^\n]*)") do rows[dir] = text end
    local _, out = helpers.sh("cd " .. quote(root) .. " && git ls-files src lua")
    local missing = {}
    for path in out:gmatch("[^\n]+") do
      local dir, name = path:match("^(.*/)([^/]+)$")
      local text = rows[dir]
      if not text then
        missing[#missing + 1] = path .. " (no row for " .. dir .. ")"
      elseif not text:find("`" .. name .. "`", 1, true) then
        missing[#missing + 1] = path
      end
    end
    assert.same({}, missing)
  end)
end)
