-- A campaign's journal (the events are listed at the top of
-- accelerate/journal.lua): opening it for a spec, the planned tasks, and
-- reading it back into a state (accelerate.campaign.state) for a resume
-- or for campaign.status.

local util = require "accelerate.util"
local journal = require "accelerate.journal"
local checks = require "accelerate.workflow.checks"
local state = require "accelerate.campaign.state"

local type = type
local ipairs = ipairs
local error = error
local floor = math.floor
local array = util.array
local raise = checks.raise

local _M = {}

local function int(v) return type(v) == "number" and floor(v) or v end

-- syntax: j = record.open(path, client, identity)      (raises)
-- Locked for this process; a journal made for another spec, a backfill or
-- another API is refused before anything is sent.
function _M.open(path, client, identity)
  return checks.open_journal(path, checks.owner(client, { campaign = identity }))
end

-- syntax: tasks = record.planned(events)
-- The tasks the journal's campaign line planned, or nil before it.
function _M.planned(events)
  for _, ev in ipairs(events) do
    if ev.event == "campaign" and type(ev.tasks) == "table" then return ev.tasks end
  end
  return nil
end

-- syntax: record.write_plan(j, tasks, s)      (raises)
function _M.write_plan(j, tasks, s)
  local ok, err = j:append { event = "campaign", tasks = tasks, order = s.order }
  if not ok then error(err, 0) end
end

local function on_intent(st, ev)
  st.ops[ev.op] = { op = ev.op, task = int(ev.task), round = int(ev.round) or 0, repairs = ev.repairs,
    params = ev.params, at = ev.at, status = "intent" }
end

-- An op's outcome: created (the dag joins the state), or failed or unknown.
local function on_outcome(st, ev)
  local op = st.ops[ev.op]
  if not op then return end
  if ev.event == "created" then
    op.status, op.dagName = "created", ev.dagName
    local T = st.tasks[op.task]
    if T and type(ev.dagName) == "string" and not st.dags[ev.dagName] then
      local D = state.created(st, T, ev.dagName, op.round, op.repairs, op.params)
      D.op, D.adopted, D.checked = ev.op, ev.adopted, ev.checked
    end
  elseif ev.event == "create_failed" then
    op.status = "failed"
  else
    op.status = "unknown"
  end
end

local HANDLERS = {
  intent = function(st, ev) if ev.op and ev.task then on_intent(st, ev) end end,
  created = function(st, ev) if ev.op then on_outcome(st, ev) end end,
  create_failed = function(st, ev) if ev.op then on_outcome(st, ev) end end,
  create_unknown = function(st, ev) if ev.op then on_outcome(st, ev) end end,
  state = function(st, ev)
    local D = ev.dagName and st.dags[ev.dagName]
    if D and not D.done then D.counts, D.total = ev.counts, ev.total end
  end,
  settled = function(st, ev)
    local D = ev.dagName and st.dags[ev.dagName]
    if D and not D.done then state.settled(st, D, ev) end
  end,
  stopped = function(st, ev) st.last_stop = ev.reason end,
  retry = function(st, ev) if ev.dagName then state.retry(st, ev) end end,
  abandoned = function(st, ev)
    local D = ev.dagName and st.dags[ev.dagName]
    if D and not D.done then state.abandon(st, D) end
  end,
  ended = function(st, ev) st.ended, st.last_stop = ev, nil end,
}

-- syntax: record.replay(events, st)
-- Moves st through the journal's events.  Leaves st.unresolved: the ops
-- whose create has no known outcome (an intent alone, or a lost answer),
-- their tasks marked unknown.
function _M.replay(events, st)
  for _, ev in ipairs(events) do
    local h = HANDLERS[ev.event]
    if h then h(st, ev) end
  end
  st.unresolved = {}
  for _, ev in ipairs(events) do
    local op = ev.event == "intent" and st.ops[ev.op]
    if op and (op.status == "intent" or op.status == "unknown") and not op.listed then
      op.listed = true
      st.unresolved[#st.unresolved + 1] = op
      local T = st.tasks[op.task]
      if T and op.round == 0 then T.unknown = true end
    end
  end
  return st
end

-- syntax: r = record.status(path)
-- What the journal says, nothing sent: state.report's fields plus
-- journal, stopped (the last stop), ended, unresolved (creates whose
-- outcome is unknown), owner.
function _M.status(path)
  local events, skipped, exists = journal.read(path)
  if not events then error(skipped, 0) end
  if not exists then raise("invalid", "no journal at " .. path) end
  local tasks = _M.planned(events)
  if not tasks then
    local owner = events[1] and events[1]["for"]
    if not (owner and owner.campaign) then raise("invalid", "the journal " .. path .. " is not a campaign's") end
    tasks = {}
  end
  local st = _M.replay(events, state.new(tasks, {}))
  local r = state.report(st)
  r.journal = path
  r.stopped = st.last_stop
  r.ended = st.ended and true or nil
  r.ok = st.ended and st.ended.ok or false
  r.unresolved = array()
  for _, op in ipairs(st.unresolved) do
    r.unresolved[#r.unresolved + 1] = { task = op.task, round = op.round, repairs = op.repairs, params = op.params }
  end
  r.skipped_lines = skipped > 0 and skipped or nil
  return r
end

return _M
