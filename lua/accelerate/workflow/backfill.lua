-- The whole backfill: a journaled create (or the resume of the one the
-- journal names), the watch to its end, and the details of what failed.

local util = require "accelerate.util"
local journal = require "accelerate.journal"
local checks = require "accelerate.workflow.checks"
local params = require "accelerate.workflow.params"
local create = require "accelerate.workflow.create"
local plan = require "accelerate.workflow.plan"
local watch = require "accelerate.workflow.watch"
local inspect = require "accelerate.workflow.inspect"

local ipairs = ipairs
local id_string = util.id_string
local array = util.array
local clean_params = journal.clean_params
local raise = checks.raise

local _M = {}

-- The dag the journal already holds for these params (a resume), or nil
-- after checking that a new create may go ahead.
local function resume(j, p, opts, ctx)
  local s = journal.summarize(j.events)
  ctx.journal_error = journal.damage_note(opts.journal, j.damaged)
  if s.dagName then
    local jp = create.params_of(s, s.dagName)
    if jp and not params.equal(jp, p) then
      raise("invalid", "the journal " .. opts.journal .. " belongs to another backfill ("
        .. params.describe(jp) .. "); use another journal file")
    end
    ctx.resumed = true
    return s.dagName
  end
  create.refuse_pending(j, s, opts.journal, opts.force_create)
  return nil
end

-- The details of a finished watch's failures, recorded in the journal.
local function add_failures(client, dag, report, opts, stats, j)
  local failures = inspect.run(client, report, opts, stats)
  report.failures = failures
  report.requests = stats.requests
  if j then
    local ids = array()
    for _, f in ipairs(failures) do ids[#ids + 1] = id_string(f.instance.id) end
    watch.journal_append(j, report, { event = "failures", dagName = dag, ids = ids })
  end
end

-- Every option of workflow.backfill: the create's, the watch's, inspect's.
local OPTIONS = util.key_set(create.OPTIONS, watch.OPTIONS, inspect.OPTIONS)

-- syntax: report, err, partial = workflow.backfill(client, params, opts)
-- params.plan (a name or id) is looked up once, before the journal is
-- opened; from there on the backfill is its planId.
function _M.backfill(client, p, opts)
  opts = opts or {}
  local j
  local partial
  local function run()
    checks.options(opts, OPTIONS, "workflow.backfill")
    checks.check_client(client, { "create_task", "list_instances", "task_detail" })
    params.validate(p)
    p = plan.resolve(client, p)
    local stats = checks.new_stats()
    local ctx = { stats = stats, params = clean_params(p) }
    local dag
    if opts.journal then
      j = checks.open_journal(opts.journal, checks.owner(client, { params = ctx.params }))
      ctx.journal = j
      dag = resume(j, p, opts, ctx)
    end
    if not dag then dag = create.journaled_create(client, p, j, stats, nil, opts) end
    partial = { dagName = dag, params = ctx.params, requests = stats.requests }
    local report = watch.run(client, dag, opts, ctx)
    partial = report
    if report.counts.FAILED > 0 or #report.failures > 0 then
      add_failures(client, dag, report, opts, stats, j)
    end
    return report
  end
  local report, err = checks.protect(run)
  if j then j:close() end
  if not report then return nil, err, partial end
  return report
end

return _M
