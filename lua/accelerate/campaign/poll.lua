-- How a campaign looks at one backfill: through the watch's own sweep
-- (accelerate.workflow.sweep: one sweeper per unfinished backfill, kept
-- across polls, so only the pages that can still change are fetched, and
-- the one rule of when a backfill is finished), compact (records, the
-- failed instances only kept whole: a campaign watches many backfills at
-- once); and, once all are terminal, the details of the failures, judged
-- transient or not, written down as the backfill's settled line.

local util = require "accelerate.util"
local insight = require "accelerate.insight"
local status = require "accelerate.statuses"
local inspect = require "accelerate.workflow.inspect"
local watch = require "accelerate.workflow.watch"
local sweep = require "accelerate.workflow.sweep"

local type = type
local ipairs = ipairs
local id_string = util.id_string
local array = util.array
local status_of = status.of

local _M = {}

-- syntax: sweeper = poll.sweeper(client, dag, page_size, clock)
-- The sweeper of backfill `dag`, to keep until it settles; no instance
-- is kept whole but the failed ones.
function _M.sweeper(client, dag, page_size, clock)
  return sweep.new(client, dag, page_size, clock, 0)
end

-- syntax: scan, err = poll.scan(sweeper, stats, left)
-- One poll (sweeper:poll): scan = {store, total, counts, failed (a
-- count), done}; err when the listing failed.  `left`: seconds the
-- listing may take (nil: no limit).
function _M.scan(sweeper, stats, left)
  return sweeper:poll(stats, left)
end

-- A failed listing worth trying again at the next poll: the watch's rule.
_M.transient = watch.transient

-- syntax: fin, details = poll.settle(client, D, scan, s, opts, stats, budget)
-- scan: poll.scan's, done; budget: seconds the details may take (nil: the
-- client's own timeout).
-- The settled event of backfill D (journal.lua) and the details fetched,
-- {[id] = {detail, err}}.  A failure is repaired when its stack is judged
-- transient (insight.transient over s.rules) and D's round is below
-- s.repair_rounds.
function _M.settle(client, D, scan, s, opts, stats, budget)
  local entries = {}
  if scan.failed > 0 then
    entries = inspect.run(client, { instances = scan.store:failures() }, opts, stats, budget)
  end
  local failed, repair, details = array(), array(), {}
  for _, f in ipairs(entries) do
    local inst = f.instance
    local id = id_string(inst.id)
    local msg = type(f.detail) == "table" and f.detail.msg or nil
    local transient = type(msg) == "string" and insight.transient(msg, s.rules) or false
    failed[#failed + 1] = { id = id, status = status_of(inst), mtGuid = inst.mtGuid,
      startPartition = inst.startPartition, endPartition = inst.endPartition, transient = transient }
    if transient and D.round < s.repair_rounds then repair[#repair + 1] = id end
    details[id] = { detail = f.detail, err = f.err }
  end
  return {
    event = "settled", task = D.task.index, dagName = D.dagName, round = D.round,
    total = scan.total, counts = scan.counts, failed = failed, repair = repair,
  }, details
end

return _M
