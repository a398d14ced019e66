-- params.plan: a plan named the way a person names it (its name, display
-- name or id), looked up once through client:find_plan before anything is
-- created, and replaced by the id it resolves to.  The create, the journal
-- and a resume all see only planId, so a plan renamed later does not turn
-- a resume into a second backfill.

local util = require "accelerate.util"
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

-- syntax: p2, detail = workflow.resolve_plan(client, params)
-- The same at the public edge: nil, err instead of raising.
function _M.resolve_plan(client, p)
  return checks.protect(_M.resolve, client, p)
end

return _M
