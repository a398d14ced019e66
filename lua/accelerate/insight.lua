-- What happened in a backfill, for a person: failures grouped by cause,
-- where the time went, and how long is left.  Pure Lua over reports and
-- details (as workflow.wait and workflow.inspect return them); no I/O.
--
--   insight.signature(msg)            a stable key for "the same failure"
--   insight.title(msg)                one readable line naming the root cause
--   insight.first_lines(msg [, n])    the lines a person reads first
--   insight.transient(msg [, rules])  whether running it again may get through
--   insight.check_pattern(p)          whether string.find can ever refuse p
--   insight.failures(failures [, opts])   groups, by count
--   insight.timing(entries)           queue and run percentiles, throughput...
--   insight.each_entry(report)        a report's instances with their details
--   insight.overall_timing(report)    the timing line's figures, of any size
--   insight.eta(report, history)      seconds left, or nil
--   insight.compress_dates(days)      "2025-01-09..01-10, 01-21"

local util = require "accelerate.util"
local dates = require "accelerate.dates"
local entry = require "accelerate.insight.entry"
local rules = require "accelerate.insight.rules"
local timing = require "accelerate.insight.timing"
local stack = require "accelerate.insight.stack"
local status = require "accelerate.statuses"
local instances = require "accelerate.instances"

local type = type
local pairs = pairs
local ipairs = ipairs
local tonumber = tonumber
local str_sub = string.sub
local tbl_sort = table.sort
local tbl_concat = table.concat
local array = util.array

local _M = {}

_M.RULES = rules.RULES
_M.check_pattern = rules.check_pattern
_M.timing = timing.timing
_M.spans = timing.spans
_M.table_name = entry.table_name
_M.signature = stack.signature
_M.title = stack.title
_M.first_lines = stack.first_lines

-- Messages -------------------------------------------------------------------

