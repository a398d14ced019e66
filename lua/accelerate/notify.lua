-- A campaign's notifications (the spec's "notify", docs/campaign.md): a
-- JSON POST to a URL at each create and settle of a task's backfill and
-- at the end of the run.  Best effort: a bounded queue, a few attempts
-- with back-off, and a "sender" that never blocks (the C core's libcurl
-- multi handle in the command, cosockets in nginx timers:
-- accelerate.notify.ngx).  A POST that cannot be delivered is a warning,
-- never a failure of the campaign.
--
--   local conf = notify.check(raw.notify, "campaign spec: notify")  (raises)
--   local opts2, N = notify.attach(opts, conf, name)  -- on_event, sleep wrapped
--   N:finish(report); N:flush(seconds); N:close()
--
-- Pure Lua at load: the sender (and the core) are loaded by attach.

local util = require "accelerate.util"
local checks = require "accelerate.workflow.checks"

local type = type
local pairs = pairs
local ipairs = ipairs
local pcall = pcall
local rawget = rawget
local setmetatable = setmetatable
local tostring = tostring
local require = require
local min = math.min
local floor = math.floor
local os_time = os.time
local str_match = string.match
local str_find = string.find
local tbl_remove = table.remove
local json_encode = util.json_encode
local raise = checks.raise

local _M = {}

local FIELDS = { url = true, timeout = true, retries = true, queue = true }
-- at most this many POSTs at once: a receiver is never flooded
local MAX_IN_FLIGHT = 4
local BACKOFF_BASE, BACKOFF_CAP = 1, 30
_M.DEFAULTS = { timeout = 5, retries = 2, queue = 1000, flush = 5 }
-- the end's flush after an interrupt: a Ctrl-C stays prompt
_M.INTERRUPT_FLUSH = 0.25

local function number_in(v, where, lo, hi, whole)
  if type(v) ~= "number" or v ~= v or v < lo or v > hi or (whole and v ~= floor(v)) then
    raise("invalid", where .. " must be a " .. (whole and "whole number" or "number") .. " from " .. lo .. " to " .. hi)
  end
  return whole and floor(v) or v
end

-- syntax: conf = notify.check(v, where)       (raises kind invalid)
-- {url, timeout = 5 (seconds per attempt), retries = 2 (after the first
-- attempt), queue = 1000 (POSTs waiting at most)}, or nil when v is nil.
function _M.check(v, where)
  if v == nil then return nil end
  if type(v) ~= "table" then raise("invalid", where .. " must be an object: {\"url\": \"https://...\"}") end
  for k in pairs(v) do
    if not FIELDS[k] then raise("invalid", where .. ": unknown field " .. tostring(k)) end
  end
  local url = v.url
  if type(url) ~= "string" or #url > 2048 or str_find(url, "[%c%s]")
    or not (str_match(url, "^https?://[^/?#@]+$") or str_match(url, "^https?://[^/?#@]+[/?]")) then
    raise("invalid", where .. ".url must be an http:// or https:// URL (got " .. (type(url) == "string"
      and ("\"" .. url:sub(1, 60) .. "\"") or type(url)) .. ")")
  end
  local d = _M.DEFAULTS
  return {
    url = url,
    timeout = v.timeout == nil and d.timeout or number_in(v.timeout, where .. ".timeout", 0.1, 60),
    retries = v.retries == nil and d.retries or number_in(v.retries, where .. ".retries", 0, 10, true),
    queue = v.queue == nil and d.queue or number_in(v.queue, where .. ".queue", 1, 100000, true),
  }
end

-- The URL as a log line may show it: scheme, host and port (a webhook's
-- path or query is often its secret).
function _M.origin(url)
  return str_match(url, "^(https?://[^/?#]+)") or "?"
end

-- syntax: sender = notify.default_sender()
-- Inside nginx the cosocket sender, elsewhere the C core's.
function _M.default_sender()
  local ngx = rawget(_G, "ngx")
  if type(ngx) == "table" and ngx.timer and ngx.socket then
    return require("accelerate.notify.ngx").new()
  end
  return require("accelerate.core").notifier()
end

local N = {}
N.__index = N

