-- Secrets: everything the project writes during a representative run is
-- scanned for the auth value: the error objects of every kind (message,
-- detail, code, trace_id, tostring), tostring(client), the workflow's errors,
-- bin/accelerate's stdout and stderr in every mode (progress on a pipe,
-- --json, --verbose failure report, the report calendar, each error path,
-- --auth-value on the command line), every file it leaves behind (journals
-- included), even when the server echoes the value back.  Journals must be
-- created 0600 whatever the umask.  Lua 5.4 by default (any of 5.1-5.4 and
-- LuaJIT work: the core is taken from build/<interpreter>/).
local helpers = require "spec.helpers"

do
  local ver = _VERSION:match("%d+%.%d+")
  local build = rawget(_G, "jit") and "luajit" or ("lua" .. ver)
  package.path = helpers.root .. "/lua/?.lua;" .. helpers.root .. "/lua/?/init.lua;" .. package.path
  package.cpath = helpers.root .. "/build/" .. build .. "/?.so;" .. package.cpath
end

local accelerate = require "accelerate"
local workflow = require "accelerate.workflow"

local quote = helpers.quote
local PLAN = "5468b0c0462e40e08e44108d8164c7c3"
local SECRET = "s3cr3t-AUTH-7f9c2e"
local WRONG = "s3cr3t-WRONG-0b1d44" -- a mistyped credential is a secret too
-- Any of these in any output is a leak (a partial mask counts).
local TRACES = { SECRET, WRONG, "s3cr3t", "AUTH-7f9c2e", "WRONG-0b1d44" }

