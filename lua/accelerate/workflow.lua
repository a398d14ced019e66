-- Workflows over the three backfill calls: create -> wait -> inspect -> repair.
--
-- Depends only on the client interface (create_task, list_instances,
-- task_detail, task_details, and find_plan for params.plan), so the same code runs on the blocking C
-- client, on an nginx cosocket client and on a fake in the specs.  Time is
-- injected (opts.sleep, opts.clock) for the same reason.
--
-- Internals raise error objects; every public function catches them at its
-- edge and returns nil, err.
--
-- This module is the public face only; the work is done, one concern a
-- module, under accelerate.workflow.*, none of which requires this one:
--   status    statuses, FAILED_STATUSES, STATUS_ORDER, counting, summary,
--             reading a report's instances (each_instance)
--   sweep     what a poll fetches: the compact store, partial sweeps
--   checks    raising, the public edge, argument checks, opening the journal
--   params    validating params, the lots split, comparing and describing
--   plan      params.plan: a plan's name or id, looked up once (find_plan)
--   create    the journaled create, resuming from a journal, lost answers
--   watch     wait: the polling loop and its report
--   inspect   details of failed instances
--   backfill  create + wait + inspect
--   repair    repair_preview and repair (failed ranges, plan and lot inference)

local status = require "accelerate.workflow.status"
local params = require "accelerate.workflow.params"
local create = require "accelerate.workflow.create"
local watch = require "accelerate.workflow.watch"
local inspect = require "accelerate.workflow.inspect"
local backfill = require "accelerate.workflow.backfill"
local repair = require "accelerate.workflow.repair"
local plan = require "accelerate.workflow.plan"
local core = require "accelerate.core"

-- The version has one home, ACC_VERSION in src/acc.h (CHANGELOG.md's top entry).
local _M = { _VERSION = core.VERSION }

_M.FAILED_STATUSES = status.FAILED_STATUSES
_M.STATUS_ORDER = status.STATUS_ORDER
_M.DEFAULT_PAGE_SIZE = watch.DEFAULT_PAGE_SIZE

_M.is_terminal = status.is_terminal
_M.is_failed = status.is_failed
_M.summary = status.summary
_M.each_instance = status.each_instance
_M.instance_list = status.instance_list
_M.has_instances = status.has_instances

_M.lots = params.lots
_M.resolve_plan = plan.resolve_plan
_M.create = create.create
_M.create_maybe_happened = create.create_maybe_happened
_M.wait = watch.wait
_M.inspect = inspect.inspect
_M.backfill = backfill.backfill
_M.repair_preview = repair.repair_preview
_M.repair_plan = repair.repair_preview   -- its older name
_M.repair = repair.repair

_M._failed_ranges = repair.failed_ranges

return _M
