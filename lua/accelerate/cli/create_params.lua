-- The create parameters of backfill, create, lots and repair: --plan (looked
-- up before anything is created), --plan-id/--plan-name (sent as given),
-- --start, --end, --lot; checked with the core's own rules before anything
-- is sent or journaled, and the lots of a range printed.

local util = require "accelerate.util"
local usage = require "accelerate.cli.usage"
local config = require "accelerate.cli.config"
local context = require "accelerate.cli.context"
local plan_lookup = require "accelerate.cli.plan_lookup"
local checks = require "accelerate.workflow.checks"
local wparams = require "accelerate.workflow.params"
local dates = require "accelerate.dates"

local type = type
local ipairs = ipairs
local tostring = tostring
local str_format = string.format
local str_gsub = string.gsub
local str_match = string.match
local pairs = pairs
local raise = usage.raise

local _M = {}

-- A connection the core accepts, for checking create parameters with the
-- core's own rules (accelerate.prepare sends nothing).
local CHECK_CFG = { url = "http://127.0.0.1", tenant_id = "t", auth_type = "UID", auth_value = "check" }

-- The options of create, backfill and repair that fill each API field; a
-- message names what the user typed, never the field (lots passes its own
-- argument names).
local OPTION_NAMES = { startTime = "--start", endTime = "--end", dateIntervalOfLot = "--lot",
  planId = "--plan-id", planName = "--plan-name" }

-- msg with each API field name replaced by the user's name for it.
local function worded(msg, names)
  for field, name in pairs(names) do
    msg = str_gsub(msg, "%f[%w]" .. field .. "%f[%W]", (str_gsub(name, "%%", "%%%%")))
  end
  return msg
end

-- A real date YYYY-MM-DD from year 0001 (the core's rule), or a usage error
-- naming the option and the value as typed.
local function check_date(value, name, command)
  if value == nil then return end
  local y = type(value) == "string" and str_match(value, "^(%d%d%d%d)%-%d%d%-%d%d$")
  if not y or y == "0000" or not dates.parse(value) then
    raise(str_format("%s: '%s' is not a date (YYYY-MM-DD)", name, tostring(value)), command)
  end
end

-- syntax: create_params.check(params, command [, names])
-- Raises a usage error for create parameters the core would refuse (dates
-- that are not real, year 0000, a lot size out of range), so that lots,
-- create, backfill and repair refuse alike, before anything is sent or
-- journaled.  names maps startTime, endTime, dateIntervalOfLot to what the
-- user typed (default --start, --end, --lot).  Without the core built the
-- dates and the range are still checked.
function _M.check(params, command, names)
  names = names or OPTION_NAMES
  check_date(params.startTime, names.startTime, command)
  check_date(params.endTime, names.endTime, command)
  local core = context.core()
  if core and core.prepare then
    local p = params
    if p.plan ~= nil then
      -- --plan is looked up later; the core checks the rest with a stand-in id
      p = util.shallow_copy(p)
      p.plan, p.planId = nil, "p"
    end
    local req, err = core.prepare(CHECK_CFG, "create_task", p)
    if not req then
      local msg = type(err) == "table" and err.message or tostring(err)
      raise(worded((str_gsub(msg, "^create_task: ", "")), names), command)
    end
  end
  -- the range as a whole, before any plan lookup, without expanding it
  local ok, rerr = checks.protect(wparams.range, params.startTime, params.endTime, params.dateIntervalOfLot)
  if not ok then raise(worded(rerr.message, names), command) end
end

-- syntax: create_params.one_plan(o)
-- --plan beside --plan-id or --plan-name: a usage error.
function _M.one_plan(o)
  local v = o.values
  if v.plan and (v["plan-id"] or v["plan-name"]) then
    raise("give --plan or --plan-id/--plan-name, not both", o.command)
  end
end

-- syntax: params = create_params.of(o)
-- The create parameters from --plan (params.plan, looked up later),
-- --plan-id/--plan-name (sent as given), --start, --end, --lot.
function _M.of(o)
  local v = o.values
  _M.one_plan(o)
  if not v.plan and not v["plan-id"] and not v["plan-name"] then
    raise("--plan, --plan-id or --plan-name is required", o.command)
  end
  if v["plan-id"] and v["plan-name"] then raise("give --plan-id or --plan-name, not both", o.command) end
  if not v.start or not v["end"] then raise("--start and --end are required", o.command) end
  local params = {
    plan = v.plan, planId = v["plan-id"], planName = v["plan-name"], startTime = v.start, endTime = v["end"],
    dateIntervalOfLot = v.lot,
  }
  _M.check(params, o.command)
  return params
end

-- syntax: client, params, detail, warnings = create_params.resolved(o, ctx, params, creates)
-- The client, and params with --plan looked up and checked before any
-- create: warnings for a range that cuts the plan's periods, and an
-- EXTERNAL plan refused without --force (unless nothing will be created).
-- client is nil when nothing is to be sent (a dry run without --plan);
-- detail is nil for --plan-id/--plan-name, which are sent as given.
function _M.resolved(o, ctx, params, creates)
  local client = (creates or params.plan) and config.client(o, ctx) or nil
  local detail
  if params.plan then params, detail = plan_lookup.resolve(client, params) end
  local warnings = plan_lookup.check(ctx, detail, params.startTime, params.endTime,
    { create = creates, force = o.flags.force })
  return client, params, detail, warnings
end

-- syntax: create_params.print_lots(ctx, lots)
-- "2025-01-01 .. 2025-01-07  7 days" lines, numbered.
function _M.print_lots(ctx, lots)
  for i, lot in ipairs(lots) do
    ctx.out(str_format("%4d  %s .. %s  %d day%s\n", i, lot.startPartition, lot.endPartition,
      lot.days, lot.days == 1 and "" or "s"))
  end
end

return _M
