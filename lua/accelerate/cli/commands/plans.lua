-- `accelerate plans`: every acceleration plan of the tenant, page after
-- page, with its type and granularity (one detail call per plan, for the
-- first MAX_DETAILS), as a table, JSON or CSV.

local util = require "accelerate.util"
local declare = require "accelerate.cli.declare"
local usage = require "accelerate.cli.usage"
local config = require "accelerate.cli.config"
local output = require "accelerate.cli.output"
local plan_lookup = require "accelerate.cli.plan_lookup"

local type = type
local pcall = pcall
local ipairs = ipairs
local error = error
local max = math.max
local str_rep = string.rep
local str_upper = string.upper
local str_format = string.format
local tbl_concat = table.concat
local raise = usage.raise
local json_encode = util.json_encode
local new_error = util.new_error
local fmt = plan_lookup.fmt
local warn = plan_lookup.warn
local EXIT = output.EXIT

local _M = { name = "plans", order = 9,
  summary = "list the tenant's acceleration plans, with their type and granularity" }

-- `plans` fetches the granularity of at most this many plans, one detail
-- call each; the others show "-" (`accelerate plan NAME` has it).
local MAX_DETAILS = 50
_M.MAX_DETAILS = MAX_DETAILS

local TYPES = { RESULT = true, ACCELERATE = true, EXTERNAL = true }

function _M.declare(cmd)
  cmd:usage("usage: accelerate plans [--type TYPE] [--no-details] [--format FORMAT]")
  cmd:description("Lists every acceleration plan of the tenant, page after page: NAME, DISPLAY\n"
    .. "NAME, TYPE (materializeType), GRANULARITY (metricTimeGranularity) and ID.\n"
    .. "The list does not carry the granularity: it is read from each plan's detail,\n"
    .. "one call per plan, for the first 50 plans; the others (and every plan with\n"
    .. "--no-details) show \"-\".")
  declare.value(cmd, "--type", "TYPE", "only the plans of this materializeType",
    { complete = { "RESULT", "ACCELERATE", "EXTERNAL" } })
  declare.flag(cmd, "--no-details", "one call per page of plans, no detail calls; no granularity")
  declare.value(cmd, "--format", "FORMAT", "table (default); json (the same as --json): an array of\n"
    .. "{id, name, displayName, materializeType, metricTimeGranularity};\n"
    .. "csv: a header line, then those fields in the order\n"
    .. "name, displayName, materializeType, metricTimeGranularity, id", { complete = { "table", "json", "csv" } })
  cmd:epilog("A plan's detail that cannot be read leaves its granularity \"-\" with a\n"
    .. "warning on stderr; the listing still exits 0.\n\n"
    .. "Exit codes: 0 listed, 2 usage or config error, 4 API or network error, 5 output\n"
    .. "could not be written.\n\n" .. declare.examples(
    "accelerate plans",
    "accelerate plans --no-details --json",
    "accelerate plans --format csv >plans.csv"))
end

-- The fields a listing shows of a plan.
local function summary(p, granularity)
  return { id = util.id_string(p.id), name = p.name, displayName = p.displayName,
    materializeType = p.materializeType, metricTimeGranularity = granularity }
end

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

function _M.run(o, ctx)
  usage.check_format(o)
  local mtype = o.values.type
  if mtype then
    mtype = str_upper(mtype)
    if not TYPES[mtype] then raise("--type must be RESULT, ACCELERATE or EXTERNAL", "plans") end
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

return _M
