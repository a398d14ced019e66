-- What `accelerate campaign` shows: the live progress on stderr (a line
-- per task event, and an overall line with the counts and an ETA, on the
-- status line of cli/progress.lua), the plan x month grid of the tasks'
-- states, and the planned tasks.

local util = require "accelerate.util"
local dates = require "accelerate.dates"
local status = require "accelerate.statuses"
local progress = require "accelerate.cli.progress"
local metrics = require "accelerate.metrics"

local ipairs = ipairs
local tostring = tostring
local max = math.max
local str_sub = string.sub
local str_rep = string.rep
local str_format = string.format
local tbl_concat = table.concat
local format_duration = util.format_duration
local number_string = util.number_string
local STATUS_ORDER = status.STATUS_ORDER
-- seconds left at the pace tasks settled so far, or nil: the one ETA, the
-- metrics' (accelerate_campaign_eta_seconds) too
local eta = metrics.eta

local _M = {}

local MONTHS = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" }
local LETTER = { succeeded = "S", failed = "F", running = "R", pending = "." }
local COLOR = { succeeded = "\27[32m", failed = "\27[31m", running = "\27[33m", pending = "\27[2m" }
local RESET = "\27[0m"
-- which state a grid cell shows when several tasks share it
local RANK = { failed = 4, running = 3, pending = 2, succeeded = 1 }

-- "2025-02" for a whole month, else "2025-02-01..2025-02-10".
function _M.range(t)
  local s, e = dates.parse(t.startTime), dates.parse(t.endTime)
  if s and e then
    local y, m, d = dates.to_civil(s)
    local y2, m2, d2 = dates.to_civil(e)
    if y == y2 and m == m2 and d == 1 and d2 == dates.days_in_month(y, m) then
      return str_sub(t.startTime, 1, 7)
    end
  end
  return tostring(t.startTime) .. ".." .. tostring(t.endTime)
end

