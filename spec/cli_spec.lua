-- The `accelerate` command: in-process with a fake client (exit codes,
-- --json, progress forms, colour, configuration precedence, secrets), then
-- bin/accelerate as a subprocess against the simulator.
require("spec.helpers").paths()

local cli = require "accelerate.cli"
local util = require "accelerate.util"
local fake = require "spec.fake_client"

local SECRET = "u-1-very-secret"

local function sink()
  local buf = {}
  return {
    write = function(self, ...)
      for i = 1, select("#", ...) do buf[#buf + 1] = tostring(select(i, ...)) end
      return self
    end,
    flush = function(self) return self end,
    text = function() return table.concat(buf) end,
  }
end

local BASE_ENV = {
  ACCELERATE_URL = "http://127.0.0.1:1", ACCELERATE_TENANT_ID = "t1",
  ACCELERATE_AUTH_TYPE = "UID", ACCELERATE_AUTH_VALUE = SECRET, HOME = "/nonexistent/accelerate-spec-home",
}

-- Runs the command in-process.  o: env (overrides), tty = {[1]=bool,[2]=bool},
-- client (a fake), conn (receives the connection settings).
local function run(argv, o)
  o = o or {}
  local out, err = sink(), sink()
  local env = util.shallow_copy(BASE_ENV)
  for k, v in pairs(o.env or {}) do env[k] = v or nil end
  if o.env then for k, v in pairs(o.env) do if v == false then env[k] = nil end end end
  local client = o.client
  local code = cli.main(argv, {
    stdout = out, stderr = err,
    getenv = function(k) return env[k] end,
    isatty = function(fd) return (o.tty or {})[fd] == true end,
    new_client = function(conn)
      if o.conn then for k, v in pairs(conn) do o.conn[k] = v end end
      return client
    end,
    sleep = client and client.sleep, clock = client and client.clock,
    term_width = o.term_width,
  })
  return code, out.text(), err.text()
end

local function plan_client(fail_lots, finish)
  return fake.new { instances = fake.plan("2025-01-01", "2025-01-10", 2, 2, function(li)
    local last = fail_lots and fail_lots[li] and "FAILED" or "SUCCESS"
    return { { 0, "WAITING" }, { li, "RUNNING" }, { finish or (2 * li), last } }
  end) }
end

local BACKFILL = { "backfill", "--plan-id", "plan-42", "--start", "2025-01-01", "--end", "2025-01-10",
  "--lot", "2", "--interval", "1" }

local function args(extra)
  local a = {}
  for _, v in ipairs(BACKFILL) do a[#a + 1] = v end
  for _, v in ipairs(extra or {}) do a[#a + 1] = v end
  return a
end

describe("accelerate command (in-process)", function()
  it("has --help for the command and every subcommand", function()
    local code, out = run { "--help" }
    assert.equal(0, code)
    assert.matches("usage: accelerate", out)
    assert.matches("Exit codes", out)
    assert.matches("ACCELERATE_AUTH_VALUE", out)
    for _, c in ipairs { "backfill", "create", "wait", "report", "repair", "instances", "detail", "lots" } do
      local ccode, cout = run { c, "--help" }
      assert.equal(0, ccode)
      assert.matches("usage: accelerate " .. c, cout)
    end
    local ncode, _, nerr = run {}
    assert.equal(2, ncode)
    assert.matches("usage:", nerr)
  end)

  it("exits 0 when every instance succeeds", function()
    local c = plan_client()
    local code, out = run(args(), { client = c })
    assert.equal(0, code)
    assert.matches("all 10 instances succeeded", out)
    assert.equal(1, c.calls.create)
  end)

  it("exits 1 with a failure report when some fail: by cause, and each instance with --verbose", function()
    local function failing_client()
      local c = plan_client { [2] = true }
      for _, inst in ipairs(c.instances) do
        inst.detail = { msg = "java.lang.RuntimeException: disk full\n\tat a.b(C.java:1)\n\tat d.e(F.java:2)",
          retryCnt = 1, statusTime = { WAITING = "2025-03-25T09:59:00", RUNNING = "2025-03-25T10:00:00",
            FAILED = "2025-03-25T10:02:30" }, sql = { originalSql = "INSERT INTO t SELECT 42" } }
      end
      return c
    end
    local code, out = run(args { "--no-color" }, { client = failing_client() })
    assert.equal(1, code)
    -- both tables of lot 2 failed the same way: one group
    assert.matches("FAILED  2 instances  RuntimeException: disk full\n", out, 1, true)
    assert.matches("    tables:    cat.sch.t1, cat.sch.t2\n", out, 1, true)
    assert.matches("    dates:     2025-01-03..01-04\n", out, 1, true)
    assert.matches("    instances: 1003, 1004\n", out, 1, true)
    assert.matches("not known to be transient: read the stack first, then `accelerate repair dag-1`", out, 1, true)
    assert.matches("timing: queue p50/p95 1m00s/1m00s, run p50/p95 2m30s/2m30s", out, 1, true)
    assert.matches("2 instance(s) failed (1 cause)", out, 1, true)
    assert.is_nil(out:find("C.java", 1, true))       -- frames stay out
    assert.matches("accelerate detail 10", out)
    assert.matches("accelerate repair dag%-1", out)
    local vcode, vout = run(args { "--no-color", "--verbose" }, { client = failing_client() })
    assert.equal(1, vcode)
    assert.matches("FAILED  cat.sch.t1  2025%-01%-03 .. 2025%-01%-04", vout)
    assert.matches("1 retry", vout)
    assert.matches("waited 1m00s, ran 2m30s", vout)
    assert.truthy(vout:find("C.java", 1, true))       -- the whole stack
    assert.matches("sql:", vout)
  end)

  it("carries the failure groups and the timing in --json", function()
    local c = plan_client { [2] = true, [4] = true }
    for i, inst in ipairs(c.instances) do
      inst.detail = { msg = i <= 4 and "java.sql.SQLException: partition p2025010" .. i .. " of cat.sch.t" .. i
        .. " is being loaded by another job, try again later" or "java.lang.OutOfMemoryError: Java heap space",
        statusTime = { WAITING = "2025-03-25T09:59:00", RUNNING = "2025-03-25T10:00:00",
          FAILED = "2025-03-25T10:02:30" } }
    end
    local code, out = run(args { "--json" }, { client = c })
    assert.equal(1, code)
    local r = require("cjson").decode(out)
    assert.equal(1, r.exit)
    assert.equal(2, #r.groups)
    -- two of each: by title then
    assert.equal("OutOfMemoryError: Java heap space", r.groups[1].title)
    assert.is_false(r.groups[1].transient)
    local g = r.groups[2]
    assert.equal(2, g.count)
    assert.is_true(g.transient)
    assert.equal("partition_busy", g.rule)
    assert.same({ "cat.sch.t1", "cat.sch.t2" }, g.tables)
    assert.same({ "2025-01-03", "2025-01-04" }, g.dates)
    assert.same({ "1003", "1004" }, g.instances)
    assert.matches("being loaded", g.sample.msg)
    -- the failed four have statusTime, the others the list's times (none here)
    assert.equal(10, r.timing.instances)
    assert.same({ count = 4, p50 = 150, p95 = 150, max = 150 }, r.timing.run)
    assert.same({ count = 4, p50 = 60, p95 = 60, max = 60 }, r.timing.queue)
    assert.equal(2, #r.timing.by_table)
    assert.is_nil(r.details)
  end)

  it("exits 2 on usage and configuration errors, without calling anything", function()
    local c = plan_client()
    local cases = {
      { "backfill", "--start", "2025-01-01", "--end", "2025-01-02" },
      { "backfill", "--plan-id", "p", "--start", "2025-02-30", "--end", "2025-03-01" },
      { "backfill", "--plan-id", "p", "--start", "2025-01-01", "--end", "2025-01-02", "--lot", "0" },
      { "wait", "dag-1", "--bogus" },
      { "wait", "dag-1", "--interval" },
      { "detail" },
      { "lots", "2025-01-01" },
      { "lots", "2025-01-01", "2025-01-31", "x" },
      { "wait", "dag-1", "--interval", "0" },
      { "frobnicate" },
      { "detail", "1", "--config", "/nonexistent/accelerate.conf" },
    }
    for _, argv in ipairs(cases) do
      local code, _, err = run(argv, { client = c })
      assert.equal(2, code)
      assert.matches("accelerate", err)
    end
    local code, _, err = run({ "detail", "1" }, { client = c, env = { ACCELERATE_TENANT_ID = false } })
    assert.equal(2, code)
    assert.matches("no tenant id", err)
    assert.equal(0, c.calls.create + c.calls.list + c.calls.detail)
  end)

  it("exits 3 on timeout and says how to resume", function()
    local c = plan_client(nil, 1000)
    local code, out = run(args { "--timeout", "30" }, { client = c })
    assert.equal(3, code)
    assert.matches("timed out", out)
    assert.matches("accelerate wait dag%-1", out)
  end)

  it("exits 4 on API and network errors", function()
    local c = plan_client()
    c.create_error = fake.err("api", "plan not found", { code = "404", trace_id = "tr-1" })
    local code, _, err = run(args(), { client = c })
    assert.equal(4, code)
    assert.matches("plan not found", err)
    c = plan_client()
    c.list_errors = { fake.err("http", "unauthorized", { status = 401 }) }
    code, _, err = run({ "wait", "dag-1" }, { client = c })
    assert.equal(4, code)
    assert.matches("unauthorized", err)
  end)

  it("prints the report as JSON that parses back", function()
    local cjson = require "cjson"
    local c = plan_client { [3] = true }
    local code, out = run(args { "--json" }, { client = c })
    assert.equal(1, code)
    local r = cjson.decode(out)
    assert.equal("dag-1", r.dagName)
    assert.is_false(r.ok)
    assert.equal(10, r.total)
    assert.equal(2, r.counts.FAILED)
    assert.equal(8, r.counts.SUCCESS)
    assert.equal(2, #r.failures)
    assert.equal(10, #r.instances)
    assert.equal(1, r.exit)
    assert.is_number(r.requests)
    assert.is_number(r.polls)
    assert.is_number(r.elapsed)
    -- an empty list is [] for a script, not {}
    code, out = run(args { "--json" }, { client = plan_client() })
    assert.equal(0, code)
    assert.matches('"failures":%[%]', out)
    code, out = run({ "lots", "2024-02-28", "2024-03-01", "--json" })
    assert.equal(0, code)
    assert.equal("2024-02-29", cjson.decode(out)[2].startPartition)
  end)

  it("redraws one progress line on a terminal, also between polls", function()
    local c = plan_client()
    local code, _, err = run(args { "--interval", "3", "--max-interval", "3" }, { client = c, tty = { [2] = true } })
    assert.equal(0, code)
    assert.matches("\r\27%[K%[", err)
    assert.matches("SUCCESS 10", err)
    assert.matches("eta", err)
    local redraws = select(2, err:gsub("\r", ""))
    assert.is_true(redraws > c.calls.list)   -- elapsed keeps moving while asleep
    local qcode, _, quiet = run(args { "--quiet" }, { client = plan_client(), tty = { [2] = true } })
    assert.equal(0, qcode)
    assert.equal("", quiet)
  end)

  it("prints one plain line per change when not a terminal", function()
    local c = plan_client()
    local code, _, err = run(args(), { client = c })
    assert.equal(0, code)
    assert.is_nil(err:find("\r", 1, true))
    assert.is_nil(err:find("\27", 1, true))
    local lines = {}
    for line in err:gmatch("[^\n]+") do
      if line:find("SUCCESS", 1, true) then lines[#lines + 1] = line:gsub("^%S+ ", ""):gsub("  elapsed.*", "") end
    end
    assert.is_true(#lines >= 3)
    assert.is_true(#lines < c.calls.list)           -- not one per poll
    for i = 2, #lines do assert.are_not.equal(lines[i - 1], lines[i]) end
  end)

  it("colours the calendar on a terminal, letters otherwise", function()
    local _, out = run(args(), { client = plan_client { [1] = true }, tty = { [1] = true } })
    assert.matches("\27%[31m", out)
    local _, plain = run(args(), { client = plan_client { [1] = true }, tty = { [1] = true },
      env = { NO_COLOR = "1" } })
    assert.is_nil(plain:find("\27", 1, true))
    assert.matches("2025%-01  FFSSSSSSSS", plain)
    assert.matches("F failed", plain)
    local _, flag = run(args { "--no-color" }, { client = plan_client { [1] = true }, tty = { [1] = true } })
    assert.is_nil(flag:find("\27", 1, true))
  end)

  it("takes settings from flags, then environment, then the config file", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p '" .. dir .. "/accelerate'"))
    local f = assert(io.open(dir .. "/accelerate/config", "wb"))
    f:write("# test config\nurl = http://cfg:1\ntenant_id=cfg-tenant\nauth_type=TOKEN\n"
      .. "auth_value_file=" .. dir .. "/secret\n")
    f:close()
    f = assert(io.open(dir .. "/secret", "wb"))
    f:write("from-file-secret\n")
    f:close()
    local env = { XDG_CONFIG_HOME = dir, ACCELERATE_URL = false, ACCELERATE_TENANT_ID = false,
      ACCELERATE_AUTH_TYPE = false, ACCELERATE_AUTH_VALUE = false }
    local conn = {}
    run({ "detail", "1" }, { env = env, conn = conn, client = plan_client() })
    assert.same({ "http://cfg:1", "cfg-tenant", "TOKEN", "from-file-secret" },
      { conn.url, conn.tenant_id, conn.auth_type, conn.auth_value })
    env.ACCELERATE_TENANT_ID = "env-tenant"
    env.ACCELERATE_AUTH_VALUE = "env-secret"
    conn = {}
    run({ "detail", "1" }, { env = env, conn = conn, client = plan_client() })
    assert.same({ "http://cfg:1", "env-tenant", "env-secret" }, { conn.url, conn.tenant_id, conn.auth_value })
    conn = {}
    local _, _, err = run({ "detail", "1", "--tenant-id", "flag-tenant", "--auth-value", "flag-secret" },
      { env = env, conn = conn, client = plan_client() })
    assert.same({ "flag-tenant", "flag-secret" }, { conn.tenant_id, conn.auth_value })
    assert.matches("warning: %-%-auth%-value shows in the process list", err)
    conn = {}
    run({ "detail", "1", "--auth-value-file", dir .. "/secret" }, { env = env, conn = conn, client = plan_client() })
    assert.equal("from-file-secret", conn.auth_value)
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("never prints the auth value, even when an error carries it", function()
    local c = plan_client { [1] = true }
    c.list_errors = { fake.err("http", "server echoed " .. SECRET, { status = 400 }) }
    local code, out, err = run({ "wait", "dag-1", "--verbose" }, { client = c })
    assert.equal(4, code)
    assert.is_nil((out .. err):find(SECRET, 1, true))
    assert.matches("server echoed %*%*%*", err)
  end)

  it("resumes a watch from a journal and refuses a lost create", function()
    local path = os.tmpname()
    os.remove(path)
    local c = plan_client()
    c.create_error = fake.err("timeout", "no answer to the create")
    local code, _, err = run(args { "--journal", path }, { client = c })
    assert.equal(4, code)
    assert.matches("no answer to the create", err)
    code, _, err = run(args { "--journal", path }, { client = c })
    assert.equal(4, code)
    assert.matches("may exist", err)
    assert.matches("%-%-force%-create", err)
    assert.equal(1, c.calls.create)
    code = run(args { "--journal", path, "--force-create" }, { client = c })
    assert.equal(0, code)
    code = run({ "wait", "--journal", path }, { client = c })
    assert.equal(0, code)
    assert.equal(2, c.calls.create)
    os.remove(path)
  end)

  it("repairs the failed ranges, or says what it would do", function()
    local c = plan_client { [2] = true, [3] = true, [5] = true }
    for _, inst in ipairs(c.instances) do inst.detail = { acceleratePlanUuid = { "plan-42" } } end
    c.now = 100
    local code, out = run({ "repair", "dag-1", "--dry-run" }, { client = c })
    assert.equal(0, code)
    assert.matches("would create: 2025%-01%-03 .. 2025%-01%-06, 2 lot%(s%) of 2 day", out)
    assert.matches("would create: 2025%-01%-09 .. 2025%-01%-10", out)
    assert.equal(0, c.calls.create)
    code, out = run({ "repair", "dag-1", "--json" }, { client = c })
    assert.equal(0, code)
    local r = require("cjson").decode(out)
    assert.equal("dag-1", r.repairs)
    assert.equal(2, #r.dags)
    assert.equal(2, c.calls.create)
  end)

  it("refuses to repair a backfill that is still running unless forced", function()
    local c = plan_client(nil, 1000)
    local code, _, err = run({ "repair", "dag-1" }, { client = c })
    assert.equal(2, code)
    assert.matches("unfinished", err)
  end)
end)

-- Subprocess specs against the simulator ---------------------------------------

local sh = require("spec.helpers").sh

describe("bin/accelerate against the simulator", function()
  local helpers = require "spec.helpers"
  assert(helpers.read_file(helpers.root .. "/build/lua5.4/accelerate/core.so"), "make build LUA_VERSION=5.4 first")
  local PLAN = "5468b0c0462e40e08e44108d8164c7c3"
  local sim, tmp

  local function cmd(argv, env_extra)
    local env = {
      "ACCELERATE_URL=" .. helpers.quote(sim.url), "ACCELERATE_TENANT_ID=" .. sim.tenant_id,
      "ACCELERATE_AUTH_TYPE=" .. sim.auth_type, "ACCELERATE_AUTH_VALUE=" .. helpers.quote(sim.auth_value),
      "HOME=/nonexistent/accelerate-spec-home", "XDG_CONFIG_HOME=/nonexistent/accelerate-spec-home",
    }
    for _, e in ipairs(env_extra or {}) do env[#env + 1] = e end
    return sh("env " .. table.concat(env, " ") .. " bin/accelerate " .. argv .. " 2>" .. tmp .. ".err")
  end
  local function stderr() return helpers.read_file(tmp .. ".err") or "" end

  setup(function()
    sim = helpers.start_sim { scenario = "test" }
    tmp = os.tmpname()
  end)
  teardown(function()
    if sim then sim:stop() end
    os.remove(tmp .. ".err")
    os.remove(tmp)
  end)
  before_each(function()
    sim:scenario(helpers.scenario {})
  end)

  it("backfills to success: exit 0, JSON that parses, no secret anywhere", function()
    local code, out = cmd("backfill --plan-id " .. PLAN .. " --start 2025-01-01 --end 2025-01-31 --lot 7 "
      .. "--interval 0.05 --json")
    assert.equal(0, code)
    local r = helpers.json.decode(out)
    assert.is_true(r.ok)
    assert.equal(10, r.total)   -- 5 lots x 2 tables
    assert.is_nil((out .. stderr()):find(sim.auth_value, 1, true))
  end)

  it("exits 1 on failures, and repair --wait brings the dates back to success", function()
    sim:scenario(helpers.scenario { failures = { probability = 0, retries = 0, partitions = {
      { date = "2025-01-03", times = 1, error = "oom" },
      { date = "2025-01-04", table = "dw.sales.orders_by_region", times = 1, error = "partition_locked" },
    } } })
    local code, out = cmd("backfill --plan-id " .. PLAN .. " --start 2025-01-01 --end 2025-01-10 "
      .. "--interval 0.05 --no-color")
    assert.equal(1, code)
    assert.matches("FAILED", out)
    assert.matches("OutOfMemoryError", out)
    local dag = out:match("accelerate repair (%S+)`")
    assert.truthy(dag)
    code, out = cmd("report " .. dag .. " --no-color")
    assert.equal(1, code)
    assert.matches("2025%-01  SSFFSSSSSS", out)
    sim:clear_requests()
    code, out = cmd("repair " .. dag .. " --wait --interval 0.05 --no-color")
    assert.equal(0, code)
    assert.matches("2025%-01%-03 .. 2025%-01%-04", out)
    assert.equal(1, #sim:requests { route = "create" })
    assert.is_nil((out .. stderr()):find(sim.auth_value, 1, true))
  end)

  it("exits 3 on timeout and 4 on a refused auth value or an unreachable server", function()
    sim:scenario(helpers.scenario { speed = 0 })
    local code = cmd("backfill --plan-id " .. PLAN .. " --start 2025-01-01 --end 2025-01-02 "
      .. "--interval 0.05 --timeout 0.3")
    assert.equal(3, code)
    code = cmd("instances some-dag", { "ACCELERATE_AUTH_VALUE=wrong-value" })
    assert.equal(4, code)
    assert.is_nil(stderr():find("wrong-value", 1, true))
    code = cmd("detail 1 --url http://127.0.0.1:1 --retries 0")
    assert.equal(4, code)
    code = cmd("lots 2025-01-01 2025-01-31 7")
    assert.equal(0, code)
    code = cmd("--help")
    assert.equal(0, code)
  end)

  it("detects a real terminal: progress redrawn in place and a coloured calendar", function()
    local has_script = sh("command -v script >/dev/null")
    if has_script ~= 0 then return pending("util-linux `script` is not installed") end
    local inner = "env ACCELERATE_URL=" .. sim.url .. " ACCELERATE_TENANT_ID=" .. sim.tenant_id
      .. " ACCELERATE_AUTH_TYPE=" .. sim.auth_type .. " ACCELERATE_AUTH_VALUE=" .. sim.auth_value
      .. " HOME=/nonexistent/accelerate-spec-home NO_COLOR= bin/accelerate backfill --plan-id " .. PLAN
      .. " --start 2025-01-01 --end 2025-01-05 --interval 0.05"
    local code, out = sh("script -qec " .. helpers.quote(inner) .. " /dev/null")
    assert.equal(0, code)
    assert.truthy(out:find("\r\27[K[", 1, true))
    assert.truthy(out:find("\27[32m", 1, true))
    local _, piped = cmd("backfill --plan-id " .. PLAN .. " --start 2025-01-01 --end 2025-01-05 --interval 0.05")
    assert.is_nil(piped:find("\27", 1, true))
    assert.is_nil(stderr():find("\r", 1, true))
  end)

  it("create, instances and detail print what scripts need", function()
    local code, out = cmd("create --plan-id " .. PLAN .. " --start 2025-01-01 --end 2025-01-04 --lot 2 --json")
    assert.equal(0, code)
    local dag = helpers.json.decode(out).dagName
    assert.truthy(dag)
    code, out = cmd("instances " .. dag .. " --all --json")
    assert.equal(0, code)
    local page = helpers.json.decode(out)
    assert.equal(4, page.total)
    code, out = cmd("detail " .. page.instances[1].id .. " --json")
    assert.equal(0, code)
    assert.equal(tostring(page.instances[1].id), string.format("%.0f", helpers.json.decode(out).taskInstanceId))
  end)

  it("survives kill -9 mid-watch: wait --journal resumes without a second create", function()
    sim:scenario(helpers.scenario { speed = 0 })
    local journal = tmp .. ".journal"
    os.remove(journal)
    sim:clear_requests()
    local env = "env ACCELERATE_URL=" .. helpers.quote(sim.url) .. " ACCELERATE_TENANT_ID=t1 "
      .. "ACCELERATE_AUTH_TYPE=UID ACCELERATE_AUTH_VALUE=" .. helpers.quote(sim.auth_value) .. " HOME=/nonexistent/accelerate-spec-home "
    local _, pid = sh(env .. "bin/accelerate backfill --plan-id " .. PLAN .. " --start 2025-01-01 "
      .. "--end 2025-01-05 --interval 0.05 --max-interval 0.05 --journal " .. journal
      .. " >/dev/null 2>&1 & echo $!")
    pid = pid:match("%d+")
    local seen = helpers.eventually(function()
      local s = helpers.read_file(journal)
      return s and s:find('"state"', 1, true)
    end, 10)
    os.execute("kill -9 " .. pid)
    assert.truthy(seen)
    sim:advance(10 * 86400)
    local code, out = cmd("wait --journal " .. journal .. " --interval 0.05 --json")
    assert.equal(0, code)
    assert.is_true(helpers.json.decode(out).ok)
    assert.equal(1, #sim:requests { route = "create" })
    local j = helpers.read_file(journal)
    assert.is_nil(j:find(sim.auth_value, 1, true))
    os.remove(journal)
  end)
end)

-- Issue 6, item 2: bin/accelerate with a journal when a create's answer is
-- lost (dropped after the server created it, or past --request-timeout): exit 4,
-- the error says the backfill may exist, and no later run creates again
-- unless told to with --force-create.
describe("bin/accelerate with a journal, when a create's answer is lost (simulator)", function()
  local ok_helpers, helpers = pcall(require, "spec.helpers")
  local built = io.open("build/lua5.4/accelerate/core.so", "rb")
  if built then built:close() end
  if not (ok_helpers and built) then
    pending("needs spec/helpers.lua and build/lua5.4/accelerate/core.so (make build LUA_VERSION=5.4)")
    return
  end
  local PLAN = "5468b0c0462e40e08e44108d8164c7c3"
  local RANGE = "--plan-id " .. PLAN .. " --start 2025-01-01 --end 2025-01-03"
  local sim, tmp, journal

  local function cmd(argv)
    local env = "env ACCELERATE_URL=" .. helpers.quote(sim.url) .. " ACCELERATE_TENANT_ID=" .. sim.tenant_id
      .. " ACCELERATE_AUTH_TYPE=" .. sim.auth_type .. " ACCELERATE_AUTH_VALUE=" .. helpers.quote(sim.auth_value)
      .. " HOME=/nonexistent/accelerate-spec-home XDG_CONFIG_HOME=/nonexistent/accelerate-spec-home "
    local code, out = sh(env .. "bin/accelerate " .. argv .. " 2>" .. tmp .. ".err")
    local err = helpers.read_file(tmp .. ".err") or ""
    assert.is_nil((out .. err):find(sim.auth_value, 1, true))
    return code, out, err
  end

  local function creates() return #sim:requests { route = "create" } end

  setup(function()
    sim = helpers.start_sim { scenario = "test" }
    tmp = os.tmpname()
  end)
  teardown(function()
    if sim then sim:stop() end
    os.remove(tmp .. ".err")
    os.remove(tmp)
  end)
  before_each(function()
    sim:reset()
    journal = tmp .. ".journal"
    os.remove(journal)
  end)
  after_each(function()
    sim:reset_faults()
    os.remove(journal)
  end)

  local function refuses_again()
    for _, argv in ipairs {
      "backfill " .. RANGE .. " --interval 0.05 --journal " .. journal,
      "create " .. RANGE .. " --journal " .. journal,
      "wait --journal " .. journal .. " --interval 0.05",
    } do
      local code, _, err = cmd(argv)
      assert.equal(4, code, argv)
      assert.matches("may exist on the server", err)
      assert.matches("accelerate wait DAG --journal " .. journal, err, 1, true)
      assert.matches("--force-create", err, 1, true)
    end
    assert.equal(1, creates())
  end

  it("backfill: a create dropped after the server made it is unknown, and never made again", function()
    sim:fault { route = "create", kind = "drop", after = "respond" }
    local code, _, err = cmd("backfill " .. RANGE .. " --interval 0.05 --journal " .. journal)
    assert.equal(4, code)
    assert.matches("may have been created", err)
    assert.equal(1, creates())
    local j = assert(helpers.read_file(journal))
    assert.matches('"intent"', j)
    assert.matches('"create_unknown"', j)
    assert.is_nil(j:find('"created"', 1, true))
    refuses_again()
    code = cmd("backfill " .. RANGE .. " --interval 0.05 --journal " .. journal .. " --force-create --json")
    assert.equal(0, code)
    assert.equal(2, creates())
  end)

  it("create: a create that outlived --request-timeout is unknown, and never made again", function()
    sim:fault { route = "create", kind = "delay", delay = 1.5 }
    local code, out, err = cmd("create " .. RANGE .. " --request-timeout 0.5 --journal " .. journal)
    assert.equal(4, code)
    assert.equal("", out)
    assert.matches("timed out after the request was sent", err)
    assert.matches("may have been created", err)
    refuses_again()
  end)
end)

-- Issue 10, item 13: one rule per limit, checked by the command before
-- anything, in the command's own words.
describe("accelerate command: limits and messages", function()
  local function refused(argv, pattern, o)
    local c = plan_client()
    local opts = util.shallow_copy(o)
    opts.client = c
    local code, out, err = run(argv, opts)
    assert.equal(2, code, table.concat(argv, " ") .. "\n" .. err)
    assert.equal("", out)
    if pattern then assert.matches(pattern, err, 1, true) end
    assert.equal(0, c.calls.create + c.calls.list + c.calls.detail)
    return err
  end

  it("refuses --interval 0 and --max-interval 0 itself: must be > 0", function()
    local err = refused({ "wait", "dag-1", "--interval", "0" }, "--interval must be a number > 0")
    assert.is_nil(err:find("opts.", 1, true))
    refused({ "wait", "dag-1", "--max-interval", "0" }, "--max-interval must be a number > 0")
    refused({ "wait", "dag-1", "--request-timeout", "0" }, "--request-timeout must be a number > 0")
  end)

  it("says a refused connection setting once, without a doubled prefix", function()
    local code, err = require("spec.helpers").sh("env -i HOME=/nonexistent/accelerate-spec-home ACCELERATE_URL=ftp://x "
      .. "ACCELERATE_TENANT_ID=t ACCELERATE_AUTH_TYPE=UID ACCELERATE_AUTH_VALUE=xyz "
      .. "bin/accelerate detail 1 2>&1 >/dev/null")
    assert.equal(2, code)
    assert.equal(1, select(2, err:gsub("accelerate:", "")), err)
    assert.matches("bad connection settings: url must be", err, 1, true)
  end)

  it("names a missing file once", function()
    local err = refused({ "detail", "1", "--config", "/nonexistent/c" })
    assert.equal(1, select(2, err:gsub("/nonexistent/c", "")), err)
    err = refused({ "detail", "1", "--auth-value-file", "/nonexistent/s" })
    assert.equal(1, select(2, err:gsub("/nonexistent/s", "")), err)
  end)

  it("names a journal that cannot be created once", function()
    local err = refused(args { "--journal", "/nonexistent/dir/j" })
    assert.matches("/nonexistent/dir/j", err, 1, true)
    assert.equal(1, select(2, err:gsub("/nonexistent/dir/j", "")), err)
  end)

  it("checks an instance id as the core does, before calling anything", function()
    refused({ "detail", "" }, "id must be 1-256 printable characters")
    refused({ "detail", ("9"):rep(300) }, "id must be 1-256 printable characters")
    refused({ "detail", "12\n3" }, "id must be 1-256 printable characters")
  end)

  it("reads whole-number options as decimal integers only", function()
    for _, v in ipairs { "0x10", "1e300", "1e2", " 7", "7 ", "+7", "inf", "1.0" } do
      refused(args { "--lot", v }, "--lot must be a whole number")
      refused({ "instances", "dag-1", "--page", v }, "--page must be a whole number")
      refused({ "lots", "2025-01-01", "2025-01-31", v }, "must be a whole number")
    end
    refused({ "detail", "1", "--retries", "0x1" }, "--retries must be a whole number")
    refused({ "wait", "dag-1", "--interval", "0x10" }, "--interval must be a number > 0")
    refused({ "wait", "dag-1", "--timeout", "1e3" }, "--timeout must be a number >= 0")
  end)

  it("refuses in lots the dates create refuses (year 0000), with the same words", function()
    local lerr = refused({ "lots", "0000-01-01", "0000-01-03" })
    local cerr = refused({ "create", "--plan-id", "p", "--start", "0000-01-01", "--end", "0000-01-03" })
    assert.matches("START: '0000-01-01' is not a date (YYYY-MM-DD)", lerr, 1, true)
    assert.matches("--start: '0000-01-01' is not a date (YYYY-MM-DD)", cerr, 1, true)
    refused({ "backfill", "--plan-id", "p", "--start", "2025-01-01", "--end", "0000-01-03" },
      "--end: '0000-01-03' is not a date (YYYY-MM-DD)")
    refused({ "create", "--plan-id", "p", "--start", "2025-01-01", "--end", "2025-01-03", "--lot", "100001" },
      "--lot must be an integer from 1 to 100000")
  end)

  -- Issue 20 item 5: the option the user typed, never the API field it fills.
  it("names the option typed, not the API field, for a date or a range it refuses", function()
    for _, c in ipairs {
      { { "--start", "2025/01/01", "--end", "2025-01-31" }, "--start: '2025/01/01' is not a date (YYYY-MM-DD)" },
      { { "--start", "2025-01-01", "--end", "2025-02-30" }, "--end: '2025-02-30' is not a date (YYYY-MM-DD)" },
      { { "--start", "2025-01-31", "--end", "2025-01-01" }, "--start 2025-01-31 is after --end 2025-01-01" },
      { { "--start", "1900-01-01", "--end", "2025-01-01" }, "--start .. --end 1900-01-01 .. 2025-01-01 is longer" },
    } do
      for _, cmd in ipairs { "backfill", "create" } do
        local argv = { cmd, "--plan-id", "p" }
        for _, a in ipairs(c[1]) do argv[#argv + 1] = a end
        local err = refused(argv, c[2])
        assert.is_nil(err:find("startTime", 1, true), err)
        assert.is_nil(err:find("endTime", 1, true), err)
      end
    end
    local err = refused({ "lots", "2025/01/01", "2025-01-31" }, "START: '2025/01/01' is not a date (YYYY-MM-DD)")
    assert.is_nil(err:find("startTime", 1, true), err)
    refused({ "lots", "2025-01-31", "2025-01-01" }, "START 2025-01-31 is after END 2025-01-01")
    err = refused({ "create", "--plan-id", ("x"):rep(300), "--start", "2025-01-01", "--end", "2025-01-02" },
      "--plan-id and --plan-name must be 1-256 printable characters")
    assert.is_nil(err:find("planId", 1, true), err)
    err = refused({ "instances", "dag-1", "--page", "99999999999" }, "--page must be a whole number from 1 to 2147483647")
    assert.is_nil(err:find("pageIndex", 1, true), err)
    refused({ "instances", "dag-1", "--page-size", "100001" }, "--page-size must be a whole number from 1 to 100000")
  end)

  it("refuses an unknown --status with the known ones and a suggestion, before anything is sent", function()
    local err = refused({ "instances", "dag-1", "--status", "FAILD" },
      "--status: unknown status 'FAILD'; did you mean 'FAILED'?")
    assert.matches("WAITING", err, 1, true)
    assert.matches("SUCCESS", err, 1, true)
    refused({ "instances", "dag-1", "--status", "SUCCESS,RUNING" }, "did you mean 'RUNNING'?")
    refused({ "instances", "dag-1", "--status", "BOGUS" }, "--status: unknown status 'BOGUS'; the statuses are:")
  end)
end)

describe("sim/simctl and examples/openresty/run", function()
  it("say what is wrong without the exit code glued to the message", function()
    local code, out = sh("sim/simctl bogus 2>&1")
    assert.equal(2, code)
    assert.equal("simctl: usage: simctl start|stop|status|env|stop-all DIR (simctl --help)\n", out)
    code, out = sh("examples/openresty/run bogus 2>&1")
    assert.equal(2, code)
    assert.equal("openresty example: usage: examples/openresty/run start|stop|reload\n", out)
  end)
end)

-- Issue 10, items 4, 6, 10 and 12, in-process: what a script and a person
-- get when a write fails, when the auth value is short, and on failures.
describe("accelerate command: outcomes (in-process)", function()
  local cjson = require "cjson"

  -- A stdout whose writes fail after `room` bytes, like a full disk.
  local function full_sink(room)
    local buf, used = {}, 0
    return {
      write = function(self, s)
        if used + #s > room then return nil, "No space left on device", 28 end
        used = used + #s
        buf[#buf + 1] = s
        return self
      end,
      flush = function(self) return self end,
      text = function() return table.concat(buf) end,
    }
  end

  local function run_full(argv, client, room)
    local env = util.shallow_copy(BASE_ENV)
    local err = sink()
    local code = cli.main(argv, { stdout = full_sink(room or 0), stderr = err,
      getenv = function(k) return env[k] end, isatty = function() return false end,
      new_client = function() return client end, sleep = client and client.sleep, clock = client and client.clock })
    return code, err.text()
  end

  it("exits 5 when the output cannot be written, with the dagName on stderr", function()
    local code, err = run_full({ "create", "--plan-id", "p", "--start", "2025-01-01", "--end", "2025-01-02" },
      plan_client())
    assert.equal(5, code)
    assert.matches("output could not be written", err, 1, true)
    assert.matches("No space left on device", err, 1, true)
    assert.matches("dag-1", err, 1, true)
    code, err = run_full(args { "--json" }, plan_client { [1] = true }, 100)
    assert.equal(5, code)
    assert.matches("dag-1", err, 1, true)
    assert.matches("8 SUCCESS, 2 FAILED", err, 1, true)
    local _, out = run { "--help" }
    assert.matches("\n  5  output could not be written", out, 1, true)
  end)

  it("masks a short auth value only in server text, never inside ids", function()
    -- instance ids are 1001..1010: "100" is inside every one of them
    local c = plan_client { [1] = true }
    for _, inst in ipairs(c.instances) do
      inst.detail = { msg = "java.lang.RuntimeException: uid 100 refused\n\tat a.b(C.java:1)",
        sql = { originalSql = "SELECT 100" } }
    end
    local env = { ACCELERATE_AUTH_VALUE = "100" }
    local code, out = run(args { "--no-color" }, { client = c, env = env })
    assert.equal(1, code)
    assert.matches("instances: 1001, 1002", out, 1, true)
    assert.matches("accelerate detail 1001", out, 1, true)
    assert.matches("uid *** refused", out, 1, true)
    assert.is_nil(out:find("uid 100", 1, true))
    code, out = run(args { "--json" }, { client = plan_client { [1] = true }, env = env })
    assert.equal(1, code)
    local r = cjson.decode(out)
    assert.equal("1001", tostring(r.instances[1].id))
    assert.is_nil(out:find("***", 1, true))
    c = plan_client { [1] = true }
    c.instances[1].detail = { msg = "uid 100 refused", sql = "SELECT 1" }
    code, out = run({ "detail", "1001", "--json" }, { client = c, env = env })
    assert.equal(0, code)
    r = cjson.decode(out)
    assert.equal("1001", util.id_string(r.taskInstanceId))
    assert.equal("uid *** refused", r.msg)
    code, out = run({ "instances", "dag-1" }, { client = plan_client(), env = env })
    assert.equal(0, code)
    assert.matches("\n1001 ", out, 1, true)
    -- shorter than the core's minimum (3): masked nowhere
    c = plan_client { [1] = true }
    c.instances[1].detail = { msg = "uid 10 refused" }
    code, out = run({ "detail", "1001" }, { client = c, env = { ACCELERATE_AUTH_VALUE = "10" } })
    assert.equal(0, code)
    assert.matches("uid 10 refused", out, 1, true)
    -- an error a server sent is still masked
    c = plan_client()
    c.list_errors = { fake.err("http", "server echoed 100", { status = 400, detail = "uid=100\nmore" }) }
    local err
    code, out, err = run({ "wait", "dag-1" }, { client = c, env = env })
    assert.equal("", out)
    assert.equal(4, code)
    assert.matches("server echoed ***", err, 1, true)
    assert.is_nil(err:find("100", 1, true))
  end)

  it("shows the server's detailErrorMsg: first line in text, whole in --json", function()
    local c = plan_client()
    c.create_error = fake.err("api", "Failed to create the data backfill task",
      { code = "400", trace_id = "tr-9", detail = "the range is over 100 years\n\tat x.y(Z.java:1)" })
    local code, _, err = run(args(), { client = c })
    assert.equal(4, code)
    assert.matches("Failed to create the data backfill task", err, 1, true)
    assert.matches("the range is over 100 years", err, 1, true)
    assert.is_nil(err:find("Z.java", 1, true))
  end)

  it("prints every failure as JSON on stdout with --json, with the exit code", function()
    local c = plan_client()
    c.create_error = fake.err("api", "Failed to create", { code = "400", trace_id = "tr-9", detail = "too long" })
    local code, out = run(args { "--json" }, { client = c })
    assert.equal(4, code)
    local r = cjson.decode(out)
    assert.same({ kind = "api", message = "Failed to create", code = "400", trace_id = "tr-9", detail = "too long" },
      r.error)
    assert.equal(4, r.exit)
    code, out = run({ "wait", "dag-1", "--interval", "0", "--json" }, { client = plan_client() })
    assert.equal(2, code)
    r = cjson.decode(out)
    assert.equal("usage", r.error.kind)
    assert.equal(2, r.exit)
    code, out = run({ "--json", "frobnicate" })
    assert.equal(2, code)
    assert.equal(2, cjson.decode(out).exit)
    c = plan_client()
    c.list_errors = { fake.err("http", "unauthorized", { status = 401 }) }
    code, out = run({ "wait", "dag-1", "--json" }, { client = c })
    assert.equal(4, code)
    r = cjson.decode(out)
    assert.same({ 401, 4 }, { r.error.status, r.exit })
  end)

  it("gives every --json object an exit field: create, repair, repair --wait", function()
    local code, out = run({ "create", "--plan-id", "p", "--start", "2025-01-01", "--end", "2025-01-02", "--json" },
      { client = plan_client() })
    assert.equal(0, code)
    assert.equal(0, cjson.decode(out).exit)
    local done = plan_client()
    done.now = 100
    code, out = run({ "repair", "dag-1", "--json" }, { client = done })
    assert.equal(0, code)
    assert.equal(0, cjson.decode(out).exit)
    local c = plan_client { [2] = true }
    for _, inst in ipairs(c.instances) do inst.detail = { acceleratePlanUuid = { "plan-42" } } end
    c.now = 100
    code, out = run({ "repair", "dag-1", "--wait", "--json", "--interval", "1" }, { client = c })
    local r = cjson.decode(out)
    assert.equal(code, r.exit)
    assert.equal(1, #r.reports)
    assert.is_number(r.reports[1].exit)
  end)
end)

-- The same against the simulator, through bin/accelerate.
describe("bin/accelerate: outcomes (simulator)", function()
  local helpers = require "spec.helpers"
  local PLAN = "5468b0c0462e40e08e44108d8164c7c3"
  local sim, tmp

  local function env_of(auth)
    return "env -i PATH=\"$PATH\" ACCELERATE_URL=" .. helpers.quote(sim.url) .. " ACCELERATE_TENANT_ID="
      .. sim.tenant_id .. " ACCELERATE_AUTH_TYPE=" .. sim.auth_type .. " ACCELERATE_AUTH_VALUE="
      .. helpers.quote(auth or sim.auth_value) .. " HOME=/nonexistent/accelerate-spec-home "
  end
  -- argv's stdout goes to `to` (a path) or is returned
  local function cmd(argv, to, auth)
    local code, out = sh(env_of(auth) .. "bin/accelerate " .. argv .. (to and (" >" .. to) or "")
      .. " 2>" .. tmp .. ".err")
    return code, out, helpers.read_file(tmp .. ".err") or ""
  end

  setup(function()
    sim = helpers.start_sim { scenario = "test" }
    tmp = os.tmpname()
  end)
  teardown(function()
    if sim then sim:stop() end
    os.remove(tmp .. ".err")
    os.remove(tmp)
  end)
  before_each(function() sim:scenario(helpers.scenario {}) end)

  it("create > /dev/full and create --json > /dev/full exit 5 and name the dagName on stderr", function()
    for _, json in ipairs { "", " --json" } do
      local code, _, err = cmd("create --plan-id " .. PLAN .. " --start 2025-01-01 --end 2025-01-02" .. json,
        "/dev/full")
      assert.equal(5, code, err)
      assert.matches("output could not be written", err, 1, true)
      local dag = err:match("(%x+%-%x+%-%x+%-%x+%-%x+)")
      assert.truthy(dag, err)
      assert.equal(0, (cmd("instances " .. dag, "/dev/null")))
    end
    local code, _, err = cmd("backfill --plan-id " .. PLAN .. " --start 2025-01-01 --end 2025-01-02 "
      .. "--interval 0.05 --quiet", "/dev/full")
    assert.equal(5, code, err)
    assert.matches("4 SUCCESS", err, 1, true)
  end)

  it("never masks a short numeric auth value inside instance ids", function()
    local s = helpers.scenario {}
    s.tenants.t1.credentials.UID = { "8765" }
    s.connection = { tenant_id = "t1", auth_type = "UID", auth_value = "8765" }
    sim:scenario(s)
    local code, out = cmd("backfill --plan-id " .. PLAN .. " --start 2025-01-01 --end 2025-01-05 "
      .. "--interval 0.05 --json", nil, "8765")
    assert.equal(0, code)
    local r = helpers.json.decode(out)
    local ids = {}
    for _, inst in ipairs(r.instances) do ids[#ids + 1] = inst.id end
    assert.matches("8765", table.concat(ids, " "), 1, true)   -- 12876560 is among them
    assert.is_nil(out:find("***", 1, true))
    code, out = cmd("instances " .. r.dagName, nil, "8765")
    assert.equal(0, code)
    assert.matches("12876560 ", out, 1, true)
    code, out = cmd("detail 12876560", nil, "8765")
    assert.equal(0, code)
    assert.matches("taskInstanceId%s+12876560\n", out)
  end)

  it("shows why the server refused a create over its instance limit, in text and in --json", function()
    -- 55 years of one-day lots: more than the simulator's 20000 instances
    -- (over 100 years is refused before anything is sent: workflow_params_spec)
    local code, out, err = cmd("create --plan-id " .. PLAN .. " --start 1990-01-01 --end 2045-01-03")
    assert.equal(4, code)
    assert.equal("", out)
    assert.matches("Failed to create the data backfill task", err, 1, true)
    assert.matches("at most 20000 are allowed", err, 1, true)
    code, out = cmd("create --plan-id " .. PLAN .. " --start 1990-01-01 --end 2045-01-03 --json")
    assert.equal(4, code)
    local r = helpers.json.decode(out)
    assert.equal(4, r.exit)
    assert.equal("api", r.error.kind)
    assert.equal("400", r.error.code)
    assert.matches("at most 20000 are allowed", r.error.detail, 1, true)
    assert.is_string(r.error.trace_id)
  end)
end)

-- Issue 10, item 15: the terminal's own width, the server's page size, and
-- every time saying whose clock it is.
describe("accelerate command: widths, pages and times", function()
  it("draws the progress line as wide as the terminal is now, following a resize", function()
    local widths, asked = { 140 }, 0
    local function term_width(fd)
      assert.equal(2, fd)
      asked = asked + 1
      return widths[1]
    end
    local c = plan_client()
    c.on_list = function(self) if self.calls.list == 6 then widths[1] = 60 end end
    local code, _, err = run(args { "--interval", "1", "--max-interval", "1" },
      { client = c, tty = { [2] = true }, term_width = term_width, env = { COLUMNS = "80" } })
    assert.equal(0, code)
    local longest, last = 0, nil
    for line in err:gmatch("\r\27%[K([^\r\n]*)") do
      longest = math.max(longest, #line)
      last = line
    end
    assert.is_true(longest > 80, "the line was cut at 80 columns: " .. longest)
    assert.is_true(longest <= 139)
    assert.is_true(#last <= 59, "the resize was not followed: " .. #last)
    assert.is_true(asked > 1)
    -- not a terminal answer: $COLUMNS, then 80
    code, _, err = run(args(), { client = plan_client(), tty = { [2] = true },
      term_width = function() return nil end, env = { COLUMNS = "50" } })
    assert.equal(0, code)
    for line in err:gmatch("\r\27%[K([^\r\n]*)") do assert.is_true(#line <= 49) end
  end)

  -- Issue 20 item 6: the failure groups wrap to a terminal's width.
  it("wraps the failure groups to the width of a terminal on stdout", function()
    local function report(tty)
      local c = plan_client { [2] = true }
      for _, inst in ipairs(c.instances) do
        inst.detail = { msg = "java.sql.SQLException: partition p1 of dw.x is being loaded by another job, try again" }
      end
      local code, out = run(args { "--no-color", "--no-calendar" },
        { client = c, tty = { [1] = tty }, term_width = function() return 60 end })
      assert.equal(1, code)
      return out
    end
    local out = report(true)
    local n = 0
    for line in out:gmatch("[^\n]+") do
      if line:match("^FAILED") or line:match("^    ") then
        n = n + 1
        assert.is_true(#line <= 59, line)
      end
    end
    assert.is_true(n >= 6, out)
    assert.matches("\n    being loaded by another job", out)
    assert.matches("SQLException: partition p1 of dw.x is being loaded by another job, try again\n",
      report(false), 1, true)
  end)

  it("says which clock each time is on: Z for ours, 'server time' for the server's", function()
    local c = plan_client { [2] = true }
    for _, inst in ipairs(c.instances) do
      inst.detail = { msg = "boom", statusTime = { WAITING = "2025-03-25T09:59:00", RUNNING = "2025-03-25T10:00:00",
        FAILED = "2025-03-25T10:02:30" }, startTime = "2025-03-25T10:00:00", endTime = "2025-03-25T10:02:30" }
    end
    local code, out, err = run(args { "--no-color", "--verbose" }, { client = c })
    assert.equal(1, code)
    assert.matches("failed at 2025-03-25T10:02:30 (server time)", out, 1, true)
    assert.matches("^backfill dag%-1 created[^\n]*\n%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ ", err)
    code, out = run({ "detail", "1003" }, { client = c })
    assert.equal(0, code)
    assert.matches("startTime%s+2025%-03%-25T10:00:00 %(server time%)\n", out)
    assert.matches("statusTime.FAILED%s+2025%-03%-25T10:02:30 %(server time%)\n", out)
  end)
end)

-- Without the C core (a checkout not built yet), the command says so in one
-- line and what to run, rather than a Lua traceback.
describe("bin/accelerate without the C core", function()
  local helpers = require "spec.helpers"
  it("says the core is not built, with exit 2 and no traceback", function()
    local _, dir = helpers.sh("mktemp -d")
    dir = dir:match("%S+")
    local ok, e = pcall(function()
      assert(helpers.run("cp -r " .. helpers.quote(helpers.root .. "/bin") .. " " .. helpers.quote(helpers.root .. "/lua")
        .. " " .. helpers.quote(dir)))
      local code, out = helpers.sh("cd " .. helpers.quote(dir) .. " && lua5.4 bin/accelerate plans 2>&1")
      assert.equal(2, code, out)
      assert.matches("C module accelerate.core is not built or not installed", out, 1, true)
      assert.matches("make build", out, 1, true)
      assert.is_nil(out:find("stack traceback", 1, true), out)
    end)
    helpers.run("rm -rf " .. helpers.quote(dir))
    assert(ok, e)
  end)
end)

-- Issue 18, point 5: one status line for the watch and the campaign
-- (cli/progress.lua's line), with what each shows.
describe("accelerate command: the one status line", function()
  local progress = require "accelerate.cli.progress"
  local view = require "accelerate.cli.campaign_view"
  local context = require "accelerate.cli.context"

  local function ctx_of(tty, width)
    local err = sink()
    local ctx = context.new { stdout = sink(), stderr = err, getenv = function() return nil end,
      isatty = function() return tty end, term_width = function() return width end }
    return ctx, err
  end

  local function campaign(settled, running)
    local tasks = {}
    for i = 1, 4 do tasks[i] = { task = i, plan = "p", startTime = "2025-01-01", endTime = "2025-01-31" } end
    return { tasks = tasks, states = { succeeded = settled, running = running, pending = 4 - settled - running },
      counts = { SUCCESS = 10 * settled }, elapsed = 60 * settled }
  end

  it("draws a campaign's events above its overall line, redrawn in place and cut to the terminal", function()
    local ctx, err = ctx_of(true, 40)
    local v = view.progress(ctx, { flags = {} })
    v.progress(campaign(1, 1))
    v.event({ event = "stopped", reason = "interrupted\27]0;x\7" })
    v.progress(campaign(2, 1))
    v.finish()
    local text = err.text()
    -- the event on a line of its own (its control characters stripped), the status line drawn again under it
    assert.matches("\r\27%[Kcampaign: stopped %(interrupted%]0;x%): no more creates\n\r\27%[Kcampaign 1/4", text)
    for line in text:gmatch("\r\27%[K(campaign %d[^\r\n]*)") do assert.is_true(#line <= 39, line) end
    assert.matches("\r\27%[Kcampaign 2/4[^\r\n]*\n$", text)
  end)

  it("prints a timestamped line per change when not a terminal, for a campaign and a watch alike", function()
    local ctx, err = ctx_of(false)
    local v = view.progress(ctx, { flags = {} })
    v.progress(campaign(1, 1))
    v.progress(campaign(1, 1))
    v.progress(campaign(2, 0))
    v.finish()
    local lines = {}
    for line in err.text():gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.equal(2, #lines)
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT[%d:]+Z campaign 1/4 tasks settled", lines[1])
    assert.is_nil(err.text():find("\r", 1, true))
    local wctx, werr = ctx_of(false)
    local p = progress.new(wctx, { flags = {} })
    local r = { dagName = "D", total = 2, counts = { RUNNING = 2 }, elapsed = 5 }
    p.update(r)
    p.update(r)
    p.update({ dagName = "D", total = 2, counts = { SUCCESS = 2 }, elapsed = 9 })
    p.finish()
    local wlines = {}
    for line in werr.text():gmatch("[^\n]+") do wlines[#wlines + 1] = line end
    assert.equal(2, #wlines)
    assert.matches("Z D  [^\n]*RUNNING[^\n]*  elapsed 5s  eta ", wlines[1])
  end)

  -- Issue 20 item 6: a narrow terminal gets a shorter line, not a cut one.
  it("fits the watch's line to the terminal: percentage, the counts not zero and the ETA", function()
    local function drawn(width)
      local ctx, err = ctx_of(true, width)
      local p = progress.new(ctx, { flags = {} })
      for i = 1, 3 do
        p.update({ dagName = "D", total = 62, elapsed = 60 * i,
          counts = { SUCCESS = 4 * i, FAILED = 0, RUNNING = 6, WAITING = 56 - 4 * i } })
      end
      p.finish()
      local last
      for line in err.text():gmatch("\r\27%[K([^\r\n]*)") do
        assert.is_true(#line <= width - 1, width .. ": " .. line)
        last = line
      end
      return last
    end
    local wide = drawn(140)
    assert.matches("SUCCESS 12  FAILED 0  RUNNING 6  WAITING 44  3m00s eta ", wide, 1, true)
    for _, width in ipairs { 60, 40 } do
      local line = drawn(width)
      assert.matches("19%", line, 1, true)
      assert.matches("12", line, 1, true)
      assert.matches("44", line, 1, true)
      assert.matches("6", line, 1, true)
      assert.is_nil(line:find("FAILED", 1, true), line)
      assert.matches("eta %d+m%d+s$", line)
    end
  end)
end)
