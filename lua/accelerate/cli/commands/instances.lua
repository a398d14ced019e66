-- `accelerate instances`: a backfill's instances as the API returns them,
-- one page, every page (--all) or those of some statuses (--status), as a
-- table, JSON or CSV.

local util = require "accelerate.util"
local workflow = require "accelerate.workflow"
local status = require "accelerate.statuses"
local declare = require "accelerate.cli.declare"
local usage = require "accelerate.cli.usage"
local config = require "accelerate.cli.config"
local output = require "accelerate.cli.output"

local pcall = pcall
local ipairs = ipairs
local pairs = pairs
local error = error
local tonumber = tonumber
local tostring = tostring
local floor = math.floor
local max = math.max
local str_format = string.format
local tbl_concat = table.concat
local raise = usage.raise
local id_string = util.id_string
local json_encode = util.json_encode
local EXIT = output.EXIT

local _M = { name = "instances", order = 6, summary = "list a backfill's instances" }

function _M.declare(cmd)
  cmd:usage("usage: accelerate instances DAG [--page N] [--page-size N] [--all]\n"
    .. "                            [--status STATUS]... [--format FORMAT]")
  cmd:description("Lists a backfill's instances: id, status, table, partitions, times.")
  declare.argument(cmd, "DAG", "the backfill's dagName")
  declare.value(cmd, "--page", "N", "page number (default 1)", { number = { 1, true } })
  declare.value(cmd, "--page-size", "N", "instances per page (default 20)", { number = { 1, true } })
  declare.flag(cmd, "--all", "every page")
  declare.value(cmd, "--status", "STATUS", "only the instances of this status (WAITING, RUNNING, SUCCESS,\n"
    .. "FAILED, or a failed one: KILLED, STOPPED, CANCELED, ERROR,\n"
    .. "TIMEOUT...); repeat it, or give\n"
    .. "FAILED,RUNNING, for several; pages through every instance",
    { list = true, complete = { "WAITING", "RUNNING", "SUCCESS", "FAILED" } })
  declare.value(cmd, "--format", "FORMAT", "table (default), json (the same as --json), or csv (a header line,\n"
    .. "then id, status, mtGuid, startPartition, endPartition, startTime, endTime)",
    { complete = { "table", "json", "csv" } })
  cmd:epilog("Exit codes: 0 listed, 2 usage or config error, 4 API or network error, 5 output\n"
    .. "could not be written.\n\n" .. declare.examples(
    "accelerate instances fba27ddf-1aac-451b-ba5f-3d8af4660999",
    "accelerate instances fba27ddf-1aac-451b-ba5f-3d8af4660999 --status FAILED --status RUNNING",
    "accelerate instances fba27ddf-1aac-451b-ba5f-3d8af4660999 --all --format csv >instances.csv"))
end

local PAGE_SIZE = 20   -- instances per page without --all
local ROW = "%-12s %-8s %-36s %-23s %-19s %s\n"   -- id, status, table, partitions, start, end

local function fmt(v) if v == nil then return "-" end return tostring(v) end

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

-- The statuses --status takes: those the API documents and the failed
-- ones the server may report (accelerate.statuses); any other is a typo.
local KNOWN, KNOWN_LIST = {}, {}
for _, list in ipairs { status.DOCUMENTED, status.FAILED_LIST } do
  for _, s in ipairs(list) do
    if not KNOWN[s] then KNOWN[s] = true KNOWN_LIST[#KNOWN_LIST + 1] = s end
  end
end
KNOWN_LIST = tbl_concat(KNOWN_LIST, ", ")

-- --status S (repeatable, or S1,S2): the statuses to keep, upper-cased, as
-- a set and as a sorted list; nil without --status.
local function wanted_statuses(o)
  if not o.lists.status then return nil end
  local set, names = {}, {}
  for _, v in ipairs(o.lists.status) do
    for word in v:gmatch("[^,]+") do
      local st = word:upper()
      if not st:match("^[%w_%-]+$") then raise("--status takes a status such as FAILED or RUNNING", "instances") end
      if not KNOWN[st] then
        local near = util.nearest(KNOWN, st)
        raise("--status: unknown status '" .. word .. "'; "
          .. (near and ("did you mean '" .. near .. "'? (the statuses are: ") or "the statuses are: ")
          .. KNOWN_LIST .. (near and ")" or ""), "instances")
      end
      if not set[st] then set[st] = true names[#names + 1] = st end
    end
  end
  if #names == 0 then raise("--status takes a status such as FAILED or RUNNING", "instances") end
  table.sort(names)
  return set, names
end

-- --all or --status: every instance, through the client's own iterator
-- (which pages, keeps ids unique and decides when to stop; it raises its
-- error object on failure), those of the wanted statuses kept.  Its
-- second result carries the server's total.
local function list_all(o, ctx, client, dag, wanted, names)
  local page_size = o.values["page-size"] or workflow.DEFAULT_PAGE_SIZE
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
  local page_size = o.values["page-size"] or PAGE_SIZE
  local index = o.values.page or 1
  local page, err = client:list_instances { dagName = dag, pageIndex = index, pageSize = page_size }
  if not page then error(err, 0) end
  if o.flags.json then
    local out = util.shallow_copy(page)
    out.instances = util.array(util.shallow_copy(page.instances))
    output.json_result(ctx, out)
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

function _M.run(o, ctx)
  usage.check_format(o)
  if o.lists.status and o.values.page then
    raise("--status pages through every instance: --page does not go with it", "instances")
  end
  -- the core's bounds of pageIndex and pageSize, said with the options' names
  for name, most in pairs { page = 2147483647, ["page-size"] = 100000 } do
    if (o.values[name] or 1) > most then
      raise(str_format("--%s must be a whole number from 1 to %d", name, most), "instances")
    end
  end
  local wanted, names = wanted_statuses(o)   -- checked before any setting is read
  local client = config.client(o, ctx)
  if o.flags.all or wanted then return list_all(o, ctx, client, o.args[1], wanted, names) end
  return list_page(o, ctx, client, o.args[1])
end

return _M
