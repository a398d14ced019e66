-- Journal specs: what is on disk and when, torn lines, resume, the create
-- whose answer was lost, and a kill -9 in the middle of a watch.
require("spec.helpers").paths()

local journal = require "accelerate.journal"
local workflow = require "accelerate.workflow"
local fake = require "spec.fake_client"

local PARAMS = { planId = "plan-42", startTime = "2025-01-01", endTime = "2025-01-04", dateIntervalOfLot = 2 }

local function tmpname()
  local p = os.tmpname()
  os.remove(p)
  return p .. ".journal"
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function events(path)
  local evs = assert(journal.read(path))
  return evs
end

local function kinds(path)
  local out = {}
  for _, ev in ipairs(events(path)) do out[#out + 1] = ev.event end
  return out
end

local function sh(cmd)
  local p = io.popen(cmd)
  local out = p:read("*a")
  p:close()
  return out
end

local function simple_fake()
  return fake.new { instances = fake.plan("2025-01-01", "2025-01-04", 2, 1, function(li)
    return { { 0, "RUNNING" }, { 3 * li, li == 2 and "FAILED" or "SUCCESS" } }
  end) }
end

describe("journal", function()
  local path
  before_each(function() path = tmpname() end)
  after_each(function() os.remove(path) end)

  it("records the intent before the create and the dagName before the first poll", function()
    local c = simple_fake()
    local at_create, at_first_list
    c.create_hook = function()
      at_create = kinds(path)
      return "dag-1"
    end
    c.on_list = function()
      if not at_first_list then at_first_list = events(path) end
    end
    local report = assert(workflow.backfill(c, PARAMS, { journal = path, sleep = c.sleep, clock = c.clock }))
    assert.same({ "open", "intent" }, at_create)
    local last = at_first_list[#at_first_list]
    assert.equal("created", last.event)
    assert.equal("dag-1", last.dagName)
    assert.same(PARAMS, last.params)
    assert.equal("dag-1", report.dagName)
    local ks = kinds(path)
    assert.equal("done", ks[#ks - 1])
    assert.equal("failures", ks[#ks])
    local states = 0
    for _, k in ipairs(ks) do if k == "state" then states = states + 1 end end
    assert.is_true(states >= 2)   -- one per change, not one per poll
    assert.is_true(states < report.polls)
  end)

  it("creates the file readable by its owner only", function()
    local c = simple_fake()
    assert(workflow.backfill(c, PARAMS, { journal = path, sleep = c.sleep, clock = c.clock }))
    assert.equal("600", sh("stat -c %a '" .. path .. "'"):match("%d+"))
  end)

  it("writes no auth value, whatever the params table carries", function()
    local c = simple_fake()
    local params = {}
    for k, v in pairs(PARAMS) do params[k] = v end
    params.auth_value = "s3cret-auth"
    params["auth-value"] = "s3cret-auth"
    assert(workflow.backfill(c, params, { journal = path, sleep = c.sleep, clock = c.clock }))
    assert.is_nil(read(path):find("s3cret", 1, true))
    assert.is_nil(c.creates[1].auth_value)
  end)

  it("skips a torn last line and starts the next record on a fresh line", function()
    local f = assert(io.open(path, "wb"))
    f:write('{"event":"open","version":1}\n{"event":"created","op":1,"dagName":"dag-7"}\n{"event":"sta')
    f:close()
    local evs, skipped = journal.read(path)
    assert.equal(2, #evs)
    assert.equal(1, skipped)
    local j = assert(journal.open(path))
    assert(j:append { event = "state", dagName = "dag-7", total = 1 })
    j:close()
    evs, skipped = journal.read(path)
    local damage = select(5, journal.read(path))
    assert.equal(4, #evs)
    assert.equal(1, skipped)
    -- the writer said which line was torn: it is no damage, though no longer last
    assert.same({ event = "torn", line = 3 }, { event = evs[3].event, line = evs[3].line })
    assert.same({}, damage.lines)
    assert.equal("state", evs[4].event)
    assert.equal("dag-7", journal.summarize(evs).dagName)
  end)

  it("lets wait resume from the journal alone", function()
    local c = simple_fake()
    c.on_list = function(self)
      -- the terminal closes halfway through the watch
      if self.calls.list == 2 then error("SIGHUP", 0) end
    end
    local r, err = workflow.backfill(c, PARAMS, { journal = path, sleep = c.sleep, clock = c.clock })
    assert.is_nil(r)
    assert.matches("SIGHUP", tostring(err))
    c.on_list = nil
    local report = assert(workflow.wait(c, nil, { journal = path, sleep = c.sleep, clock = c.clock }))
    assert.equal("dag-1", report.dagName)
    assert.is_true(report.resumed)
    assert.same(PARAMS, report.params)
    assert.equal(1, c.calls.create)
    -- and backfill with the same journal resumes instead of creating again
    local again = assert(workflow.backfill(c, PARAMS, { journal = path, sleep = c.sleep, clock = c.clock }))
    assert.equal("dag-1", again.dagName)
    assert.equal(1, c.calls.create)
  end)

  it("refuses a journal that belongs to another backfill or dag", function()
    local c = simple_fake()
    assert(workflow.backfill(c, PARAMS, { journal = path, sleep = c.sleep, clock = c.clock }))
    local other = { planId = "plan-42", startTime = "2025-02-01", endTime = "2025-02-04", dateIntervalOfLot = 2 }
    local r, err = workflow.backfill(c, other, { journal = path, sleep = c.sleep, clock = c.clock })
    assert.is_nil(r)
    assert.matches("belongs to plan plan%-42, 2025%-01%-01 .. 2025%-01%-04, lots of 2 day%(s%); this command is for "
      .. "plan plan%-42, 2025%-02%-01", err.message)
    r, err = workflow.wait(c, "dag-9", { journal = path, sleep = c.sleep, clock = c.clock })
    assert.is_nil(r)
    assert.matches("belongs to dag%-1", err.message)
    assert.equal(1, c.calls.create)
  end)

  it("never repeats a create whose answer was lost, unless told to", function()
    local c = simple_fake()
    c.create_error = fake.err("network", "connection dropped after the request was sent")
    local r, err = workflow.backfill(c, PARAMS, { journal = path, sleep = c.sleep, clock = c.clock })
    assert.is_nil(r)
    assert.equal("network", err.kind)
    assert.same({ "open", "intent", "create_unknown" }, kinds(path))

    r, err = workflow.backfill(c, PARAMS, { journal = path, sleep = c.sleep, clock = c.clock })
    assert.is_nil(r)
    assert.equal("create_unknown", err.kind)
    assert.equal(1, c.calls.create)
    assert.truthy(err.message:find("--force-create", 1, true))
    assert.truthy(err.message:find("accelerate wait DAG --journal " .. path, 1, true))
    assert.truthy(err.message:find("may exist", 1, true))

    r, err = workflow.wait(c, nil, { journal = path, sleep = c.sleep, clock = c.clock })
    assert.is_nil(r)
    assert.equal("create_unknown", err.kind)

    local report = assert(workflow.backfill(c, PARAMS, {
      journal = path, sleep = c.sleep, clock = c.clock, force_create = true,
    }))
    assert.equal("dag-1", report.dagName)
    assert.equal(2, c.calls.create)
  end)

  it("treats a crash between intent and answer like a lost answer", function()
    local c = simple_fake()
    c.create_hook = function() error("killed", 0) end
    assert.is_nil((workflow.backfill(c, PARAMS, { journal = path, sleep = c.sleep, clock = c.clock })))
    assert.same({ "open", "intent" }, kinds(path))
    c.create_hook = nil
    local r, err = workflow.backfill(c, PARAMS, { journal = path, sleep = c.sleep, clock = c.clock })
    assert.is_nil(r)
    assert.equal("create_unknown", err.kind)
  end)

  it("creates again after a create the server refused", function()
    local c = simple_fake()
    c.create_error = fake.err("api", "quota exceeded", { code = "429" })
    assert.is_nil((workflow.backfill(c, PARAMS, { journal = path, sleep = c.sleep, clock = c.clock })))
    assert.same({ "open", "intent", "create_failed" }, kinds(path))
    assert(workflow.backfill(c, PARAMS, { journal = path, sleep = c.sleep, clock = c.clock }))
    assert.equal(2, c.calls.create)
  end)

  it("classifies which failed creates may have happened", function()
    local m = workflow.create_maybe_happened
    assert.is_false(m(fake.err("invalid")))
    assert.is_false(m(fake.err("api")))
    assert.is_false(m(fake.err("http", "x", { status = 401 })))
    assert.is_true(m(fake.err("http", "x", { status = 502 })))
    assert.is_true(m(fake.err("network")))
    assert.is_true(m(fake.err("timeout")))
    assert.is_true(m(fake.err("decode")))
    assert.is_false(m(fake.err("network", "x", { outcome_unknown = false })))
    assert.is_true(m(fake.err("network", "x", { outcome_unknown = true, retryable = false })))
    -- the core leaves retryable only on a create that never left
    assert.is_false(m(fake.err("network", "connection refused", { retryable = true })))
    assert.is_true(m(fake.err("http", "bad gateway", { status = 502, retryable = true })))
  end)

  it("records repairs and resumes them without creating twice", function()
    local c = simple_fake()
    local report = assert(workflow.backfill(c, PARAMS, { sleep = c.sleep, clock = c.clock }))
    local rpath = path .. ".repair"
    c.dag = "dag-fix"
    local dags = assert(workflow.repair(c, report, { journal = rpath }))
    assert.equal(1, #dags)
    local evs = events(rpath)
    assert.equal("dag-1", evs[#evs].repairs)
    assert.equal("dag-fix", evs[#evs].dagName)
    local again = assert(workflow.repair(c, report, { journal = rpath }))
    assert.is_true(again[1].resumed)
    assert.equal(2, c.calls.create)
    os.remove(rpath)
  end)

  it("loses nothing when the watching process is killed with SIGKILL", function()
    -- a child process backfills against a fake that never finishes; once the
    -- journal shows the watch has started, it gets kill -9
    local script = path .. ".lua"
    local f = assert(io.open(script, "wb"))
    f:write([[
require("spec.helpers").paths()
local workflow = require "accelerate.workflow"
local fake = require "spec.fake_client"
local c = fake.new { instances = fake.plan("2025-01-01", "2025-01-04", 2, 1, function()
  return { { 0, "RUNNING" } } end) }
local real_sleep = require("accelerate.util").default_sleep()
workflow.backfill(c, { planId = "plan-42", startTime = "2025-01-01", endTime = "2025-01-04",
  dateIntervalOfLot = 2 }, { journal = arg[1], sleep = function() real_sleep(0.01) end,
  clock = os.time, interval = 0.01 })
]])
    f:close()
    local lua = "lua5.4"
    local pid = sh("(" .. lua .. " '" .. script .. "' '" .. path .. "' >/dev/null 2>&1 & echo $!)"):match("%d+")
    assert.truthy(pid)
    local started = false
    for _ = 1, 200 do
      local s = read(path)
      if s and s:find('"state"', 1, true) then started = true break end
      sh("sleep 0.02")
    end
    os.execute("kill -9 " .. pid .. " 2>/dev/null")
    os.remove(script)
    assert.is_true(started)
    -- its lock goes with it, once it is gone
    assert.is_true(require("spec.helpers").eventually(function()
      return not require("spec.helpers").alive(tonumber(pid)) end, 10))
    local c = simple_fake()
    local report = assert(workflow.wait(c, nil, { journal = path, sleep = c.sleep, clock = c.clock }))
    assert.equal("dag-1", report.dagName)
    assert.is_true(report.done)
    assert.equal(0, c.calls.create)
  end)
end)

describe("journal against the simulator", function()
  local helpers = require "spec.helpers"
  local accelerate = helpers.core()
  local P = { planId = "5468b0c0462e40e08e44108d8164c7c3", startTime = "2025-01-01",
    endTime = "2025-01-03", dateIntervalOfLot = 1 }
  local sim, client, path
  setup(function()
    sim = helpers.start_sim { scenario = "test" }
    client = assert(accelerate.new(sim:client_options { retries = 0 }))
  end)
  teardown(function()
    if client and client.close then client:close() end
    if sim then sim:stop() end
  end)
  before_each(function()
    path = tmpname()
    sim:reset()
  end)
  after_each(function() os.remove(path) end)

  it("records a create whose answer was dropped as unknown and refuses to repeat it", function()
    sim:fault { route = "create", kind = "drop", after = "respond" }
    local r, err = workflow.backfill(client, P, { journal = path, interval = 0.05 })
    assert.is_nil(r)
    assert.equal("network", err.kind)
    assert.is_true(err.outcome_unknown)
    assert.same({ "open", "intent", "create_unknown" }, kinds(path))
    assert.equal(1, #sim:requests { route = "create" })   -- it did happen on the server
    r, err = workflow.backfill(client, P, { journal = path, interval = 0.05 })
    assert.is_nil(r)
    assert.equal("create_unknown", err.kind)
    assert.equal(1, #sim:requests { route = "create" })
  end)

  it("records a create that could not connect as failed: nothing was sent", function()
    local down = assert(accelerate.new(sim:client_options { url = "http://127.0.0.1:1", retries = 0 }))
    local r, err = workflow.backfill(down, P, { journal = path })
    assert.is_nil(r)
    assert.equal("network", err.kind)
    assert.same({ "open", "intent", "create_failed" }, kinds(path))
    if down.close then down:close() end
  end)

  it("records a create refused by the server as failed, and creates on the next run", function()
    local r, err = workflow.backfill(client, { planId = "no-such-plan", startTime = "2025-01-01",
      endTime = "2025-01-02" }, { journal = path })
    assert.is_nil(r)
    assert.equal("api", err.kind)
    assert.same({ "open", "intent", "create_failed" }, kinds(path))
    os.remove(path)
    local report = assert(workflow.backfill(client, P, { journal = path, interval = 0.05, timeout = 30 }))
    assert.is_true(report.done)
    local read_back = assert(journal.read(path))
    assert.equal(report.dagName, journal.summarize(read_back).dagName)
    assert.is_nil(read(path):find(sim.auth_value, 1, true))
  end)
end)

-- The journal's promises, through the command against the simulator: one
-- writer at a time, a journal refuses a command it was not made for, and a
-- dagName once in hand is journaled and printed before a signal ends the
-- process.
describe("journal, through the command", function()
  local helpers = require "spec.helpers"
  local PLAN = "5468b0c0462e40e08e44108d8164c7c3"
  local sim, jpath, tmp

  local function cmd(argv, s)
    return helpers.command(s or sim, argv)
  end
  -- starts the command in the background; returns its pid
  local function spawn(argv, out)
    local code, pid = helpers.sh(helpers.command_env(sim) .. " " .. helpers.quote(helpers.root .. "/bin/accelerate")
      .. " " .. argv .. " >" .. out .. " 2>" .. out .. ".err & echo $!")
    assert.equal(0, code)
    return assert(tonumber(pid:match("%d+")))
  end
  local function journal_has(event)
    return (helpers.read_file(jpath) or ""):find('"event":"' .. event .. '"', 1, true) ~= nil
  end
  local function wait_exit(pid)
    assert.is_true(helpers.eventually(function() return not helpers.alive(pid) end, 15))
  end

  setup(function()
    sim = helpers.start_sim { scenario = "test" }
    tmp = os.tmpname()
  end)
  teardown(function()
    if sim then sim:stop() end
    for _, s in ipairs { "", ".err", ".a", ".a.err", ".b", ".b.err" } do os.remove(tmp .. s) end
  end)
  before_each(function()
    sim:reset()
    jpath = tmpname()
  end)
  after_each(function() os.remove(jpath) end)

  it("has one writer: a second process on the same journal is refused with the holder's pid, before sending", function()
    sim:fault { route = "create", kind = "delay", delay = 1.5 }
    local argv = "backfill --plan-id " .. PLAN .. " --start 2025-01-01 --end 2025-01-02 --interval 0.05 --journal "
      .. jpath
    local a = spawn(argv, tmp .. ".a")
    assert.is_true(helpers.eventually(function() return journal_has("intent") end, 10))
    local code, _, err = cmd(argv)
    assert.equal(2, code, err)
    assert.matches("in use by process " .. a, err, 1, true)
    wait_exit(a)
    assert.equal(1, #sim:requests { route = "create" })
  end)

  it("refuses a command it was not made for: another backfill after a wait", function()
    local _, created = cmd("create --plan-id " .. PLAN .. " --start 2025-01-01 --end 2025-01-02 --json")
    local dag = assert(helpers.json.decode(created)).dagName
    local code, _, err = cmd("wait " .. dag .. " --interval 0.05 --journal " .. jpath)
    assert.equal(0, code, err)
    sim:clear_requests()
    code, _, err = cmd("backfill --plan-name gmv_monthly --start 2025-03-01 --end 2025-03-31 --journal " .. jpath)
    assert.equal(2, code, err)
    assert.matches("journal " .. jpath .. " belongs to", err, 1, true)
    assert.same({}, sim:requests())
  end)

  it("refuses a journal made for another API url or tenant, never naming the auth value", function()
    local code, _, err = cmd("backfill --plan-id " .. PLAN .. " --start 2025-01-01 --end 2025-01-02 --interval 0.05 "
      .. "--journal " .. jpath)
    assert.equal(0, code, err)
    local other = helpers.start_sim { scenario = "test" }
    local ok, e = pcall(function()
      local c2, _, err2 = cmd("wait --interval 0.05 --journal " .. jpath, other)
      assert.equal(2, c2, err2)
      assert.matches("belongs to", err2, 1, true)
      assert.matches(sim.url, err2, 1, true)
      assert.is_nil(err2:find(sim.auth_value, 1, true))
      assert.same({}, other:requests())
    end)
    other:stop()
    assert(ok, e)
    assert.is_nil((helpers.read_file(jpath) or ""):find(sim.auth_value, 1, true))
  end)

  it("journals and prints a dagName in hand before SIGINT ends the process", function()
    sim:fault { route = "create", kind = "delay", delay = 1 }
    local pid = spawn("create --plan-id " .. PLAN .. " --start 2025-01-01 --end 2025-01-02 --journal " .. jpath,
      tmp .. ".a")
    assert.is_true(helpers.eventually(function() return journal_has("intent") end, 10))
    os.execute("kill -INT " .. pid)
    wait_exit(pid)
    assert.is_true(journal_has("created"), helpers.read_file(jpath))
    local out = helpers.read_file(tmp .. ".a") or ""
    assert.matches("^%S+%s*$", out)
    assert.is_true(journal_has("created"))
    -- and the next run resumes rather than refusing with create_unknown
    local code, _, err = cmd("wait --interval 0.05 --journal " .. jpath)
    assert.equal(0, code, err)
  end)
end)

-- Issue 17, item 2: a damaged line.  A dagName anywhere in the journal
-- means the backfill exists; a torn last line (a kill during a write,
-- never sent) is ignored; any other damaged line is named by file:line and
-- holds every create it could hide as create_unknown.
describe("journal with a damaged line", function()
  local path
  before_each(function() path = tmpname() end)
  after_each(function() os.remove(path) end)

  local function lines_of(p)
    local out = {}
    for line in (read(p) or ""):gmatch("([^\n]*)\n") do out[#out + 1] = line end
    return out
  end

  local function write_lines(p, ls, tail)
    local f = assert(io.open(p, "wb"))
    f:write(table.concat(ls, "\n") .. "\n" .. (tail or ""))
    f:close()
  end

  -- the journal with line n replaced by half of itself
  local function damage(p, n)
    local ls = lines_of(p)
    ls[n] = ls[n]:sub(1, math.floor(#ls[n] / 2))
    write_lines(p, ls)
  end

  local function line_of(p, kind)
    for i, line in ipairs(lines_of(p)) do
      if line:find('"event":"' .. kind .. '"', 1, true) then return i end
    end
  end

  it("numbers damaged lines, tells the torn last one apart, and remembers it once healed", function()
    local text = '{"event":"open","version":1}\n{"event":"inte\n{"event":"created","op":1,"dagName":"d"}\n'
      .. '{"event":"sta'
    local evs, skipped, d1 = journal.parse(text)
    assert.equal(2, #evs)
    assert.equal(2, skipped)
    assert.same({ 2 }, d1.lines)
    assert.equal(4, d1.torn)
    -- a complete last line that does not decode is damage, not a torn write
    local _, _, d2 = journal.parse('{"event":"open","version":1}\n{"event":"inte\n')
    assert.same({ 2 }, d2.lines)
    assert.is_nil(d2.torn)
    -- once a writer has opened it, the torn line stays known as torn
    local f = assert(io.open(path, "wb"))
    f:write(text)
    f:close()
    local j = assert(journal.open(path))
    assert.same({ 2 }, j.damaged)
    assert(j:append { event = "state", dagName = "d", total = 1 })
    j:close()
    local _, _, _, _, d3 = journal.read(path)
    assert.same({ 2 }, d3.lines)
    assert.is_nil(d3.torn)
    assert.equal(path .. ":2", journal.describe_damage(path, d3.lines))
  end)

  it("resumes a backfill whose created line is damaged from the dagName its later lines hold", function()
    local c = simple_fake()
    assert(workflow.backfill(c, PARAMS, { journal = path, sleep = c.sleep, clock = c.clock }))
    damage(path, line_of(path, "created"))
    local report = assert(workflow.backfill(c, PARAMS, { journal = path, sleep = c.sleep, clock = c.clock }))
    assert.equal("dag-1", report.dagName)
    assert.is_true(report.resumed)
    assert.matches(path .. ":3", report.journal_error, 1, true)
    assert.equal("dag-1", (workflow.create(c, PARAMS, { journal = path })))
    assert.equal(1, c.calls.create)
  end)

  it("names a damaged line in the report of a wait resumed from the journal", function()
    local c = simple_fake()
    assert(workflow.backfill(c, PARAMS, { journal = path, sleep = c.sleep, clock = c.clock }))
    damage(path, line_of(path, "state"))
    local report = assert(workflow.wait(c, nil, { journal = path, sleep = c.sleep, clock = c.clock }))
    assert.equal("dag-1", report.dagName)
    assert.matches(path .. ":%d", report.journal_error)
    assert.equal(1, c.calls.create)
  end)

  it("never creates again past a damaged line that could have held the create, unless forced", function()
    local c = simple_fake()
    c.create_error = fake.err("api", "quota exceeded", { code = "429" })
    assert.is_nil((workflow.backfill(c, PARAMS, { journal = path, sleep = c.sleep, clock = c.clock })))
    -- a later line, complete, then damaged: it could have been a sent intent
    local ls = lines_of(path)
    ls[#ls + 1] = '{"event":"intent","op":2,"params":{"planId":"pl'
    ls[#ls + 1] = '{"event":"state","dagName":"x"'
    write_lines(path, ls)
    c.create_error = nil
    for _, run in ipairs {
      function() return workflow.backfill(c, PARAMS, { journal = path, sleep = c.sleep, clock = c.clock }) end,
      function() return workflow.create(c, PARAMS, { journal = path }) end,
    } do
      local r, err = run()
      assert.is_nil(r)
      assert.equal("create_unknown", err.kind)
      assert.matches(path .. ":4", err.message, 1, true)
      assert.matches("--force-create", err.message, 1, true)
      assert.equal(1, c.calls.create)
    end
    assert(workflow.backfill(c, PARAMS, { journal = path, sleep = c.sleep, clock = c.clock, force_create = true }))
    assert.equal(2, c.calls.create)
    -- and from then on the dagName of the created line rules
    assert(workflow.backfill(c, PARAMS, { journal = path, sleep = c.sleep, clock = c.clock }))
    assert.equal(2, c.calls.create)
  end)

  it("places an outcome line whose intent line is damaged, and numbers the next op after it", function()
    local c = simple_fake()
    c.create_error = fake.err("network", "dropped after the request was sent")
    assert.is_nil((workflow.backfill(c, PARAMS, { journal = path, sleep = c.sleep, clock = c.clock })))
    local ev = events(path)[3]
    assert.equal("create_unknown", ev.event)
    assert.same(PARAMS, ev.params)
    damage(path, line_of(path, "intent"))
    local s = journal.summarize(events(path))
    assert.equal(1, #s.pending)
    assert.same(PARAMS, s.pending[1].params)
    assert.equal(2, s.next_op)
  end)

  it("holds every repair range a damaged line could hide, resumes the ones known created", function()
    local c = simple_fake()
    local report = assert(workflow.backfill(c, PARAMS, { sleep = c.sleep, clock = c.clock }))
    -- two failed ranges: 2025-01-01 and 2025-01-03..04 (lots of 2 days)
    report.instances[#report.instances + 1] = { id = 9, status = "FAILED", mtGuid = "t",
      startPartition = "2025-01-01", endPartition = "2025-01-01" }
    local rpath = path .. ".repair"
    local ranges = assert(workflow.repair_plan(report, {}))
    assert.equal(2, #ranges)
    c.dag = "dag-fix"
    c.create_hook = function()
      if c.calls.create == 3 then error("killed", 0) end
      return c.dag
    end
    local _, kerr = workflow.repair(c, report, { journal = rpath })
    assert.matches("killed", tostring(kerr))
    c.create_hook = nil
    -- the first range's intent line is damaged; the second's intent (the
    -- last line) is intact: a lost answer
    damage(rpath, line_of(rpath, "intent"))
    local dags, err = workflow.repair(c, report, { journal = rpath })
    assert.equal("create_unknown", err.kind)
    assert.equal(1, #dags)
    assert.is_true(dags[1].resumed)
    assert.equal(3, c.calls.create)
    -- never mentioned ranges are held too, while a damaged line is there
    local ls = lines_of(rpath)
    write_lines(rpath, { ls[1], ls[2], ls[3] })
    dags, err = workflow.repair(c, report, { journal = rpath })
    assert.equal("create_unknown", err.kind)
    assert.matches(rpath .. ":2", err.message, 1, true)
    assert.equal(1, #dags)
    assert.equal(3, c.calls.create)
    dags = assert(workflow.repair(c, report, { journal = rpath, force_create = true }))
    assert.equal(2, #dags)
    assert.equal(4, c.calls.create)
    os.remove(rpath)
  end)
end)
