-- A campaign spec's "notify" (docs/campaign.md): `accelerate campaign run`
-- against the simulator, whose /__sim/notify receives the POSTs into its
-- request log.  One "task" POST per create and settle of each task and one
-- "end"; a receiver that is down costs the campaign no time and gives a
-- warning; the first POSTs failing are delivered by the retries; the auth
-- value is in no payload; a bad URL is an invalid spec.
local helpers = require "spec.helpers"

local json = helpers.json

local sim, jpath, spec_path

local function write(path, tbl)
  local f = assert(io.open(path, "wb"))
  f:write(json.encode(tbl))
  f:close()
end

local function spec(over)
  local s = { name = "q1-notify", plans = { materializeType = "RESULT", names = { "sales_daily", "gmv_monthly" } },
    startTime = "2025-01-01", endTime = "2025-03-31", chunk = "month", max_in_flight = 2,
    notify = { url = sim.url .. "/__sim/notify" } }
  -- a field = false: left out
  for k, v in pairs(over or {}) do s[k] = v end
  for k, v in pairs(s) do if v == false then s[k] = nil end end
  write(spec_path, s)
  return spec_path
end

local function run(extra)
  return helpers.command(sim, "campaign run " .. spec_path .. " --journal " .. jpath .. " --interval 0.05 "
    .. (extra or ""), { "NO_COLOR=1" })
end

