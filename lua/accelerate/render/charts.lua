-- The two pictures of the HTML report, as inline SVG: a calendar heatmap
-- (a row per table, a column per day, a cell per instance coloured by its
-- status) and a timeline (a bar per instance: its queue wait, then its
-- run, grouped by resource group).  Every instance is an element with a
-- data attribute (data-inst, data-bar) and a <title> that a browser shows
-- on hover.  Pure: spans in (insight.spans), text out.

local dates = require "accelerate.dates"
local status = require "accelerate.statuses"
local entry = require "accelerate.insight.entry"
local util = require "accelerate.util"

local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local floor = math.floor
local max = math.max
local min = math.min
local str_gsub = string.gsub
local str_sub = string.sub
local str_format = string.format
local tbl_sort = table.sort
local tbl_concat = table.concat
local format_duration = util.format_duration

local _M = {}

local ESC = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }

-- syntax: text = charts.esc(value)
-- Text safe inside an element and inside a quoted attribute.
local function esc(v)
  return (str_gsub(tostring(v), "[&<>\"']", ESC))
end
_M.esc = esc

-- syntax: class = charts.class_of(status)
-- SUCCESS, FAILED (every failed status), RUNNING, WAITING or OTHER.
local class_of = status.class_of
_M.class_of = class_of

local function num(x)
  if x == floor(x) then return str_format("%d", x) end
  return str_format("%.1f", x)
end

local LABEL_CHARS = 34

local function label(s)
  s = tostring(s)
  if #s > LABEL_CHARS then return str_sub(s, 1, LABEL_CHARS - 3) .. "..." end
  return s
end

local function partitions_text(e)
  if not e.first then return "no partition" end
  if e.first == e.last then return dates.format(e.first) end
  return dates.format(e.first) .. ".." .. dates.format(e.last)
end

