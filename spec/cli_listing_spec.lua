-- Finding one's way in the command, through bin/accelerate: --help lists
-- --version, every command's help ends with examples, `help COMMAND` is
-- `COMMAND --help`; and the listings against the simulator's test
-- scenario: instances --status (repeatable, pages through all) and
-- --format table|json|csv on instances and plans (--json is --format json).
local helpers = require "spec.helpers"
helpers.paths()

local json = helpers.json
local sh = helpers.sh
local args = require "accelerate.cli.parser"

local function lines_of(text)
  local out = {}
  for line in text:gmatch("[^\n]*") do out[#out + 1] = line end
  if out[#out] == "" then out[#out] = nil end
  return out
end

describe("accelerate help", function()
  local function cmd(argv)
    local tmp = os.tmpname()
    local code, out = sh("cd " .. helpers.quote(helpers.root) .. " && HOME=/nonexistent/accelerate-spec-home lua5.4 bin/accelerate "
      .. argv .. " 2>" .. tmp)
    local err = helpers.read_file(tmp) or ""
    os.remove(tmp)
    return code, out, err
  end

  it("--help names --version, which prints the version", function()
    local code, out = cmd("--help")
    assert.equal(0, code)
    assert.matches("\n  %-%-version%s+print the version", out)
    local vcode, vout = cmd("--version")
    assert.equal(0, vcode)
    assert.matches("^accelerate %d+%.%d+%.%d+\n$", vout)
  end)

  it("ends every command's help with two or three examples of that command", function()
    for _, c in ipairs(args.commands()) do
      local code, out = cmd(c .. " --help")
      assert.equal(0, code, c)
      local tail = out:match("\nExamples:\n(.*)$")
      assert.is_string(tail, c .. " --help has no Examples section at its end")
      local n = 0
      -- a long example is continued on the next line with a backslash
      for _, line in ipairs(lines_of((tail:gsub("\\\n +", "")))) do
        assert.matches("^  accelerate " .. c:gsub("%-", "%%-") .. "[ \n]", line .. "\n", 1)
        n = n + 1
      end
      assert.is_true(n >= 2 and n <= 3, c .. ": " .. n .. " examples")
    end
  end)

  it("`help COMMAND` prints what `COMMAND --help` does; an unknown one is a usage error", function()
    for _, c in ipairs(args.commands()) do
      local code, out = cmd("help " .. c)
      local code2, out2 = cmd(c .. " --help")
      assert.equal(0, code)
      assert.equal(code2, code)
      assert.equal(out2, out)
    end
    local code, out, err = cmd("help nosuch")
    assert.equal(2, code)
    assert.equal("", out)
    assert.matches("unknown command nosuch", err)
  end)
end)

describe("accelerate instances and plans: --status and --format (simulator)", function()
  assert(helpers.read_file(helpers.root .. "/build/lua5.4/accelerate/core.so"), "make build LUA_VERSION=5.4 first")
  local sim, tmp, dag

  local function cmd(argv)
    local env = {
      "ACCELERATE_URL=" .. helpers.quote(sim.url), "ACCELERATE_TENANT_ID=" .. sim.tenant_id,
      "ACCELERATE_AUTH_TYPE=" .. sim.auth_type, "ACCELERATE_AUTH_VALUE=" .. helpers.quote(sim.auth_value),
      "HOME=/nonexistent/accelerate-spec-home", "XDG_CONFIG_HOME=/nonexistent/accelerate-spec-home", "NO_COLOR=1",
    }
    local code, out = sh("cd " .. helpers.quote(helpers.root) .. " && env " .. table.concat(env, " ")
      .. " lua5.4 bin/accelerate " .. argv .. " 2>" .. tmp .. ".err")
    return code, out, helpers.read_file(tmp .. ".err") or ""
  end

  setup(function()
    sim = helpers.start_sim { scenario = "test" }
    tmp = os.tmpname()
    -- 2 tables x 12 one-day lots; the lots of 01-03 and 01-07 fail, and
    -- time is frozen once every instance has finished
    sim:scenario(helpers.scenario { speed = 0, failures = { probability = 0, retries = 0, partitions = {
      { date = "2025-01-03", error = "java.lang.OutOfMemoryError: Java heap space" },
      { date = "2025-01-07", error = "java.lang.OutOfMemoryError: Java heap space" } } } })
    local code, out, err = cmd("create --plan-id 5468b0c0462e40e08e44108d8164c7c3 --start 2025-01-01"
      .. " --end 2025-01-12 --json")
    assert.equal(0, code, err)
    dag = json.decode(out).dagName
    sim:advance(100000)
  end)
  teardown(function()
    if sim then sim:stop() end
    os.remove(tmp .. ".err")
    os.remove(tmp)
  end)

  it("--status FAILED pages through every instance and keeps the failed ones", function()
    sim:clear_requests()
    local code, out, err = cmd("instances " .. dag .. " --status failed --page-size 5")
    assert.equal(0, code, err)
    local lines = lines_of(out)
    assert.matches("^ID%s+STATUS", lines[1])
    assert.equal(6, #lines)
    for i = 2, 5 do assert.matches("^%d+%s+FAILED%s", lines[i]) end
    assert.equal("4 of 24 instances (FAILED)", lines[6])
    -- every page was read (24 instances, 5 a page)
    assert.equal(5, #sim:requests { route = "list" })
  end)

  it("--status repeats (or takes a comma list); --json carries the statuses asked for", function()
    local code, out = cmd("instances " .. dag .. " --status FAILED --status SUCCESS --json")
    assert.equal(0, code)
    local r = json.decode(out)
    assert.equal(24, #r.instances)
    assert.same({ "FAILED", "SUCCESS" }, r.statuses)
    local _, out2 = cmd("instances " .. dag .. " --status FAILED,SUCCESS --json")
    assert.same(r, json.decode(out2))
    local _, none = cmd("instances " .. dag .. " --status RUNNING --json")
    assert.same({}, json.decode(none).instances)
    assert.equal(24, json.decode(none).total)
  end)

  it("--status with --page is refused, before any call", function()
    sim:clear_requests()
    local code, out, err = cmd("instances " .. dag .. " --status FAILED --page 2")
    assert.equal(2, code)
    assert.equal("", out)
    assert.matches("%-%-page does not go with it", err)
    assert.equal(0, #sim:requests())
  end)

  it("--format json is --json; --format csv is a header and one line per instance", function()
    local _, a = cmd("instances " .. dag .. " --all --json")
    local code, b = cmd("instances " .. dag .. " --all --format json")
    assert.equal(0, code)
    assert.same(json.decode(a), json.decode(b))
    local _, c = cmd("instances " .. dag .. " --format=json --page-size 3")
    assert.equal(3, #json.decode(c).instances)
    local ccode, csv = cmd("instances " .. dag .. " --status FAILED --format csv")
    assert.equal(0, ccode)
    local rows = {}
    for line in csv:gmatch("([^\r\n]*)\r\n") do rows[#rows + 1] = line end
    assert.equal(5, #rows)
    assert.equal("id,status,mtGuid,startPartition,endPartition,startTime,endTime", rows[1])
    assert.matches("^%d+,FAILED,dw%.sales%.[%w_]+,2025%-01%-0[37],2025%-01%-0[37],[%d%-T:]+,[%d%-T:]+$", rows[2])
  end)

  it("refuses a --format it does not know, and --json beside --format csv", function()
    local code, _, err = cmd("instances " .. dag .. " --format xml")
    assert.equal(2, code)
    assert.matches("%-%-format must be table, json or csv", err)
    code, _, err = cmd("plans --format csv --json")
    assert.equal(2, code)
    local e = json.decode(_)
    assert.equal(2, e.exit)
    assert.matches("give one of them", err .. e.error.message)
    code = cmd("detail 1 --format csv")
    assert.equal(2, code)
  end)

  it("plans --format csv: a header and one line per plan, quoted where a field needs it", function()
    local code, out = cmd("plans --no-details --format csv")
    assert.equal(0, code)
    assert.equal("name,displayName,materializeType,metricTimeGranularity,id\r\n"
      .. "sales_daily,Sales daily,RESULT,,5468b0c0462e40e08e44108d8164c7c3\r\n", out:match("^[^\n]*\n[^\n]*\n"))
    sim:scenario(helpers.scenario { tenants = { t1 = { credentials = { UID = { "u-1" } }, plans = {
      { id = "p1", name = "odd", displayName = 'Sales, "daily"', tables = { "a.b.c" } } } } } })
    local _, odd = cmd("plans --format csv")
    assert.equal('name,displayName,materializeType,metricTimeGranularity,id\r\nodd,"Sales, ""daily""",RESULT,DAY,p1\r\n',
      odd)
  end)
end)

-- Issue 17, item 13: a server's strings never drive the terminal.  A plan
-- name that sets the title (OSC ... BEL) and colours the screen (CSI 31m),
-- a table and a stack with escapes and C1 controls: text output strips them
-- (keeping UTF-8 text whose bytes look like C1 in isolation), --json keeps
-- them, escaped as JSON does.
describe("accelerate: control characters a server sent (simulator)", function()
  assert(helpers.read_file(helpers.root .. "/build/lua5.4/accelerate/core.so"), "make build LUA_VERSION=5.4 first")
  local sim, tmp, dag
  local EVIL_NAME = "evil\27]0;pwned\7\27[31mred\27[0m"
  local EVIL_DISPLAY = "\233\148\128\229\148\174\194\133\27[1m"     -- 销售, NEL (U+0085), CSI 1m
  local EVIL_TABLE = "dw.sales.orders\27[2J"
  local EVIL_ERROR = "boom\27[31m\194\155[2J\7 at java.lang.Thread.run"

  local function cmd(argv)
    local env = {
      "ACCELERATE_URL=" .. helpers.quote(sim.url), "ACCELERATE_TENANT_ID=" .. sim.tenant_id,
      "ACCELERATE_AUTH_TYPE=" .. sim.auth_type, "ACCELERATE_AUTH_VALUE=" .. helpers.quote(sim.auth_value),
      "HOME=/nonexistent/accelerate-spec-home", "XDG_CONFIG_HOME=/nonexistent/accelerate-spec-home", "NO_COLOR=1",
    }
    local code, out = sh("cd " .. helpers.quote(helpers.root) .. " && env " .. table.concat(env, " ")
      .. " lua5.4 bin/accelerate " .. argv .. " 2>" .. tmp .. ".err")
    return code, out, helpers.read_file(tmp .. ".err") or ""
  end

  -- no C0 control but tab and newline, no DEL, no ESC, no C1 (as UTF-8: C2 80..C2 9F)
  local function assert_clean(text, what)
    local bad = text:find("[%z\1-\8\11-\31\127]") or text:find("\194[\128-\159]")
    assert.is_nil(bad, what .. " carries a control character: " .. ("%q"):format(text))
  end

  setup(function()
    sim = helpers.start_sim { scenario = "test" }
    tmp = os.tmpname()
    sim:scenario(helpers.scenario { speed = 0,
      tenants = { t1 = { credentials = { UID = { "u-1" } }, plans = {
        { id = "p1", name = EVIL_NAME, displayName = EVIL_DISPLAY, tables = { EVIL_TABLE } },
        { id = "p2", name = EVIL_NAME .. "_ext", materializeType = "EXTERNAL", tables = { "dw.ext.ledger" } } } } },
      failures = { probability = 0, retries = 0, partitions = { { date = "2025-01-02", error = EVIL_ERROR } } } })
    local code, out, err = cmd("create --plan-id p1 --start 2025-01-01 --end 2025-01-03 --json")
    assert.equal(0, code, err)
    dag = json.decode(out).dagName
    sim:advance(100000)
  end)
  teardown(function()
    if sim then sim:stop() end
    os.remove(tmp .. ".err")
    os.remove(tmp)
  end)

  it("strips them from every text output: plans, plan, instances, detail, report, errors", function()
    local code, out, err = cmd("plans")
    assert.equal(0, code, err)
    assert_clean(out, "plans")
    assert.matches("evil%]0;pwned%[31mred%[0m", out)
    assert.truthy(out:find("\233\148\128\229\148\174[1m", 1, true), "the UTF-8 display name is kept")
    code, out = cmd("plans --format csv")
    assert.equal(0, code)
    assert_clean(out:gsub("\r\n", "\n"), "plans --format csv")
    code, out, err = cmd("plan p1")
    assert.equal(0, code, err)
    assert_clean(out, "plan")
    code, out, err = cmd("instances " .. dag)
    assert.equal(0, code, err)
    assert_clean(out, "instances")
    assert.matches("dw%.sales%.orders%[2J", out)
    local failed = json.decode((select(2, cmd("instances " .. dag .. " --status FAILED --json")))).instances[1].id
    code, out, err = cmd("detail " .. failed)
    assert.equal(0, code, err)
    assert_clean(out, "detail")
    assert.matches("boom%[31m%[2J at java", out)
    code, out, err = cmd("report " .. dag)
    assert.equal(1, code, err)
    assert_clean(out, "report")
    assert_clean(err, "report's stderr")
    assert.matches("boom%[31m%[2J at java", out)
    code, out, err = cmd("report " .. dag .. " --verbose")
    assert.equal(1, code, err)
    assert_clean(out, "report --verbose")
    -- an error message the server wrote, on stderr
    sim:fault { route = "plans", kind = "body", status = 200, times = -1,
      body = '{"success":false,"code":"400","errorMsg":"no\\u001b[31m way\\u0007","detailErrorMsg":"x\\u009b2J"}' }
    finally(function() sim:reset_faults() end)
    code, out, err = cmd("plans")
    assert.equal(4, code)
    assert.equal("", out)
    assert_clean(err, "an error on stderr")
    assert.matches("no.?%[31m way", err)
    code, out, err = cmd("plans --json")
    assert.equal(4, code)
    -- (the core itself blanks the controls of an error's message; its detail is the server's)
    assert.truthy(out:find('"detail":"x\194\1552J"', 1, true), "--json keeps the detail as the server wrote it")
    assert_clean(err, "an error on stderr with --json")
  end)

  it("strips them from a campaign's warnings too (an EXTERNAL plan named by the server)", function()
    local path = tmp .. ".campaign.json"
    finally(function() os.remove(path) end)
    local f = assert(io.open(path, "wb"))
    f:write('{"plans": {"materializeType": "EXTERNAL"}, "startTime": "2025-01-01", "endTime": "2025-01-31"}')
    f:close()
    local code, out, err = cmd("campaign plan " .. path)
    assert.equal(0, code, err)
    assert.matches("accelerate: warning: evil%]0;pwned%[31mred%[0m_ext is an EXTERNAL plan", err)
    assert_clean(err, "campaign plan's warnings")
    assert_clean(out, "campaign plan")
  end)

  it("keeps them in --json, escaped as JSON does", function()
    local code, out = cmd("plans --json")
    assert.equal(0, code)
    assert.truthy(out:find("\\u001b]0;pwned\\u0007", 1, true), out)
    assert.equal(EVIL_NAME, json.decode(out)[1].name)
    code, out = cmd("instances " .. dag .. " --json")
    assert.equal(0, code)
    assert.equal(EVIL_TABLE, json.decode(out).instances[1].mtGuid)
    local failed = json.decode((select(2, cmd("instances " .. dag .. " --status FAILED --json")))).instances[1].id
    code, out = cmd("detail " .. failed .. " --json")
    assert.equal(0, code)
    assert.truthy(json.decode(out).msg:find(EVIL_ERROR, 1, true))
  end)
end)