-- "SUCCESS 56  FAILED 1 / 57", the documented statuses that are not 0.
function _M.counts(c, total)
  local parts = {}
  for _, k in ipairs(STATUS_ORDER) do
    local n = c and c[k] or 0
    if n > 0 then parts[#parts + 1] = k .. " " .. number_string(n) end
  end
  if #parts == 0 then parts[1] = "no instance yet" end
  return tbl_concat(parts, "  ") .. (total and (" / " .. number_string(total)) or "")
end

-- One task event in a line.
function _M.event_line(ev, n)
  local t = ev.task
  local head = t and str_format("[%d/%d] %s %s", t.task, ev.of or n, t.plan, _M.range(t)) or "campaign"
  if ev.event == "created" then
    if ev.repairs then
      return head .. ": repair " .. ev.dagName .. " created (" .. ev.params.startTime .. ".." .. ev.params.endTime
        .. ", round " .. tostring(ev.round) .. ")"
    end
    return head .. ": created " .. ev.dagName
  elseif ev.event == "settled" then
    local what = ev.round > 0 and ("repair " .. ev.dagName .. " settled") or ("backfill " .. ev.dagName .. " settled")
    local repair = ev.repair and #ev.repair > 0 and ("; " .. #ev.repair .. " transient failure(s) to repair") or ""
    return head .. ": " .. what .. ", task " .. t.state .. " (" .. _M.counts(t.counts, t.total) .. ")" .. repair
  elseif ev.event == "stopped" then
    return "campaign: stopped (" .. tostring(ev.reason) .. "): no more creates"
      .. (ev.reason == "failure_budget" and (", " .. number_string(ev.failed) .. " instance(s) FAILED") or "")
  end
  return head .. ": " .. tostring(ev.event)
end

-- The overall line (time and ETA before the counts, which a narrow
-- terminal cuts), and the part of it that changes only with progress.
function _M.overall(r)
  local s = r.states
  local head = str_format("campaign %d/%d tasks settled (%d succeeded, %d failed), %d running, %d pending",
    (s.succeeded or 0) + (s.failed or 0), #r.tasks, s.succeeded or 0, s.failed or 0, s.running or 0,
    s.pending or 0)
  local e = eta(r)
  local counts = _M.counts(r.counts)
  return head .. "  |  " .. format_duration(r.elapsed or 0) .. " eta " .. (e and format_duration(e) or "?")
    .. "  |  " .. counts, head .. counts
end

local QUIET = { event = function() end, progress = function() end, finish = function() end }

-- syntax: v = view.progress(ctx, o)
-- v.event(ev) and v.progress(report) are campaign.run's on_event and
-- on_progress, drawn on the one status line (cli/progress.lua): an event
-- a line of its own, the overall line redrawn; v.finish() ends it.
function _M.progress(ctx, o)
  if o.flags.quiet then return QUIET end
  local line, n = progress.line(ctx), 0
  return {
    event = function(ev) line.note(ctx.text(_M.event_line(ev, n))) end,   -- dagNames the server gave
    progress = function(r)
      n = #r.tasks
      local text, key = _M.overall(r)
      line.show(text, key)
    end,
    finish = line.finish,
  }
end

-- The periods the tasks cover, in order: {y, m (nil for a year), first,
-- last} (days since the epoch), a month each, or a year each when unit is
-- "year".
local function periods_of(tasks, unit)
  local lo, hi
  for _, t in ipairs(tasks) do
    local s, e = dates.parse(t.startTime), dates.parse(t.endTime)
    if s and (not lo or s < lo) then lo = s end
    if e and (not hi or e > hi) then hi = e end
  end
  local out = {}
  if not lo then return out end
  local y, m = dates.to_civil(lo)
  if unit == "year" then m = nil end
  while true do
    local first = dates.from_civil(y, m or 1, 1)
    if first > hi then break end
    local last = m and (first + dates.days_in_month(y, m) - 1) or (dates.from_civil(y, 12, 31))
    out[#out + 1] = { y = y, m = m, first = first, last = last }
    if m then
      m = m + 1
      if m > 12 then y, m = y + 1, 1 end
    else
      y = y + 1
    end
  end
  return out
end

-- syntax: l = view.layout(tasks [, unit])
-- The plan x period grid, for the text grid here and the runner's page
-- (runner/page.lua): l.periods (as periods_of gives them; unit "month",
-- the default, or "year"), l.plans (names in the tasks' order) and
-- l.rows[plan][i] = {state = the worst state of the plan's tasks covering
-- period i, starts = the tasks that start in it}, or nil where no task
-- covers it.
function _M.layout(tasks, unit)
  local periods = periods_of(tasks, unit)
  local plans, rows = {}, {}
  local y0, m0 = 0, 0
  if periods[1] then y0, m0 = periods[1].y, periods[1].m or 1 end
  -- the period a day falls in, by arithmetic: a long campaign of short
  -- tasks costs its cells, not tasks x periods
  local function index(day)
    local y, m = dates.to_civil(day)
    if unit == "year" then return y - y0 + 1 end
    return (y - y0) * 12 + (m - m0) + 1
  end
  for _, t in ipairs(tasks) do
    local row = rows[t.plan]
    if not row then
      row = {}
      rows[t.plan] = row
      plans[#plans + 1] = t.plan
    end
    local s, e = dates.parse(t.startTime), dates.parse(t.endTime)
    if s and e and s <= e then
      local first = index(s)
      for i = first, index(e) do
        local cell = row[i]
        if not cell then
          cell = { starts = {} }
          row[i] = cell
        end
        if not cell.state or (RANK[t.state] or 0) > (RANK[cell.state] or 0) then cell.state = t.state end
        if i == first then cell.starts[#cell.starts + 1] = t end
      end
    end
  end
  return { periods = periods, plans = plans, rows = rows }
end

_M.MONTHS = MONTHS

-- syntax: text = view.grid(tasks, {color = bool})
-- A row per plan, a column per month; each cell the state of the plan's
-- tasks in that month (the worst of them): S succeeded, F failed,
-- R running, . pending.
function _M.grid(tasks, opts)
  local l = _M.layout(tasks)
  local months = l.periods
  if #months == 0 then return "" end
  local width = 4
  for _, p in ipairs(l.plans) do width = max(width, #p) end
  local pad = str_rep(" ", width + 2)
  local years, names = {}, {}
  for i, mo in ipairs(months) do
    years[i] = (i == 1 or mo.m == 1) and tostring(mo.y) or "   "
    years[i] = years[i] .. str_rep(" ", 4 - #years[i])
    names[i] = MONTHS[mo.m] .. " "
  end
  local out = { pad .. tbl_concat(years):gsub("%s+$", ""), pad .. tbl_concat(names):gsub("%s+$", "") }
  for _, p in ipairs(l.plans) do
    local cells = {}
    for i = 1, #months do
      local stt = l.rows[p][i] and l.rows[p][i].state
      local letter = stt and LETTER[stt] or " "
      if stt and opts and opts.color then letter = COLOR[stt] .. letter .. RESET end
      cells[i] = " " .. letter .. "  "
    end
    out[#out + 1] = (p .. str_rep(" ", width + 2 - #p) .. tbl_concat(cells)):gsub("%s+$", "")
  end
  out[#out + 1] = "(S succeeded, F failed, R running, . not created yet)"
  return tbl_concat(out, "\n") .. "\n"
end

-- syntax: text = view.plan(tasks)
-- The dry run: the tasks in order with their instances (lots; each plan's
-- tables multiply them, and the API does not say how many), and the total.
function _M.plan(tasks)
  local w = 4
  for _, t in ipairs(tasks) do w = max(w, #t.plan) end
  local out = { str_format("%4s  %-" .. w .. "s  %-10s  %-10s  %4s  %s", "#", "PLAN", "START", "END", "LOT",
    "INSTANCES") }
  local total = 0
  for _, t in ipairs(tasks) do
    total = total + t.lots
    out[#out + 1] = str_format("%4d  %-" .. w .. "s  %-10s  %-10s  %4s  %d", t.task, t.plan, t.startTime,
      t.endTime, util.number_string(t.dateIntervalOfLot), t.lots)
  end
  out[#out + 1] = str_format("total: %d task%s, %d instances (lots x tables; the API does not say how many "
    .. "tables a plan has, so each counts as one); nothing sent but plan lookups", #tasks,
    #tasks == 1 and "" or "s", total)
  return tbl_concat(out, "\n") .. "\n", total
end


return _M
