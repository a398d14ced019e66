-- The failure report a person reads at the end of a backfill: the failures
-- grouped by cause (accelerate.insight) with their tables, dates and what
-- to do, a line of timing, and with --verbose per failed instance its
-- table, partitions, retries, timings and whole stack and SQL.

local dates = require "accelerate.dates"
local util = require "accelerate.util"
local insight = require "accelerate.insight"

local type = type
local floor = math.floor
local ipairs = ipairs
local tostring = tostring
local str_match = string.match
local str_format = string.format
local str_sub = string.sub
local str_find = string.find
local str_gsub = string.gsub
local tbl_concat = table.concat
local id_string = util.id_string
local format_duration = util.format_duration

local _M = {}

local MAX_LINE = 200
local MAX_LINES = 3

local function trim(s)
  return (str_gsub(s, "^%s+", ""):gsub("%s+$", ""))
end

-- Long lines keep both ends: a JVM cause line ends with the real error
-- ("... most recent failure: ...: java.lang.OutOfMemoryError: Java heap space").
local function clip(s, n)
  if #s <= n then return s end
  local tail = floor(n * 0.45)
  return str_sub(s, 1, n - tail - 5) .. " ... " .. str_sub(s, -tail)
end

local function is_frame(line)
  return str_find(line, "^%s*at%s") ~= nil or str_find(line, "^%s*%.%.%.%s*%d+%s+more") ~= nil
    or str_find(line, "^%s*$") ~= nil
end