-- syntax: bool, rule = insight.transient(msg [, rules])
-- By the rule table (insight.RULES, docs/insight.md): the root cause is
-- judged first, then the rest of the message (frames left out).
function _M.transient(msg, rule_table)
  rule_table = rules.check(rule_table)   -- a wrong shape raises, never matches nothing
  if type(msg) ~= "string" then return false, nil end
  local root = stack.root_lines(msg)
  if root then
    local t, rule = rules.transient(tbl_concat(root, "\n"), rule_table)
    if rule then return t, rule end
  end
  local all = {}
  for _, b in ipairs(stack.blocks(msg)) do all[#all + 1] = tbl_concat(b, "\n") end
  return rules.transient(tbl_concat(all, "\n"), rule_table)
end

-- Groups -----------------------------------------------------------------------

local function sql_of(detail)
  local sql = detail and detail.sql
  if type(sql) == "table" then return sql.formattedSql or sql.originalSql end
  if type(sql) == "string" then return sql end
  return nil
end

local function sorted_keys(set)
  local out = array()
  for k in pairs(set) do out[#out + 1] = k end
  tbl_sort(out)
  return out
end

-- The group key, title and sample text of one failure.
local function describe(f)
  local d = f.detail
  if type(d) ~= "table" then
    local why = f.err and util.errstr(f.err) or "no detail"
    return "(detail unavailable)", "detail unavailable: " .. why, why
  end
  if type(d.msg) ~= "string" or d.msg == "" then
    return "(no error message)", "(no error message)", nil
  end
  return _M.signature(d.msg), _M.title(d.msg), d.msg
end

local function new_group(sig, title, msg, f, e, rule_table)
  local t, rule = _M.transient(msg, rule_table)
  return {
    signature = sig, title = title, count = 0, transient = t,
    rule = rule and rule.name, why = rule and rule.why, fix = rule and rule.fix,
    tables = {}, dates = {}, instances = array(),
    sample = { id = e.id, msg = msg, sql = sql_of(f.detail) },
  }
end

-- syntax: groups = insight.failures(failures [, opts])
-- failures: workflow.inspect's {instance =, detail =, err =}.  Groups of
-- the same signature, by count (then title): {signature, title, count,
-- transient, rule, why, fix, tables, dates (sorted days), instances (ids),
-- sample = {id, msg, sql}}.  opts.rules: another rule table.
function _M.failures(failures, opts)
  opts = opts or {}
  local by_sig, groups = {}, array()
  for _, f in ipairs(failures or {}) do
    if type(f) == "table" then
      local e = entry.of(f)
      local sig, title, msg = describe(f)
      local g = by_sig[sig]
      if not g then
        g = new_group(sig, title, msg, f, e, opts.rules)
        by_sig[sig] = g
        groups[#groups + 1] = g
      end
      g.count = g.count + 1
      g.instances[#g.instances + 1] = e.id
      g.tables[e.table] = true
      if e.first then
        for day = e.first, e.last do g.dates[dates.format(day)] = true end
      end
    end
  end
  for _, g in ipairs(groups) do
    g.tables, g.dates = sorted_keys(g.tables), sorted_keys(g.dates)
  end
  tbl_sort(groups, function(a, b)
    if a.count ~= b.count then return a.count > b.count end
    return a.title < b.title
  end)
  return groups
end

-- syntax: text = insight.compress_dates(days)
-- Sorted "YYYY-MM-DD" days as ranges, the year said once until it
-- changes: "2025-01-09..01-10, 01-21, 2026-01-02".
function _M.compress_dates(list)
  local nums = {}
  for _, s in ipairs(list or {}) do
    local n = dates.parse(s)
    if n then nums[#nums + 1] = n end
  end
  tbl_sort(nums)
  local out, year = {}, nil
  local function say(n)
    local text = dates.format(n)
    local y = str_sub(text, 1, 4)
    if y == year then return str_sub(text, 6) end
    year = y
    return text
  end
  local i = 1
  while i <= #nums do
    local j = i
    while j < #nums and nums[j + 1] <= nums[j] + 1 do j = j + 1 end
    if nums[j] == nums[i] then out[#out + 1] = say(nums[i])
    else out[#out + 1] = say(nums[i]) .. ".." .. say(nums[j]) end
    i = j + 1
  end
  return tbl_concat(out, ", ")
end

-- The details known by id: the report's failures', then details'.
local function known_details(report, details)
  local known = {}
  for _, f in ipairs(report and report.failures or {}) do
    if type(f) == "table" and type(f.detail) == "table" and type(f.instance) == "table" then
      known[util.id_string(f.instance.id) or ""] = f.detail
    end
  end
  for id, d in pairs(details or {}) do known[id] = d end
  return known
end

-- syntax: for e in insight.each_entry(report [, details]) do ... end
-- Each instance of the report (its collection: accelerate.instances or
-- the compact store) with the detail known for it (from the report's
-- failures, or details: {[id] = detail}), one at a time: what
-- insight.timing reads for a report of any size.
function _M.each_entry(report, details)
  local known = known_details(report, details)
  local it = instances.of(report and report.instances):each()
  return function()
    local inst = it()
    if inst == nil then return nil end
    return { instance = inst, detail = known[util.id_string(inst.id) or ""] }
  end
end

-- syntax: t = insight.overall_timing(report [, details])
-- insight.timing of each_entry(report, details) without by_table, by_group
-- and slowest: the report's timing line, for a report of any size.  It
-- reads the collection with scan(), so no table is built per instance.
function _M.overall_timing(report, details)
  return timing.overall(instances.of(report and report.instances), known_details(report, details))
end

-- syntax: entries = insight.entries(report [, details])
-- insight.each_entry's entries as an array (the HTML report's timeline
-- draws them all).
function _M.entries(report, details)
  local out = {}
  for e in _M.each_entry(report, details) do out[#out + 1] = e end
  return out
end

-- ETA ------------------------------------------------------------------------------

-- syntax: n = insight.done_count(report)
-- The report's instances that will not change again (a terminal status).
local function done_of(report)
  local done = 0
  for k, v in pairs(report.counts or {}) do
    if status.is_terminal(k) and tonumber(v) then done = done + v end
  end
  return done
end
_M.done_count = done_of

-- syntax: insight.sample(history, report)
-- Adds where report stands ({elapsed, done}) to history: a new sample
-- when more instances have finished, else the last one moves forward.
-- The history so holds the latest moment of each count (one sample per
-- count at most), which is all insight.eta needs.
function _M.sample(history, report)
  local s = { elapsed = tonumber(report.elapsed) or 0, done = done_of(report) }
  local last = history[#history]
  if last and last.done == s.done then history[#history] = s
  else history[#history + 1] = s end
  return history
end

-- syntax: seconds, per_hour = insight.eta(report, history)
-- The time left at the rate instances finished since the first of them
-- did (the queue before it would make the start look slow); 0 when the
-- backfill is done; nil until two samples show progress.
function _M.eta(report, history)
  if type(report) ~= "table" then return nil end
  local total, done = tonumber(report.total), done_of(report)
  if report.done or (total and total > 0 and done >= total) then return 0 end
  if not total or total <= 0 or type(history) ~= "table" or #history == 0 then return nil end
  local base = history[1]
  for i = 2, #history do
    if history[i].done > base.done then break end
    base = history[i]
  end
  local elapsed = tonumber(report.elapsed) or history[#history].elapsed
  local dt, dn = elapsed - base.elapsed, done - base.done
  if dt <= 0 or dn <= 0 then return nil end
  local rate = dn / dt
  return (total - done) / rate, rate * 3600
end

return _M
