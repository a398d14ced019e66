-- The one status line of `backfill`, `wait`, `repair` and `campaign`, on
-- stderr: on a terminal one line redrawn in place (in a shorter form on a
-- narrow terminal, cut only when none fits, and kept moving between polls, which may be 30 s apart), otherwise
-- one plain timestamped line per change.  --quiet prints nothing.
-- progress.line draws it; progress.new is a watch's (campaign_view.lua
-- gives a campaign's its text).

local util = require "accelerate.util"
local status = require "accelerate.workflow.status"
local insight = require "accelerate.insight"

local type = type
local pairs = pairs
local ipairs = ipairs
local tonumber = tonumber
local tostring = tostring
local floor = math.floor
local max = math.max
local str_sub = string.sub
local str_rep = string.rep
local str_format = string.format
local tbl_concat = table.concat
local tbl_sort = table.sort
local os_date = os.date
local format_duration = util.format_duration
local STATUS_ORDER = status.STATUS_ORDER

local _M = {}

local BAR_WIDTH = 20
local DEFAULT_COLUMNS = 80

local IN_ORDER = {}
for _, k in ipairs(STATUS_ORDER) do IN_ORDER[k] = true end

-- syntax: n = progress.columns(ctx [, fd])
-- The width of the terminal on fd (default 2, stderr) now (it may have
-- been resized since the last line): what the terminal says, else
-- $COLUMNS, else 80.
local function columns_of(ctx, fd)
  local w = ctx.term_width and ctx.term_width(fd or 2)
  if type(w) == "number" and w > 0 then return w end
  w = tonumber(ctx.getenv("COLUMNS") or "")
  if w and w > 0 then return w end
  return DEFAULT_COLUMNS
end

_M.columns = columns_of

local function stamp() return os_date("!%Y-%m-%dT%H:%M:%SZ") .. " " end

-- syntax: l = progress.line(ctx)
-- l.show(line, key [, plain]): on a terminal, line redrawn in place (one
-- terminal line, or every redraw would leave a wrapped line behind; line
-- may be a list of forms, widest first: the first that fits is drawn, the
-- last one cut);
-- otherwise plain (default line) timestamped, when key differs from the
-- last one shown.  l.note(text): a line of its own, above the status line
-- on a terminal (which is drawn again under it).  l.finish(): ends a drawn
-- line.  l.tty: whether stderr is a terminal.
function _M.line(ctx)
  local st = {}
  local l = { tty = ctx.isatty(2) }
  local function draw()
    local line, columns = st.line, columns_of(ctx)
    if type(line) == "table" then   -- forms, widest first: the first that fits
      local forms = line
      for _, form in ipairs(forms) do
        line = form
        if #form <= columns - 1 then break end
      end
    end
    if #line > columns - 1 then line = str_sub(line, 1, max(10, columns - 1)) end
    ctx.err("\r\27[K" .. line)
  end
  function l.show(line, key, plain)
    if l.tty then
      st.line = line
      draw()
    elseif key ~= st.key then
      if not plain and type(line) == "table" then plain = line[1] end
      ctx.err(stamp() .. (plain or line) .. "\n")
    end
    st.key = key
  end
  function l.note(text)
    if not l.tty then return ctx.err(stamp() .. text .. "\n") end
    ctx.err("\r\27[K" .. text .. "\n")
    if st.line then draw() end
  end
  function l.finish()
    if st.line then ctx.err("\n") end
    st.line = nil
  end
  return l
end

-- A watch ---------------------------------------------------------------------------

local QUIET = {
  update = function() end,
  finish = function() end,
  wrap_sleep = function(sleep) return sleep end,
}

-- Short names of the counts, for a narrow terminal.
local SHORT = { SUCCESS = "ok", FAILED = "failed", RUNNING = "run", WAITING = "wait" }

