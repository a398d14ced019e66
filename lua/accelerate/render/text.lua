-- A report's failures as text, as a person reads them at the end of a
-- backfill: the failures grouped by cause (accelerate.insight reads the
-- stacks and the times; this only writes) with their tables, dates and
-- what to do, a line of timing, and with --verbose per failed instance its
-- table, partitions, retries, timings and whole stack and SQL.

local util = require "accelerate.util"
local insight = require "accelerate.insight"
local entry = require "accelerate.insight.entry"

local type = type
local ipairs = ipairs
local tostring = tostring
local str_format = string.format
local str_find = string.find
local str_gmatch = string.gmatch
local str_rep = string.rep
local tbl_concat = table.concat
local format_duration = util.format_duration

local _M = {}

local entry_of = entry.of
local day_string = entry.day_string

-- "2025-01-08", or "2025-01-08 .. 2025-01-14"
local function partitions(e)
  local first, last = day_string(e.first) or "?", day_string(e.last)
  if not last or last == first then return first end
  return first .. " .. " .. last
end

-- syntax: text = text.server_time(s)
-- A time the server sent, saying whose clock it is: as it is when it
-- carries a zone (Z, +08:00), else followed by "(server time)": the API
-- gives no zone, so it is not ours to call it UTC.  Our own times are
-- written in UTC with a Z.
function _M.server_time(s)
  s = tostring(s)
  if str_find(s, "[Zz]$") or str_find(s, "[+-]%d%d:?%d%d$") or str_find(s, "UTC$") then return s end
  return s .. " (server time)"
end

-- syntax: text = text.failures(failures, {verbose = bool, color = bool})
function _M.failures(failures, opts)
  opts = opts or {}
  local out = {}
  local red = opts.color and "\27[31m" or ""
  local bold = opts.color and "\27[1m" or ""
  local reset = opts.color and "\27[0m" or ""
  for _, f in ipairs(failures or {}) do
    local detail = f.detail
    local e = entry_of({ instance = f.instance or {}, detail = detail })
    local id = e.id
    local retries = detail and detail.retryCnt
    out[#out + 1] = red .. "FAILED" .. reset .. "  " .. bold .. e.table .. reset
      .. "  " .. partitions(e) .. "  (instance " .. id
      .. (retries and (", " .. tostring(retries) .. (retries == 1 and " retry" or " retries")) or "")
      .. ")"
    local timing = {}
    if e.waiting and e.running then timing[#timing + 1] = "waited " .. format_duration(e.running - e.waiting) end
    if e.running and e.ended then timing[#timing + 1] = "ran " .. format_duration(e.ended - e.running) end
    if e.ended_at then timing[#timing + 1] = "failed at " .. _M.server_time(e.ended_at) end
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
      for _, line in ipairs(insight.first_lines(detail.msg)) do
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

-- syntax: text = text.verdict(group [, dag])
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

-- text (after a prefix of used columns) as lines of at most width
-- columns, broken at spaces, the continuation lines after indent; a word
-- longer than a line stays whole.  Without width, text as it is.
local function wrapped(text, used, width, indent)
  if not width then return text end
  local lines, line, room, sep = {}, "", width - used, ""
  for word, space in str_gmatch(text, "(%S+)(%s*)") do
    if line ~= "" and #line + #sep + #word > room then
      lines[#lines + 1] = line
      line, room = word, width - #indent
    else
      line = line .. sep .. word   -- the spaces between words kept ("1  (or add")
    end
    sep = space
  end
  lines[#lines + 1] = line
  return tbl_concat(lines, "\n" .. indent)
end

-- syntax: text = text.groups(groups, {dag =, color = bool, width = n})
-- One block per failure group (insight.failures): count and title, the
-- tables, the dates, transient or not with the repair command, and where
-- the whole stack is.  With width (a terminal's), long lines wrap at
-- spaces under their own column.
function _M.groups(groups, opts)
  opts = opts or {}
  local red = opts.color and "\27[31m" or ""
  local bold = opts.color and "\27[1m" or ""
  local reset = opts.color and "\27[0m" or ""
  local width = type(opts.width) == "number" and opts.width >= 20 and opts.width or nil
  local out = {}
  local function field(label, value)   -- "    label: value", wrapped under the value
    local head = str_format("    %-11s", label)
    out[#out + 1] = head .. wrapped(value, #head, width, str_rep(" ", #head))
  end
  for i, g in ipairs(groups or {}) do
    if i > 1 then out[#out + 1] = "" end
    local count = "  " .. g.count .. (g.count == 1 and " instance  " or " instances  ")
    out[#out + 1] = red .. "FAILED" .. reset .. count .. bold .. wrapped(g.title, 6 + #count, width, "    ") .. reset
    field("tables:", tbl_concat(g.tables, ", "))
    if #g.dates > 0 then field("dates:", insight.compress_dates(g.dates)) end
    field("instances:", ids_line(g.instances))
    out[#out + 1] = "    " .. wrapped(_M.verdict(g, opts.dag), 4, width, "    ")
    out[#out + 1] = "    " .. wrapped("full stack and SQL: accelerate detail " .. tostring(g.sample.id)
      .. "  (or add --verbose)", 4, width, "    ")
  end
  if #out == 0 then return "" end
  return tbl_concat(out, "\n") .. "\n"
end

local function pct(s)
  if not s or (s.count or 0) == 0 then return "?" end
  return format_duration(s.p50) .. "/" .. format_duration(s.p95)
end

-- syntax: line = text.timing_line(t)
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
