-- Where a campaign stands, in memory: its tasks, the backfills (dags)
-- created for them, the repairs waiting for a slot, and what failed.  The
-- same functions move it forward during a run and when its journal is read
-- back (a resume, campaign.status), so both arrive at the same state.
--
-- A task has one backfill (round 0) and, for its transient failures, the
-- repairs of rounds 1, 2, ...  A repair re-runs every table of its dates,
-- so when it settles, what it re-ran takes the place of what failed there
-- before: FAILED counts what failed after the repairs.

local util = require "accelerate.util"
local dates = require "accelerate.dates"
local statuses = require "accelerate.statuses"
local journal = require "accelerate.journal"
local workflow_repair = require "accelerate.workflow.repair"

local type = type
local next = next
local pairs = pairs
local ipairs = ipairs
local error = error
local tostring = tostring
local max = math.max
local floor = math.floor
local tbl_remove = table.remove
local tbl_sort = table.sort
local id_string = util.id_string
local array = util.array
local same_params = journal.same_params

local _M = {}

local function int(v) return type(v) == "number" and floor(v) or v end

-- syntax: st = state.new(tasks, s)
-- tasks: tasks.list's (or the journal's copy of it); s: definition.normalize's.
function _M.new(tasks, s)
  local st = { spec = s, tasks = {}, dags = {}, unfinished = {}, queue = {}, ops = {}, next_task = 1 }
  for i, t in ipairs(tasks) do
    st.tasks[i] = {
      index = i, plan = t.plan, planId = t.planId, materializeType = t.materializeType,
      startTime = t.startTime, endTime = t.endTime, dateIntervalOfLot = t.dateIntervalOfLot, lots = t.lots,
      state = "pending", failed = {}, under_repair = {}, repairs = array(), running = 0, queued = 0,
    }
  end
  return st
end

-- The create parameters of a task's own backfill.
function _M.params(T)
  return { planId = T.planId, startTime = T.startTime, endTime = T.endTime, dateIntervalOfLot = T.dateIntervalOfLot }
end

local function refresh(T)
  if not T.dag then T.state = "pending"
  elseif T.running > 0 or T.queued > 0 then T.state = "running"
  elseif next(T.failed) then T.state = "failed"
  else T.state = "succeeded" end
end

