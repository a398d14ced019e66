-- params.plan: a plan named the way a person names it (its name, display
-- name or id), looked up once through client:find_plan before anything is
-- created, and replaced by the id it resolves to.  The create, the journal
-- and a resume all see only planId, so a plan renamed later does not turn
-- a resume into a second backfill.
-- Also the checks made before a create of a plan's dates (plan.check),
-- one function for backfill, create, repair, lots and every campaign task.

local util = require "accelerate.util"
local periods = require "accelerate.periods"
local checks = require "accelerate.workflow.checks"

local type = type
local pcall = pcall
local error = error
local tostring = tostring
local new_error = util.new_error
local raise = checks.raise

local _M = {}

-- syntax: p2, detail = plan.resolve(client, p)     (raises)
-- p without a `plan` field comes back as it is (detail nil).  Otherwise a
-- copy with planId = the id of the one plan client:find_plan(p.plan)
-- names, and that plan's detail; raises find_plan's error (kind invalid
-- for a name that names no plan or several) or, for a client that cannot
-- look plans up, an invalid error that says so.
function _M.resolve(client, p)
  if type(p) ~= "table" or p.plan == nil then return p, nil end
  local ok, find = pcall(function() return client.find_plan end)
  if not ok or find == nil then
    raise("invalid", "params.plan needs a client that can look plans up (client:find_plan: "
      .. "accelerate.new or accelerate.ngx); this one cannot: give params.planId instead")
  end
  local detail, err = client:find_plan(p.plan)
  if not detail then
    error(err or new_error("api", "find_plan: no answer for '" .. tostring(p.plan) .. "'"), 0)
  end
  local id = type(detail) == "table" and util.id_string(detail.id)
  if type(id) ~= "string" or id == "" then
    raise("api", "find_plan: the plan '" .. tostring(p.plan) .. "' came back without an id")
  end
  local out = util.shallow_copy(p)
  out.plan = nil
  out.planId = id
  return out, detail
end

-- syntax: name = plan.label(detail)
-- What a plan is called in a message: its name, else its display name,
-- else its id.
function _M.label(p)
  if type(p) ~= "table" then return "the plan" end
  local n = p.name
  if type(n) ~= "string" or n == "" then n = p.displayName end
  if type(n) ~= "string" or n == "" then n = util.id_string(p.id) end
  return tostring(n)
end

-- syntax: bool = plan.is_external(detail)
function _M.is_external(d)
  return type(d) == "table" and d.materializeType == "EXTERNAL"
end

-- syntax: who = plan.scheduled_by(detail)
-- Who schedules an EXTERNAL plan's data, as its refreshConfig says, or nil.
function _M.scheduled_by(d)
  local rc = type(d) == "table" and d.refreshConfig
  local who = type(rc) == "table" and rc.scheduledBy
  if type(who) == "string" and who ~= "" then return who end
  return nil
end

-- syntax: warnings, refusal = plan.check(detail, start, stop, how)
-- What a create of start .. stop on the plan `detail` would get wrong: a
-- range that cuts the plan's weeks, months, quarters or years (with the
-- aligned range), and an EXTERNAL plan, which AnyMetrics does not
-- schedule.  warnings: an array of lines.  how.create: a create follows,
-- so an EXTERNAL plan is refused (refusal: an error object of kind
-- invalid, not raised) unless how.force.  how.force_name and how.force_how
-- say how the caller forces it ("--force", "pass --force").  Nothing for
-- a detail that is not a table.
function _M.check(d, start, stop, how)
  local lines = util.array()
  if type(d) ~= "table" then return lines, nil end
  how = how or {}
  local name, force_how = how.force_name or "--force", how.force_how or "pass --force"
  local cut = start and stop and periods.warning(_M.label(d), start, stop, d.metricTimeGranularity)
  if cut then lines[#lines + 1] = cut end
  if not _M.is_external(d) then return lines, nil end
  local who = _M.scheduled_by(d)
  local msg = _M.label(d) .. " is an EXTERNAL plan: AnyMetrics does not schedule its data, its owner's "
    .. "scheduler does" .. (who and (" (" .. who .. ")") or "")
  if how.create and not how.force then
    return lines, new_error("invalid", msg .. "; a backfill here runs beside that scheduler: ask its owner, "
      .. "or " .. force_how .. " to create it anyway")
  end
  lines[#lines + 1] = msg .. (how.create and ("; creating the backfill anyway (" .. name .. ")")
    or ("; a create needs " .. name))
  return lines, nil
end

-- syntax: p2, detail = workflow.resolve_plan(client, params)
-- The same at the public edge: nil, err instead of raising.
function _M.resolve_plan(client, p)
  return checks.protect(_M.resolve, client, p)
end

return _M