-- the payloads the simulator received (every attempt), in the order they
-- were made (seq: up to 4 are in flight at once, so arrivals may cross)
local function posts()
  local out = {}
  for _, q in ipairs(sim:requests { route = "notify" }) do out[#out + 1] = json.decode(q.body) end
  table.sort(out, function(a, b) return a.seq < b.seq end)
  return out
end

local closed_port = helpers.free_port   -- nothing listens there

setup(function()
  sim = helpers.start_sim { scenario = "test" }
end)

teardown(function()
  if sim then sim:stop() end
end)

before_each(function()
  sim:scenario(helpers.scenario {})
  sim:reset_faults()
  jpath = os.tmpname()
  os.remove(jpath)
  spec_path = os.tmpname() .. ".json"
end)

after_each(function()
  os.remove(jpath)
  os.remove(spec_path)
end)

describe("campaign notify", function()
  it("POSTs one task payload per create and per settle of each task, then one end payload", function()
    spec()
    local code, out, err = run("--json")
    assert.equal(0, code, err)
    local report = json.decode(out)
    local got = posts()
    local tasks = #report.tasks
    assert.equal(6, tasks)
    assert.equal(2 * tasks + 1, #got, json.encode(got))
    local seen = {}
    for i, p in ipairs(got) do
      assert.equal("q1-notify", p.campaign)
      assert.equal(i, p.seq)
      assert.is_true(type(p.at) == "number" and math.abs(p.at - os.time()) < 120)
      if i < #got then
        assert.equal("task", p.event)
        local t = p.task
        local k = ("%d %s"):format(t.task, p.change)
        assert.is_nil(seen[k], k)
        seen[k] = t
        assert.equal(report.tasks[t.task].planId, t.planId)
        assert.equal(report.tasks[t.task].startTime, t.startTime)
        assert.equal(report.tasks[t.task].endTime, t.endTime)
        assert.equal(report.tasks[t.task].dagName, t.dagName)
        assert.equal(0, t.round)
        assert.equal(p.change == "created" and "running" or "succeeded", t.state)
      end
    end
    for k = 1, tasks do
      assert.truthy(seen[k .. " created"], k)
      assert.truthy(seen[k .. " settled"], k)
    end
    local last = got[#got]
    assert.equal("end", last.event)
    assert.is_true(last.ok)
    assert.equal(tasks, last.states.succeeded)
    assert.equal(tasks, last.tasks)
    assert.equal(report.counts.SUCCESS, last.counts.SUCCESS)
    assert.same({ delivered = 2 * tasks + 1, failed = 0, dropped = 0 }, report.notify)
    -- the client's auth value is in no payload
    for _, q in ipairs(sim:requests { route = "notify" }) do
      assert.is_nil(q.body:find(sim.auth_value, 1, true))
      assert.is_nil(q.headers.authorization)
      assert.matches("^accelerate/%d", q.headers["user-agent"])
    end
  end)

  it("tells a repair: its create (round 1), the settle that decided it (repairing), a failed end", function()
    sim:scenario(helpers.scenario { failures = { retries = 0, partitions = {
      { date = "2025-01-09", table = "dw.sales.orders_daily", times = 1, error = "partition_locked" },
      { date = "2025-01-20", table = "dw.sales.orders_daily", error = "oom" } } } })
    spec { plans = false, backfills = { { plan = "sales_daily", startTime = "2025-01-01", endTime = "2025-01-31" } },
      startTime = false, endTime = false, chunk = false, repair_rounds = 1 }
    local code, out, err = run("--json")
    assert.equal(1, code, err)
    local report = json.decode(out)
    local got = posts()
    local function int(v) return v and ("%d"):format(v) or "nil" end
    local seen = {}
    for _, p in ipairs(got) do
      seen[#seen + 1] = ("%s %s r%s %s %s"):format(p.event, tostring(p.change), int(p.task and p.task.round),
        tostring(p.task and p.task.state), int(p.repairing))
    end
    assert.same({ "task created r0 running nil", "task settled r0 running 1", "task created r1 running nil",
      "task settled r1 failed nil", "end nil rnil nil nil" }, seen)
    assert.equal(report.tasks[1].repairs[1], got[3].task.dagName)
    assert.equal(report.tasks[1].dagName, got[2].task.dagName)
    assert.is_false(got[5].ok)
    assert.equal(1, got[5].states.failed)
  end)

  it("a run ended by an error tells it in the end payload", function()
    sim:fault { route = "list", kind = "status", status = 403, times = -1 }
    spec()
    local code, _, err = run()
    assert.is_true(code ~= 0, err)
    local got = posts()
    local last = got[#got]
    assert.equal("end", last.event)
    assert.is_false(last.ok)
    assert.is_string(last.error.kind)
    assert.is_string(last.error.message)
    assert.equal("task", got[1].event)
  end)

  it("a receiver that is down: the campaign ends ok in about the time it takes without, with a warning",
    function()
    spec { notify = false }
    local code, _, err, plain = run()
    assert.equal(0, code, err)
    os.remove(jpath)
    spec { notify = { url = "http://127.0.0.1:" .. closed_port() .. "/hook?token=s3cr3t", timeout = 1 } }
    local code2, out2, err2, with = run()
    assert.equal(0, code2, err2)
    assert.matches("all 6 tasks succeeded", out2)
    assert.matches("warning: notify: a \"task\" POST to http://127.0.0.1:%d+ was not delivered after 3 attempt", err2)
    -- the URL's path and query (a webhook's secret) are not printed
    assert.is_nil(err2:find("s3cr3t", 1, true))
    -- loose: the retries wait in the campaign's naps, and the end's flush
    -- (5 s at most) is all they may add
    print(("\n%.2f s with a notify receiver down, %.2f s without"):format(with, plain))
    assert.is_true(with < plain + 6, ("%.2f s with notify, %.2f s without"):format(with, plain))
  end)

  it("the first POSTs failing are delivered by the retries", function()
    sim:fault { route = "notify", kind = "status", status = 503, times = 3 }
    spec()
    local code, out, err = run("--json")
    assert.equal(0, code, err)
    local report = json.decode(out)
    local got = posts()
    assert.equal(13 + 3, #got)
    local seqs = {}
    for _, p in ipairs(got) do seqs[p.seq] = (seqs[p.seq] or 0) + 1 end
    for seq = 1, 13 do assert.truthy(seqs[seq], seq) end
    assert.same({ delivered = 13, failed = 0, dropped = 0 }, report.notify)
    assert.equal(0, #report.warnings)
  end)

  it("a full queue drops the oldest waiting POST, counted, with a warning", function()
    -- a slow receiver: the POSTs pile up behind the one in flight
    sim:fault { route = "notify", kind = "delay", delay = 0.5, times = -1 }
    spec { notify = { url = sim.url .. "/__sim/notify", queue = 1 } }
    local code, out, err = run("--json")
    assert.equal(0, code, err)
    local report = json.decode(out)
    local n = report.notify
    assert.is_true(n.dropped > 0, json.encode(n))
    assert.equal(13, n.delivered + n.dropped + n.failed, json.encode(n))
    assert.matches("POST%(s%) dropped so far: 1 waiting already %(notify.queue%)", table.concat(report.warnings, "\n"))
    -- the end is the newest: never the one dropped
    local got = posts()
    assert.equal("end", got[#got].event)
  end)

  it("Ctrl-C with POSTs in flight still stops at once: exit 130 within 1 s of the signal", function()
    sim:scenario(helpers.scenario { speed = 300 })
    -- every POST hangs 5 s at the receiver: some are in flight at the signal
    sim:fault { route = "notify", kind = "delay", delay = 5, times = -1 }
    spec { notify = { url = sim.url .. "/__sim/notify", timeout = 10 } }
    local argv = "campaign run " .. spec_path .. " --journal " .. jpath .. " --interval 0.05"
    -- set -m: a background command with SIGINT not ignored
    local sh = ("set -m; %s %s %s >/dev/null 2>&1 & pid=$!; sleep 1; t0=$(date +%%s.%%N); kill -INT $pid; "
      .. "wait $pid; rc=$?; t1=$(date +%%s.%%N); echo $rc $t0 $t1"):format(
      helpers.command_env(sim, { "NO_COLOR=1" }), helpers.quote(helpers.root .. "/bin/accelerate"), argv)
    local _, out = helpers.sh("bash -c " .. helpers.quote(sh) .. " 2>/dev/null")
    local rc, t0, t1 = out:match("(%d+) ([%d.]+) ([%d.]+)")
    assert.equal("130", rc, out)
    local took = tonumber(t1) - tonumber(t0)
    print(("\nCtrl-C with notify POSTs in flight: exit after %.2f s"):format(took))
    assert.is_true(took < 1, ("%.2f s after the signal"):format(took))
    assert.truthy(#sim:requests { route = "notify" } > 0)
  end)

  it("a resume may add notify (not part of the identity); a bad URL is an invalid spec naming the field",
    function()
    spec { notify = false }
    assert.equal(0, (run()))
    spec()
    local code, _, err = run()
    assert.equal(0, code, err)
    -- the campaign had ended: only its end is told
    local got = posts()
    assert.equal(1, #got)
    assert.equal("end", got[1].event)
    for _, bad in ipairs { "ftp://x/y", "127.0.0.1:9/x", "http://", "http://a b/" } do
      spec { notify = { url = bad } }
      local c, _, e = run()
      assert.equal(2, c, e)
      assert.matches("notify.url must be an http:// or https:// URL", e, 1, true)
    end
    spec { notify = { url = sim.url, retries = 99 } }
    local c, _, e = run()
    assert.equal(2, c, e)
    assert.matches("notify.retries must be", e, 1, true)
  end)
end)