-- syntax: D = state.created(st, T, dagName, round, parent, params)
-- A backfill of task T exists: its own (round 0) or a repair of `parent`,
-- which leaves the queue.
function _M.created(st, T, dag, round, parent, p)
  round = int(round) or 0
  local D = { dagName = dag, task = T, round = round, parent = parent, params = p }
  st.dags[dag] = D
  st.unfinished[#st.unfinished + 1] = D
  T.running = T.running + 1
  if round == 0 then
    T.dag = dag
  else
    T.repairs[#T.repairs + 1] = dag
    for i, job in ipairs(st.queue) do
      if job.task == T and job.parent == parent and same_params(job.params, p) then
        tbl_remove(st.queue, i)
        T.queued = T.queued - 1
        break
      end
    end
  end
  refresh(T)
  return D
end

local function key_of(e)
  return tostring(e.mtGuid) .. "|" .. tostring(e.startPartition) .. "|" .. tostring(e.endPartition)
end

-- Whether failure e lies within the days first..last.
local function within(e, first, last)
  local s = dates.parse_partition(e.startPartition)
  local f = dates.parse_partition(e.endPartition) or s
  return s ~= nil and s >= first and f <= last
end

-- The repairs of the failures `entries` of task T's backfill `parent`
-- (of round `round`): merged into ranges by workflow.repair_preview, queued
-- for a slot.
local function queue_repairs(st, T, parent, round, entries)
  local pseudo = {}
  for i, e in ipairs(entries) do
    pseudo[i] = { id = e.id, status = "FAILED", mtGuid = e.mtGuid, startPartition = e.startPartition,
      endPartition = e.endPartition }
  end
  local ranges, err = workflow_repair.repair_preview(
    { dagName = parent, params = _M.params(T), instances = pseudo }, {})
  if not ranges then error(err, 0) end
  for _, r in ipairs(ranges) do
    st.queue[#st.queue + 1] = { task = T, parent = parent, round = round + 1, params = r.params, lots = r.lots }
    T.queued = T.queued + 1
  end
end

-- What a repair re-ran is no longer what failed before on its dates.
local function replaced_by(T, D)
  local first, last = dates.parse(D.params and D.params.startTime), dates.parse(D.params and D.params.endTime)
  if not first or not last then return end
  for _, set in ipairs { T.failed, T.under_repair } do
    for k, e in pairs(set) do
      if within(e, first, last) then set[k] = nil end
    end
  end
end

-- syntax: state.settled(st, D, fin [, details])
-- fin: the journal's settled event ({total, counts, failed, repair});
-- details: {[id] = {detail =, err =}} when they were just fetched.
function _M.settled(st, D, fin, details)
  local T = D.task
  D.done, D.total, D.counts = true, fin.total, fin.counts
  for i, x in ipairs(st.unfinished) do
    if x == D then tbl_remove(st.unfinished, i) break end
  end
  T.running = T.running - 1
  if D.round > 0 then replaced_by(T, D) end
  local repair = {}
  for _, id in ipairs(fin.repair or {}) do repair[id_string(id)] = true end
  local to_repair = {}
  for _, f in ipairs(fin.failed or {}) do
    local id = id_string(f.id)
    local e = util.shallow_copy(f)
    e.id, e.dag = id, D.dagName
    local d = details and details[id]
    if d then e.detail, e.err = d.detail, d.err end
    if repair[id] then
      T.under_repair[key_of(e)] = e
      to_repair[#to_repair + 1] = e
    else
      T.failed[key_of(e)] = e
    end
  end
  if #to_repair > 0 then queue_repairs(st, T, D.dagName, D.round, to_repair) end
  refresh(T)
end

-- syntax: evs = state.retries(st)
-- After a failure-budget stop, the resume repairs what is left FAILED once
-- (the person says its cause is fixed): one retry event per backfill with
-- failures, {event = "retry", task, dagName, ids}, in task order.
function _M.retries(st)
  local out = {}
  for _, T in ipairs(st.tasks) do
    local by_dag, order = {}, {}
    for _, e in pairs(T.failed) do
      local dag = e.dag or T.dag
      if dag and e.id then
        if not by_dag[dag] then
          by_dag[dag] = array()
          order[#order + 1] = dag
        end
        local ids = by_dag[dag]
        ids[#ids + 1] = e.id
      end
    end
    tbl_sort(order)
    for _, dag in ipairs(order) do
      tbl_sort(by_dag[dag])
      out[#out + 1] = { event = "retry", task = T.index, dagName = dag, ids = by_dag[dag] }
    end
  end
  return out
end

-- syntax: state.retry(st, ev)
-- A retry event (state.retries): its failures leave FAILED for
-- under_repair, so the budget no longer counts them, and their repairs join
-- the queue, ahead of new tasks; a repair that succeeds replaces them, one
-- that fails brings them back.  The stop it answers is over.
function _M.retry(st, ev)
  st.last_stop = nil
  local T = st.tasks[int(ev.task)]
  if not T or type(ev.ids) ~= "table" then return end
  local wanted = {}
  for _, id in ipairs(ev.ids) do wanted[id_string(id)] = true end
  local entries = {}
  for k, e in pairs(T.failed) do
    if wanted[e.id] and (e.dag or T.dag) == ev.dagName then
      T.failed[k] = nil
      T.under_repair[k] = e
      entries[#entries + 1] = e
    end
  end
  if #entries == 0 then return end
  local D = st.dags[ev.dagName]
  queue_repairs(st, T, ev.dagName, D and D.round or 0, entries)
  refresh(T)
end

-- syntax: op = state.abandon(st, D)
-- D, a backfill adopted by a name the server does not know, is forgotten:
-- its task is pending again (a repair, queued again) and its create's
-- outcome unknown again (st.ops: returns that op, if known).
function _M.abandon(st, D)
  local T = D.task
  st.dags[D.dagName] = nil
  for i, x in ipairs(st.unfinished) do
    if x == D then tbl_remove(st.unfinished, i) break end
  end
  T.running = T.running - 1
  if D.round == 0 then
    T.dag = nil
    if st.next_task > T.index then st.next_task = T.index end
  else
    for i, dag in ipairs(T.repairs) do
      if dag == D.dagName then tbl_remove(T.repairs, i) break end
    end
    st.queue[#st.queue + 1] = { task = T, parent = D.parent, round = D.round, params = D.params }
    T.queued = T.queued + 1
  end
  local op = D.op and st.ops[D.op]
  if op then op.status, op.dagName = "unknown", nil end
  refresh(T)
  return op
end

-- The next task without a backfill (nor a create whose outcome is unknown).
function _M.next_pending(st)
  local i = st.next_task
  while st.tasks[i] and (st.tasks[i].dag or st.tasks[i].unknown) do
    if st.tasks[i].dag and i == st.next_task then st.next_task = i + 1 end
    i = i + 1
  end
  return st.tasks[i]
end

local function count(set)
  local n = 0
  for _ in pairs(set) do n = n + 1 end
  return n
end

-- Instances FAILED after repairs, in every task.
function _M.failed_count(st)
  local n = 0
  for _, T in ipairs(st.tasks) do n = n + count(T.failed) end
  return n
end

-- counts, total of task T: its backfill's while it runs; after it, FAILED
-- what failed after repairs, RUNNING what repairs are re-running.
function _M.task_counts(st, T)
  local D = T.dag and st.dags[T.dag]
  if not D then return nil, nil end
  if not D.done then
    local c = util.shallow_copy(D.counts or statuses.zero_counts())
    return c, D.total or 0
  end
  local failed, rerun = count(T.failed), count(T.under_repair)
  local total = D.total or 0
  local c = statuses.zero_counts()
  c.SUCCESS, c.FAILED, c.RUNNING = max(0, total - failed - rerun), failed, rerun
  return c, total
end

-- The failures of T as workflow.inspect gives them, by date then table.
local function failures_of(T)
  local out = array()
  for _, e in pairs(T.failed) do
    out[#out + 1] = {
      instance = { id = e.id, status = e.status or "FAILED", mtGuid = e.mtGuid,
        startPartition = e.startPartition, endPartition = e.endPartition },
      detail = e.detail, err = e.err, transient = e.transient,
    }
  end
  tbl_sort(out, function(a, b)
    local x, y = a.instance, b.instance
    if tostring(x.startPartition) ~= tostring(y.startPartition) then
      return tostring(x.startPartition) < tostring(y.startPartition)
    end
    return tostring(x.mtGuid) .. tostring(x.id) < tostring(y.mtGuid) .. tostring(y.id)
  end)
  return out
end

-- syntax: view = state.task_view(st, T)
function _M.task_view(st, T)
  local counts, total = _M.task_counts(st, T)
  return {
    task = T.index, plan = T.plan, planId = T.planId, startTime = T.startTime, endTime = T.endTime,
    dateIntervalOfLot = T.dateIntervalOfLot, lots = T.lots, dagName = T.dag, state = T.state,
    counts = counts, total = total, repairs = T.repairs, failures = failures_of(T),
    create_unknown = T.unknown or nil,
  }
end

-- syntax: r = state.report(st)
-- {tasks = {task_view, ...}, counts (all tasks), states = {pending =,
-- running =, succeeded =, failed =}, in_flight (backfills unfinished),
-- on_server (tasks with one), failed (after repairs)}.
function _M.report(st)
  local tasks = array()
  local counts = statuses.zero_counts()
  -- tasks with a backfill created and not yet settled: what goes on on
  -- the server after a stop (a queued repair, or a name the server does
  -- not know, is not)
  local live = {}
  for _, D in ipairs(st.unfinished) do
    if not D.missing then live[D.task] = true end
  end
  local states = { pending = 0, running = 0, succeeded = 0, failed = 0 }
  local total = 0
  for i, T in ipairs(st.tasks) do
    local v = _M.task_view(st, T)
    tasks[i] = v
    for k, n in pairs(v.counts or {}) do counts[k] = (counts[k] or 0) + n end
    total = total + (v.total or 0)
    states[T.state] = states[T.state] + 1
  end
  return { tasks = tasks, counts = counts, total = total, states = states, in_flight = #st.unfinished,
    on_server = count(live), failed = _M.failed_count(st) }
end

return _M
