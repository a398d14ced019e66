-- The calendar picture: one line per month, one cell per day, so that a
-- year of backfill fits a terminal and a failed day stands out.  A day's
-- status is the worst over every instance (every table) covering it.

local dates = require "accelerate.dates"
local statuses = require "accelerate.statuses"
local instances = require "accelerate.instances"
local entry = require "accelerate.insight.entry"

local ipairs = ipairs
local tostring = tostring
local str_rep = string.rep
local str_sub = string.sub
local str_format = string.format
local tbl_concat = table.concat
local class_of = statuses.class_of
local span_days = entry.span
local status_name = statuses.name

local _M = {}

-- Higher rank wins when instances of several tables cover one day.
local RANK = { SUCCESS = 1, OTHER = 2, WAITING = 3, RUNNING = 4, FAILED = 5 }

local STYLE = {
  SUCCESS = { letter = "S", color = "32", label = "success" },
  FAILED  = { letter = "F", color = "31", label = "failed" },
  RUNNING = { letter = "R", color = "33", label = "running" },
  WAITING = { letter = "W", color = "36", label = "waiting" },
  OTHER   = { letter = "?", color = "35", label = "other" },
  NONE    = { letter = ".", color = "2",  label = "not in this backfill" },
}
_M.STYLE = STYLE

-- The legend's order: the classes (statuses.CLASSES), then no instance.
local LEGEND = {}
for i, cls in ipairs(statuses.CLASSES) do LEGEND[i] = cls end
LEGEND[#LEGEND + 1] = "NONE"

-- day number -> class, and the first and last day seen.  instances: a
-- collection (accelerate.instances.of: a store or an array), read with
-- scan() (no table built per instance).  Every failed status (KILLED,
-- TIMEOUT, ...) draws as FAILED (statuses.class_of); the days are
-- insight's reading of the partitions (entry.span).
function _M.day_status(list)
  local days, first, last = {}, nil, nil
  for _, _, st, sp, ep in instances.of(list):scan() do
    local s, e = span_days(sp, ep)
    if s then
      local cls = class_of(status_name(st))
      local rank = RANK[cls]
      for d = s, e do
        local cur = days[d]
        if not cur or rank > RANK[cur] then days[d] = cls end
      end
      if not first or s < first then first = s end
      if not last or e > last then last = e end
    end
  end
  return days, first, last
end

local function cell(cls, color)
  local st = STYLE[cls]
  if color then
    if cls == "NONE" then return "\27[2m\194\183\27[0m" end   -- a dim middle dot
    return "\27[" .. st.color .. "m\226\150\136\27[0m"        -- a full block
  end
  return st.letter
end

local LABEL_WIDTH = 9

local function header()
  local cols = {}
  for i = 1, 31 do cols[i] = " " end
  for _, d in ipairs({ 1, 5, 10, 15, 20, 25, 30 }) do
    local s = tostring(d)
    for k = 1, #s do cols[d + k - 1] = str_sub(s, k, k) end
  end
  return str_rep(" ", LABEL_WIDTH) .. tbl_concat(cols)
end

-- syntax: text = calendar.render(list, {color = bool})
-- list: a report's instances (a collection, a store or an array).
-- Returns the picture and a legend, ending with a newline; "" for no
-- instance with a usable partition.
function _M.render(list, opts)
  opts = opts or {}
  local color = opts.color and true or false
  local days, first, last = _M.day_status(list)
  if not first then return "" end
  local lines = { header() }
  local y, m = dates.to_civil(first)
  local ly, lm = dates.to_civil(last)
  local tally = {}
  while y < ly or (y == ly and m <= lm) do
    local row = { str_format("%04d-%02d", y, m), str_rep(" ", LABEL_WIDTH - 7) }
    local base = dates.from_civil(y, m, 1)
    for d = 1, dates.days_in_month(y, m) do
      local cls = days[base + d - 1] or "NONE"
      tally[cls] = (tally[cls] or 0) + 1
      row[#row + 1] = cell(cls, color)
    end
    lines[#lines + 1] = tbl_concat(row)
    m = m + 1
    if m > 12 then y, m = y + 1, 1 end
  end
  local legend = {}
  for _, cls in ipairs(LEGEND) do
    if tally[cls] or cls == "SUCCESS" or cls == "FAILED" then
      local n = tally[cls] or 0
      legend[#legend + 1] = cell(cls, color) .. " " .. STYLE[cls].label
        .. (cls ~= "NONE" and (" " .. n .. (n == 1 and " day" or " days")) or "")
    end
  end
  lines[#lines + 1] = str_rep(" ", LABEL_WIDTH) .. tbl_concat(legend, "   ")
  return tbl_concat(lines, "\n") .. "\n"
end

return _M
