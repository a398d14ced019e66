-- `accelerate campaign plan|run|status` as a person runs it, against the
-- simulator: the dry run, a run with its progress, grid and exit codes, the
-- failure budget in --json, SIGINT (exit 130, the resume command, the
-- journal complete, then a resume that creates nothing twice), a misspelt
-- plan, usage errors, and the examples of docs/campaign.md.
local helpers = require "spec.helpers"

local json = helpers.json

local sim, tmp, jpath, spec_path

local function env() return helpers.command_env(sim, { "NO_COLOR=1" }) end

local function bin() return helpers.quote(helpers.root .. "/bin/accelerate") end

-- code, stdout, stderr
local function cmd(argv)
  local code, out, err = helpers.command(sim, argv, { "NO_COLOR=1" })
  return code, out, err
end

local function write(path, tbl)
  local f = assert(io.open(path, "wb"))
  f:write(type(tbl) == "string" and tbl or json.encode(tbl))
  f:close()
end

local function spec(over)
  local s = { plans = { materializeType = "RESULT", names = { "sales_daily", "gmv_monthly" } },
    startTime = "2025-01-01", endTime = "2025-03-31", chunk = "month", max_in_flight = 2 }
  for k, v in pairs(over or {}) do s[k] = v end
  write(spec_path, s)
  return spec_path
end

