-- `accelerate plan`: one acceleration plan, found by id, then name, then
-- display name: its type, granularity, table, metrics, dimensions,
-- constraints and refresh settings.

local util = require "accelerate.util"
local wplan = require "accelerate.workflow.plan"
local declare = require "accelerate.cli.declare"
local config = require "accelerate.cli.config"
local output = require "accelerate.cli.output"
local plan_lookup = require "accelerate.cli.plan_lookup"

local type = type
local pairs = pairs
local ipairs = ipairs
local error = error
local tostring = tostring
local str_format = string.format
local tbl_sort = table.sort
local tbl_concat = table.concat
local json_encode = util.json_encode
local fmt = plan_lookup.fmt
local EXIT = output.EXIT

local _M = { name = "plan", order = 10,
  summary = "show one plan: type, granularity, table, metrics, dimensions, refresh" }

function _M.declare(cmd)
  cmd:usage("usage: accelerate plan NAME|ID [--json]")
  cmd:description("Shows one acceleration plan, found by id, then name, then display name: its\n"
    .. "name, display name, id, type, granularity, table (catalog.schema.table),\n"
    .. "metrics and dimensions (how many, and their names), time constraint,\n"
    .. "dimension filters and refresh settings.  A name that names no plan is\n"
    .. "refused with the names near it; one that several plans share, with their ids.\n\n"
    .. "With --json: the plan's detail as the API returns it, with \"exit\".")
  declare.argument(cmd, "NAME|ID", "the plan's name, display name or id", { complete = "plan" })
  cmd:epilog("Exit codes: 0 shown, 2 usage or config error or no such plan, 4 API or network\n"
    .. "error, 5 output could not be written.\n\n" .. declare.examples(
    "accelerate plan sales_daily",
    "accelerate plan 9c41f2a7d6e84b0f8a1d3e5c7b9f0a12 --json"))
end

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

function _M.run(o, ctx)
  local client = config.client(o, ctx)
  local d, err = client:find_plan(o.args[1])
  if not d then error(err, 0) end
  if o.flags.json then return output.json_result(ctx, d) end
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

return _M
