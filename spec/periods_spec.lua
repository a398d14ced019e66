-- accelerate.periods: the periods of a plan's granularity on the calendar
-- (ISO weeks, months, quarters, years, leap days included) and the warning
-- for a backfill range that cuts one.
require("spec.helpers").paths()

local periods = require "accelerate.periods"
local dates = require "accelerate.dates"

-- The bounds of the period holding a date, as dates.
local function bounds(date, gran)
  local a, b = periods.bounds(assert(dates.parse(date)), gran)
  return { dates.format(a), dates.format(b) }
end

describe("periods.bounds", function()
  it("gives ISO weeks, Monday to Sunday, across month and year ends", function()
    assert.same({ "2025-01-13", "2025-01-19" }, bounds("2025-01-15", "WEEK"))   -- a Wednesday
    assert.same({ "2025-01-13", "2025-01-19" }, bounds("2025-01-13", "WEEK"))   -- the Monday itself
    assert.same({ "2025-01-13", "2025-01-19" }, bounds("2025-01-19", "WEEK"))   -- the Sunday itself
    assert.same({ "2024-12-30", "2025-01-05" }, bounds("2025-01-01", "WEEK"))
    assert.same({ "2024-02-26", "2024-03-03" }, bounds("2024-02-29", "WEEK"))
  end)

  it("gives months, quarters and years on the real calendar", function()
    assert.same({ "2024-02-01", "2024-02-29" }, bounds("2024-02-10", "MONTH"))
    assert.same({ "2025-02-01", "2025-02-28" }, bounds("2025-02-28", "MONTH"))
    assert.same({ "2025-12-01", "2025-12-31" }, bounds("2025-12-31", "MONTH"))
    assert.same({ "2025-01-01", "2025-03-31" }, bounds("2025-02-15", "QUARTER"))
    assert.same({ "2025-04-01", "2025-06-30" }, bounds("2025-05-20", "QUARTER"))
    assert.same({ "2025-10-01", "2025-12-31" }, bounds("2025-10-01", "QUARTER"))
    assert.same({ "2024-01-01", "2024-12-31" }, bounds("2024-02-29", "YEAR"))
    assert.same({ "2025-03-04", "2025-03-04" }, bounds("2025-03-04", "DAY"))
  end)

  it("knows only the five granularities", function()
    assert.is_nil(periods.bounds(0, "HOUR"))
    assert.is_nil(periods.bounds(0, nil))
    assert.is_true(periods.known("QUARTER"))
    assert.is_false(periods.known("month"))
    assert.is_false(periods.known(nil))
  end)
end)

describe("periods.align", function()
  it("widens a range that cuts periods to whole ones, and says which end cuts", function()
    local a = assert(periods.align("2025-01-15", "2025-02-10", "MONTH"))
    assert.same({ start = "2025-01-15", stop = "2025-02-10", aligned_start = "2025-01-01",
      aligned_end = "2025-02-28", start_cut = true, end_cut = true, cuts = true }, a)
    a = assert(periods.align("2025-01-01", "2025-02-10", "MONTH"))
    assert.same({ false, true }, { a.start_cut, a.end_cut })
    a = assert(periods.align("2025-01-06", "2025-01-26", "WEEK"))   -- Monday .. Sunday
    assert.is_false(a.cuts)
    assert.same({ "2025-01-06", "2025-01-26" }, { a.aligned_start, a.aligned_end })
    a = assert(periods.align("2025-01-01", "2025-03-31", "QUARTER"))
    assert.is_false(a.cuts)
    a = assert(periods.align("2025-01-01", "2025-12-30", "YEAR"))
    assert.same({ true, "2025-12-31" }, { a.cuts, a.aligned_end })
    assert.is_false(assert(periods.align("2025-01-15", "2025-01-15", "DAY")).cuts)
  end)

  it("refuses dates that are not real, start after end, and an unknown granularity", function()
    local a, err = periods.align("2025-02-29", "2025-03-01", "MONTH")
    assert.is_nil(a)
    assert.matches("no such day", err)
    a, err = periods.align("2025-03-01", "2025-02-01", "MONTH")
    assert.is_nil(a)
    assert.matches("after", err)
    a, err = periods.align("2025-01-01", "2025-02-01", "FORTNIGHT")
    assert.is_nil(a)
    assert.equal("unknown granularity FORTNIGHT", err)
  end)
end)

describe("periods.warning", function()
  it("names the plan, its granularity, the range and the aligned range", function()
    assert.equal("gmv_monthly is MONTH: 2025-01-15 .. 2025-02-10 cuts months; the aligned range is "
      .. "2025-01-01 .. 2025-02-28", periods.warning("gmv_monthly", "2025-01-15", "2025-02-10", "MONTH"))
    assert.equal("traffic_weekly is WEEK: 2025-01-01 .. 2025-01-31 cuts weeks; the aligned range is "
      .. "2024-12-30 .. 2025-02-02", periods.warning("traffic_weekly", "2025-01-01", "2025-01-31", "WEEK"))
  end)

  it("says nothing for an aligned range, a DAY plan or an unknown granularity", function()
    assert.is_nil(periods.warning("gmv_monthly", "2025-01-01", "2025-02-28", "MONTH"))
    assert.is_nil(periods.warning("sales_daily", "2025-01-15", "2025-02-10", "DAY"))
    assert.is_nil(periods.warning("x", "2025-01-15", "2025-02-10", nil))
    assert.is_nil(periods.warning("x", "2025-02-30", "2025-03-10", "MONTH"))
  end)
end)
