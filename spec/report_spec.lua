-- The pictures and the failure report: calendar cells, colours and letters,
-- the meaningful lines of a JVM stack, timings.
require("spec.helpers").paths()

local calendar = require "accelerate.calendar"
local report = require "accelerate.report"

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

describe("report.failures", function()
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
    local lines = report.meaningful_lines(msg)
    assert.same({
      "com.example.TaskExecuteException: task 7 failed on dw.t",
      "Caused by: java.lang.OutOfMemoryError: Java heap space",
    }, lines)
    assert.same({ "(no error message)" }, report.meaningful_lines(nil))
    local long = report.meaningful_lines("x" .. ("y"):rep(500) .. " the end")[1]
    assert.is_true(#long <= 200)
    assert.matches("the end$", long)
  end)

  it("gives table, partitions, retries, timings and where the full stack is", function()
    local text = report.failures({ {
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
    local text = report.failures({ {
      instance = { id = "9", mtGuid = "t", startPartition = "2025-01-01", endPartition = "2025-01-01" },
      detail = { msg = msg, sql = { originalSql = "INSERT INTO t SELECT 1" } },
    } }, { verbose = true })
    assert.truthy(text:find("A.java", 1, true))
    assert.truthy(text:find("INSERT INTO t SELECT 1", 1, true))
  end)

  it("says when a detail could not be fetched", function()
    local text = report.failures({ {
      instance = { id = "9", startPartition = "2025-01-01" },
      err = setmetatable({ kind = "network", message = "reset" },
        { __tostring = function() return "accelerate: [network] reset" end }),
    } })
    assert.matches("detail unavailable: accelerate: %[network%] reset", text)
  end)
end)
