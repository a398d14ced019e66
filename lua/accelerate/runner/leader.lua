-- The worker that runs campaigns (one per nginx: worker 0, which nginx
-- starts again after a crash and replaces at a reload).  Each second it
-- looks at the runner's folder and starts, in a timer of its own, every
-- campaign that should run and that no one runs: the journal's lock (the
-- flock the command takes) is the only arbiter, so that two nginx on one
-- folder, or nginx and the command, never both create.  A run is asked
-- (campaign.run's opts.hold) before each create and each round whether a
-- person stopped it (ID.stop) or the worker is going away; on the way out
-- it writes where it stood and its journal's lock goes with the run.
--
-- What a run knows is published in the shared dict for every worker's
-- handlers: "c:ID" its object (campaign.summary, as the command's --json
-- prints), "run:ID" while a run holds it (refreshed each second: a crashed
-- worker's mark lapses), "e:ID" the last error of a run that ended on one.

local campaign = require "accelerate.campaign"
local summary = require "accelerate.campaign.summary"
local util = require "accelerate.util"

local ngx = ngx
local type = type
local pairs = pairs
local pcall = pcall
local tostring = tostring
local min = math.min
local json_encode = util.json_encode
local json_decode = util.json_decode

local _M = {}

local SCAN_EVERY = 1        -- seconds between looks at the folder
local RUN_MARK_TTL = 5      -- seconds a run's mark outlives its last refresh
local NAP_SLICE = 0.25      -- a nap wakes this often to see the worker exiting
local PUBLISH_EVERY = 0.5   -- at most this often, the object of a running campaign
local RETRY_MAX = 60        -- seconds, the longest wait before a run that failed is tried again

-- syntax: obj = leader.object(R, id, report, facts)
-- A campaign's object as served: the summary plus id, name, created_at,
-- state and, while it runs, its eta.
function _M.object(R, id, report, facts, spec)
  local obj = summary.object(report, { redact = R.redact, rules = facts.rules })
  obj.id = id
  obj.name = type(spec) == "table" and type(spec.name) == "string" and spec.name or id
  obj.created_at = R.store_mod.created_at(id)
  obj.unresolved = report.unresolved
  obj.ended = report.ended
  obj.state = summary.state(report, facts)
  obj.eta = facts.running and R.eta and R.eta(report) or nil
  return obj
end

local function publish(R, id, obj)
  local ok, err = R.dict:set("c:" .. id, json_encode(obj))
  if not ok then ngx.log(ngx.WARN, "accelerate.runner: cannot keep campaign ", id, " in the shared dict: ", err) end
end

-- The host's say for campaign.run: a person's stop stands while ID.stop
-- does; a worker on its way out stops the run at once.
local function hold_of(R, id)
  return function()
    if ngx.worker.exiting() then return "shutdown" end
    if R.store:has(id, "stop") then return "requested" end
    return nil
  end
end

-- A nap that ends early when the worker is exiting (its reload must not
-- wait for a campaign's interval).  The clock is read fresh (nginx caches
-- it per event-loop turn) and a rest under a millisecond is not slept: a
-- 0 ms ngx.sleep resumes in the same turn, with the same cached time, and
-- would spin forever, deaf to the master's signals.
local function nap(seconds)
  ngx.update_time()
  local deadline = ngx.now() + seconds
  while not ngx.worker.exiting() do
    ngx.update_time()
    local left = deadline - ngx.now()
    if left < 0.001 then return end
    ngx.sleep(min(left, NAP_SLICE))
  end
end

local function read_spec(R, id)
  local text = R.store:read(id, "json")
  local spec = text and json_decode(text)
  if type(spec) ~= "table" then return nil, "the spec " .. R.store:path(id, "json") .. " is not a JSON object" end
  return spec
end

-- Where a campaign not running here stands, from its journal (nothing sent).
local function status_of(R, id)
  if not R.store:has(id, "journal") then return nil end
  local st = campaign.status(R.store:path(id, "journal"))
  return st
end

-- Whether campaign id should run now, and with which extra options.
-- Ended: never again.  A create whose answer was lost: once a person
-- resolved it (ID.resolve).  A failure budget's stop: once a person said
-- go on (ID.go).  A person's stop: only while backfills of it run on the
-- server (they are watched to the end).  Anything else: it resumes.
local function wanted(R, id)
  local st = status_of(R, id)
  local stop = R.store:has(id, "stop")
  if not st then return not stop, {} end
  if st.ended then return false, nil, true end
  if #st.unresolved > 0 then
    local text = R.store:read(id, "resolve")
    local r = text and json_decode(text)
    if type(r) ~= "table" then return false end
    return true, { adopt = r.adopt, force_create = r.force_create or nil, resolving = true }
  end
  if stop then return (st.on_server or 0) > 0, {} end
  if st.stopped == "failure_budget" then
    if not R.store:has(id, "go") then return false end
    return true, { going = true }
  end
  return true, {}
end

local function on_ended(R, id, spec, rules, report, err)
  local held = R.running[id] == "holding"
  R.running[id] = nil
  if held then R.dict:delete("run:" .. id) end
  if err and err.holder then
    -- another process runs it: try again later, quietly
    R.known[id] = { retry_at = ngx.now() + SCAN_EVERY / 2 }
    return
  end
  local k = { tries = 0 }
  if err and not util.interrupted(err) then
    local prev = R.known[id]
    k.tries = (prev and prev.tries or 0) + 1
    k.retry_at = ngx.now() + min(RETRY_MAX, 2 ^ k.tries)
    R.dict:set("e:" .. id, json_encode { kind = err.kind, message = R.redact(util.errstr(err)), at = ngx.now() })
    ngx.log(ngx.ERR, "accelerate.runner: campaign ", id, ": ", R.redact(util.errstr(err)))
  else
    R.dict:delete("e:" .. id)
  end
  R.known[id] = k
  -- the journal is the truth of what stands now: the report of the run,
  -- with the journal's word on what ended and what waits for a person
  local ok, st = pcall(status_of, R, id)
  if ok and st and report then
    report.unresolved, report.ended = st.unresolved, st.ended
    if st.ended then report.ok = st.ok end
  elseif ok and st then
    report = st
  end
  if report then
    publish(R, id, _M.object(R, id, report, { rules = rules, stop = R.store:has(id, "stop") }, spec))
  else
    R.dict:delete("c:" .. id)
  end
end

local function run_campaign(premature, R, id, extra)
  if premature then
    R.running[id] = nil
    return
  end
  local spec, serr = read_spec(R, id)
  if not spec then
    ngx.log(ngx.ERR, "accelerate.runner: campaign ", id, ": ", serr)
    R.running[id] = nil
    R.known[id] = { retry_at = ngx.now() + RETRY_MAX, tries = 0 }
    return
  end
  local s = campaign.check(spec)
  local rules = s and s.rules
  local last, started = 0, false
  local function progress(report)
    if not started then
      started = true
      R.running[id] = "holding"
      -- the first progress comes once the journal is ours (its lock taken)
      ngx.log(ngx.NOTICE, "accelerate.runner: campaign ", id, " run by worker ", ngx.worker.pid())
    end
    local now = ngx.now()
    if now - last < PUBLISH_EVERY then return end
    last = now
    R.dict:set("run:" .. id, ngx.worker.pid(), RUN_MARK_TTL)
    publish(R, id, _M.object(R, id, report, { rules = rules, running = true, stop = R.store:has(id, "stop") },
      spec))
  end
  if extra.going then R.store:remove(id, "go") end
  local opts = {
    journal = R.store:path(id, "journal"), spec_path = R.store:path(id, "json"),
    interval = R.opts.interval, max_interval = R.opts.max_interval, backoff = R.opts.backoff,
    page_size = R.opts.page_size, timeout = nil,
    sleep = nap, clock = ngx.now, hold = hold_of(R, id), on_progress = progress,
    on_event = function(ev)
      -- a change is published at the next progress
      if ev.event == "created" or ev.event == "settled" then last = -1 end
    end,
    adopt = extra.adopt, force_create = extra.force_create,
  }
  local ok, report, err, partial = pcall(campaign.run, R.client, spec, opts)
  if ok and report then
    ngx.log(ngx.NOTICE, "accelerate.runner: campaign ", id, " run ended",
      report.stopped and (" (stopped: " .. report.stopped .. ")") or "", report.ok and ", all tasks succeeded" or "")
  end
  if not ok then report, err = nil, util.new_error("error", tostring(report)) end
  if extra.resolving then R.store:remove(id, "resolve") end
  on_ended(R, id, spec, rules, report or partial, err)
end

local function start(R, id, extra)
  R.running[id] = true
  local ok, err = ngx.timer.at(0, run_campaign, R, id, extra)
  if not ok then
    R.running[id] = nil
    ngx.log(ngx.ERR, "accelerate.runner: cannot start campaign ", id, ": ", err)
  end
end

-- The markers a person's requests leave; a campaign parked on them is
-- looked at again when they change.
local function markers(R, id)
  local s = R.store
  return (s:has(id, "stop") and "s" or "") .. (s:has(id, "go") and "g" or "") .. (s:has(id, "resolve") and "r" or "")
end

local function scan_one(R, id, now)
  if R.running[id] then
    -- marked only once the run holds the journal: a run waiting for
    -- another process's lock is no one's run yet
    if R.running[id] == "holding" then R.dict:set("run:" .. id, ngx.worker.pid(), RUN_MARK_TTL) end
    return
  end
  local k = R.known[id]
  if k then
    if k.ended then return end
    if k.retry_at and now < k.retry_at then return end
    if k.parked and k.parked == markers(R, id) then return end
  end
  local ok, go, extra, ended = pcall(wanted, R, id)
  if not ok then
    ngx.log(ngx.ERR, "accelerate.runner: campaign ", id, ": ", R.redact(util.errstr(go)))
    R.known[id] = { retry_at = now + RETRY_MAX }
    return
  end
  if ended then
    R.known[id] = { ended = true }
  elseif go then
    start(R, id, extra)
  else
    R.known[id] = { parked = markers(R, id) }
  end
end

local function scan(premature, R)
  if premature or ngx.worker.exiting() then return end
  R.dict:set("leader", ngx.worker.pid(), RUN_MARK_TTL)
  local now = ngx.now()
  for _, id in pairs(R.store:ids()) do scan_one(R, id, now) end
end

-- syntax: leader.start(R)
-- R: the runner's state (runner.init): store, dict, client, opts, redact.
function _M.start(R)
  R.running, R.known = {}, {}
  local ok, err = ngx.timer.every(SCAN_EVERY, scan, R)
  if not ok then return nil, err end
  -- the first look at once: a restart resumes within a second
  ngx.timer.at(0, scan, R)
  return true
end

return _M
