-- The progress of a watch, on stderr: on a terminal one line redrawn in
-- place (kept moving between polls, which may be 30 s apart), otherwise one
-- plain timestamped line per change.  --quiet prints nothing.

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
local is_terminal = status.is_terminal
local STATUS_ORDER = status.STATUS_ORDER

local _M = {}

local BAR_WIDTH = 20
local DEFAULT_COLUMNS = 80

local IN_ORDER = {}
for _, k in ipairs(STATUS_ORDER) do IN_ORDER[k] = true end

local QUIET = {
  update = function() end,
  finish = function() end,
  wrap_sleep = function(sleep) return sleep end,
}

-- Instances that will not change again.
local function terminal_count(counts)
  local done = 0
  for k, v in pairs(counts) do
    if is_terminal(k) then done = done + v end
  end
  return done
end

-- Time left (insight.eta) from the history of this watch.
local function estimate(st, r)
  insight.sample(st.history, r)
  return insight.eta(r, st.history)
end

-- The terminal's width now (it may have been resized since the last
-- line): what the terminal says, else $COLUMNS, else 80.
local function columns_of(ctx)
  local w = ctx.term_width and ctx.term_width(2)
  if type(w) == "number" and w > 0 then return w end
  w = tonumber(ctx.getenv("COLUMNS") or "")
  if w and w > 0 then return w end
  return DEFAULT_COLUMNS
end

-- The terminal line: bar, percentage, counts, elapsed and eta.
local function draw(st, r, done, elapsed, eta)
  local ctx = st.ctx
  -- one terminal line, or every redraw would leave a wrapped line behind
  local columns = columns_of(ctx)
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
  local line = tbl_concat(parts, "  ")
  if #line > columns - 1 then line = str_sub(line, 1, max(10, columns - 1)) end
  ctx.err("\r\27[K" .. line)
  st.drawn = true
end

local function update(st, r)
  local ctx = st.ctx
  ctx.current_dag = r.dagName
  local done = terminal_count(r.counts)
  local eta = estimate(st, r)
  if st.tty then
    st.last, st.last_at, st.last_eta, st.last_done = r, st.clock(), eta, done
    draw(st, r, done, r.elapsed, eta)
    return
  end
  local key = status.summary(r)
  if key ~= st.last_key then
    st.last_key = key
    ctx.err(os_date("!%Y-%m-%dT%H:%M:%SZ") .. " " .. r.dagName .. "  " .. key .. "  elapsed "
      .. format_duration(r.elapsed) .. "  eta " .. (eta and format_duration(eta) or "?") .. "\n")
  end
end

local function finish(st)
  if st.tty and st.drawn then st.ctx.err("\n") st.drawn = false end
end

-- Sleeps in slices of at most a second, redrawing elapsed and eta between
-- them.  The slices, not the clock, end the loop: a clock that stands
-- still cannot make it spin.
local function wrap_sleep(st, sleep)
  if not st.tty then return sleep end
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
        draw(st, last, st.last_done, last.elapsed + since, st.last_eta and max(0, st.last_eta - since))
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
  local st = { ctx = ctx, tty = ctx.isatty(2), clock = ctx.clock or util.default_clock(), history = {} }
  return {
    update = function(r) update(st, r) end,
    finish = function() finish(st) end,
    wrap_sleep = function(sleep) return wrap_sleep(st, sleep) end,
  }
end

return _M
