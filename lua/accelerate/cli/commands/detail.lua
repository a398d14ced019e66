-- `accelerate detail`: one instance's detail (status, table, partitions,
-- retries, times, server, the full error message and the SQL).

local util = require "accelerate.util"
local declare = require "accelerate.cli.declare"
local usage = require "accelerate.cli.usage"
local config = require "accelerate.cli.config"
local output = require "accelerate.cli.output"
local context = require "accelerate.cli.context"
local render_text = require "accelerate.render.text"
local statuses = require "accelerate.statuses"

local type = type
local ipairs = ipairs
local error = error
local tostring = tostring
local str_format = string.format
local tbl_concat = table.concat
local raise = usage.raise
local id_string = util.id_string
local EXIT = output.EXIT

local _M = { name = "detail", order = 7, summary = "show one instance's detail (error stack, SQL)" }

function _M.declare(cmd)
  cmd:usage("usage: accelerate detail ID")
  cmd:description("Shows one instance's detail: status, table, partitions, retries, status\n"
    .. "times, server, the full error message and the SQL.")
  declare.argument(cmd, "ID", "the instance's id (taskInstanceId)")
  cmd:epilog("Exit codes: 0 shown, 2 usage or config error, 4 API or network error, 5 output\n"
    .. "could not be written.\n\n" .. declare.examples(
    "accelerate detail 12876562",
    "accelerate detail 12876562 --json"))
end

local function fmt(v) if v == nil then return "-" end return tostring(v) end

function _M.run(o, ctx)
  -- the core's id rule, before any setting is read or anything sent: ids
  -- are strings to the API (digits in practice, not by contract)
  local core = context.core()
  if core and core.id_key then
    local key, err = core.id_key(o.args[1])
    if not key then raise(type(err) == "table" and err.message or tostring(err), "detail") end
  end
  local client = config.client(o, ctx)
  local d, err = client:task_detail(o.args[1])
  if not d then error(err, 0) end
  d = output.redact_detail(ctx, d)
  if o.flags.json then return output.json_result(ctx, d) end
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
  local function time(name, v) if v ~= nil then field(name, render_text.server_time(v)) end end
  time("startTime", d.startTime)
  time("endTime", d.endTime)
  if type(d.acceleratePlanUuid) == "table" then field("acceleratePlanUuid", tbl_concat(d.acceleratePlanUuid, ", ")) end
  if type(d.statusTime) == "table" then
    for _, st in ipairs(statuses.LIFECYCLE) do
      time("statusTime." .. st, d.statusTime[st])
    end
  end
  if d.msg then out("msg:\n" .. tostring(d.msg) .. "\n") end
  local sql = type(d.sql) == "table" and (d.sql.originalSql or d.sql.formattedSql) or d.sql
  if sql then out("sql:\n" .. tostring(sql) .. "\n") end
  return EXIT.OK
end

return _M
