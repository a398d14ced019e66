-- accelerate.insight: failure signatures and groups, the transient rules,
-- timing from statusTime, and the ETA.  Pure functions over hand-made
-- messages, details and histories.
require("spec.helpers").paths()

local insight = require "accelerate.insight"

local FRAMES = "\n\tat com.example.Exec.run(Exec.java:214)\n\tat java.lang.Thread.run(Thread.java:750)"

-- The simulator's OOM, as it reads on any host, table, task and day.
local function oom(id, host, tid, table_name)
  return ("com.aloudata.anymetrics.scheduler.TaskExecuteException: task %s failed on %s\n"
    .. "Caused by: org.apache.spark.SparkException: Job aborted due to stage failure: Task %d in stage %d.0 "
    .. "failed 4 times, most recent failure: Lost task %d.3 in stage 4.0 (TID %d) (%s executor %d): "
    .. "java.lang.OutOfMemoryError: Java heap space"):format(id, table_name, tid % 50, tid % 7, tid % 50, tid, host,
      tid % 9) .. FRAMES
end

local function locked(day, table_name)
  return ("java.sql.SQLException: errCode = 2, detailMessage = partition p%s of %s is being loaded by another "
    .. "job, try again later"):format(day:gsub("-", ""), table_name) .. FRAMES
end

local function failure(id, table_name, day, msg, extra)
  local f = {
    instance = { id = id, mtGuid = table_name, startPartition = day, endPartition = day, status = "FAILED" },
    detail = { msg = msg, sql = { originalSql = "INSERT INTO " .. table_name .. " SELECT 1",
      formattedSql = "INSERT INTO " .. table_name .. "\nSELECT 1" } },
  }
  for k, v in pairs(extra or {}) do f.instance[k] = v end
  return f
end

describe("insight.signature", function()
  it("is the same for one OOM on three hosts, tables, days and TIDs", function()
    local a = insight.signature(oom(12876564, "10.161.0.163", 211, "dw.sales.orders_daily"))
    local b = insight.signature(oom(12876999, "10.161.0.7", 3, "dw.web.sessions"))
    local c = insight.signature(oom(5, "worker-3.spark.internal", 98765, "cat.sch.t1"))
    assert.equal(a, b)
    assert.equal(a, c)
    assert.matches("OutOfMemoryError: Java heap space", a)
    assert.is_nil(a:find("211", 1, true))
    assert.is_nil(a:find("TaskExecuteException", 1, true))    -- the root cause wins
  end)

  it("tells a lock from a SQL error, and ignores partitions, tables and ids", function()
    local l1 = insight.signature(locked("2025-01-06", "dw.sales.orders_daily"))
    local l2 = insight.signature(locked("2024-12-31", "dw.web.sessions_weekly"))
    local sql = insight.signature("org.apache.spark.sql.AnalysisException: Table or view not found: "
      .. "`dw`.`sales`.`x_source`; line 1 pos 14" .. FRAMES)
    local sql2 = insight.signature("org.apache.spark.sql.AnalysisException: Table or view not found: "
      .. "`dw`.`web`.`y_source`; line 3 pos 2" .. FRAMES)
    assert.equal(l1, l2)
    assert.equal(sql, sql2)
    assert.not_equal(l1, sql)
    assert.not_equal(insight.signature(oom(1, "h", 2, "t.t")), l1)
    local u1 = insight.signature("RuntimeException: plan 5468b0c0462e40e08e44108d8164c7c3 dag "
      .. "80d3a5a9-027d-4c82-97e2-9e9ac9da873a failed at 2025-03-25T10:02:30")
    local u2 = insight.signature("RuntimeException: plan 9c41f2a7d6e84b0f8a1d3e5c7b9f0a12 dag "
      .. "0b6f2d94-c1e8-4a7f-9e3d-5c2a1b8f7e60 failed at 2026-01-01T00:00:01")
    assert.equal(u1, u2)
  end)

  it("keeps the last Caused by and the end of a sentence", function()
    local msg = "a.TopException: wrapper 1\nCaused by: b.MiddleException: middle 2" .. FRAMES
      .. "\nCaused by: java.net.SocketTimeoutException: Read timed out." .. FRAMES
    assert.equal("java.net.SocketTimeoutException: Read timed out.", insight.signature(msg))
    assert.equal("SocketTimeoutException: Read timed out.", insight.title(msg))
    assert.equal("(no error message)", insight.signature(nil))
    assert.equal("(no error message)", insight.signature(""))
  end)
end)

