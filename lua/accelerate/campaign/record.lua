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

-- syntax: tasks = record.tasks(events)      (raises)
-- The tasks the journal's campaign line planned, or nil before it.  Lines
-- about tasks without a campaign line: that line is damaged, and planning
-- again could number the tasks otherwise: refused.
function _M.tasks(events)
  for _, ev in ipairs(events) do
    if ev.event == "campaign" and type(ev.tasks) == "table" then return ev.tasks end
  end
  for _, ev in ipairs(events) do
    if ev.task ~= nil then
      raise("journal", "the journal's campaign line (its planned tasks) is missing or damaged, but it records "
        .. "creates of tasks: run the campaign with a new journal only once you have checked in AnyMetrics "
        .. "which backfills it created")
    end
  end
  return nil
end

-- syntax: record.write_tasks(j, tasks, s [, spec_path])      (raises)
function _M.write_tasks(j, tasks, s, spec_path)
  local ok, err = j:append { event = "campaign", tasks = tasks, order = s.order, spec = spec_path }
  if not ok then error(err, 0) end
end

-- syntax: path = record.spec_path(events)
-- The spec file the journal's latest run was given (its campaign line, or
-- a later `run` line), or nil: what `campaign status` names in the command
-- it advises, so that the command runs as printed.
function _M.spec_path(events)
  local path
  for _, ev in ipairs(events) do
    if (ev.event == "campaign" or ev.event == "run") and type(ev.spec) == "string" then path = ev.spec end
  end
  return path
end

-- syntax: record.note_spec(j, spec_path)      (raises)
-- A resume given the spec under another path (moved, or named from
-- another folder) records it: a `run` line.
function _M.note_spec(j, spec_path)
  if spec_path == nil or spec_path == _M.spec_path(j.events) then return end
  local ok, err = j:append { event = "run", spec = spec_path }
  if not ok then error(err, 0) end
end

local function on_intent(st, ev)
  st.ops[ev.op] = { op = ev.op, task = int(ev.task), round = int(ev.round) or 0, repairs = ev.repairs,
    params = ev.params, at = ev.at, status = "intent" }
end

-- A repair exists only once its parent settled: a parent still unfinished
-- lost its settled line (damage).  Settled without its failures, so that
-- it is not judged again and its repairs never created twice.
local function parent_settled(st, op)
  local P = op.repairs and st.dags[op.repairs]
  if P and not P.done then state.settled(st, P, { total = P.total, counts = P.counts, failed = {} }) end
end

-- An op's outcome: created (the dag joins the state), or failed or unknown.
-- An outcome whose intent line is damaged is placed by its own fields.
local function on_outcome(st, ev)
  local op = st.ops[ev.op]
  if not op then
    if ev.task == nil then return end
    on_intent(st, ev)
    op = st.ops[ev.op]
    op.at = nil
  end
  if ev.event == "created" then
    op.status, op.dagName = "created", ev.dagName
    local T = st.tasks[op.task]
    if T and type(ev.dagName) == "string" and not st.dags[ev.dagName] then
      parent_settled(st, op)
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

-- Whether list holds every number of lines.
local function covers(list, lines)
  local set = {}
  for _, n in ipairs(list) do set[n] = true end
  for _, n in ipairs(lines) do if not set[n] then return false end end
  return true
end

-- The tasks damaged lines could hide: every task whose backfill the
-- journal does not name (a task never mentioned could have had its intent
-- there), unless a line written after the damage was named clears it (the
-- outcome --adopt or --force-create wrote, with damaged = those lines).
-- Each becomes an unresolved op of status "damaged" with an op number of
-- its own, for the line that resolves it.
local function hold(st, events, lines)
  local cleared = {}
  for _, ev in ipairs(events) do
    if ev.task ~= nil and type(ev.damaged) == "table" and covers(ev.damaged, lines) then
      cleared[int(ev.task)] = true
    end
  end
  for _, op in ipairs(st.unresolved) do op.damaged = lines end
  for _, T in ipairs(st.tasks) do
    if not T.dag and not T.unknown and not cleared[T.index] then
      T.unknown = true
      st.last_op = st.last_op + 1
      st.unresolved[#st.unresolved + 1] = { op = st.last_op, task = T.index, round = 0, params = state.params(T),
        status = "damaged", damaged = lines }
    end
  end
end

-- syntax: record.replay(events, st [, damaged])
-- Moves st through the journal's events.  Leaves st.unresolved: the ops
-- whose create has no known outcome (an intent alone, or a lost answer),
-- their tasks marked unknown; with damaged (journal.parse's line numbers),
-- also every task such a line could hide, and st.damaged = damaged.
function _M.replay(events, st, damaged)
  st.last_op = 0
  for _, ev in ipairs(events) do
    if type(ev.op) == "number" and ev.op > st.last_op then st.last_op = floor(ev.op) end
  end
  for _, ev in ipairs(events) do
    local h = HANDLERS[ev.event]
    if h then h(st, ev) end
  end
  st.unresolved = {}
  for _, ev in ipairs(events) do
    local op = st.ops[ev.op]
    if op and (op.status == "intent" or op.status == "unknown") and not op.listed then
      op.listed = true
      st.unresolved[#st.unresolved + 1] = op
      local T = st.tasks[op.task]
      if T and op.round == 0 then T.unknown = true end
    end
  end
  if damaged and #damaged > 0 then
    st.damaged = damaged
    hold(st, events, damaged)
  end
  return st
end

-- syntax: r = record.status(path)
-- What the journal says, nothing sent: state.report's fields plus
-- journal, stopped (the last stop), ended, unresolved (creates whose
-- outcome is unknown; damaged = true: one a damaged line could hide),
-- owner, damaged_lines (line numbers) and journal_error (their note).
function _M.status(path)
  local events, skipped, exists, _, damage = journal.read(path)
  if not events then error(skipped, 0) end
  if not exists then raise("invalid", "no journal at " .. path) end
  local tasks = _M.tasks(events)
  if not tasks then
    local owner = events[1] and events[1]["for"]
    if not (owner and owner.campaign) then raise("invalid", "the journal " .. path .. " is not a campaign's") end
    tasks = {}
  end
  local st = _M.replay(events, state.new(tasks, {}), damage.lines)
  local r = state.report(st)
  r.journal = path
  r.spec = _M.spec_path(events)
  r.stopped = st.last_stop
  r.ended = st.ended and true or nil
  r.ok = st.ended and st.ended.ok or false
  r.unresolved = array()
  for _, op in ipairs(st.unresolved) do
    r.unresolved[#r.unresolved + 1] = { task = op.task, round = op.round, repairs = op.repairs, params = op.params,
      damaged = op.status == "damaged" or nil }
  end
  r.skipped_lines = skipped > 0 and skipped or nil
  if #damage.lines > 0 then
    r.damaged_lines = array()
    for i, n in ipairs(damage.lines) do r.damaged_lines[i] = n end
    r.journal_error = journal.damage_note(path, damage.lines)
  end
  return r
end

return _M
