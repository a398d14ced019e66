-- `accelerate report`: a backfill's calendar, its failures by cause and its
-- timing; --html FILE also writes one self-contained page (cli/html_page.lua).

local declare = require "accelerate.cli.declare"
local config = require "accelerate.cli.config"
local repairs = require "accelerate.cli.repairs"
local html_page = require "accelerate.cli.html_page"
local watching = require "accelerate.cli.watching"

local error = error
local pcall = pcall

local _M = { name = "report", order = 4, summary = "draw a backfill's calendar and explain its failures" }

function _M.declare(cmd)
  cmd:usage("usage: accelerate report DAG [--html FILE] [--verbose]")
  cmd:description("Draws a calendar of the backfill's partitions (one cell per day, coloured by\n"
    .. "status; letters S F R W when colour is off) and the failures grouped by\n"
    .. "cause: for each cause its count, root cause, tables, dates, whether it is\n"
    .. "transient and the repair command (--verbose: every failed instance with its\n"
    .. "full stack and SQL instead), then a timing line (queue and run p50/p95,\n"
    .. "throughput).")
  declare.argument(cmd, "DAG", "the backfill's dagName")
  declare.value(cmd, "--html", "FILE", "also write one self-contained HTML page to FILE:\n"
    .. "calendar heatmap, timeline, failure groups with a\n"
    .. "sample stack and SQL, timing per table and resource\n"
    .. "group (fetches every instance's detail for it);\n"
    .. "FILE is opened before anything is fetched, and\n"
    .. "one that cannot be written is exit 5", { complete = "file" })
  declare.flag(cmd, "--no-calendar", "do not draw the calendar")
  cmd:epilog("Exit codes: 0 all SUCCESS, 1 some FAILED, 3 not finished yet, 2 usage, 4 API error,\n"
    .. "5 output could not be written.\n\n" .. declare.examples(
    "accelerate report fba27ddf-1aac-451b-ba5f-3d8af4660999",
    "accelerate report fba27ddf-1aac-451b-ba5f-3d8af4660999 --verbose --no-color",
    "accelerate report fba27ddf-1aac-451b-ba5f-3d8af4660999 --html report.html"))
end

function _M.run(o, ctx)
  -- the page's file first: one that cannot be written is exit 5 at once
  local target = o.values.html and html_page.open(o.values.html)
  local ok, code = pcall(function()
    local client = config.client(o, ctx)
    if target then ctx.current_dag = o.args[1] end   -- named beside an unwritten page
    local r = watching.snapshot(client, o.args[1], ctx)
    local by = repairs.of(ctx, client, o.args[1])
    if #by > 0 then r.repaired_by = by end
    if target then return html_page.report(ctx, o, client, r, target) end
    return watching.finish(ctx, o, client, r)
  end)
  if not ok then
    html_page.discard(target)
    error(code, 0)
  end
  return code
end

return _M
