-- The text renderers (accelerate.render.calendar, accelerate.render.text):
-- calendar cells, colours and letters, the first lines of a JVM stack as
-- insight reads them, timings.
require("spec.helpers").paths()

local calendar = require "accelerate.render.calendar"
local render_text = require "accelerate.render.text"
local insight = require "accelerate.insight"

local function day(d, status, table_name)
  return { startPartition = d, endPartition = d, status = status, mtGuid = table_name or "t1" }
end

describe("calendar.render", function()
  it("draws one cell per day, month by month, with letters when colour is off", function()
    local insts = {}
    for d = 27, 29 do insts[#insts + 1] = day(("2024-02-%02d"):format(d), "SUCCESS") end
    insts[#insts + 1] = day("2024-03-01", "FAILED")
    insts[#insts + 1] = { startPartition = "2024-03-02", endPartition = "2024-03-04", status = "RUNNING" }
    local text = calendar.render(insts, { color = false })
    assert.is_nil(text:find("\27", 1, true))
    local feb = text:match("2024%-02  ([^\n]*)")
    local mar = text:match("2024%-03  ([^\n]*)")
    assert.equal(29, #feb)                                   -- leap year
    assert.equal(("."):rep(26) .. "SSS", feb)
    assert.equal("FRRR" .. ("."):rep(27), mar)
    assert.matches("S success 3", text)
    assert.matches("F failed 1", text)
    assert.matches("R running 3", text)
  end)

  it("shows a day as failed when any table failed it", function()
    local text = calendar.render({
      day("2025-01-01", "SUCCESS", "a"), day("2025-01-01", "FAILED", "b"),
      day("2025-01-02", "SUCCESS", "a"), day("2025-01-02", "WAITING", "b"),
      day("2025-01-03", "KILLED", "a"),
    }, { color = false })
    assert.matches("2025%-01  FWF", text)
  end)

  it("colours cells and the legend when asked", function()
    local text = calendar.render({ day("2025-01-01", "FAILED"), day("2025-01-02", "SUCCESS") }, { color = true })
    assert.matches("\27%[31m", text)
    assert.matches("\27%[32m", text)
    assert.matches("failed", text)
  end)

  it("spans a year boundary and draws nothing without partitions", function()
    local text = calendar.render({ day("2024-12-31", "SUCCESS"), day("2025-01-01", "SUCCESS") })
    assert.matches("2024%-12", text)
    assert.matches("2025%-01", text)
    assert.equal("", calendar.render({}))
  end)
end)

describe("render.text.failures", function()
  local msg = table.concat({
    "com.example.TaskExecuteException: task 7 failed on dw.t",
    "\tat com.example.A.run(A.java:1)",
    "\tat com.example.B.run(B.java:2)",
    "Caused by: java.lang.IllegalStateException: middle",
    "\tat com.example.C.run(C.java:3)",
    "Caused by: java.lang.OutOfMemoryError: Java heap space",
    "\t... 12 more",
  }, "\n")

  it("keeps the exception line and the root cause, not the frames", function()
    local lines = insight.first_lines(msg)
    assert.same({
      "com.example.TaskExecuteException: task 7 failed on dw.t",
      "Caused by: java.lang.OutOfMemoryError: Java heap space",
    }, lines)
    assert.same({ "(no error message)" }, insight.first_lines(nil))
    local long = insight.first_lines("x" .. ("y"):rep(500) .. " the end")[1]
    assert.is_true(#long <= 200)
    assert.matches("the end$", long)
  end)

  it("gives table, partitions, retries, timings and where the full stack is", function()
    local text = render_text.failures({ {
      instance = { id = 12876560, mtGuid = "dw.sales.orders", startPartition = "2025-01-08",
        endPartition = "2025-01-14", status = "FAILED" },
      detail = { msg = msg, retryCnt = 2, serverInfo = "10.0.0.1",
        statusTime = { WAITING = "2025-03-25T09:59:00", RUNNING = "2025-03-25T10:00:00",
          FAILED = "2025-03-25T10:02:30" },
        sql = { originalSql = "INSERT INTO dw.sales.orders SELECT 1" } },
    } })
    assert.matches("FAILED  dw.sales.orders  2025%-01%-08 .. 2025%-01%-14  %(instance 12876560, 2 retries%)", text)
    assert.matches("waited 1m00s, ran 2m30s, failed at 2025%-03%-25T10:02:30 %(server time%), on 10.0.0.1", text)
    assert.matches("OutOfMemoryError", text)
    assert.is_nil(text:find("A.java", 1, true))
    assert.matches("accelerate detail 12876560", text)
    assert.is_nil(text:find("INSERT", 1, true))
  end)

  it("prints the full stack and the SQL with verbose", function()
    local text = render_text.failures({ {
      instance = { id = "9", mtGuid = "t", startPartition = "2025-01-01", endPartition = "2025-01-01" },
      detail = { msg = msg, sql = { originalSql = "INSERT INTO t SELECT 1" } },
    } }, { verbose = true })
    assert.truthy(text:find("A.java", 1, true))
    assert.truthy(text:find("INSERT INTO t SELECT 1", 1, true))
  end)

  it("says when a detail could not be fetched", function()
    local text = render_text.failures({ {
      instance = { id = "9", startPartition = "2025-01-01" },
      err = setmetatable({ kind = "network", message = "reset" },
        { __tostring = function() return "accelerate: [network] reset" end }),
    } })
    assert.matches("detail unavailable: accelerate: %[network%] reset", text)
  end)
end)

describe("render.text.groups and render.text.timing_line", function()

  local function f(id, tbl, date, msg)
    return { instance = { id = id, mtGuid = tbl, startPartition = date, endPartition = date, status = "FAILED" },
      detail = { msg = msg } }
  end

  it("prints one block per cause: count, title, tables, compressed dates, verdict and repair", function()
    local lock = "java.sql.SQLException: partition p1 of dw.x is being loaded by another job, try again later"
    local groups = insight.failures({
      f(1, "dw.a", "2025-01-09", "java.lang.OutOfMemoryError: Java heap space"),
      f(2, "dw.a", "2025-01-10", "java.lang.OutOfMemoryError: Java heap space"),
      f(3, "dw.b", "2025-01-21", "java.lang.OutOfMemoryError: Java heap space"),
      f(4, "dw.b", "2025-01-21", lock),
      f(5, "dw.b", "2025-01-22", "something new"),
    })
    local text = render_text.groups(groups, { dag = "D" })
    assert.equal(table.concat({
      "FAILED  3 instances  OutOfMemoryError: Java heap space",
      "    tables:    dw.a, dw.b",
      "    dates:     2025-01-09..01-10, 01-21",
      "    instances: 1, 2, 3",
      "    not transient (out of memory): more executor memory, or smaller lots (--lot), then `accelerate repair D`",
      "    full stack and SQL: accelerate detail 1  (or add --verbose)",
      "",
      "FAILED  1 instance  SQLException: partition p1 of dw.x is being loaded by another job, try again later",
      "    tables:    dw.b",
      "    dates:     2025-01-21",
      "    instances: 4",
      "    transient (another job was loading the partition): retry with `accelerate repair D`",
      "    full stack and SQL: accelerate detail 4  (or add --verbose)",
      "",
      "FAILED  1 instance  something new",
      "    tables:    dw.b",
      "    dates:     2025-01-22",
      "    instances: 5",
      "    not known to be transient: read the stack first, then `accelerate repair D`",
      "    full stack and SQL: accelerate detail 5  (or add --verbose)",
    }, "\n") .. "\n", text)
    assert.equal("", render_text.groups({}, { dag = "D" }))
    assert.matches("\27%[31mFAILED", render_text.groups(groups, { dag = "D", color = true }))
  end)

  -- Issue 20 item 6: on a terminal the long lines wrap at a space, under
  -- their own column, rather than wherever the terminal cuts them.
  it("wraps each line to opts.width at spaces, continuation lines indented", function()
    local lock = "java.sql.SQLException: partition p1 of dw.x is being loaded by another job, try again later"
    local list = {}
    for i = 1, 4 do list[i] = f(i, "dw.table_number_" .. i, "2025-01-0" .. i, lock) end
    local groups = insight.failures(list)
    local text = render_text.groups(groups, { dag = "D", width = 60 })
    for line in text:gmatch("[^\n]+") do assert.is_true(#line <= 60, line) end
    assert.equal(table.concat({
      "FAILED  4 instances  SQLException: partition p1 of dw.x is",
      "    being loaded by another job, try again later",
      "    tables:    dw.table_number_1, dw.table_number_2,",
      "               dw.table_number_3, dw.table_number_4",
      "    dates:     2025-01-01..01-04",
      "    instances: 1, 2, 3, 4",
      "    transient (another job was loading the partition): retry",
      "    with `accelerate repair D`",
      "    full stack and SQL: accelerate detail 1  (or add",
      "    --verbose)",
    }, "\n") .. "\n", text)
    -- without a width (not a terminal): one line each, as before
    assert.matches("\n    tables:    dw.table_number_1, dw.table_number_2, dw.table_number_3, dw.table_number_4\n",
      render_text.groups(groups, { dag = "D" }))
  end)

  it("names at most five instances of a group", function()
    local list = {}
    for i = 1, 8 do list[i] = f(i, "t", "2025-01-01", "boom") end
    assert.matches("instances: 1, 2, 3, 4, 5 and 3 more\n", render_text.groups(insight.failures(list), { dag = "D" }), 1, true)
  end)

  it("says the timing in one line, and nothing without times", function()
    local t = insight.timing({
      { taskInstanceId = 1, status = "SUCCESS",
        statusTime = { WAITING = "2025-01-01T00:00:00", RUNNING = "2025-01-01T00:00:05", SUCCESS = "2025-01-01T00:30:05" } },
      { taskInstanceId = 2, status = "SUCCESS",
        statusTime = { WAITING = "2025-01-01T00:00:00", RUNNING = "2025-01-01T00:30:05", SUCCESS = "2025-01-01T01:00:00" } },
    })
    assert.equal("timing: queue p50/p95 5s/30m05s, run p50/p95 29m55s/30m00s, 2.0 instances/hour, 1 at once at most",
      render_text.timing_line(t))
    assert.is_nil(render_text.timing_line(insight.timing({ { taskInstanceId = 3 } })))
    assert.is_nil(render_text.timing_line(nil))
  end)
end)

describe("README.md", function()
  it("shows a failure group as the command prints it", function()
    local helpers = require "spec.helpers"
    local readme = assert(helpers.read_file(helpers.root .. "/README.md"))
    local block = readme:match("```\n(FAILED  .-\n)```")
    assert.truthy(block)
    local oom = "com.aloudata.anymetrics.scheduler.TaskExecuteException: task 1 failed on dw.sales.orders_daily\n"
      .. "Caused by: java.lang.OutOfMemoryError: Java heap space\n\tat a.b(C.java:1)"
    local failures = {}
    for i, date in ipairs { "2025-01-09", "2025-01-10" } do
      failures[i] = { instance = { id = 12876574 + 2 * i, mtGuid = "dw.sales.orders_daily", startPartition = date,
        endPartition = date, status = "FAILED" }, detail = { msg = oom } }
    end
    assert.equal(block, render_text.groups(insight.failures(failures), { dag = "DAG" }))
  end)
end)