local function creates()
  local out = {}
  for _, q in ipairs(sim:requests { route = "create" }) do
    local b = json.decode(q.body)
    out[#out + 1] = b.planId .. " " .. b.startTime .. " " .. b.endTime
  end
  return out
end

local function journal_events(kind)
  local out = {}
  for line in (helpers.read_file(jpath) or ""):gmatch("[^\n]+") do
    local ev = json.decode(line)
    if ev and ev.event == kind then out[#out + 1] = ev end
  end
  return out
end

setup(function()
  sim = helpers.start_sim { scenario = "test" }
  tmp = os.tmpname()
end)

teardown(function()
  if sim then sim:stop() end
  for _, s in ipairs { "", ".err", ".out", ".rc", ".pid" } do os.remove(tmp .. s) end
end)

before_each(function()
  sim:scenario(helpers.scenario {})
  jpath = os.tmpname()
  os.remove(jpath)
  spec_path = os.tmpname() .. ".json"
end)

after_each(function()
  os.remove(jpath)
  os.remove(spec_path)
end)

describe("accelerate campaign", function()
  it("plans the tasks in order with their instances and the total, sending only plan lookups", function()
    local code, out, err = cmd("campaign plan " .. spec())
    assert.equal(0, code, err)
    local rows = {}
    for plan, s, e, n in out:gmatch("\n%s+%d+%s+(%S+)%s+(%S+)%s+(%S+)%s+%d+%s+(%d+)") do
      rows[#rows + 1] = plan .. " " .. s .. " " .. e .. " " .. n
    end
    assert.same({ "sales_daily 2025-01-01 2025-01-31 31", "gmv_monthly 2025-01-01 2025-01-31 31",
      "sales_daily 2025-02-01 2025-02-28 28", "gmv_monthly 2025-02-01 2025-02-28 28",
      "sales_daily 2025-03-01 2025-03-31 31", "gmv_monthly 2025-03-01 2025-03-31 31" }, rows)
    assert.matches("total: 6 tasks, 180 instances", out, 1, true)
    local _, jout = cmd("campaign plan " .. spec_path .. " --json")
    local j = assert(json.decode(jout))
    assert.equal(180, j.total.instances)
    assert.equal(6, #j.tasks)
    for _, q in ipairs(sim:requests()) do assert.is_true(q.route == "plans" or q.route == "plan", q.route) end
  end)

  it("runs a campaign: a line per task on stderr, the grid, exit 0; status reads the journal alone", function()
    local code, out, err = cmd("campaign run " .. spec() .. " --journal " .. jpath .. " --interval 0.02")
    assert.equal(0, code, err)
    assert.matches("[1/6] sales_daily 2025-01: created ", err, 1, true)
    assert.matches("%[6/6%] gmv_monthly 2025%-03: backfill %S+ settled, task succeeded", err)
    assert.matches("campaign 6/6 tasks settled (6 succeeded, 0 failed)", err, 1, true)
    assert.matches("sales_daily%s+S%s+S%s+S\n", out)
    assert.matches("all 6 tasks succeeded (270 instances)", out, 1, true)
    assert.equal(6, #creates())
    sim:clear_requests()
    code, out = cmd("campaign status " .. jpath)
    assert.equal(0, code)
    assert.matches("gmv_monthly%s+S%s+S%s+S\n", out)
    local jout
    code, jout = cmd("campaign status " .. jpath .. " --json")
    assert.equal(0, code)
    local st = assert(json.decode(jout))
    assert.is_true(st.ok)
    assert.equal(6, st.states.succeeded)
    assert.same({}, sim:requests())
    -- the same command again: nothing new to create
    code = cmd("campaign run " .. spec_path .. " --journal " .. jpath .. " --json")
    assert.equal(0, code)
    assert.same({}, sim:requests { route = "create" })
  end)

  it("stops at the failure budget: exit 1, and --json says which stop", function()
    sim:scenario(helpers.scenario { failures = { retries = 0, partitions = {
      { date = "2025-01-10", table = "dw.sales.orders_daily", error = "oom" } } } })
    local code, out, err = cmd("campaign run " .. spec { max_in_flight = 1, failure_budget = 0 } .. " --journal "
      .. jpath .. " --interval 0.02 --json")
    assert.equal(1, code, err)
    local r = assert(json.decode(out))
    assert.equal("failure_budget", r.stopped)
    assert.equal(1, r.exit)
    assert.is_false(r.ok)
    assert.equal(1, #r.groups)
    assert.matches("OutOfMemoryError", r.groups[1].title, 1, true)
    assert.equal(1, #creates())
  end)

  -- Starts argv in the background, sends `signal` once the journal has
  -- more state lines than `after`; returns its exit code and stderr.
  local function interrupted(argv, signal, after)
    local sh = ("%s %s %s >%s.out 2>%s.err & echo $! >%s.pid; wait $!; echo $? >%s.rc"):format(
      env(), bin(), argv, tmp, tmp, tmp, tmp)
    os.remove(tmp .. ".rc")
    os.remove(tmp .. ".pid")
    assert(helpers.run("bash -c " .. helpers.quote(sh) .. " >/dev/null 2>&1 &"))
    assert.is_true(helpers.eventually(function() return #journal_events("state") > after end, 10))
    local pid = assert(tonumber(helpers.read_file(tmp .. ".pid"):match("%d+")))
    os.execute("kill -" .. signal .. " " .. pid)
    assert.truthy(helpers.eventually(function() return helpers.read_file(tmp .. ".rc") end, 15))
    return tonumber(helpers.read_file(tmp .. ".rc"):match("%d+")), helpers.read_file(tmp .. ".err")
  end

  it("on SIGINT or SIGTERM stops submitting, journals the stop, exits 130 with the resume command; "
    .. "the resume creates nothing twice", function()
    -- slow enough that the signal lands while the campaign runs (at 1000 a
    -- loaded machine sometimes finished it first)
    sim:scenario(helpers.scenario { speed = 300 })
    local argv = "campaign run " .. spec() .. " --journal " .. jpath .. " --interval 0.05"
    local code, err = interrupted(argv, "INT", 0)
    assert.equal(130, code, err)
    assert.matches("resume with `accelerate campaign run " .. spec_path .. " --journal " .. jpath .. "`", err, 1, true)
    assert.equal("interrupted", journal_events("stopped")[1].reason)
    -- every create the server received has its dagName in the journal
    local sent = #creates()
    assert.is_true(sent >= 2 and sent < 6, tostring(sent))
    assert.equal(sent, #journal_events("created"))
    -- the resume, stopped in turn by SIGTERM
    code, err = interrupted(argv, "TERM", #journal_events("state"))
    assert.equal(130, code, err)
    assert.equal(2, #journal_events("stopped"))
    assert.equal(#creates(), #journal_events("created"))
    local _, err2
    code, _, err2 = cmd(argv)
    assert.equal(0, code, err2)
    local seen = {}
    for _, k in ipairs(creates()) do
      assert.is_nil(seen[k], k)
      seen[k] = true
    end
    assert.equal(6, #creates())
  end)

  it("refuses a misspelt plan before any create, with the names near it (exit 2)", function()
    local path = spec { plans = { names = { "sales_daily", "gmv_montly" } } }
    local code, _, err = cmd("campaign run " .. path .. " --journal " .. jpath)
    assert.equal(2, code)
    assert.matches("did you mean 'gmv_monthly'", err, 1, true)
    assert.same({}, sim:requests { route = "create" })
    assert.same({}, journal_events("intent"))
  end)

  it("refuses usage errors with exit 2: no --journal, another subcommand, a spec that is not one", function()
    local code, _, err = cmd("campaign run " .. spec())
    assert.equal(2, code)
    assert.matches("--journal FILE", err, 1, true)
    code = cmd("campaign start " .. spec_path)
    assert.equal(2, code)
    code, _, err = cmd("campaign plan " .. spec_path .. " --journal " .. jpath)
    assert.equal(2, code)
    assert.matches("does not apply to campaign plan", err, 1, true)
    write(spec_path, "{ not json")
    code, _, err = cmd("campaign plan " .. spec_path)
    assert.equal(2, code)
    assert.matches("not a JSON object", err, 1, true)
    code, _, err = cmd("campaign plan " .. spec { max_inflight = 3 })
    assert.equal(2, code)
    assert.matches("unknown field max_inflight", err, 1, true)
    assert.same({}, sim:requests())
  end)

  it("plans the examples of docs/campaign.md", function()
    local doc = assert(helpers.read_file(helpers.root .. "/docs/campaign.md"))
    local want = { 6, 27 }
    local i = 0
    for block in doc:gmatch("```json\n(.-)```") do
      i = i + 1
      assert.is_table(json.decode(block), "example " .. i .. " does not parse")
      write(spec_path, block)
      local code, out, err = cmd("campaign plan " .. spec_path)
      assert.equal(0, code, err)
      assert.matches("total: " .. want[i] .. " tasks", out, 1, true)
    end
    assert.equal(2, i)
  end)

  it("has a help page with examples", function()
    local code, out = cmd("campaign --help")
    assert.equal(0, code)
    assert.matches("accelerate campaign run SPEC.json --journal FILE", out, 1, true)
    assert.matches("Examples:\n  accelerate campaign plan", out, 1, true)
    local _, main = cmd("--help")
    assert.matches("\n  campaign ", main, 1, true)
  end)
end)


-- issue 17, items 7-10: a bad spec is refused (exit 2) naming where, and
-- nothing is sent.
describe("accelerate campaign: bad input refused, not half-used", function()
  local ENTRY = '{"plan":"sales_daily","startTime":"2025-01-01","endTime":"2025-01-31"}'
  local ENTRY2 = '{"plan":"gmv_monthly","startTime":"2025-01-01","endTime":"2025-01-31"}'

  local function refused(text, want)
    write(spec_path, text)
    for _, sub in ipairs { "plan " .. spec_path, "run " .. spec_path .. " --journal " .. jpath } do
      local code, out, err = cmd("campaign " .. sub)
      assert.equal(2, code, out .. err)
      assert.matches(want, err, 1, true)
    end
    assert.same({}, sim:requests())
    assert.is_nil(helpers.read_file(jpath))
  end

  -- item 7: the null used to drop every entry after it
  it("refuses a null inside a list, naming its path", function()
    refused('{"backfills":[' .. ENTRY .. ',null,' .. ENTRY2 .. ']}', "backfills[2]")
    refused('{"backfills":[' .. ENTRY .. '],"transient":["timeout",null,"busy"]}', "transient[2]")
  end)

  -- item 8: it used to pass `campaign plan` and crash every run at the first failure
  it("refuses a transient pattern that is not a valid Lua pattern", function()
    refused('{"backfills":[' .. ENTRY .. '],"transient":["java heap[space"]}', "transient[1]")
  end)

  -- item 10: 0001-01-01 .. 9999-12-31 took 45 s and 1 GB before anything was sent
  it("refuses a range longer than 100 years", function()
    refused('{"backfills":[{"plan":"sales_daily","startTime":"0001-01-01","endTime":"9999-12-31"}]}',
      "backfills[1]: startTime .. endTime 0001-01-01 .. 9999-12-31 is longer than 100 years")
    refused('{"plans":{"names":["sales_daily"]},"startTime":"1000-01-01","endTime":"2025-12-31","chunk":1}',
      "longer than 100 years")
  end)
end)