-- syntax: N = notify.new(conf, o)
-- o: sender (post/pump/pending/close: core.notifier's interface), clock
-- (seconds, for the back-off), campaign (the payloads' name), on_warning(msg).
function _M.new(conf, o)
  return setmetatable({ conf = conf, sender = o.sender, clock = o.clock, campaign = o.campaign,
    on_warning = o.on_warning, queue = {}, flying = {}, in_flight = 0, seq = 0,
    delivered = 0, failed = 0, dropped = 0, warnings = {} }, N)
end

function N:warn(msg)
  self.warnings[#self.warnings + 1] = "notify: " .. msg
  if self.on_warning then pcall(self.on_warning, "notify: " .. msg) end
end

-- Queues one payload; the oldest waiting one goes when the queue is full.
function N:push(payload)
  self.seq = self.seq + 1
  payload.campaign, payload.seq, payload.at = self.campaign, self.seq, os_time()
  local ok, body = pcall(json_encode, payload)
  if not ok then return self:warn("a payload could not be encoded: " .. tostring(body)) end
  local q = self.queue
  if #q + self.in_flight >= self.conf.queue and #q > 0 then
    tbl_remove(q, 1)
    self.dropped = self.dropped + 1
    -- one line at the first drop and at each power of ten, not one per POST
    local d = self.dropped
    if d == 1 or d == 10 or d == 100 or d == 1000 or d == 10000 then
      self:warn(d .. " POST(s) dropped so far: " .. self.conf.queue .. " waiting already (notify.queue)")
    end
  end
  q[#q + 1] = { body = body, event = payload.event, attempts = 0, due = 0 }
end

-- The task fields of a payload (no counts, no failures: a receiver asks
-- GET campaigns/ID or the report for those).
local function task_of(v)
  return { task = v.task, plan = v.plan, planId = v.planId, startTime = v.startTime, endTime = v.endTime,
    state = v.state, dagName = v.dagName }
end

-- syntax: N:event(ev)    (the engine's on_event events; others ignored)
function N:event(ev)
  if type(ev) ~= "table" or (ev.event ~= "created" and ev.event ~= "settled") or type(ev.task) ~= "table" then
    return
  end
  local t = task_of(ev.task)
  t.dagName = ev.dagName or t.dagName
  t.round = ev.round
  -- a settle that decided a repair: how many instances it re-runs (not
  -- their ids: a big backfill's list would make every payload huge)
  local repairing = type(ev.repair) == "table" and #ev.repair > 0 and #ev.repair or nil
  self:push { event = "task", change = ev.event, task = t, of = ev.of, repairing = repairing }
end

-- syntax: N:finish(report, err)       the "end" payload
-- err: the error that ended the run (its kind and message), if one did.
function N:finish(r, err)
  local e
  if err ~= nil then
    e = type(err) == "table" and { kind = err.kind, message = err.message }
      or { kind = "error", message = tostring(err) }
  end
  self:push { event = "end", ok = r.ok == true and e == nil, stopped = r.stopped, states = r.states,
    counts = r.counts, total = r.total, tasks = type(r.tasks) == "table" and #r.tasks or 0, error = e }
end

-- Starts the POSTs that are due, MAX_IN_FLIGHT at most.
function N:start(now)
  local q, i = self.queue, 1
  while i <= #q and self.in_flight < MAX_IN_FLIGHT do
    local item = q[i]
    if item.due <= now then
      tbl_remove(q, i)
      item.attempts = item.attempts + 1
      local id, err = self.sender:post(self.conf.url, item.body, self.conf.timeout)
      if id then
        self.flying[id] = item
        self.in_flight = self.in_flight + 1
      else
        self:settle(item, { ok = false, error = err }, now)
      end
    else
      i = i + 1
    end
  end
end

-- One attempt's outcome: done, again later, or given up (a warning).
function N:settle(item, res, now)
  if res.ok then
    self.delivered = self.delivered + 1
    return
  end
  if item.attempts <= self.conf.retries then
    item.due = now + min(BACKOFF_BASE * 2 ^ (item.attempts - 1), BACKOFF_CAP)
    self.queue[#self.queue + 1] = item
    return
  end
  self.failed = self.failed + 1
  if self.failed == 1 or self.failed % 100 == 0 then
    self:warn("a \"" .. item.event .. "\" POST to " .. _M.origin(self.conf.url) .. " was not delivered after "
      .. item.attempts .. " attempt(s): " .. tostring(res.error or res.status) .. " (" .. self.failed
      .. " so far; the campaign goes on)")
  end
end

-- The seconds until the next queued POST is due (0: one is), or nil.
function N:next_due(now)
  local due
  for _, item in ipairs(self.queue) do
    if not due or item.due < due then due = item.due end
  end
  return due and (due > now and due - now or 0)
end

function N:busy()
  return self.in_flight > 0 or #self.queue > 0
end

-- syntax: N:pump(wait, through_stop)
-- Starts what is due, lets the sender work for up to `wait` seconds (less
-- when a retry comes due first) and takes in what ended.  A stop request
-- (Ctrl-C) ends the sender's wait unless through_stop.
function N:pump(wait, through_stop)
  local now = self.clock()
  self:start(now)
  local due = self.in_flight < MAX_IN_FLIGHT and self:next_due(now)
  if due and due < wait then wait = due end
  local done = self.sender:pump(wait > 0 and wait or 0, through_stop)
  now = self.clock()
  for _, res in ipairs(done or {}) do
    local item = self.flying[res.id]
    if item then
      self.flying[res.id] = nil
      self.in_flight = self.in_flight - 1
      self:settle(item, res, now)
    end
  end
end

-- syntax: N:flush(limit)
-- Delivers what is queued for up to `limit` seconds (retries included);
-- what is left then is counted as not delivered.
function N:flush(limit)
  local stop = self.clock() + limit
  while self:busy() do
    local left = stop - self.clock()
    if left <= 0 then break end
    -- after a Ctrl-C only what is in flight is waited for, no back-off
    if self.in_flight == 0 and util.stop_requested() then break end
    -- through_stop: after a Ctrl-C the sender still waits on its sockets
    local ok = pcall(self.pump, self, min(left, 0.5), true)
    if not ok then break end
  end
  local left = #self.queue + self.in_flight
  if left > 0 then
    self.failed = self.failed + left
    self:warn(left .. " POST(s) not delivered when the run ended (" .. limit .. " s given)")
  end
end

function N:close()
  if self.sender and self.sender.close then pcall(self.sender.close, self.sender) end
end

-- {delivered, failed, dropped}: the report's "notify"
function N:stats()
  return { delivered = self.delivered, failed = self.failed, dropped = self.dropped }
end

-- A sleep that keeps the POSTs moving: while any is queued or in flight
-- the nap is the sender's wait, cut at a stop request (Ctrl-C).
local function sleep_with(N_, sleep)
  return function(s)
    if not N_:busy() then return sleep(s) end
    local stop = N_.clock() + s
    while true do
      local left = stop - N_.clock()
      if left <= 0 then return true end
      if not N_:busy() then return sleep(left) end
      if not pcall(N_.pump, N_, left) then return sleep(left) end
      if util.stop_requested() then return false end
    end
  end
end

-- The payloads' "campaign": the spec's name, else the journal's file name
-- without ".journal" (the runner's campaign ID).
function _M.campaign_name(name, journal)
  if type(name) == "string" and name ~= "" then return name end
  if type(journal) == "string" then
    local base = str_match(journal, "([^/]+)$") or journal
    return (base:gsub("%.journal$", ""))
  end
  return "campaign"
end

-- syntax: opts2, N = notify.attach(opts, conf, name)
-- A copy of campaign.run's opts whose on_event also queues the task
-- payloads and whose sleep pumps the sender; opts.notify_sender replaces
-- the automatic one (notify.default_sender).
function _M.attach(opts, conf, name)
  local sender = opts.notify_sender or _M.default_sender()
  local clock = opts.clock or util.default_clock()
  local user_event = opts.on_event
  local o = util.shallow_copy(opts)
  local n = _M.new(conf, { sender = sender, clock = clock, campaign = name,
    on_warning = function(msg)
      if user_event then user_event { event = "warning", message = msg } end
    end })
  o.on_event = function(ev)
    pcall(n.event, n, ev)
    if user_event then return user_event(ev) end
  end
  o.sleep = sleep_with(n, opts.sleep or util.default_sleep())
  return o, n
end

return _M
