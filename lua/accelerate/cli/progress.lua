-- The one status line of `backfill`, `wait`, `repair` and `campaign`, on
-- stderr: on a terminal one line redrawn in place (cut to the terminal's
-- width, and kept moving between polls, which may be 30 s apart), otherwise
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
local os_date = os.date
local format_duration = util.format_duration
local STATUS_ORDER = status.STATUS_ORDER

local _M = {}

local BAR_WIDTH = 20
local DEFAULT_COLUMNS = 80

local IN_ORDER = {}
for _, k in ipairs(STATUS_ORDER) do IN_ORDER[k] = true end

-- The terminal's width now (it may have been resized since the last
-- line): what the terminal says, else $COLUMNS, else 80.
local function columns_of(ctx)
  local w = ctx.term_width and ctx.term_width(2)
  if type(w) == "number" and w > 0 then return w end
  w = tonumber(ctx.getenv("COLUMNS") or "")
  if w and w > 0 then return w end
  return DEFAULT_COLUMNS
end

local function stamp() return os_date("!%Y-%m-%dT%H:%M:%SZ") .. " " end

-- syntax: l = progress.line(ctx)
-- l.show(line, key [, plain]): on a terminal, line redrawn in place (one
-- terminal line, or every redraw would leave a wrapped line behind);
-- otherwise plain (default line) timestamped, when key differs from the
-- last one shown.  l.note(text): a line of its own, above the status line
-- on a terminal (which is drawn again under it).  l.finish(): ends a drawn
-- line.  l.tty: whether stderr is a terminal.
function _M.line(ctx)
  local st = {}
  local l = { tty = ctx.isatty(2) }
  local function draw()
    local line, columns = st.line, columns_of(ctx)
    if #line > columns - 1 then line = str_sub(line, 1, max(10, columns - 1)) end
    ctx.err("\r\27[K" .. line)
  end
  function l.show(line, key, plain)
    if l.tty then
      st.line = line
      draw()
    elseif key ~= st.key then
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

-- The terminal line: bar, percentage, counts, elapsed and eta.
local function bar_line(r, done, elapsed, eta)
  local filled = r.total > 0 and floor(BAR_WIDTH * done / r.total) or 0
  local pct = r.total > 0 and floor(100 * done / r.total) or 0
  local parts = { str_format("[%s%s] %3d%%", str_rep("#", filled), str_rep(".", BAR_WIDTH - filled), pct) }
  for _, k in ipairs(STATUS_ORDER) do
    parts[#parts + 1] = k .. " " .. tostring(r.counts[k] or 0)
  end
  for k, v in pairs(r.counts) do
    if not IN_ORDER[k] then parts[#parts + 1] = k .. " " .. tostring(v) end
  end
  parts[#parts + 1] = format_duration(elapsed) .. " eta " .. (eta and format_duration(eta) or "?")
  return tbl_concat(parts, "  ")
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