-- Fails when `text` holds any trace of a secret; `where` names the output.
-- The failure message shows the context with the secret itself blanked out.
local function assert_clean(where, text)
  text = tostring(text or "")
  for _, t in ipairs(TRACES) do
    local a = text:find(t, 1, true)
    if a then
      local ctx = text:sub(math.max(1, a - 60), a + #t + 60):gsub("s3cr3t", "<SECRET>")
      error(("%s leaks the auth value (%q found): ...%s..."):format(where, t, ctx), 2)
    end
  end
end

-- Every field of an error object, and its one-line form.
local function assert_clean_error(where, err)
  assert.is_table(err, where .. ": expected an error object")
  assert_clean(where .. " tostring(err)", tostring(err))
  for k, v in pairs(err) do assert_clean(where .. " err." .. tostring(k), v) end
end

local sh = helpers.sh

local function mode_of(path)
  local _, out = sh("stat -c %a " .. quote(path) .. " 2>/dev/null")
  return out:match("%d+")
end

-- A scenario whose connection uses SECRET (and accepts nothing else for UID).
local function secret_scenario(overrides)
  local s = helpers.scenario(overrides)
  s.tenants.t1.credentials.UID = { SECRET }
  s.connection = { tenant_id = "t1", auth_type = "UID", auth_value = SECRET }
  return s
end

local FAILURES = { probability = 0, retries = 0, partitions = {
  { date = "2025-01-03", times = 1, error = "oom" },
  { date = "2025-01-04", table = "dw.sales.orders_by_region", times = 1, error = "partition_locked" },
} }

-- Answers echoing the secret, as a careless gateway or server might.
local ECHO_ENVELOPE = '{"success":false,"code":"' .. SECRET .. '","errorMsg":"auth-value ' .. SECRET
  .. ' refused","detailErrorMsg":"header auth-value: ' .. SECRET .. '\\n  at Gate","traceId":"' .. SECRET .. '"}'
local ECHO_SPRING = '{"timestamp":"2025-01-01T00:00:00.000+00:00","status":500,"error":"' .. SECRET
  .. '","message":"bad header ' .. SECRET .. '","path":"/x"}'
local ECHO_HTML = "<html><head><title>502 " .. SECRET .. "</title></head><body>" .. SECRET .. "</body></html>"
local ECHO_MALFORMED = '{"data": "' .. SECRET .. ', "success": tru'

describe("secrets", function()
  local sim, dir
  local clients = {}

  local function new(extra)
    local o = sim:client_options { timeout = 5, retries = 1 }
    for k, v in pairs(extra or {}) do o[k] = v end
    local c, err = accelerate.new(o)
    if c then clients[#clients + 1] = c end
    return c, err
  end

  setup(function()
    sim = helpers.start_sim { scenario = "test" }
    local p = io.popen("mktemp -d " .. quote(helpers.root .. "/build/test-secrets.XXXXXX"))
    dir = p:read("*l")
    p:close()
  end)

  teardown(function()
    if sim then sim:stop() end
    if dir then helpers.run("rm -rf " .. quote(dir)) end
  end)

  before_each(function()
    sim:scenario(secret_scenario())
    assert.are.equal(SECRET, sim.auth_value)
  end)

  after_each(function() helpers.close_all(clients) end)

  describe("the core and the workflow layer", function()
    it("tostring(client), open and closed, and the closed-client error", function()
      local c = assert(new())
      assert_clean("tostring(client)", tostring(c))
      c:close()
      assert_clean("tostring(closed client)", tostring(c))
      local ok, msg = pcall(c.list_instances, c, "x")
      assert.is_false(ok)
      assert_clean("closed-client error", msg)
    end)

    it("invalid: a bad auth value, an unknown create field holding it, bad dates", function()
      for i, v in ipairs { SECRET .. "\r\nX-Injected: 1", SECRET .. "\0", ("x"):rep(1100) .. SECRET,
                           SECRET .. "\t" } do
        local c, err = new { auth_value = v }
        assert.is_nil(c)
        assert.are.equal("invalid", err.kind)
        assert_clean_error("accelerate.new bad auth_value #" .. i, err)
        local cfg, cerr = accelerate.config(sim:client_options { auth_value = v })
        assert.is_nil(cfg)
        assert_clean_error("accelerate.config bad auth_value #" .. i, cerr)
      end
      local c = assert(new())
      local dag, err = c:create_task { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-02",
        auth_value = SECRET }
      assert.is_nil(dag)
      assert.are.equal("invalid", err.kind)
      assert_clean_error("create_task unknown field", err)
      dag, err = c:create_task { planName = SECRET, startTime = "2025-02-30", endTime = "2025-03-01" }
      assert.is_nil(dag)
      assert_clean_error("create_task bad date", err)
      local _, lerr = workflow.lots("2025-02-29", "2025-03-01", 1)
      assert_clean_error("workflow.lots", lerr)
    end)

    it("network and timeout", function()
      local c = assert(new { url = "http://127.0.0.1:1", retries = 0 })
      local _, err = c:list_instances("x")
      assert.are.equal("network", err.kind)
      assert_clean_error("network (refused)", err)
      local _, cerr = c:create_task { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-02" }
      assert_clean_error("network (refused create)", cerr)

      sim:fault { route = "list", kind = "delay", delay = 2, times = 1 }
      local t = assert(new { timeout = 0.3, retries = 0 })
      local _, terr = t:list_instances("x")
      assert.are.equal("timeout", terr.kind)
      assert_clean_error("timeout", terr)

      sim:fault { route = "create", kind = "drop", times = 1 }
      local _, derr = t:create_task { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-02" }
      assert.are.equal("network", derr.kind)
      assert_clean_error("dropped create", derr)
    end)

    it("http, api and decode, including a server that echoes the value back", function()
      local c = assert(new { retries = 0 })
      local cases = {
        { "http 503", { route = "list", kind = "status", status = 503 }, "http" },
        { "http 429", { route = "list", kind = "ratelimit", retry_after = 0 }, "http" },
        { "html 502", { route = "list", kind = "html", status = 502 }, "http" },
        { "echo envelope 500", { route = "list", kind = "body", status = 500, body = ECHO_ENVELOPE }, "http" },
        { "echo envelope 200", { route = "list", kind = "body", status = 200, body = ECHO_ENVELOPE }, "api" },
        { "echo spring 500", { route = "list", kind = "body", status = 500, body = ECHO_SPRING }, "http" },
        { "echo html 502", { route = "list", kind = "body", status = 502, body = ECHO_HTML,
          content_type = "text/html" }, "http" },
        { "echo html 200", { route = "list", kind = "body", status = 200, body = ECHO_HTML,
          content_type = "text/html" }, "decode" },
        { "echo malformed", { route = "list", kind = "body", status = 200, body = ECHO_MALFORMED }, "decode" },
        { "malformed", { route = "list", kind = "malformed" }, "decode" },
        { "empty", { route = "list", kind = "empty" }, "decode" },
        { "truncated", { route = "list", kind = "truncated" }, "network" },
      }
      for _, case in ipairs(cases) do
        sim:reset_faults()
        sim:fault(case[2])
        local page, err = c:list_instances("x")
        assert.is_nil(page, case[1])
        assert.are.equal(case[3], err.kind, case[1] .. ": " .. tostring(err))
        assert_clean_error(case[1], err)
      end
      sim:reset_faults()
      sim:fault { route = "create", kind = "body", status = 200, body = ECHO_ENVELOPE }
      local _, cerr = c:create_task { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-02" }
      assert_clean_error("echo on create", cerr)
      sim:fault { route = "detail", kind = "body", status = 500, body = ECHO_ENVELOPE, times = -1 }
      local details, errors = c:task_details({ "1", "2" }, { concurrency = 2 })
      assert.is_table(errors)
      for id, e in pairs(errors) do assert_clean_error("task_details error " .. id, e) end
      assert.is_nil(next(details or {}))
      sim:reset_faults()
      -- api: an unknown dag, the secret under the wrong auth type (403)
      local _, aerr = c:list_instances("no-such-dag")
      assert.are.equal("api", aerr.kind)
      assert_clean_error("api 404", aerr)
      local w = assert(new { auth_type = "TOKEN" })
      local _, werr = w:task_detail("1")
      assert_clean_error("403 wrong auth type", werr)
      -- the instances iterator raises its error
      sim:fault { route = "list", kind = "body", status = 500, body = ECHO_ENVELOPE, times = -1 }
      local ok, ierr = pcall(function() for _ in c:instances("x") do end end)
      assert.is_false(ok)
      assert_clean_error("instances iterator", ierr)
    end)

    it("workflow errors and a journaled backfill whose create answer was lost", function()
      local c = assert(new { retries = 0 })
      local journal = dir .. "/inproc.journal"
      os.remove(journal)
      sim:fault { route = "create", kind = "drop", after = "respond", times = 1 }
      local params = { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-04", dateIntervalOfLot = 2 }
      local r, err = workflow.backfill(c, params, { journal = journal, interval = 0.05 })
      assert.is_nil(r)
      assert_clean_error("workflow.backfill lost create", err)
      local r2, err2 = workflow.backfill(c, params, { journal = journal, interval = 0.05 })
      assert.is_nil(r2)
      assert.are.equal("create_unknown", err2.kind)
      assert_clean_error("workflow.backfill refusal", err2)
      assert_clean("journal " .. journal, helpers.read_file(journal))
      assert.are.equal("600", mode_of(journal))
      -- a successful journaled backfill, with a failure report and details
      sim:scenario(secret_scenario { failures = FAILURES })
      local ok_journal = dir .. "/inproc-ok.journal"
      local rep = assert(workflow.backfill(c, { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-06" },
        { journal = ok_journal, interval = 0.05 }))
      assert.is_false(rep.ok)
      assert_clean("workflow report", helpers.json.encode(rep))
      assert_clean("workflow.summary", workflow.summary(rep))
      assert_clean("journal " .. ok_journal, helpers.read_file(ok_journal))
      assert.are.equal("600", mode_of(ok_journal))
      -- a journal that cannot be created, and a watch of an unknown backfill
      local _, jerr = workflow.backfill(c, params, { journal = dir .. "/no-such-dir/j.journal" })
      assert_clean_error("unwritable journal", jerr)
      local _, werr = workflow.wait(c, "no-such-dag", { timeout = 2, interval = 0.05 })
      assert_clean_error("workflow.wait unknown dag", werr)
    end)
  end)

  describe("bin/accelerate", function()
    local work, errfile
    -- Runs the command from a private working folder (TMPDIR and HOME there
    -- too, so any file it writes is scanned), umask 000 so that a journal's
    -- 0600 cannot come from the umask.  Returns code, stdout, stderr.
    local function cli(argv, env_extra, auth_value)
      local env = {
        "ACCELERATE_URL=" .. quote(sim.url), "ACCELERATE_TENANT_ID=t1", "ACCELERATE_AUTH_TYPE=UID",
        "HOME=" .. quote(work), "XDG_CONFIG_HOME=" .. quote(work .. "/xdg"), "TMPDIR=" .. quote(work),
        "NO_COLOR=",
      }
      if auth_value ~= false then env[#env + 1] = "ACCELERATE_AUTH_VALUE=" .. quote(auth_value or SECRET) end
      for _, e in ipairs(env_extra or {}) do env[#env + 1] = e end
      local code, out = sh("cd " .. quote(work) .. " && umask 000 && env -u ACCELERATE_CONFIG "
        .. table.concat(env, " ") .. " " .. quote(helpers.root .. "/bin/accelerate") .. " " .. argv
        .. " 2>" .. quote(errfile) .. " </dev/null")
      local err = helpers.read_file(errfile) or ""
      assert_clean("`accelerate " .. argv .. "` stdout", out)
      assert_clean("`accelerate " .. argv .. "` stderr", err)
      return code, out, err
    end

    setup(function()
      work = dir .. "/cli"
      errfile = dir .. "/cli.stderr"
      os.execute("mkdir -p " .. quote(work))
    end)

    local BF = "backfill --plan-id " .. PLAN .. " --start 2025-01-01 --end 2025-01-10 --interval 0.05 "

    it("backfill with progress on a pipe, --json, --verbose, report, repair, journals", function()
      sim:scenario(secret_scenario { failures = FAILURES })
      local code, out, err = cli(BF .. "--journal bf.journal")
      assert.are.equal(1, code)
      assert.matches("FAILED", out)
      assert.is_true(#err > 0) -- progress lines went to stderr
      local dag = out:match("accelerate repair (%S+)`")
      assert.truthy(dag)
      assert.are.equal("600", mode_of(work .. "/bf.journal"))
      cli(BF .. "--journal bf.journal") -- resumed from the journal
      code = cli("report " .. dag)
      assert.are.equal(1, code)
      cli("report " .. dag .. " --verbose")
      cli("report " .. dag .. " --json")
      cli("wait " .. dag .. " --json --verbose")
      cli("instances " .. dag .. " --all --json")
      cli("instances " .. dag)
      local _, iout = cli("instances " .. dag .. " --all --json")
      local id = helpers.json.decode(iout).instances[1].id
      cli("detail " .. id)
      cli("detail " .. id .. " --json --verbose")
      cli("repair " .. dag .. " --dry-run")
      code = cli("repair " .. dag .. " --wait --interval 0.05 --journal repair.journal --verbose")
      assert.are.equal(0, code)
      assert.are.equal("600", mode_of(work .. "/repair.journal"))
      code = cli("create --plan-id " .. PLAN .. " --start 2025-01-01 --end 2025-01-02 --json --journal c.journal")
      assert.are.equal(0, code)
      assert.are.equal("600", mode_of(work .. "/c.journal"))
      cli(BF .. "--json --verbose")
      cli("lots 2025-01-01 2025-01-31 7")
      cli("--help")
      cli("backfill --help")
    end)

    it("error paths: wrong value, network, bad dates, usage, echoed value", function()
      local code, _, err = cli("instances some-dag", nil, WRONG)
      assert.are.equal(4, code)
      assert.is_true(#err > 0)
      cli("instances some-dag --verbose --json", nil, WRONG)
      code = cli("detail 1 --url http://127.0.0.1:1 --retries 0 --verbose")
      assert.are.equal(4, code)
      cli(BF .. "--url http://127.0.0.1:1 --retries 0 --json")
      code = cli("backfill --plan-id " .. PLAN .. " --start 2025-02-30 --end 2025-03-01")
      assert.are.equal(2, code)
      cli("backfill --plan-id " .. PLAN .. " --start 2025-03-01 --end 2025-02-01 --json")
      cli("backfill --bogus-option")
      cli("instances", nil, false) -- no auth value at all
      cli("instances x --auth-value-file " .. quote(work .. "/no-such-file"), nil, false)
      code = cli("instances x", nil, SECRET .. "\r\nX-Injected: 1")
      assert.is_true(code ~= 0)
      -- the server echoes the value back in every error field
      sim:fault { route = "*", kind = "body", status = 500, body = ECHO_ENVELOPE, times = -1 }
      code = cli("instances some-dag --retries 0")
      assert.are.equal(4, code)
      cli("detail 1 --retries 0 --verbose --json")
      cli(BF .. "--retries 0 --verbose")
      sim:reset_faults()
      sim:fault { route = "*", kind = "body", status = 502, body = ECHO_HTML, content_type = "text/html", times = -1 }
      cli("detail 1 --retries 0 --verbose")
      sim:reset_faults()
      sim:fault { route = "create", kind = "drop", after = "respond", times = 1 }
      code = cli(BF .. "--journal lost.journal")
      assert.are.equal(4, code)
      code = cli(BF .. "--journal lost.journal --verbose")
      assert.are.equal(4, code)
      assert.are.equal("600", mode_of(work .. "/lost.journal"))
    end)

    it("--auth-value on the command line works, warns, and is never printed", function()
      local code, _, err = cli("instances no-such-dag --auth-value " .. SECRET, nil, false)
      assert.are.equal(4, code) -- the simulator's 404: the value was accepted
      assert.matches("warning", err)
      code, _, err = cli("--auth-value " .. SECRET .. " " .. BF .. "--json", nil, false)
      assert.are.equal(0, code)
      assert.matches("warning", err)
      local cfg = work .. "/config"
      local f = assert(io.open(cfg, "wb"))
      f:write("auth_value = " .. SECRET .. "\n")
      f:close()
      code = cli("--config " .. quote(cfg) .. " instances no-such-dag --verbose", nil, false)
      assert.are.equal(4, code)
      local vf = work .. "/value"
      f = assert(io.open(vf, "wb"))
      f:write(SECRET .. "\n")
      f:close()
      code = cli("--auth-value-file " .. quote(vf) .. " instances no-such-dag", nil, false)
      assert.are.equal(4, code)
    end)

    it("campaign run with notify: no payload, header or warning holds the auth value", function()
      sim:scenario(secret_scenario { failures = FAILURES })
      sim:clear_requests()
      local spec = { name = "secret-notify", repair_rounds = 1, notify = { url = sim.url .. "/__sim/notify" },
        backfills = { { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-10" } } }
      local f = assert(io.open(work .. "/notify.json", "wb"))
      f:write(helpers.json.encode(spec))
      f:close()
      -- the first POST fails: its retry's warning path runs too
      sim:fault { route = "notify", kind = "status", status = 500, times = 1 }
      local code = cli("campaign run notify.json --journal notify.journal --interval 0.05 --json")
      assert.are.equal(1, code) -- the oom failure is not transient: the task fails
      local reqs = sim:requests { route = "notify" }
      assert.is_true(#reqs >= 5, #reqs .. " notify POSTs")
      for i, q in ipairs(reqs) do
        assert_clean("notify POST " .. i .. " body", q.body)
        for k, v in pairs(q.headers) do assert_clean("notify POST " .. i .. " header " .. k, v) end
      end
      sim:reset_faults()
    end)

    it("leaves no trace in any file it wrote (journals included), all journals 0600", function()
      local _, list = sh("cd " .. quote(work) .. " && find . -type f ! -name config ! -name value")
      local n = 0
      for path in list:gmatch("[^\n]+") do
        n = n + 1
        assert_clean("file " .. path, helpers.read_file(work .. "/" .. path:sub(3)))
        if path:match("%.journal$") then
          assert.are.equal("600", mode_of(work .. "/" .. path:sub(3)), path)
        end
      end
      assert.is_true(n >= 4, "expected the journals of the earlier runs")
    end)
  end)
end)

-- Issue 10, item 5: text is redacted before it is cut, everywhere it is cut.
-- A secret that straddles a cut must leave no fragment of itself: the value
-- is slid across each cut, one byte at a time.
describe("secrets across every cut", function()
  local VALUE = "Zk7QpLw2XvR9mTb4Yc" -- 18 characters, none of which the filler uses
  local CFG = { auth_value = VALUE }
  -- any 5 consecutive characters of the value are a fragment
  local function assert_no_fragment(where, text)
    text = tostring(text or "")
    for i = 1, #VALUE - 4 do
      local frag = VALUE:sub(i, i + 4)
      if text:find(frag, 1, true) then
        error(("%s keeps a fragment of the value (%q) in %q"):format(where, frag, text), 2)
      end
    end
  end
  local function check_err(where, err)
    assert.is_table(err, where)
    for _, f in ipairs { "message", "detail", "code", "trace_id" } do
      assert_no_fragment(where .. " " .. f, err[f])
    end
    assert_no_fragment(where .. " tostring", tostring(err))
  end
  -- a filler of n bytes, the value, and filler after it
  local function around(n)
    return ("-"):rep(n) .. VALUE .. ("-"):rep(40)
  end
  local function offsets(cut)
    local out = {}
    for n = math.max(0, cut - #VALUE - 24), cut + 4 do out[#out + 1] = n end
    return out
  end

  it("in an api error's message (cut at 300) and detail (cut at 8 KiB)", function()
    for _, n in ipairs(offsets(300)) do
      local body = helpers.json.encode { success = false, code = "400", errorMsg = around(n),
        detailErrorMsg = around(n), traceId = "t" }
      local _, err = accelerate.decode("task_detail", 200, {}, body, CFG)
      check_err("api message at offset " .. n, err)
    end
    for _, n in ipairs(offsets(8192)) do
      local body = helpers.json.encode { success = false, code = "400", errorMsg = "x",
        detailErrorMsg = around(n) }
      local _, err = accelerate.decode("task_detail", 200, {}, body, CFG)
      check_err("api detail at offset " .. n, err)
    end
  end)

  it("in an http error's message (a gateway's JSON) and an HTML page's title", function()
    for _, n in ipairs(offsets(300)) do
      local _, err = accelerate.decode("task_detail", 502, {}, helpers.json.encode { message = around(n) }, CFG)
      check_err("http message at offset " .. n, err)
    end
    for _, n in ipairs(offsets(120)) do
      local html = "<html><head><title>" .. around(n) .. "</title></head></html>"
      local _, err = accelerate.decode("task_detail", 502, {}, html, CFG)
      check_err("HTML title at offset " .. n, err)
      _, err = accelerate.decode("task_detail", 200, {}, html, CFG)
      check_err("HTML 200 title at offset " .. n, err)
      _, err = accelerate.decode("task_detail", 502, {}, around(n), CFG)
      check_err("plain text at offset " .. n, err)
    end
  end)

  it("in a trace id, from the body or a header", function()
    for _, n in ipairs(offsets(300)) do
      local _, err = accelerate.decode("task_detail", 200, { ["X-Trace-Id"] = around(n) }, "", CFG)
      check_err("header trace id at offset " .. n, err)
      local body = helpers.json.encode { success = false, code = "500", errorMsg = "x", traceId = around(n) }
      _, err = accelerate.decode("task_detail", 200, {}, body, CFG)
      check_err("body trace id at offset " .. n, err)
    end
  end)

  it("in a trace id header cut by the transport (128 bytes)", function()
    local sim = helpers.start_sim { scenario = "test" }
    local ok, e = pcall(function()
      local c = assert(accelerate.new(sim:client_options { retries = 0 }))
      for _, n in ipairs(offsets(128)) do
        sim:reset_faults()
        sim:fault { route = "detail", kind = "html", status = 502, headers = { ["X-Trace-Id"] = around(n) } }
        -- the server knows no such value: redaction is ours to do
        local c2 = assert(accelerate.new(sim:client_options { retries = 0, auth_value = VALUE }))
        local _, err = c2:task_detail("1")
        c2:close()
        check_err("transport trace id at offset " .. n, err)
      end
      c:close()
    end)
    sim:stop()
    assert(ok, e)
  end)
end)
