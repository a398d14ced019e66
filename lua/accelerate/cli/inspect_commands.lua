-- The commands that show what the API returns, as it returns it: instances
-- (a backfill's instances, one page or all) and detail (one instance).
-- Each is fn(o, ctx) -> exit code, o from args.parse; failures are raised
-- (error objects) and printed by cli.main.

local util = require "accelerate.util"
local workflow = require "accelerate.workflow"
local status = require "accelerate.statuses"
local args = require "accelerate.cli.args"
local config = require "accelerate.cli.config"
local output = require "accelerate.cli.output"
local context = require "accelerate.cli.context"
local failreport = require "accelerate.report"

local type = type
local pcall = pcall
local ipairs = ipairs
local error = error
local tonumber = tonumber
local tostring = tostring
local floor = math.floor
local max = math.max
local str_format = string.format
local tbl_concat = table.concat
local number_opt = args.number
local usage = args.usage
local id_string = util.id_string
local json_encode = util.json_encode
local EXIT = output.EXIT

local _M = {}

local PAGE_SIZE = 20   -- instances per page without --all
local ROW = "%-12s %-8s %-36s %-23s %-19s %s\n"   -- id, status, table, partitions, start, end

local function fmt(v) if v == nil then return "-" end return tostring(v) end

-- instances -----------------------------------------------------------------------

local CSV_HEADER = { "id", "status", "mtGuid", "startPartition", "endPartition", "startTime", "endTime" }

local function print_instances(ctx, o, items)
  if o.values.format == "csv" then
    local rows = {}
    for i, inst in ipairs(items) do
      rows[i] = { id_string(inst.id), status.of(inst), inst.mtGuid, inst.startPartition, inst.endPartition,
        inst.startTime, inst.endTime }
    end
    output.csv(ctx, CSV_HEADER, rows)
    return
  end
  -- a server's strings, printed as text: no control character, one line each
  items = ctx.text(items)
  local function fmt1(v) return (fmt(v):gsub("[\t\n]", " ")) end
  -- START and END are the server's times, which carry no zone
  ctx.out(str_format(ROW, "ID", "STATUS", "TABLE", "PARTITIONS", "START (server time)", "END (server time)"))
  for _, inst in ipairs(items) do
    local parts = fmt1(inst.startPartition)
    if inst.endPartition and inst.endPartition ~= inst.startPartition then
      parts = parts .. ".." .. fmt1(inst.endPartition)
    end
    ctx.out(str_format(ROW, fmt1(id_string(inst.id)), fmt1(status.of(inst)), fmt1(inst.mtGuid), parts,
      fmt1(inst.startTime), fmt1(inst.endTime)))
  end
end

-- --status S (repeatable, or S1,S2): the statuses to keep, upper-cased, as
-- a set and as a sorted list; nil without --status.
local function wanted_statuses(o)
  if not o.lists.status then return nil end
  local set, names = {}, {}
  for _, v in ipairs(o.lists.status) do
    for word in v:gmatch("[^,]+") do
      local st = word:upper()
      if not st:match("^[%w_%-]+$") then usage("--status takes a status such as FAILED or RUNNING", "instances") end
      if not set[st] then set[st] = true names[#names + 1] = st end
    end
  end
  if #names == 0 then usage("--status takes a status such as FAILED or RUNNING", "instances") end
  table.sort(names)
  return set, names
end

-- --all or --status: every instance, through the client's own iterator
-- (which pages, keeps ids unique and decides when to stop; it raises its
-- error object on failure), those of the wanted statuses kept.  Its
-- second result carries the server's total.
local function list_all(o, ctx, client, dag, wanted, names)
  local page_size = number_opt(o, "page-size", 1, true) or workflow.DEFAULT_PAGE_SIZE
  local all = util.array()
  local total, seen = nil, 0
  local ok, err = pcall(function()
    local it, state = client:instances(dag, { pageSize = page_size })
    for inst in it do
      seen = seen + 1
      if not wanted or wanted[status.of(inst)] then all[#all + 1] = inst end
    end
    total = state and state.total
  end)
  if not ok then error(err, 0) end
  total = total or seen
  if o.flags.json then
    ctx.out(json_encode { dagName = dag, total = total, statuses = names and util.array(names), instances = all,
      exit = EXIT.OK } .. "\n")
  else
    print_instances(ctx, o, all)
    if o.values.format ~= "csv" then
      ctx.out(tostring(#all) .. " of " .. tostring(total) .. " instances"
        .. (names and (" (" .. tbl_concat(names, ", ") .. ")") or "") .. "\n")
    end
  end
  return EXIT.OK
end

-- One page (--page, --page-size), as the server returns it.
local function list_page(o, ctx, client, dag)
  local page_size = number_opt(o, "page-size", 1, true) or PAGE_SIZE
  local index = number_opt(o, "page", 1, true) or 1
  local page, err = client:list_instances { dagName = dag, pageIndex = index, pageSize = page_size }
  if not page then error(err, 0) end
  if o.flags.json then
    local out = util.shallow_copy(page)
    out.instances = util.array(util.shallow_copy(page.instances))
    out.exit = EXIT.OK
    ctx.out(json_encode(out) .. "\n")
  else
    print_instances(ctx, o, page.instances or {})
    if o.values.format == "csv" then return EXIT.OK end
    local total = tonumber(page.total) or 0
    -- a server may serve fewer per page than asked: count with its size
    local served = tonumber(page.pageSize)
    if served and served >= 1 and served == floor(served) then page_size = served end
    ctx.out(str_format("page %d of %d (%d instances, %d per page)\n", index,
      max(1, floor((total + page_size - 1) / page_size)), total, page_size))
  end
  return EXIT.OK
end

function _M.instances(o, ctx)
  if o.lists.status and o.values.page then
    usage("--status pages through every instance: --page does not go with it", "instances")
  end
  local wanted, names = wanted_statuses(o)   -- checked before any setting is read
  local client = config.client(o, ctx)
  if o.flags.all or wanted then return list_all(o, ctx, client, o.args[1], wanted, names) end
  return list_page(o, ctx, client, o.args[1])
end

-- detail ----------------------------------------------------------------------------

function _M.detail(o, ctx)
  -- the core's id rule, before any setting is read or anything sent: ids
  -- are strings to the API (digits in practice, not by contract)
  local core = context.core()
  if core and core.id_key then
    local key, err = core.id_key(o.args[1])
    if not key then usage(type(err) == "table" and err.message or tostring(err), "detail") end
  end
  local client = config.client(o, ctx)
  local d, err = client:task_detail(o.args[1])
  if not d then error(err, 0) end
  d = output.redact_detail(ctx, d)
  if o.flags.json then
    local out = util.shallow_copy(d)
    out.exit = EXIT.OK
    ctx.out(json_encode(out) .. "\n")
    return EXIT.OK
  end
  d = ctx.text(d)   -- a server's strings, printed as text
  local out = ctx.out
  local function field(name, v) if v ~= nil then out(str_format("%-20s %s\n", name, tostring(v))) end end
  field("taskInstanceId", id_string(d.taskInstanceId) or o.args[1])
  field("status", d.status)
  if type(d.mtGuid) == "table" then
    for _, g in ipairs(d.mtGuid) do
      field("mtGuid", type(g) == "table" and tbl_concat({ fmt(g.catalog), fmt(g.schema), fmt(g.table) }, ".") or g)
    end
  else
    field("mtGuid", d.mtGuid)
  end
  field("partitions", d.startPartitionTime and (tostring(d.startPartitionTime) .. " .. "
    .. tostring(d.endPartitionTime)))
  field("retryCnt", d.retryCnt)
  field("runType", d.runType)
  field("taskType", d.taskType)
  field("serverInfo", d.serverInfo)
  local function time(name, v) if v ~= nil then field(name, failreport.server_time(v)) end end
  time("startTime", d.startTime)
  time("endTime", d.endTime)
  if type(d.acceleratePlanUuid) == "table" then field("acceleratePlanUuid", tbl_concat(d.acceleratePlanUuid, ", ")) end
  if type(d.statusTime) == "table" then
    for _, st in ipairs(status.LIFECYCLE) do
      time("statusTime." .. st, d.statusTime[st])
    end
  end
  if d.msg then out("msg:\n" .. tostring(d.msg) .. "\n") end
  local sql = type(d.sql) == "table" and (d.sql.originalSql or d.sql.formattedSql) or d.sql
  if sql then out("sql:\n" .. tostring(sql) .. "\n") end
  return EXIT.OK
end

return _M
