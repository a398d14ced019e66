-- The watch (lua/accelerate/workflow/watch.lua) against the simulator, and
-- through the command: malformed statuses, a watch's --timeout clipping
-- every request, Ctrl-C on a pipe, and what a timeout says; what each poll
-- fetches (workflow/sweep.lua) and the compact report of a large backfill.
local helpers = require "spec.helpers"
helpers.paths()

local PLAN = "5468b0c0462e40e08e44108d8164c7c3"
local SLACK = tonumber(os.getenv("ACCELERATE_SPEC_SLACK")) or 1

describe("the watch", function()
  local accelerate, workflow, sim, tmp

  local function cmd(argv, extra)
    return helpers.command(sim, argv, { extra })
  end
  local function new_dag()
    local c = assert(accelerate.new(sim:client_options()))
    local dag = assert(c:create_task { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-02" })
    c:close()
    return dag
  end

  setup(function()
    accelerate = helpers.core()
    workflow = require "accelerate.workflow"
    sim = helpers.start_sim { scenario = "test" }
    tmp = os.tmpname()
  end)
  teardown(function()
    if sim then sim:stop() end
    os.remove(tmp)
  end)
  before_each(function() sim:reset() end)

  it("counts a status that is not a string as OTHER, and never crashes a summary or report", function()
    local dag = new_dag()
    sim:fault { route = "list", kind = "body", status = 200, times = -1, body = helpers.json.encode {
      dagName = dag, pageIndex = 1, pageSize = 500, total = 3, instances = {
        { id = "1", status = { code = "SUCCESS" }, startPartition = "2025-01-01", endPartition = "2025-01-01" },
        { id = "2", status = true, startPartition = "2025-01-01", endPartition = "2025-01-01" },
        { id = "3", status = "SUCCESS", startPartition = "2025-01-02", endPartition = "2025-01-02" },
      } } }
    local c = assert(accelerate.new(sim:client_options()))
    local report = assert(workflow.wait(c, dag, { interval = 0.05, timeout = 0.3 }))
    c:close()
    assert.is_true(report.timed_out)
    assert.equal(2, report.counts.OTHER)
    assert.equal(1, report.counts.SUCCESS)
    assert.is_string(workflow.summary(report))
    local code, out, err = cmd("wait " .. dag .. " --interval 0.05 --timeout 0.3")
    assert.equal(3, code, err)
    assert.matches("OTHER", out .. err)
    assert.is_nil((out .. err):find("attempt to", 1, true), out .. err)
  end)

  it("clips every request to what is left of --timeout", function()
    local dag = new_dag()
    sim:fault { route = "list", kind = "delay", delay = 8, times = -1 }
    local code, _, err, elapsed = cmd("wait " .. dag .. " --interval 0.1 --timeout 2")
    assert.are_not.equal(0, code, err)
    assert.is_true(elapsed < 2 + 1 * SLACK, "took " .. elapsed)
  end)

  it("says the last error when it times out before any poll answered, with the timeout's exit code", function()
    local code, out, err = cmd("wait some-dag --interval 0.1 --timeout 1",
      "ACCELERATE_URL=http://127.0.0.1:1")
    assert.equal(3, code, out .. err)
    assert.matches("timed out", err)
    assert.matches("refused", err:lower())
  end)

  it("ends within a second of Ctrl-C when stderr is a pipe", function()
    local dag = new_dag()
    sim:fault { route = "list", kind = "status", status = 503, times = -1 }
    local fifo = tmp .. ".fifo"
    os.execute("rm -f " .. fifo .. "; mkfifo " .. fifo .. "; (cat " .. fifo .. " >/dev/null &)")
    local code, pid = helpers.sh(helpers.command_env(sim) .. " " .. helpers.quote(helpers.root .. "/bin/accelerate")
      .. " wait " .. dag .. " --interval 10 --max-interval 10 >" .. fifo .. " 2>&1 & echo $!")
    assert.equal(0, code)
    local child = tonumber(pid:match("%d+"))
    assert.is_true(helpers.eventually(function() return #sim:requests { route = "list" } >= 1 end, 10))
    helpers.sleep(0.5)
    local t0 = helpers.now()
    os.execute("kill -INT " .. child)
    assert.is_true(helpers.eventually(function() return not helpers.alive(child) end, 5))
    assert.is_true(helpers.now() - t0 < 1 * SLACK, "took " .. (helpers.now() - t0))
    os.remove(fifo)
  end)
end)

-- What a poll fetches (workflow/sweep.lua): after a full sweep, only the
-- pages that can still change, a full sweep again when total or a page's
-- ids change, and a full sweep before a backfill is declared finished.
-- The simulator's clock stands still (speed 0) and each of the watch's
-- sleeps moves it a minute: 40 instances on pages of 4.
describe("the watch's rule for a poll worth retrying", function()
  -- issue 18 point 2: the call policy's decision, not a list of its own
  local watch = require "accelerate.workflow.watch"
  local accelerate = require "accelerate"

  it("is the call policy's decision for a read", function()
    -- the policy retries a 408 and a soft 503; so does the watch
    assert.is_true(watch.transient(accelerate.error("http", "HTTP 408", { status = 408 })))
    assert.is_true(watch.transient(accelerate.error("api", "busy", { code = "503", success = false })))
    -- the policy does not retry a 404; nor does the watch
    assert.is_false(watch.transient(accelerate.error("http", "HTTP 404", { status = 404 })))
    -- one call does not retry a failed TLS handshake, a watch rides it out a
    -- few polls as it always has (max_poll_errors bounds a certificate that stays wrong)
    assert.is_true(watch.transient(accelerate.error("network", "TLS", { failure = "tls", sent = false })))
    -- a poll started with none of the watch's time left is not the end of
    -- the watch but its timeout, which the loop's deadline check then says
    -- (a campaign under load failed with "no time left" instead of stopping)
    assert.is_true(watch.transient(accelerate.error("timeout", "no time left", { failure = "no_time" })))
    assert.is_false(watch.transient(accelerate.error("interrupted", "stop", { failure = "interrupted" })))
    -- a lost answer and a timeout are ridden out
    assert.is_true(watch.transient(accelerate.error("network", "reset", { failure = "reset", sent = true })))
    assert.is_true(watch.transient(accelerate.error("timeout", "slow")))
    assert.is_false(watch.transient("a string"))
  end)
end)

describe("the watch's sweeps", function()
  local accelerate, workflow, sim
  local SIZE, N = 4, 40
  local PAGES = N / SIZE

  local function range(a, b)
    local out = {}
    for i = a, b do out[#out + 1] = i end
    return out
  end
  local function concat(a, b)
    local out = {}
    for _, x in ipairs(a) do out[#out + 1] = x end
    for _, x in ipairs(b) do out[#out + 1] = x end
    return out
  end

  setup(function()
    accelerate = helpers.core()
    workflow = require "accelerate.workflow"
    sim = helpers.start_sim { scenario = "test" }
  end)
  teardown(function()
    if sim then sim:stop() end
  end)
  before_each(function() sim:scenario(helpers.scenario { speed = 0 }) end)

  local function new_dag(advance)
    local c = assert(accelerate.new(sim:client_options()))
    local dag = assert(c:create_task { planId = PLAN, startTime = "2025-01-01", endTime = "2025-01-20" })
    c:close()
    if advance then sim:advance(advance) end
    return dag
  end

  -- Watches dag; returns the report and, per poll, the pages the watch
  -- asked for, the pages all SUCCESS once it answered, the ids FAILED by
  -- then and the ids FAILED in its report.  The spec's own listing (one
  -- page of N) is told from the watch's by its page size.  Each of the
  -- watch's sleeps moves the simulator `advance` seconds (60).
  local function watch(dag, after_poll, advance)
    local c = assert(accelerate.new(sim:client_options()))
    local polls, seen = {}, 0
    local function asked()
      local out, reqs = {}, sim:requests { route = "list" }
      for i = seen + 1, #reqs do
        if reqs[i].args.pageSize == tostring(SIZE) then out[#out + 1] = tonumber(reqs[i].args.pageIndex) end
      end
      seen = #reqs
      return out
    end
    local function truth()
      local page = assert(c:list_instances { dagName = dag, pageIndex = 1, pageSize = N })
      local done, failed = {}, {}
      for k = 1, PAGES do
        done[k] = true
        for i = (k - 1) * SIZE + 1, k * SIZE do
          local inst = page.instances[i]
          if inst.status ~= "SUCCESS" then done[k] = false end
          if inst.status == "FAILED" then failed[inst.id] = k end
        end
      end
      return done, failed
    end
    local report = assert(workflow.wait(c, dag, {
      interval = 1, page_size = SIZE, timeout = 60, sleep = function() sim:advance(advance or 60) end,
      on_progress = function(r)
        local success, failed = truth()
        local reported = {}
        for _, f in ipairs(r.failures) do reported[tostring(f.instance.id)] = true end
        polls[#polls + 1] = { pages = asked(), success = success, failed = failed, reported = reported,
          done = r.done }
        if after_poll then after_poll(#polls) end
      end,
    }))
    c:close()
    return report, polls
  end

  local function sorted(list)
    local out = concat(list, {})
    table.sort(out)
    return out
  end

  -- The report is the one a listing of every page gives.
  local function exact(dag, report)
    local c = assert(accelerate.new(sim:client_options()))
    local all = {}
    for inst in c:instances(dag, { pageSize = 7 }) do all[#all + 1] = inst end
    c:close()
    table.sort(all, function(a, b)
      if a.startPartition ~= b.startPartition then return a.startPartition < b.startPartition end
      if a.mtGuid ~= b.mtGuid then return a.mtGuid < b.mtGuid end
      return a.id < b.id
    end)
    assert.same(all, report.instances)
  end

  -- The polls since page k was last read, at each poll (bound: pace.K).
  local function longest_unread(polls)
    local last, worst = {}, { gap = 0 }
    for n, poll in ipairs(polls) do
      for _, k in ipairs(poll.pages) do last[k] = n end
      for k = 1, PAGES do
        local gap = n - (last[k] or 0)
        if gap > worst.gap then worst = { gap = gap, page = k, poll = n } end
      end
    end
    return worst
  end

  it("reads every page at least once every K polls, and fewer pages than before", function()
    local K = require("accelerate.workflow.pace").K
    assert.is_true(K >= 1 and K <= 8, K)
    -- 20 s per poll: some 30 polls, the last pages all WAITING for most of them
    local dag = new_dag()
    local report, polls = watch(dag, nil, 20)
    assert.is_true(report.ok)
    assert.equal(N, report.total)
    assert.is_true(#polls > 2 * K, #polls)
    assert.same(range(1, PAGES), polls[1].pages)
    local worst = longest_unread(polls)
    assert.is_true(worst.gap <= K, ("page %d unread for %d polls at poll %d (K = %d)")
      :format(worst.page or 0, worst.gap, worst.poll or 0, K))
    local requests = 0
    for _, poll in ipairs(polls) do requests = requests + #poll.pages end
    assert.equal(requests, report.requests)
    -- the rule before read every page not all SUCCESS at every poll
    local before = PAGES
    for n = 2, #polls do
      for k = 1, PAGES do if not polls[n - 1].success[k] then before = before + 1 end end
    end
    assert.is_true(requests < before, requests .. " requests, " .. before .. " by the rule before")
    exact(dag, report)
  end)

  it("finishes only on a poll that read every page once, ceil(total / page size) requests", function()
    local dag = new_dag()
    local report, polls = watch(dag)
    assert.is_true(report.ok)
    assert.is_true(#polls >= 5, #polls)
    local last = polls[#polls]
    assert.is_true(last.done)
    assert.equal(math.ceil(report.total / SIZE), #last.pages)
    assert.same(range(1, PAGES), sorted(last.pages))
    for n = 1, #polls - 1 do assert.is_false(polls[n].done, "poll " .. n) end
    exact(dag, report)
  end)

  it("has an instance turned FAILED on a page it skips in its report within K polls", function()
    local K = require("accelerate.workflow.pace").K
    -- no slot limit and up to 3,000 s before an instance is ready: the
    -- instances run in no order (a page all WAITING may start before the
    -- pages ahead of it), and one of 2025-01-03 fails on a page all WAITING
    sim:scenario(helpers.scenario { speed = 0, concurrency = { default = 1000, ["*"] = 1000 },
      failures = { probability = 0, retries = 0,
        partitions = { { date = "2025-01-03", table = "dw.sales.orders_by_region", error = "oom" } } },
      timing = { schedule_delay = { 1, 3000 }, duration = { 60, 180 }, retry_delay = 10 } })
    local dag = new_dag()
    local report, polls = watch(dag)
    assert.is_false(report.ok)
    assert.equal(1, report.counts.FAILED)
    local id = tostring(report.failures[1].instance.id)
    local turned, noticed
    for n, poll in ipairs(polls) do
      if poll.failed[id] and not turned then turned = n end
      if poll.reported[id] and not noticed then noticed = n end
    end
    assert.is_number(turned)
    assert.is_number(noticed)
    -- its page was not read at the poll it turned FAILED at: a page skipped
    assert.is_true(noticed > turned, "noticed at the poll it turned FAILED: no page skipped")
    assert.is_true(noticed - turned <= K, ("turned FAILED at poll %d, in the report at poll %d (K = %d)")
      :format(turned, noticed, K))
    local worst = longest_unread(polls)
    assert.is_true(worst.gap <= K, ("page %d unread for %d polls"):format(worst.page or 0, worst.gap))
    exact(dag, report)
  end)

  it("sweeps every page again at once when total changes", function()
    local report, polls = watch(new_dag(250), function(n)
      if n == 1 then sim:fault { route = "list", kind = "paging", total = N + 1, times = 1 } end
    end)
    assert.is_true(report.ok)
    -- the first page read answered another total: every page at once
    assert.same(concat({ polls[2].pages[1] }, range(1, PAGES)), polls[2].pages)
  end)

  it("watches through a transport of one's own that ignores the store", function()
    local core = require "accelerate.core"
    local policy = require "accelerate.client"
    local opts = sim:client_options()
    local t = assert(core.transport(opts))
    local mine = {
      request = function(_, call, args, budget) return t:request(call, args, budget) end,
      check = function(_, call, args) return t:check(call, args) end,
      close = function() t:close() end,
      closed = function() return t:closed() end,
    }
    local c = policy.new(mine, assert(core.config(opts)), { now = core.now, sleep = core.sleep }, "mine")
    local dag = new_dag(100000)
    local report = assert(workflow.wait(c, dag, { interval = 0.05, page_size = SIZE }))
    c:close()
    assert.is_true(report.ok)
    assert.equal(N, #report.instances)
  end)

  it("sweeps every page again at once when a page holds other ids", function()
    local report, polls = watch(new_dag(250), function(n)
      -- the next list call answers page 1, whatever it asked for
      if n == 1 then sim:fault { route = "list", kind = "paging", page = 1, times = 1 } end
    end)
    assert.is_true(report.ok)
    assert.is_true(polls[1].success[1])
    -- the first page read held other ids: every page at once
    assert.same(concat({ polls[2].pages[1] }, range(1, PAGES)), polls[2].pages)
  end)
end)

describe("the watch's confirming sweep (fake client)", function()
  local fake = require "spec.fake_client"
  local workflow = require "accelerate.workflow"

  local function done_at(t) return { { 0, "RUNNING" }, { t, "SUCCESS" } } end

  it("is not finished when the full sweep finds an instance the pages fetched did not", function()
    -- pages of 2: the first page is done at t=1, the second at t=5; at the
    -- confirming sweep the server has split one more lot (a third page)
    local c = fake.new { instances = {
      { id = 1, startPartition = "2025-01-01", endPartition = "2025-01-01", timeline = done_at(1) },
      { id = 2, startPartition = "2025-01-01", endPartition = "2025-01-01", timeline = done_at(1) },
      { id = 3, startPartition = "2025-01-02", endPartition = "2025-01-02", timeline = done_at(5) },
      { id = 4, startPartition = "2025-01-02", endPartition = "2025-01-02", timeline = done_at(5) },
    } }
    local added = false
    c.on_list = function(self, q)
      if not added and self.now >= 5 and q.pageIndex == 1 then
        added = true
        self.instances[5] = { id = 5, startPartition = "2025-01-03", endPartition = "2025-01-03",
          timeline = done_at(20) }
      end
    end
    local polls = {}
    local report = assert(workflow.wait(c, "dag-1", { sleep = c.sleep, clock = c.clock, interval = 2,
      max_interval = 2, page_size = 2, on_progress = function(r)
        polls[#polls + 1] = { done = r.done, total = r.total, lists = #c.lists }
      end }))
    assert.is_true(report.ok)
    assert.equal(5, report.total)
    assert.equal(5, #report.instances)
    -- the poll whose pages said 4 of 4 done swept again and found a fifth
    local confirm
    for _, p in ipairs(polls) do if p.total == 5 and not confirm then confirm = p end end
    assert.is_false(confirm.done)
    assert.is_true(c.now >= 20)
  end)

  it("reads a report of more instances than it keeps whole through the compact store", function()
    local sweep = require "accelerate.workflow.sweep"
    local status = require "accelerate.workflow.status"
    local calendar = require "accelerate.render.calendar"
    local insight = require "accelerate.insight"
    local saved = sweep.WHOLE_MAX
    local function run()
      local c = fake.new { instances = fake.plan("2025-01-01", "2025-01-10", 1, 3, function(li, _, ti)
        if li == 4 and ti == 2 then return { { 0, "RUNNING" }, { 5, "FAILED" } } end
        return done_at(li)
      end) }
      return assert(workflow.wait(c, "dag-1", { sleep = c.sleep, clock = c.clock, interval = 1, page_size = 7 }))
    end
    local whole = run()
    sweep.WHOLE_MAX = 5
    local ok, compact = pcall(run)
    sweep.WHOLE_MAX = saved
    assert(ok, compact)
    assert.is_table(whole.instances)
    assert.is_userdata(compact.instances)
    assert.equal(30, #compact.instances)
    assert.same(whole.counts, compact.counts)
    assert.same(whole.failures, compact.failures)
    assert.equal(calendar.render(whole.instances), calendar.render(compact.instances))
    assert.same(insight.timing(insight.each_entry(whole)), insight.timing(insight.each_entry(compact)))
    assert.same(insight.overall_timing(whole), insight.overall_timing(compact))
    local ids = {}
    for inst in status.each_instance(compact) do ids[#ids + 1] = inst.id end
    local want = {}
    for inst in status.each_instance(whole) do want[#want + 1] = tostring(inst.id) end
    assert.same(want, ids)
    assert.same(assert(workflow.repair_plan(whole, { planId = "p" })),
      assert(workflow.repair_plan(compact, { planId = "p" })))
  end)

  it("gives a report's instances one interface, whole or compact: :each(), :counts(), :failures()", function()
    local sweep = require "accelerate.workflow.sweep"
    local util = require "accelerate.util"
    local saved = sweep.WHOLE_MAX
    local function run()
      local c = fake.new { instances = fake.plan("2025-01-01", "2025-01-04", 1, 2, function(li, _, ti)
        if li == 2 and ti == 1 then return { { 0, "RUNNING" }, { 5, "KILLED" } } end
        return done_at(li)
      end) }
      return assert(workflow.wait(c, "dag-1", { sleep = c.sleep, clock = c.clock, interval = 1, page_size = 3 }))
    end
    local whole = run()
    sweep.WHOLE_MAX = 3
    local ok, compact = pcall(run)
    sweep.WHOLE_MAX = saved
    assert(ok, compact)
    for _, r in ipairs({ whole, compact }) do
      local counts, terminal, failed, n = r.instances:counts()
      assert.same(r.counts, counts)
      assert.same({ 8, 1, 8 }, { terminal, failed, n })
      local fails = r.instances:failures()
      assert.equal(1, #fails)
      assert.equal("KILLED", fails[1].status)
      local k = 0
      for inst in r.instances:each() do k = k + 1; assert.equal(tostring(r.instances:get(k).id), tostring(inst.id)) end
      assert.equal(#r.instances, k)
    end
    -- the whole form is still the documented array: #, [i], ipairs, JSON
    assert.equal(8, #whole.instances)
    local plain = {}
    for i, inst in ipairs(whole.instances) do plain[i] = inst end
    assert.equal(whole.instances[8], plain[8])
    assert.equal(util.json_encode(plain), util.json_encode(whole.instances))
  end)
end)