describe("insight.title", function()
  it("names the exception of the root cause in one line", function()
    assert.equal("OutOfMemoryError: Java heap space", insight.title(oom(1, "10.0.0.1", 7, "dw.t")))
    assert.matches("^SQLException: .* is being loaded by another job", insight.title(locked("2025-01-06", "dw.t")))
    local long = insight.title("x.BigException: " .. ("word "):rep(100) .. "the end")
    assert.is_true(#long <= 200)
    assert.matches("the end$", long)
    assert.equal("disk full", insight.title("disk full"))
  end)
end)

describe("insight.transient", function()
  local cases = {
    { locked("2025-01-06", "dw.t"), true, "partition_busy" },
    { "java.sql.SQLException: Lock wait timeout exceeded; try restarting transaction", true, "lock" },
    { "java.net.SocketException: Connection reset" .. FRAMES, true, "connection" },
    { "org.apache.spark.SparkException: ExecutorLostFailure (executor 4 exited caused by one of the running "
      .. "tasks) Reason: Container killed by YARN", true, "executor_lost" },
    { "org.apache.spark.sql.catalyst.parser.ParseException: mismatched input 'FORM' expecting <EOF>", false, "sql_parse" },
    { "org.apache.spark.sql.AnalysisException: Table or view not found: dw.x", false, "missing_table" },
    { "java.sql.SQLException: errCode = 2, detailMessage = Table [x_source] does not exist in database [dw.s]",
      false, "missing_table" },
    { "org.apache.spark.sql.AnalysisException: cannot resolve 'amount' given input columns", false, "missing_column" },
    { "org.apache.hadoop.security.AccessControlException: Permission denied: user=etl", false, "permission" },
    { oom(1, "h", 2, "t.t"), false, "out_of_memory" },
    { "something nobody has seen before", false, nil },
  }
  for i, c in ipairs(cases) do
    it("judges case " .. i .. " (" .. tostring(c[3]) .. ")", function()
      local t, rule = insight.transient(c[1])
      assert.equal(c[2], t)
      assert.equal(c[3], rule and rule.name)
    end)
  end

  it("judges the root cause before the wrapper", function()
    -- the wrapper says "connection", the root cause is a parse error
    local msg = "x.TaskException: connection reset while running\nCaused by: x.ParseException: syntax error at 'FROM'"
    local t, rule = insight.transient(msg)
    assert.is_false(t)
    assert.equal("sql_parse", rule.name)
    assert.is_false((insight.transient(nil)))
  end)

  it("takes another rule table", function()
    local rules = { { name = "mine", transient = true, why = "w", patterns = { "heap space" } } }
    local t, rule = insight.transient(oom(1, "h", 2, "t.t"), rules)
    assert.is_true(t)
    assert.equal("mine", rule.name)
  end)

  -- issue 17 item 8: a list of patterns matched nothing, silently
  it("takes a list of patterns: what they match is transient", function()
    local t, rule = insight.transient(oom(1, "h", 2, "t.t"), { "nothing like it", "java heap space" })
    assert.is_true(t)
    assert.is_table(rule)
    assert.is_true(rule.transient)
    t, rule = insight.transient("java.sql.SQLException: Lock wait timeout exceeded", { "heap space" })
    assert.is_false(t)
    assert.is_nil(rule)
  end)

  it("refuses rules of any other shape, and a malformed pattern, by where they are", function()
    local msg = oom(1, "h", 2, "t.t")
    for _, c in ipairs {
      { { 1, 2 }, "rules%[1%]" },
      { { "heap", { patterns = { "x" } } }, "rules%[2%]" },
      { "heap space", "rule table or a list of patterns" },
      { { "heap[" }, "rules%[1%].-missing ']'" },
      { { { name = "x", patterns = { "ok", "(a" } } }, "rules%[1%]%.patterns%[2%].-unfinished capture" },
      { { { name = "x", patterns = "heap" } }, "rules%[1%]%.patterns" },
      { { "a", nil, "heap" }, "rules%[2%]" },
    } do
      local ok, err = pcall(insight.transient, msg, c[1])
      assert.is_false(ok, c[2])
      assert.matches(c[2], tostring(err))
    end
  end)
end)

describe("insight.check_pattern", function()
  it("refuses what string.find would refuse once it reached that part of the pattern", function()
    for _, p in ipairs { "heap[", "[a", "[^", "[]", "[%]", "%", "a%", "%b", "%bx", "%f", "%fa", "(a", "a)",
      "%1", "(a%1)", "%0", "()%2", "((a)", ("()"):rep(33) } do
      local ok, why = insight.check_pattern(p)
      assert.is_nil(ok, p)
      assert.is_string(why, p)
    end
    for _, p in ipairs { "heap space", "%b()", "%f[%w]x", "[]]", "[^]]", "[%]]", "(a)%1", "()a", "a$b", "^^a",
      "x%-y", "[a-]", "a$", "^$", "%%", "[%a_][%w_]*", "metastore.*unavailable", ("()"):rep(32) } do
      assert.is_true(insight.check_pattern(p), p)
    end
  end)

  it("accepts only patterns that string.find never refuses, whatever the subject", function()
    local alphabet = { "a", "b", "%", "[", "]", "^", "$", "(", ")", "*", "+", "-", "?", ".", "1", "2", "f", "w" }
    local letters = { "a", "b", "(", ")", "[", "]", "%", ".", "-", " " }
    local seed = 17
    local function rand(n)
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed % n + 1
    end
    local accepted = 0
    for _ = 1, 3000 do
      local parts = {}
      for i = 1, rand(8) do parts[i] = alphabet[rand(#alphabet)] end
      local p = table.concat(parts)
      if insight.check_pattern(p) then
        accepted = accepted + 1
        for _ = 1, 8 do
          local subj = {}
          for i = 1, rand(10) - 1 do subj[i] = letters[rand(#letters)] end
          local ok, err = pcall(string.find, table.concat(subj), p)
          assert(ok, "accepted " .. p .. " but string.find says " .. tostring(err))
        end
        assert(pcall(string.find, p, p))
      end
    end
    assert.is_true(accepted > 300, accepted)
  end)
end)

describe("insight.failures", function()
  it("groups by cause, sorted by count, with tables, sorted dates and a sample", function()
    local groups = insight.failures({
      failure(3, "dw.b", "2025-01-21", locked("2025-01-21", "dw.b")),
      failure(1, "dw.a", "2025-01-10", oom(1, "10.0.0.1", 211, "dw.a")),
      failure(2, "dw.a", "2025-01-09", oom(2, "10.0.0.2", 17, "dw.a")),
      failure(4, "dw.c", "2025-01-09", oom(4, "10.0.0.9", 5, "dw.c"), { endPartition = "2025-01-11" }),
    })
    assert.equal(2, #groups)
    local g = groups[1]
    assert.equal(3, g.count)
    assert.equal("OutOfMemoryError: Java heap space", g.title)
    assert.is_false(g.transient)
    assert.equal("out_of_memory", g.rule)
    assert.same({ "dw.a", "dw.c" }, g.tables)
    assert.same({ "2025-01-09", "2025-01-10", "2025-01-11" }, g.dates)
    assert.same({ "1", "2", "4" }, g.instances)
    assert.matches("TID 211", g.sample.msg)
    assert.equal("INSERT INTO dw.a\nSELECT 1", g.sample.sql)
    assert.equal(1, groups[2].count)
    assert.is_true(groups[2].transient)
    assert.same({ "2025-01-21" }, groups[2].dates)
  end)

  it("keeps failures without a detail or a message in groups of their own", function()
    local err = setmetatable({ kind = "network", message = "reset" },
      { __tostring = function() return "accelerate: [network] reset" end })
    local groups = insight.failures({
      { instance = { id = 7, mtGuid = "t", startPartition = "2025-01-01" }, err = err },
      { instance = { id = 8, mtGuid = "t", startPartition = "2025-01-02" }, detail = { msg = "" } },
      { instance = { id = 9, mtGuid = "t", startPartition = "2025-01-03" }, detail = {} },
    })
    assert.equal(2, #groups)
    assert.equal("(no error message)", groups[1].signature)
    assert.equal(2, groups[1].count)
    assert.equal("detail unavailable: accelerate: [network] reset", groups[2].title)
    assert.same({}, insight.failures({}))
  end)
end)

describe("insight.compress_dates", function()
  it("writes runs of days as ranges and the year once", function()
    assert.equal("2025-01-09..01-10, 01-21",
      insight.compress_dates { "2025-01-21", "2025-01-09", "2025-01-10" })
    assert.equal("2024-12-30..2025-01-02, 01-05",
      insight.compress_dates { "2024-12-30", "2024-12-31", "2025-01-01", "2025-01-02", "2025-01-05" })
    assert.equal("2025-02-28", insight.compress_dates { "2025-02-28" })
    assert.equal("", insight.compress_dates {})
  end)
end)

describe("insight.timing", function()
  local function d(id, st, extra)
    local x = { taskInstanceId = id, status = extra and extra.status or "SUCCESS", statusTime = st,
      mtGuid = { { catalog = "c", schema = "s", table = extra and extra.table or "t1" } } }
    return x
  end

  it("gives queue and run percentiles from statusTime", function()
    local details = {}
    for i = 1, 20 do
      -- queue i seconds, run 10 * i seconds, each in an hour of its own
      details[i] = d(i, { WAITING = ("2025-03-25T%02d:00:00"):format(i % 24),
        RUNNING = ("2025-03-25T%02d:00:%02d"):format(i % 24, i),
        SUCCESS = ("2025-03-25T%02d:%02d:%02d"):format(i % 24, math.floor((i + 10 * i) / 60), (i + 10 * i) % 60) })
    end
    local t = insight.timing(details)
    assert.same({ count = 20, p50 = 10, p95 = 19, max = 20 }, t.queue)
    assert.same({ count = 20, p50 = 100, p95 = 190, max = 200 }, t.run)
    assert.equal(20, t.instances)
    assert.equal(0, t.never_ran)
    assert.equal(10, #t.slowest)
    assert.equal("20", t.slowest[1].id)
    assert.equal(200, t.slowest[1].run)
    assert.equal(1, t.concurrency)
    assert.equal("c.s.t1", t.by_table[1].name)
  end)

  it("copes with missing states and instances that never ran", function()
    local t = insight.timing({
      { instance = { id = 1, mtGuid = "a", resourceGroup = "batch", status = "SUCCESS" },
        detail = { statusTime = { WAITING = "2025-01-01T10:00:00", RUNNING = "2025-01-01T10:01:00",
          SUCCESS = "2025-01-01T10:03:00" } } },
      -- no WAITING: a run time, no queue time
      { instance = { id = 2, mtGuid = "a", resourceGroup = "batch", status = "FAILED" },
        detail = { statusTime = { RUNNING = "2025-01-01T10:02:00", FAILED = "2025-01-01T10:06:00" } } },
      -- never ran
      { instance = { id = 3, mtGuid = "b", status = "WAITING" }, detail = { statusTime = { WAITING = "2025-01-01T10:00:00" } } },
      -- a detail that was not fetched: the list's times
      { instance = { id = 4, mtGuid = "b", resourceGroup = "default", status = "RUNNING",
        createTime = "2025-01-01T10:00:00", startTime = "2025-01-01T10:00:30" } },
      -- nothing at all, and times that run backwards
      { instance = { id = 5, mtGuid = "b", status = "WAITING" } },
      { detail = { taskInstanceId = 6, status = "SUCCESS", statusTime = { WAITING = "2025-01-01T11:00:00",
        RUNNING = "2025-01-01T10:00:00", SUCCESS = "2025-01-01T09:00:00" } } },
    })
    assert.equal(6, t.instances)
    assert.same({ count = 2, p50 = 30, p95 = 60, max = 60 }, t.queue)
    assert.same({ count = 2, p50 = 120, p95 = 240, max = 240 }, t.run)
    assert.equal(2, t.never_ran)    -- 3 and 5; 6 ran, its other times run backwards and are dropped
    assert.equal(3, #t.by_group)
    assert.equal("(unknown)", t.by_group[1].name)
    assert.equal("batch", t.by_group[2].name)
    assert.equal(2, t.by_group[2].count)
    assert.equal(1, t.by_group[2].failed)
    assert.same({ count = 2, p50 = 120, p95 = 240, max = 240 }, t.by_group[2].run)
    -- 1 runs 10:01-10:03, 2 runs 10:02-10:06, 4 runs from 10:00:30 on; 6
    -- ended at a time nobody knows and is not counted
    assert.equal(3, t.concurrency)
    assert.equal("2025-01-01T10:06:00", t.last)
  end)

  it("counts throughput over the span from the first state to the last end", function()
    local details = {}
    for i = 1, 10 do
      details[i] = d(i, { WAITING = "2025-01-01T00:00:00", RUNNING = ("2025-01-01T%02d:00:00"):format(i - 1),
        SUCCESS = ("2025-01-01T%02d:00:00"):format(i) })
    end
    local t = insight.timing(details)
    assert.equal(1, t.throughput)              -- 10 instances in 10 hours
    assert.equal(1, t.concurrency)             -- an end and a start at the same second do not overlap
    assert.is_nil(insight.timing({}).throughput)
    assert.same({ count = 0 }, insight.timing({}).run)
  end)
end)

-- issue 21 item 2: the timing line of a report of any size reads its
-- collection with scan() and no entry per instance; the same figures
describe("insight.overall_timing", function()
  local OVERALL = { "instances", "timed", "never_ran", "finished", "queue", "run", "concurrency", "first",
    "last", "throughput" }

  it("gives insight.timing's overall figures, with the details known by id", function()
    local row = function(id, st, c, b, e, extra)
      local r = { id = id, status = st, mtGuid = "a", startPartition = "2025-01-01", endPartition = "2025-01-01",
        createTime = c, startTime = b, endTime = e }
      for k, v in pairs(extra or {}) do r[k] = v end
      return r
    end
    local report = {
      instances = {
        row("1", "SUCCESS", "2025-01-01T10:00:00", "2025-01-01T10:01:00", "2025-01-01T10:03:00"),
        -- its detail (a failure's) has other times, and they win
        row("2", "FAILED", "2025-01-01T10:00:00", "2025-01-01T10:00:10", "2025-01-01T10:00:20"),
        -- its detail (given by id) has only some: the others are the list's
        row("3", "SUCCESS", "2025-01-01T09:00:00", "2025-01-01T10:00:00", "2025-01-01T10:09:00"),
        -- times that run backwards, one that does not parse, none at all
        row("4", "SUCCESS", "2025-01-01T11:00:00", "2025-01-01T10:00:00", "2025-01-01T09:00:00"),
        row("5", "RUNNING", "garbage", "2025-01-01T10:02:00"),
        row("6", "WAITING"),
        -- no status; a status that is no string
        row("7", nil, "2025-01-01T10:00:00", "2025-01-01T10:05:00", "2025-01-01T10:06:00"),
        row("8", { odd = true }, "2025-01-01T10:00:00", "2025-01-01T10:05:00"),
        -- an id the server wrote as a number, its detail known by its text
        row(9, "FAILED", "2025-01-01T10:00:00"),
      },
      failures = {
        { instance = { id = "2" }, detail = { statusTime = { WAITING = "2025-01-01T10:00:00",
          RUNNING = "2025-01-01T10:04:00", FAILED = "2025-01-01T10:08:00" } } },
      },
    }
    local details = {
      ["3"] = { startTime = "2025-01-01T10:01:00" },
      ["9"] = { statusTime = { RUNNING = "2025-01-01T10:01:00", FAILED = "2025-01-01T10:02:00" } },
    }
    local want = insight.timing(insight.each_entry(report, details))
    local got = insight.overall_timing(report, details)
    for _, k in ipairs(OVERALL) do assert.same(want[k], got[k], k) end
    assert.same({}, got.by_table)
    assert.same({}, got.by_group)
    assert.same({}, got.slowest)
    -- runs of 120 (1), 240 (2: its detail's), 480 (3: its detail's start), 60 (7) and 60 (9: its
    -- detail's); 4's times run backwards; at 10:05, 2, 3, 5, 7 and 8 run at once
    assert.same({ count = 5, p50 = 120, p95 = 480, max = 480 }, got.run)
    assert.equal(5, got.concurrency)
    -- and with no details, the list's times alone
    want = insight.timing(insight.each_entry({ instances = report.instances }))
    got = insight.overall_timing({ instances = report.instances })
    for _, k in ipairs(OVERALL) do assert.same(want[k], got[k], k) end
    assert.equal(0, insight.overall_timing({}).instances)
  end)
end)

-- The timing keeps its numbers in the core's packed arrays when the core
-- is loaded, in Lua arrays when not (insight is pure Lua): the same figures.
describe("insight.timing with and without the C core", function()
  it("gives the same figures, integers as integers", function()
    local helpers = require "spec.helpers"
    local code = [[
      if WITHOUT then
        package.preload["accelerate.core"] = function() error("loaded the core") end
      else
        require "accelerate.core"
      end
      local insight = require "accelerate.insight"
      local rows, details = {}, {}
      for i = 1, 500 do
        local h, m = 10 + i % 7, i % 60
        rows[i] = { id = tostring(i), status = i % 9 == 0 and "FAILED" or i % 13 == 0 and "RUNNING" or "SUCCESS",
          mtGuid = "t" .. i % 3, resourceGroup = "g" .. i % 2, startPartition = "2025-01-01",
          createTime = ("2025-03-25T%02d:%02d:00"):format(h - 1, m),
          startTime = ("2025-03-25T%02d:%02d:%02d"):format(h, m, i % 60),
          endTime = i % 13 ~= 0 and ("2025-03-25T%02d:%02d:%02d"):format(h + 1, (m * 7) % 60, i % 50) or nil }
        if i % 9 == 0 then details[tostring(i)] = { statusTime = { RUNNING = rows[i].startTime,
          FAILED = ("2025-03-25T%02d:59:59"):format(h) } } end
      end
      local report = { instances = rows }
      local function dump(v, out)
        if type(v) ~= "table" then out[#out + 1] = tostring(v) return end
        local keys = {}
        for k in pairs(v) do keys[#keys + 1] = k end
        table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
        out[#out + 1] = "{"
        for _, k in ipairs(keys) do out[#out + 1] = tostring(k) .. "=" dump(v[k], out) out[#out + 1] = "," end
        out[#out + 1] = "}"
      end
      local out = {}
      dump({ insight.timing(insight.each_entry(report, details)), insight.overall_timing(report, details),
        insight.timing(rows) }, out)
      print(table.concat(out))
    ]]
    local outs = {}
    for _, without in ipairs { "true", "false" } do
      local p = assert(io.popen("cd " .. helpers.root .. " && lua5.4 -e 'package.path=\"lua/?.lua;\"..package.path;"
        .. "package.cpath=\"build/lua5.4/?.so;\"..package.cpath; WITHOUT=" .. without .. "' -e '"
        .. code:gsub("'", "'\\''") .. "' 2>&1"))
      outs[#outs + 1] = p:read("*a")
      p:close()
    end
    assert.matches("^{1={by_group=", outs[1])
    assert.not_matches("%d%.0[,}]", outs[1])   -- no integer turned float
    assert.equal(outs[1], outs[2])
  end)
end)

describe("insight.eta", function()
  local function rep(elapsed, done, total, extra)
    local r = { elapsed = elapsed, total = total or 100, counts = { SUCCESS = done, FAILED = 0, RUNNING = 0,
      WAITING = (total or 100) - done } }
    for k, v in pairs(extra or {}) do r[k] = v end
    return r
  end

  it("says nothing until instances finish, then uses the rate since the first did", function()
    local h = {}
    for _, r in ipairs { rep(0, 0), rep(10, 0), rep(60, 0) } do insight.sample(h, r) end
    assert.equal(1, #h)                        -- one sample per count of finished instances
    assert.is_nil(insight.eta(rep(60, 0), h))
    -- 10 finished between 60 s and 160 s: 0.1 per second, 90 left
    local r = rep(160, 10)
    insight.sample(h, r)
    local eta, per_hour = insight.eta(r, h)
    assert.near(900, eta, 1e-6)
    assert.near(360, per_hour, 1e-6)
    -- later: 50 done at 560 s -> (50 - 0) / (560 - 60) = 0.1 per second
    r = rep(560, 50)
    insight.sample(h, r)
    assert.near(500, (insight.eta(r, h)), 1e-6)
    assert.equal(3, #h)
  end)

  it("is 0 when done and nil without a history or a total", function()
    assert.equal(0, insight.eta(rep(5, 100), {}))
    assert.equal(0, insight.eta(rep(5, 3, 100, { done = true }), {}))
    assert.is_nil(insight.eta(rep(5, 3), nil))
    assert.is_nil(insight.eta(rep(5, 0, 0), { { elapsed = 0, done = 0 } }))
    assert.is_nil(insight.eta(nil, {}))
    -- failed instances count as finished
    local r = { elapsed = 20, total = 4, counts = { SUCCESS = 1, FAILED = 1, WAITING = 2 } }
    assert.near(20, (insight.eta(r, { { elapsed = 0, done = 0 } })), 1e-6)
  end)
end)

describe("docs/insight.md", function()
  it("lists the rule table as the code holds it", function()
    local helpers = require "spec.helpers"
    local doc = assert(helpers.read_file(helpers.root .. "/docs/insight.md"))
    local rows = 0
    for name, transient, why_fix in doc:gmatch("\n| `([%w_]+)` | (%a+) | [^\n]- | ([^|\n]+) |") do
      rows = rows + 1
      local rule
      for _, r in ipairs(insight.RULES) do if r.name == name then rule = r end end
      assert.is_table(rule, name)
      assert.equal(rule.transient and "yes" or "no", transient, name)
      assert.equal(rule.why .. " / " .. rule.fix:gsub("%-%-lot", "`--lot`"), why_fix, name)
    end
    assert.equal(#insight.RULES, rows)
  end)
end)
