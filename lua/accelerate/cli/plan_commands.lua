-- The commands about acceleration plans: plans (every plan of the tenant,
-- with its granularity) and plan (one plan's detail, found by name,
-- display name or id).  Also what the backfill commands need of a plan
-- named with --plan: the lookup, a summary line, and the checks made
-- before a create (a range that cuts the plan's periods, a plan whose
-- data AnyMetrics does not schedule).
-- Each command is fn(o, ctx) -> exit code, o from args.parse; failures
-- are raised (error objects) and printed by cli.main.

local util = require "accelerate.util"
local workflow = require "accelerate.workflow"
local wplan = require "accelerate.workflow.plan"
local args = require "accelerate.cli.args"
local config = require "accelerate.cli.config"
local output = require "accelerate.cli.output"
local context = require "accelerate.cli.context"

local type = type
local pairs = pairs
local pcall = pcall
local ipairs = ipairs
local error = error
local tostring = tostring
local max = math.max
local str_rep = string.rep
local str_upper = string.upper
local str_format = string.format
local tbl_sort = table.sort
local tbl_concat = table.concat
local usage = args.usage
local json_encode = util.json_encode
local new_error = util.new_error
local EXIT = output.EXIT
local strip = context.strip

local _M = {}

-- `plans` fetches the granularity of at most this many plans, one detail
-- call each; the others show "-" (`accelerate plan NAME` has it).
local MAX_DETAILS = 50
_M.MAX_DETAILS = MAX_DETAILS

local TYPES = { RESULT = true, ACCELERATE = true, EXTERNAL = true }

local function fmt(v)
  if v == nil or v == "" then return "-" end
  return tostring(v)
end

-- What a plan is called in a message: its name, else its display name,
-- else its id.
local label = wplan.label
_M.label = label

-- The fields a listing shows of a plan.
local function summary(p, granularity)
  return { id = util.id_string(p.id), name = p.name, displayName = p.displayName,
    materializeType = p.materializeType, metricTimeGranularity = granularity }
end

-- Warnings on stderr, one line each.
local function warn(ctx, lines)
  -- a plan's name is the server's: no control character (context.strip)
  for _, w in ipairs(lines) do ctx.err("accelerate: warning: " .. strip(tostring(w)) .. "\n") end
end

-- plans -----------------------------------------------------------------------------

