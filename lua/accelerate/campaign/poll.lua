-- One look at one backfill of a campaign: every instance through the
-- client's pager, kept as counts and the failed instances only (a campaign
-- watches many backfills at once), and, once all are terminal, the
-- details of the failures, judged transient or not, written down as the
-- backfill's settled line.

local util = require "accelerate.util"
local policy = require "accelerate.client"
local insight = require "accelerate.insight"
local status = require "accelerate.statuses"
local inspect = require "accelerate.workflow.inspect"
local watch = require "accelerate.workflow.watch"

local type = type
local pcall = pcall
local ipairs = ipairs
local tonumber = tonumber
local id_string = util.id_string
local array = util.array
local is_failed = status.is_failed
local is_terminal = status.is_terminal
local status_of = status.of

local _M = {}

-- syntax: scan, err = poll.scan(client, dag, page_size, stats, left)
-- scan = {total, counts, failed = {instances}, done}; err when the listing
-- failed.  `left`: seconds the listing may take (nil: no limit).
function _M.scan(client, dag, page_size, stats, left)
  local counts = status.zero_counts()
  local failed, seen, terminal = {}, 0, 0
  local state
  local ok, err = pcall(function()
    local it
    if type(client.instances) == "function" then
      it, state = client:instances(dag, { pageSize = page_size, timeout = left })
    else
      it, state = policy.instances_of(function(args) return client:list_instances(args) end, dag, page_size)
    end
    for inst in it do
      seen = seen + 1
      local st = status_of(inst)
      counts[st] = (counts[st] or 0) + 1
      if is_terminal(st) then terminal = terminal + 1 end
      if is_failed(st) then failed[#failed + 1] = inst end
    end
  end)
  if type(state) == "table" then stats.requests = stats.requests + (state.requests or 0) end
  if not ok then return nil, err end
  local total = type(state) == "table" and tonumber(state.total) or seen
  -- as workflow.wait: finished only when every instance seen is terminal
  -- and at least `total` were seen (0 right after a create: not split yet)
  local done = seen > 0 and total > 0 and terminal == seen and seen >= total
  return { total = total, counts = counts, failed = failed, done = done }
end

-- A failed listing worth trying again at the next poll: the watch's rule.
_M.transient = watch.transient

-- syntax: fin, details = poll.settle(client, D, scan, s, opts, stats)
-- The settled event of backfill D (journal.lua) and the details fetched,
-- {[id] = {detail, err}}.  A failure is repaired when its stack is judged
-- transient (insight.transient over s.rules) and D's round is below
-- s.repair_rounds.
function _M.settle(client, D, scan, s, opts, stats)
  local entries = {}
  if #scan.failed > 0 then
    entries = inspect.run(client, { instances = scan.failed }, opts, stats)
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