-- The first meaningful lines of an error message: the exception line, and
-- the last "Caused by" (the root cause), skipping stack frames.
function _M.meaningful_lines(msg, limit)
  limit = limit or MAX_LINES
  if type(msg) ~= "string" or msg == "" then return { "(no error message)" } end
  local lines, causes = {}, {}
  for line in (msg .. "\n"):gmatch("([^\n]*)\n") do
    line = str_gsub(line, "\r$", "")
    if not is_frame(line) then
      if str_find(line, "^%s*Caused by:") then
        causes[#causes + 1] = trim(line)
      elseif #lines == 0 then
        lines[1] = trim(line)
      elseif #causes == 0 and #lines < limit then
        lines[#lines + 1] = trim(line)
      end
    end
  end
  if #causes > 0 then
    if #lines >= limit then lines[limit] = nil end
    lines[#lines + 1] = causes[#causes]
  end
  for i = 1, #lines do lines[i] = clip(lines[i], MAX_LINE) end
  while #lines > limit do lines[#lines] = nil end
  return lines
end

local table_name = insight.table_name

local function partitions(inst, detail)
  local s = inst.startPartition or (detail and detail.startPartitionTime)
  local e = inst.endPartition or (detail and detail.endPartitionTime)
  s = s and str_match(tostring(s), "^(%d%d%d%d%-%d%d%-%d%d)") or "?"
  e = e and str_match(tostring(e), "^(%d%d%d%d%-%d%d%-%d%d)") or s
  if s == e then return s end
  return s .. " .. " .. e
end

-- syntax: text = report.server_time(s)
-- A time the server sent, saying whose clock it is: as it is when it
-- carries a zone (Z, +08:00), else followed by "(server time)": the API
-- gives no zone, so it is not ours to call it UTC.  Our own times are
-- written in UTC with a Z.
function _M.server_time(s)
  s = tostring(s)
  if str_find(s, "[Zz]$") or str_find(s, "[+-]%d%d:?%d%d$") or str_find(s, "UTC$") then return s end
  return s .. " (server time)"
end

-- waited (created -> running), ran (running -> end), from statusTime when
-- the detail has it, else from the list's createTime/startTime/endTime.
function _M.timings(inst, detail)
  local st = detail and type(detail.statusTime) == "table" and detail.statusTime or {}
  local created = dates.parse_timestamp(st.WAITING or inst.createTime)
  local started = dates.parse_timestamp(st.RUNNING or (detail and detail.startTime) or inst.startTime)
  local ended = dates.parse_timestamp(st.FAILED or st.SUCCESS or (detail and detail.endTime) or inst.endTime)
  local t = {}
  if created and started and started >= created then t.waited = started - created end
  if started and ended and ended >= started then t.ran = ended - started end
  t.ended_at = st.FAILED or st.SUCCESS or (detail and detail.endTime) or inst.endTime
  return t
end

-- syntax: text = report.failures(failures, {verbose = bool, color = bool})
function _M.failures(failures, opts)
  opts = opts or {}
  local out = {}
  local red = opts.color and "\27[31m" or ""
  local bold = opts.color and "\27[1m" or ""
  local reset = opts.color and "\27[0m" or ""
  for _, f in ipairs(failures or {}) do
    local inst, detail = f.instance or {}, f.detail
    local id = id_string(inst.id) or "?"
    local retries = detail and detail.retryCnt
    out[#out + 1] = red .. "FAILED" .. reset .. "  " .. bold .. table_name(inst, detail) .. reset
      .. "  " .. partitions(inst, detail) .. "  (instance " .. id
      .. (retries and (", " .. tostring(retries) .. (retries == 1 and " retry" or " retries")) or "")
      .. ")"
    local t = _M.timings(inst, detail)
    local timing = {}
    if t.waited then timing[#timing + 1] = "waited " .. format_duration(t.waited) end
    if t.ran then timing[#timing + 1] = "ran " .. format_duration(t.ran) end
    if t.ended_at then timing[#timing + 1] = "failed at " .. _M.server_time(t.ended_at) end
    if detail and detail.serverInfo then timing[#timing + 1] = "on " .. tostring(detail.serverInfo) end
    if #timing > 0 then out[#out + 1] = "    " .. tbl_concat(timing, ", ") end
    if not detail then
      out[#out + 1] = "    (detail unavailable: " .. util.errstr(f.err) .. ")"
    elseif opts.verbose then
      out[#out + 1] = "    error:"
      for line in (tostring(detail.msg or "(no error message)") .. "\n"):gmatch("([^\n]*)\n") do
        out[#out + 1] = "      " .. line
      end
      local sql = type(detail.sql) == "table" and (detail.sql.originalSql or detail.sql.formattedSql)
        or detail.sql
      out[#out + 1] = "    sql:"
      for line in (tostring(sql or "(none)") .. "\n"):gmatch("([^\n]*)\n") do
        out[#out + 1] = "      " .. line
      end
    else
      for _, line in ipairs(_M.meaningful_lines(detail.msg)) do
        out[#out + 1] = "    " .. line
      end
      out[#out + 1] = "    full stack and SQL: accelerate detail " .. id .. "  (or add --verbose)"
    end
  end
  if #out == 0 then return "" end
  return tbl_concat(out, "\n") .. "\n"
end

-- Groups -------------------------------------------------------------------------

local MAX_IDS = 5

local function ids_line(ids)
  local shown = {}
  for i = 1, math.min(MAX_IDS, #ids) do shown[i] = ids[i] end
  local more = #ids > MAX_IDS and (" and " .. (#ids - MAX_IDS) .. " more") or ""
  return tbl_concat(shown, ", ") .. more
end

-- syntax: text = report.verdict(group [, dag])
-- Whether the group is transient, why, and what to do: "transient (a lock
-- was held elsewhere): retry with `accelerate repair DAG`"; without dag,
-- the same without the command.
function _M.verdict(g, dag)
  local repair = dag and ("`accelerate repair " .. tostring(dag) .. "`")
  if g.transient then
    return "transient (" .. tostring(g.why) .. "): retry" .. (repair and (" with " .. repair) or "")
  end
  local then_repair = repair and (", then " .. repair) or ""
  if g.why then return "not transient (" .. g.why .. "): " .. tostring(g.fix) .. then_repair end
  return "not known to be transient: read the stack first" .. then_repair
end

-- syntax: text = report.groups(groups, {dag =, color = bool})
-- One block per failure group (insight.failures): count and title, the
-- tables, the dates, transient or not with the repair command, and where
-- the whole stack is.
function _M.groups(groups, opts)
  opts = opts or {}
  local red = opts.color and "\27[31m" or ""
  local bold = opts.color and "\27[1m" or ""
  local reset = opts.color and "\27[0m" or ""
  local out = {}
  for i, g in ipairs(groups or {}) do
    if i > 1 then out[#out + 1] = "" end
    out[#out + 1] = red .. "FAILED" .. reset .. "  " .. g.count .. (g.count == 1 and " instance  " or " instances  ")
      .. bold .. g.title .. reset
    out[#out + 1] = "    tables:    " .. tbl_concat(g.tables, ", ")
    if #g.dates > 0 then out[#out + 1] = "    dates:     " .. insight.compress_dates(g.dates) end
    out[#out + 1] = "    instances: " .. ids_line(g.instances)
    out[#out + 1] = "    " .. _M.verdict(g, opts.dag)
    out[#out + 1] = "    full stack and SQL: accelerate detail " .. tostring(g.sample.id) .. "  (or add --verbose)"
  end
  if #out == 0 then return "" end
  return tbl_concat(out, "\n") .. "\n"
end

local function pct(s)
  if not s or (s.count or 0) == 0 then return "?" end
  return format_duration(s.p50) .. "/" .. format_duration(s.p95)
end

-- syntax: line = report.timing_line(t)
-- insight.timing in one line, or nil when no time is known:
-- "timing: queue p50/p95 2s/5s, run p50/p95 2m10s/2m55s, 41.5 instances/hour, 8 at once".
function _M.timing_line(t)
  if type(t) ~= "table" or ((t.queue and t.queue.count or 0) == 0 and (t.run and t.run.count or 0) == 0) then
    return nil
  end
  local parts = { "queue p50/p95 " .. pct(t.queue), "run p50/p95 " .. pct(t.run) }
  if t.throughput then parts[#parts + 1] = str_format("%.1f instances/hour", t.throughput) end
  if t.concurrency and t.concurrency > 0 then parts[#parts + 1] = t.concurrency .. " at once at most" end
  return "timing: " .. tbl_concat(parts, ", ")
end

return _M