-- A table with columns as wide as their widest cell; the last one unpadded.
-- Cells are a server's strings: stripped of control characters (ctx.text),
-- a line break or tab shown as a space so that a row stays one line.
local function print_table(ctx, header, rows)
  rows = ctx.text(rows)
  for _, r in ipairs(rows) do
    for i, cell in ipairs(r) do r[i] = cell:gsub("[\t\n]", " ") end
  end
  local widths = {}
  for i, h in ipairs(header) do widths[i] = #h end
  for _, r in ipairs(rows) do
    for i, cell in ipairs(r) do widths[i] = max(widths[i], #cell) end
  end
  local function line(cells)
    local parts = {}
    for i, cell in ipairs(cells) do
      parts[i] = i < #cells and (cell .. str_rep(" ", widths[i] - #cell)) or cell
    end
    ctx.out(tbl_concat(parts, "  ") .. "\n")
  end
  line(header)
  for _, r in ipairs(rows) do line(r) end
end

-- Every plan the listing yields (client:plans pages, keeps ids unique and
-- stops; it raises its error object).
local function list_all(client, mtype)
  local all = {}
  local ok, err = pcall(function()
    for p in client:plans { materializeType = mtype } do
      if type(p) == "table" then all[#all + 1] = p end
    end
  end)
  if not ok then error(err, 0) end
  return all
end

function _M.plans(o, ctx)
  local mtype = o.values.type
  if mtype then
    mtype = str_upper(mtype)
    if not TYPES[mtype] then usage("--type must be RESULT, ACCELERATE or EXTERNAL", "plans") end
  end
  local client = config.client(o, ctx)
  local all = list_all(client, mtype)
  -- the list has no granularity: one detail call per plan, a bounded number
  local out, unknown, first_err = util.array(), 0, nil
  for i, p in ipairs(all) do
    local gran
    if not o.flags["no-details"] and i <= MAX_DETAILS then
      local d, err = client:plan_detail(util.id_string(p.id))
      if type(d) == "table" then
        gran = d.metricTimeGranularity
      else
        unknown = unknown + 1
        first_err = first_err or err
      end
    end
    out[i] = summary(p, gran)
  end
  if o.flags.json then
    ctx.out(json_encode(out) .. "\n")
  elseif o.values.format == "csv" then
    local rows = {}
    for i, p in ipairs(out) do
      rows[i] = { p.name, p.displayName, p.materializeType, p.metricTimeGranularity, p.id }
    end
    output.csv(ctx, { "name", "displayName", "materializeType", "metricTimeGranularity", "id" }, rows)
  else
    local rows = {}
    for i, p in ipairs(out) do
      rows[i] = { fmt(p.name), fmt(p.displayName), fmt(p.materializeType), fmt(p.metricTimeGranularity), fmt(p.id) }
    end
    print_table(ctx, { "NAME", "DISPLAY NAME", "TYPE", "GRANULARITY", "ID" }, rows)
    ctx.out(str_format("%d plan%s%s\n", #out, #out == 1 and "" or "s", mtype and (" of type " .. mtype) or ""))
  end
  if not o.flags["no-details"] and #all > MAX_DETAILS then
    ctx.err(str_format("accelerate: the granularity of the first %d of %d plans only (one call each); "
      .. "`accelerate plan NAME` shows any plan's\n", MAX_DETAILS, #all))
  end
  if unknown > 0 then
    warn(ctx, { str_format("the granularity of %d plan(s) is unknown: their detail could not be read (%s)",
      unknown, util.errstr(output.redact_error(ctx, first_err or new_error("api", "no answer")))) })
  end
  return EXIT.OK
end

-- plan ------------------------------------------------------------------------------

-- A list field's elements as short text: strings as they are, objects by
-- their code, name or id, anything else as JSON.
local function element(v)
  if type(v) == "table" then
    local n = v.metricCode or v.name or v.code or v.id
    if n ~= nil then return tostring(n) end
    return json_encode(v)
  end
  return tostring(v)
end

-- "2: amount, orders" (at most 8 names, then "...").
local function counted(list)
  if type(list) ~= "table" then return fmt(list) end
  local names = {}
  for i, v in ipairs(list) do
    if i > 8 then names[#names + 1] = "..." break end
    names[#names + 1] = element(v)
  end
  if #list == 0 then return "0" end
  return tostring(#list) .. ": " .. tbl_concat(names, ", ")
end

-- An object's fields as "key=value, ..." in key order.
local function fields_of(t)
  if type(t) ~= "table" then return fmt(t) end
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = tostring(k) end
  tbl_sort(keys)
  local parts = {}
  for i, k in ipairs(keys) do
    local v = t[k]
    parts[i] = k .. "=" .. (type(v) == "table" and json_encode(v) or tostring(v))
  end
  if #parts == 0 then return "-" end
  return tbl_concat(parts, ", ")
end

-- "catalog.schema.table"
local function table_path(tp)
  if type(tp) ~= "table" then return fmt(tp) end
  return fmt(tp.tableCatalog) .. "." .. fmt(tp.tableSchema) .. "." .. fmt(tp.tableName)
end
_M.table_path = table_path

local is_external = wplan.is_external
local scheduled_by = wplan.scheduled_by

function _M.plan(o, ctx)
  local client = config.client(o, ctx)
  local d, err = client:find_plan(o.args[1])
  if not d then error(err, 0) end
  if o.flags.json then
    local out = util.shallow_copy(d)
    out.exit = EXIT.OK
    ctx.out(json_encode(out) .. "\n")
    return EXIT.OK
  end
  d = ctx.text(d)   -- a server's strings, printed as text
  local function field(name, v) ctx.out(str_format("%-18s %s\n", name, v)) end
  field("name", fmt(d.name))
  field("display name", fmt(d.displayName))
  field("id", fmt(util.id_string(d.id)))
  field("type", fmt(d.materializeType))
  field("granularity", fmt(d.metricTimeGranularity))
  field("table", table_path(d.tablePath))
  field("metrics", counted(d.metricList))
  field("dimensions", counted(d.dimensionList))
  local tc = d.timeConstraint
  if type(tc) == "table" then
    local parts = {}
    for i, v in ipairs(tc) do parts[i] = element(v) end
    tc = #parts > 0 and tbl_concat(parts, " AND ") or nil
  end
  field("time constraint", fmt(tc))
  field("dimension filters", type(d.dimensionFilters) == "table" and tostring(#d.dimensionFilters)
    or fmt(d.dimensionFilters))
  field("refresh", fields_of(d.refreshConfig))
  if is_external(d) then
    ctx.out("\nAnyMetrics does not schedule this plan's data; its owner's scheduler does"
      .. (scheduled_by(d) and (" (" .. scheduled_by(d) .. ")") or "")
      .. ". A backfill of it needs --force.\n")
  end
  return EXIT.OK
end

-- For the backfill commands ----------------------------------------------------------

-- syntax: params, detail = plan_commands.resolve(client, params)
-- params.plan looked up (workflow.resolve_plan: client:find_plan) and
-- replaced by its planId; raises find_plan's error (kind invalid, exit 2,
-- for a name that names no plan: "no plan named 'x'; did you mean 'y'?").
function _M.resolve(client, params)
  local p, detail = workflow.resolve_plan(client, params)
  if not p then error(detail, 0) end
  return p, detail
end

-- syntax: line = plan_commands.describe(detail)
-- "plan gmv_monthly (GMV monthly): RESULT, granularity MONTH, id ..."
function _M.describe(d)
  return "plan " .. label(d) .. ((type(d.displayName) == "string" and d.displayName ~= label(d))
      and (" (" .. d.displayName .. ")") or "")
    .. ": " .. fmt(d.materializeType) .. ", granularity " .. fmt(d.metricTimeGranularity)
    .. ", id " .. fmt(util.id_string(d.id))
end

-- syntax: warnings = plan_commands.check(ctx, detail, start, stop, how)
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
