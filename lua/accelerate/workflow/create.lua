-- The journaled create: an intent line before create_task, the dagName (or
-- what became of the request) after it, and the rules that use those lines
-- to resume instead of creating twice: a journal that already names a
-- backfill, and a create whose answer never arrived.

local util = require "accelerate.util"
local journal = require "accelerate.journal"
local checks = require "accelerate.workflow.checks"
local params = require "accelerate.workflow.params"
local plan = require "accelerate.workflow.plan"

local type = type
local pcall = pcall
local pairs = pairs
local ipairs = ipairs
local error = error
local tonumber = tonumber
local os_date = os.date
local new_error = util.new_error
local clean_params = journal.clean_params
local raise = checks.raise

local _M = {}

-- Did a failed create perhaps reach the server?  Only a refusal the server
-- stated, or a request never sent, proves that nothing was created.  A
-- client's errors say so in outcome_unknown (the call policy's table,
-- accelerate.client); the rest is for errors no policy judged (a client of
-- one's own, which may mark a create that never left retryable); anything
-- unmarked is assumed to have arrived.
local function create_maybe_happened(err)
  if type(err) ~= "table" then return true end
  if err.outcome_unknown ~= nil then return err.outcome_unknown and true or false end
  local k = err.kind
  if k == "invalid" or k == "api" then return false end
  if k == "http" then
    local st = tonumber(err.status)
    return st == nil or st >= 500 or st == 408
  end
  if (k == "network" or k == "timeout") and err.retryable == true then return false end
  return true
end
_M.create_maybe_happened = create_maybe_happened

-- The error for a journal whose last create may have happened unseen: what
-- to check in AnyMetrics and how to go on either way.
-- `advice` replaces the last sentence (how to go on) for callers other than
-- a single backfill (a campaign).
local function unknown_create_error(path, op, advice)
  local when = op.at and os_date("!%Y-%m-%d %H:%M:%S UTC", op.at) or "an unknown time"
  return new_error("create_unknown",
    "the journal " .. path .. " records a create (" .. params.describe(op.params)
      .. ") sent at " .. when .. " whose answer never arrived: the backfill may exist on "
      .. "the server, and its dagName is unknown. The API cannot list backfills, so check "
      .. "in AnyMetrics (the acceleration plan's backfill tasks) for one created at that "
      .. "time. " .. (advice or ("If it exists, watch it with `accelerate wait DAG --journal " .. path
      .. "` (workflow.wait(client, DAG, {journal=...})); if it does not, create again with "
      .. "--force-create (opts.force_create = true).")),
    { journal = path, params = op.params })
end

-- The error for creates a damaged journal line could hide: op.damaged
-- (line numbers), op.task (a campaign's task) or op.params (the backfill).
local function damaged_create_error(path, op, advice)
  local what = op.task and ("task " .. tostring(op.task) .. " (" .. params.describe(op.params) .. ")")
    or ("the backfill (" .. params.describe(op.params) .. ")")
  return new_error("create_unknown",
    "the journal " .. path .. " has " .. (#op.damaged == 1 and "a damaged line" or "damaged lines") .. " ("
      .. journal.describe_damage(path, op.damaged) .. ") that could have recorded a create of " .. what
      .. ": the backfill may exist on the server, and its dagName is unknown. The API cannot list backfills, "
      .. "so check in AnyMetrics (the acceleration plan's backfill tasks) for it. "
      .. (advice or ("If it exists, watch it with `accelerate wait DAG --journal " .. path
      .. "` (workflow.wait(client, DAG, {journal=...})); if it does not, create it with "
      .. "--force-create (opts.force_create = true).")),
    { journal = path, params = op.params, damaged = op.damaged })
end

-- Marks op with the time of its intent line (summarize does not keep it).
local function mark_intent_time(j, op)
  for _, ev in ipairs(j.events) do
    if ev.event == "intent" and ev.op == op.op then op.at = ev.at end
  end
  return op
end

-- Raises create_unknown for op, a create the journal at path holds no
-- outcome for (advice: as for unknown_create_error).
-- An op of status "damaged" (its `damaged`: line numbers) is a create a
-- damaged line could hide.
local function raise_unknown(j, path, op, advice)
  if op.status == "damaged" then
    error(damaged_create_error(path, op, advice), 0)
  end
  error(unknown_create_error(path, mark_intent_time(j, op), advice), 0)
end
_M.raise_unknown = raise_unknown

-- Raises create_unknown if the journal's last create has no outcome, or
-- if a damaged line could hide one, unless force is set.
function _M.refuse_pending(j, summary, path, force)
  if force then return end
  local op = summary.pending and summary.pending[#summary.pending]
  if op then raise_unknown(j, path, op) end
  if j.damaged and #j.damaged > 0 then
    raise_unknown(j, path, { status = "damaged", damaged = j.damaged, params = j.owner and j.owner.params })
  end
end

-- The params the journal records for dag (the last create of it), or nil.
function _M.params_of(summary, dag)
  local p
  for _, op in ipairs(summary.ops_list) do
    if op.dagName == dag then p = op.params end
  end
  return p
end

-- Appends ev to the journal, with the fields of extra; raises if it fails.
local function append_or_raise(j, ev, extra)
  if extra then for k, v in pairs(extra) do ev[k] = v end end
  local ok, err = j:append(ev)
  if not ok then error(err, 0) end
end

-- The create itself and what must follow it at once: the journal's
-- created line, and window.on_created(dag) (the command prints it there).
local function create_and_record(client, clean, j, op, extra, window, budget)
  local dag, err = client:create_task(clean, budget)
  if type(dag) ~= "string" or dag == "" then
    if dag ~= nil and err == nil then
      err = new_error("api", "create answered without a dagName")
    end
    if j then
      -- with the intent's fields, to be placed should the intent line be damaged
      local ev = { event = create_maybe_happened(err) and "create_unknown" or "create_failed", op = op,
        params = clean, error = util.error_fields(err) }
      if extra then for k, v in pairs(extra) do ev[k] = v end end
      j:append(ev)
    end
    error(err, 0)
  end
  if j then
    local ev = { event = "created", op = op, dagName = dag, params = clean }
    if extra then for k, v in pairs(extra) do ev[k] = v end end
    local ok, jerr = j:append(ev)
    if not ok then
      raise("journal", "backfill " .. dag .. " was created but the journal could not record it ("
        .. util.errstr(jerr) .. "); note the dagName and watch it with `accelerate wait "
        .. dag .. "`", { dagName = dag })
    end
  end
  if window and window.on_created then window.on_created(dag) end
  return dag
end

-- The intent line, then the create and what must follow it.
local function intent_and_create(client, clean, j, stats, extra, window, budget)
  local op
  if j then
    op = journal.summarize(j.events).next_op
    append_or_raise(j, { event = "intent", op = op, params = clean }, extra)
  end
  stats.requests = stats.requests + 1
  return create_and_record(client, clean, j, op, extra, window, budget)
end

-- One journaled create.  Returns dagName or raises; the journal ends with
-- created / create_failed / create_unknown for this op.  With
-- window.defer_signals, or under the command's stop flag
-- (util.stop_requested), an interrupt (Ctrl-C, SIGTERM) that arrives from
-- the intent line on is held until the dagName is journaled and
-- window.on_created has run: a backfill that exists is never forgotten
-- because of a signal, and a signal never leaves an intent line without
-- its outcome (which the next run would have to treat as a lost answer).
-- The wait is at most the create's own timeout.  A stop asked before the
-- window raises the interrupt error there, before the intent line: no
-- create is sent once the command was asked to stop.  budget (seconds,
-- optional): the most the create may take (the rest of a run's timeout).
-- p is checked first (params.validate: raises kind invalid, nothing
-- journaled).
local function journaled_create(client, p, j, stats, extra, window, budget)
  -- the guard of every create (backfill, create, repair, a campaign's
  -- tasks and repairs, whatever their params came from: a journal too),
  -- before the intent line: what the server would refuse is never sent
  params.validate(p)
  local clean = clean_params(p)
  local _, handled = util.stop_requested()
  local defer = (window and window.defer_signals) or handled
  local core = defer and require "accelerate.core"   -- the command's signal hold, on first use
  if defer then core.defer_signals() end
  if util.stop_requested() then
    if defer then core.allow_signals() end
    error(util.interrupt_error(), 0)
  end
  local ok, res = pcall(intent_and_create, client, clean, j, stats, extra, window, budget)
  if defer then core.allow_signals() end
  if not ok then error(res, 0) end
  return res
end
_M.journaled_create = journaled_create

-- Every option of workflow.create (journal, force_create: create_impl;
-- defer_signals, on_created: journaled_create's window).
_M.OPTIONS = util.key_set { "journal", "force_create", "defer_signals", "on_created" }

-- The create run under protect, after the checks: dagName, resumed.
local function create_impl(client, p, opts, j)
  if j then
    local s = journal.summarize(j.events)
    if s.dagName then
      for _, op in ipairs(s.ops_list) do
        if op.dagName == s.dagName and op.params and params.equal(op.params, p) then
          return s.dagName, true
        end
      end
      -- named by the watch's lines only (its created line is damaged): the
      -- journal's owner, checked on opening, says which backfill it is
      if s.dag_seen then return s.dagName, true end
      raise("invalid", "the journal " .. opts.journal .. " already belongs to " .. s.dagName
        .. "; use another journal file")
    end
    _M.refuse_pending(j, s, opts.journal, opts.force_create)
  end
  return journaled_create(client, p, j, checks.new_stats(), nil, opts), false
end

-- syntax: dagName, err, resumed = workflow.create(client, params, opts)
-- A create_task that honours opts.journal: intent before, dagName after.
-- With a journal that already records this backfill, returns its dagName
-- (third value true) instead of creating again.  params.plan (a name or
-- id) is looked up once through client:find_plan and created as planId.
function _M.create(client, p, opts)
  opts = opts or {}
  local j
  local dag, err = checks.protect(function()
    checks.options(opts, _M.OPTIONS, "workflow.create")
    checks.check_client(client, { "create_task" })
    params.validate(p)
    p = plan.resolve(client, p)
    if opts.journal then
      j = checks.open_journal(opts.journal, checks.owner(client, { params = clean_params(p) }))
    end
    return create_impl(client, p, opts, j)
  end)
  if j then j:close() end
  if dag then return dag, nil, err end
  return nil, err
end

return _M
