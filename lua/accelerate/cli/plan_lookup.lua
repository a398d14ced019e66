-- What the commands need of a plan named with --plan (backfill, create,
-- lots, repair, campaign): the lookup, a summary line, and the checks made
-- before a create (a range that cuts the plan's periods, a plan whose data
-- AnyMetrics does not schedule), their warnings on stderr.

local util = require "accelerate.util"
local workflow = require "accelerate.workflow"
local wplan = require "accelerate.workflow.plan"

local type = type
local ipairs = ipairs
local error = error
local tostring = tostring

local _M = {}

local function fmt(v)
  if v == nil or v == "" then return "-" end
  return tostring(v)
end
_M.fmt = fmt

-- What a plan is called in a message: its name, else its display name,
-- else its id.
local label = wplan.label
_M.label = label

-- syntax: plan_lookup.warn(ctx, lines)
-- Warnings on stderr, one line each; a plan's name is the server's: no
-- control character (ctx.text).
local function warn(ctx, lines)
  for _, w in ipairs(lines) do ctx.err("accelerate: warning: " .. ctx.text(tostring(w)) .. "\n") end
end
_M.warn = warn

-- syntax: params, detail = plan_lookup.resolve(client, params)
-- params.plan looked up (workflow.resolve_plan: client:find_plan) and
-- replaced by its planId; raises find_plan's error (kind invalid, exit 2,
-- for a name that names no plan: "no plan named 'x'; did you mean 'y'?").
function _M.resolve(client, params)
  local p, detail = workflow.resolve_plan(client, params)
  if not p then error(detail, 0) end
  return p, detail
end

-- syntax: line = plan_lookup.describe(detail)
-- "plan gmv_monthly (GMV monthly): RESULT, granularity MONTH, id ..."
function _M.describe(d)
  return "plan " .. label(d) .. ((type(d.displayName) == "string" and d.displayName ~= label(d))
      and (" (" .. d.displayName .. ")") or "")
    .. ": " .. fmt(d.materializeType) .. ", granularity " .. fmt(d.metricTimeGranularity)
    .. ", id " .. fmt(util.id_string(d.id))
end

-- syntax: warnings = plan_lookup.check(ctx, detail, start, stop, how)
-- The checks before a create (workflow.plan.check: a range that cuts the
-- plan's periods, an EXTERNAL plan), printed on stderr and returned (an
-- array of lines).  how.create: a create follows, so an EXTERNAL plan is
-- refused (kind invalid, exit 2) unless how.force.  Nothing for a nil
-- detail (--plan-id, --plan-name).
function _M.check(ctx, d, start, stop, how)
  local lines, refusal = wplan.check(d, start, stop, how)
  warn(ctx, lines)
  if refusal then error(refusal, 0) end
  return lines
end

return _M
