-- A campaign's report as one JSON object: what `accelerate campaign run
-- --json` prints and accelerate.runner serves (tasks with the ids of their
-- failures, the failures grouped by cause), and the one word for where a
-- campaign stands.  Pure: a report in, a table out; the stacks and errors
-- a server sent pass through the caller's redact.

local util = require "accelerate.util"
local insight = require "accelerate.insight"

local ipairs = ipairs
local type = type
local array = util.array
local shallow_copy = util.shallow_copy

local _M = {}

local function masked(redact, f)
  local g = shallow_copy(f)
  local d = f.detail
  if type(d) == "table" and type(d.msg) == "string" then
    d = shallow_copy(d)
    d.msg = redact(d.msg)
    g.detail = d
  end
  local e = f.err
  if type(e) == "table" then
    e = setmetatable(shallow_copy(e), getmetatable(e))
    e.message, e.detail = redact(e.message), redact(e.detail)
    g.err = e
  elseif e ~= nil then
    g.err = redact(tostring(e))
  end
  return g
end

-- syntax: list = summary.failures(report, redact)
-- Every failure after repairs, masked.
function _M.failures(r, redact)
  local out = array()
  for _, t in ipairs(r.tasks or {}) do
    for _, f in ipairs(t.failures or {}) do out[#out + 1] = masked(redact, f) end
  end
  return out
end

local function keep(s) return s end

-- syntax: obj = summary.object(report [, opts])
-- opts.redact(s) masks a string a server sent (default: as is); opts.rules
-- are the spec's transient rules for the groups.  Each task carries
-- `failed` (the ids of its failures) instead of the failures themselves.
function _M.object(r, opts)
  opts = opts or {}
  local redact = opts.redact or keep
  local out = shallow_copy(r)
  out.tasks = array()
  for i, t in ipairs(r.tasks or {}) do
    local c = shallow_copy(t)
    c.failures = nil
    c.failed = array()
    for _, f in ipairs(t.failures or {}) do c.failed[#c.failed + 1] = f.instance.id end
    out.tasks[i] = c
  end
  out.groups = insight.failures(_M.failures(r, redact), { rules = opts.rules })
  out.stopped = r.stopped
  return out
end

-- Whether a create's answer was lost and waits for a person.
local function unknown_create(r, err)
  if type(r.unresolved) == "table" and #r.unresolved > 0 then return true end
  for _, t in ipairs(type(r.tasks) == "table" and r.tasks or {}) do
    if type(t) == "table" and t.create_unknown then return true end
  end
  return type(err) == "table" and (err.outcome_unknown == true or err.kind == "create_unknown")
end

-- syntax: word = summary.state(report [, facts])
-- pending | running | succeeded | failed | stopped | needs_attention: the
-- one word for where a campaign stands, for the runner's routes and
-- metrics and the command's --metrics.  report: campaign.run's (or its
-- partial one), campaign.status's or the --json object.  facts: running (a
-- run holds it now), stop (a person's stop stands), done (campaign.run has
-- returned, the command's end), err (the error it returned with).
--   needs_attention  a create whose answer was lost waits for a person
--   succeeded/failed it ended; failed too when a failure budget stopped it,
--                    or when the command's run ended on an error
--   stopped          a person's stop once nothing of it runs on the server,
--                    or the command interrupted or timed out
--   pending/running  nothing created yet / the rest
function _M.state(r, facts)
  r, facts = type(r) == "table" and r or {}, facts or {}
  if unknown_create(r, facts.err) then return "needs_attention" end
  local states = type(r.states) == "table" and r.states or {}
  local n = type(r.tasks) == "table" and #r.tasks or 0
  local all_ok = r.ok == true or (n > 0 and (states.succeeded or 0) == n)
  if r.ended then return all_ok and "succeeded" or "failed" end
  if facts.done then
    if facts.err ~= nil or r.stopped == "failure_budget" then return "failed" end
    if r.stopped == "interrupted" or r.stopped == "timeout" then return "stopped" end
    if not r.stopped then return all_ok and "succeeded" or ((states.failed or 0) > 0 and "failed" or "running") end
  end
  if not facts.running and r.stopped == "failure_budget" then return "failed" end
  local on_server = (states.running or 0) > 0
  if (facts.stop or r.stopped == "requested") and not on_server and not facts.running then return "stopped" end
  if (states.running or 0) + (states.succeeded or 0) + (states.failed or 0) == 0 then return "pending" end
  return "running"
end

return _M