-- The counts as "NAME n" parts, in STATUS_ORDER then the others (sorted);
-- nonzero: only those not zero; short: SHORT's names.
local function count_parts(counts, nonzero, short)
  local parts, others = {}, {}
  for k in pairs(counts) do
    if not IN_ORDER[k] then others[#others + 1] = k end
  end
  tbl_sort(others)
  for _, list in ipairs { STATUS_ORDER, others } do
    for _, k in ipairs(list) do
      local n = counts[k] or 0
      if not nonzero or n ~= 0 then
        parts[#parts + 1] = (short and SHORT[k] or k) .. " " .. tostring(n)
      end
    end
  end
  return tbl_concat(parts, short and " " or "  ")
end

-- The terminal line, in forms from the widest to the narrowest
-- (progress.line draws the first that fits): bar, percentage, counts,
-- elapsed and eta; then without the counts that are zero; then a shorter
-- bar; then shorter names; then no bar and no elapsed time.  Percentage,
-- the counts not zero and the ETA are in every form.
local function bar_line(r, done, elapsed, eta)
  local pct = r.total > 0 and floor(100 * done / r.total) or 0
  local function bar(width)
    local filled = r.total > 0 and floor(width * done / r.total) or 0
    return str_format("[%s%s] %3d%%", str_rep("#", filled), str_rep(".", width - filled), pct)
  end
  local eta_s = "eta " .. (eta and format_duration(eta) or "?")
  local times = format_duration(elapsed) .. " " .. eta_s
  return {
    bar(BAR_WIDTH) .. "  " .. count_parts(r.counts) .. "  " .. times,
    bar(BAR_WIDTH) .. "  " .. count_parts(r.counts, true) .. "  " .. times,
    bar(10) .. "  " .. count_parts(r.counts, true) .. "  " .. times,
    bar(10) .. " " .. count_parts(r.counts, true, true) .. " " .. times,
    pct .. "% " .. count_parts(r.counts, true, true) .. " " .. times,
    pct .. "% " .. count_parts(r.counts, true, true) .. " " .. eta_s,
  }
end

local function update(st, r)
  st.ctx.current_dag = r.dagName
  local done = insight.done_count(r)
  local eta = insight.eta(r, insight.sample(st.history, r))
  st.last, st.last_at, st.last_eta, st.last_done = r, st.clock(), eta, done
  local key = status.summary(r)
  st.line.show(bar_line(r, done, r.elapsed, eta), key, r.dagName .. "  " .. key .. "  elapsed "
    .. format_duration(r.elapsed) .. "  eta " .. (eta and format_duration(eta) or "?"))
end

-- Sleeps in slices of at most a second, redrawing elapsed and eta between
-- them.  The slices, not the clock, end the loop: a clock that stands
-- still cannot make it spin.
local function wrap_sleep(st, sleep)
  if not st.line.tty then return sleep end
  sleep = sleep or util.default_sleep()
  return function(s)
    local remaining = s
    while remaining > 0 do
      local step = remaining < 1 and remaining or 1
      sleep(step)
      remaining = remaining - step
      local last = st.last
      if last and remaining > 0 then
        local since = st.clock() - st.last_at
        st.line.show(bar_line(last, st.last_done, last.elapsed + since,
          st.last_eta and max(0, st.last_eta - since)))
      end
    end
  end
end

-- syntax: p = progress.new(ctx, o)
-- p.update(report) is the watch's on_progress; p.finish() ends a drawn
-- line; p.wrap_sleep(sleep) gives the watch a sleep that keeps the line
-- moving.  Sets ctx.current_dag at each update.
function _M.new(ctx, o)
  if o.flags.quiet then return QUIET end
  local st = { ctx = ctx, line = _M.line(ctx), clock = ctx.clock or util.default_clock(), history = {} }
  return {
    update = function(r) update(st, r) end,
    finish = function() st.line.finish() end,
    wrap_sleep = function(sleep) return wrap_sleep(st, sleep) end,
  }
end

return _M