local function tooltip(e)
  local parts = { "instance " .. e.id, e.table, partitions_text(e), e.status }
  if e.queue then parts[#parts + 1] = "queued " .. format_duration(e.queue) end
  if e.run then parts[#parts + 1] = "ran " .. format_duration(e.run) end
  if e.group then parts[#parts + 1] = "group " .. e.group end
  return esc(tbl_concat(parts, " | "))
end

-- Heatmap ---------------------------------------------------------------------

local LEFT = 250

-- Months above the days; with room, the 1st, 8th, 15th, 22nd and 29th.
local function day_axis(out, d0, d1, cw, top)
  for day = d0, d1 do
    local y, m, dd = dates.to_civil(day)
    local x = LEFT + (day - d0) * cw
    if dd == 1 or day == d0 then
      out[#out + 1] = str_format('<text class="ax" x="%d" y="%d">%04d-%02d</text>', x, top - 16, y, m)
    end
    if cw >= 8 and dd % 7 == 1 then
      out[#out + 1] = str_format('<text class="ax" x="%d" y="%d">%d</text>', x + 1, top - 4, dd)
    end
  end
end

-- syntax: svg = charts.heatmap(spans)
-- Rows are tables (sorted), columns days; an instance of several days is
-- one cell across them.  Instances without partitions are left out.
function _M.heatmap(spans)
  local rows, names, d0, d1 = {}, {}, nil, nil
  for _, e in ipairs(spans) do
    if e.first then
      if not rows[e.table] then rows[e.table] = true; names[#names + 1] = e.table end
      d0 = d0 and min(d0, e.first) or e.first
      d1 = d1 and max(d1, e.last) or e.last
    end
  end
  if not d0 then return '<p class="muted">No instance has a partition to draw.</p>' end
  tbl_sort(names)
  local index = {}
  for i, n in ipairs(names) do index[n] = i end
  local ndays = d1 - d0 + 1
  local cw = max(2, min(24, floor(1000 / ndays)))
  local ch = #names <= 40 and 18 or max(6, floor(720 / #names))
  local top = 34
  local gap = cw >= 4 and 1 or 0   -- narrow cells touch, or the gaps would wash the colours out
  local w, h = LEFT + ndays * cw + 10, top + #names * ch + 4
  local out = { str_format('<svg class="heat" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
    .. 'viewBox="0 0 %d %d" role="img" aria-label="instances by table and date">', w, h, w, h) }
  day_axis(out, d0, d1, cw, top)
  for i, n in ipairs(names) do
    out[#out + 1] = str_format('<text class="lbl" x="%d" y="%s"><title>%s</title>%s</text>', LEFT - 6,
      num(top + (i - 1) * ch + ch * 0.72), esc(n), esc(label(n)))
  end
  for _, e in ipairs(spans) do
    if e.first then
      out[#out + 1] = str_format('<rect class="c-%s" data-inst="%s" x="%d" y="%d" width="%d" height="%d">'
        .. '<title>%s</title></rect>', class_of(e.status), esc(e.id), LEFT + (e.first - d0) * cw,
        top + (index[e.table] - 1) * ch, (e.last - e.first + 1) * cw - gap, ch - 2, tooltip(e))
    end
  end
  out[#out + 1] = "</svg>"
  return tbl_concat(out)
end

-- Timeline ------------------------------------------------------------------------

local STEPS = { 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800 }

local function time_axis(out, t0, t1, scale, top, height)
  local step = STEPS[#STEPS]
  for _, s in ipairs(STEPS) do
    if (t1 - t0) / s <= 10 then step = s break end
  end
  local long = t1 - t0 > 86400
  local t = t0 - t0 % step + step
  if t - step >= t0 then t = t - step end
  while t <= t1 do
    local x = LEFT + (t - t0) * scale
    local stamp = entry.clock_string(t)
    local text = long and (str_sub(stamp, 6, 10) .. " " .. str_sub(stamp, 12, 16)) or str_sub(stamp, 12, 16)
    out[#out + 1] = str_format('<line class="grid" x1="%s" x2="%s" y1="%d" y2="%d"/>'
      .. '<text class="ax" x="%s" y="%d">%s</text>', num(x), num(x), top, top + height, num(x), top - 6, text)
    t = t + step
  end
end

-- spans that have a time, by resource group, each group by start
local function timeline_rows(spans)
  local groups, names = {}, {}
  for _, e in ipairs(spans) do
    local start = e.waiting or e.running
    if start then
      local g = groups[e.group]
      if not g then g = {}; groups[e.group] = g; names[#names + 1] = e.group end
      g[#g + 1] = e
    end
  end
  tbl_sort(names)
  for _, g in pairs(groups) do
    tbl_sort(g, function(a, b)
      local sa, sb = a.running or a.waiting, b.running or b.waiting
      if sa ~= sb then return sa < sb end
      return a.id < b.id
    end)
  end
  return groups, names
end

local function bar(e, y, rh, t0, t1, scale)
  local start = e.waiting or e.running
  local run_start = e.running
  local stop = e.ended or (not status.is_terminal(e.status) and t1) or run_start or start
  local out = { str_format('<g data-bar="%s" data-status="%s"><title>%s</title>', esc(e.id), esc(e.status),
    tooltip(e)) }
  local qend = run_start or stop
  if qend > start then
    out[#out + 1] = str_format('<rect class="q" x="%s" y="%s" width="%s" height="%s"/>',
      num(LEFT + (start - t0) * scale), num(y), num(max(0.5, (qend - start) * scale)), num(rh))
  end
  local cls = class_of(e.status)
  if run_start then
    out[#out + 1] = str_format('<rect class="c-%s" x="%s" y="%s" width="%s" height="%s"/>', cls,
      num(LEFT + (run_start - t0) * scale), num(y), num(max(1, (stop - run_start) * scale)), num(rh))
  end
  if cls == "FAILED" then
    out[#out + 1] = str_format('<rect class="mark" x="%s" y="%s" width="3" height="%s"/>',
      num(LEFT + (stop - t0) * scale + 1), num(y - 1), num(rh + 2))
  end
  out[#out + 1] = "</g>"
  return tbl_concat(out)
end

-- syntax: svg, drawn = charts.timeline(spans)
-- A row per instance that has a time, under its resource group; queue
-- wait light, run in the status colour, a failed one marked at its end.
function _M.timeline(spans)
  local groups, names = timeline_rows(spans)
  local t0, t1, n = nil, nil, 0
  for _, g in pairs(groups) do
    for _, e in ipairs(g) do
      n = n + 1
      local s, l = e.waiting or e.running, e.ended or e.running or e.waiting
      t0 = t0 and min(t0, s) or s
      t1 = t1 and max(t1, l) or l
    end
  end
  if n == 0 then return '<p class="muted">No instance has times to draw.</p>', 0 end
  if t1 <= t0 then t1 = t0 + 60 end
  local rh = n <= 150 and 9 or max(1, floor(2400 / n))
  local gap = rh >= 6 and 3 or 0
  local width, top, head = 1000, 24, 18
  local height = n * (rh + gap) + #names * head
  local scale = width / (t1 - t0)
  -- scaled down to the page's width rather than cut
  local sw, sh = LEFT + width + 20, top + height + 6
  local out = { str_format('<svg class="gantt" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
    .. 'viewBox="0 0 %d %d" role="img" aria-label="instances over time">', sw, sh, sw, sh) }
  time_axis(out, t0, t1, scale, top, height)
  local y = top
  for _, name in ipairs(names) do
    local g = groups[name]
    out[#out + 1] = str_format('<text class="grp" x="4" y="%d">%s (%d)</text><line class="sep" x1="0" x2="%d" '
      .. 'y1="%d" y2="%d"/>', y + 13, esc(label(name)), #g, LEFT + width, y + head - 2, y + head - 2)
    y = y + head
    for _, e in ipairs(g) do
      if rh >= 8 then
        out[#out + 1] = str_format('<text class="row" x="%d" y="%d">%s %s</text>', LEFT - 6, y + rh,
          esc(label(e.table)), e.first and dates.format(e.first) or "")
      end
      out[#out + 1] = bar(e, y, rh, t0, t1, scale)
      y = y + rh + gap
    end
  end
  out[#out + 1] = "</svg>"
  return tbl_concat(out), n
end

return _M
