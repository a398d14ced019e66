-- `accelerate wait`: watch a backfill until every instance has finished,
-- then report; with --journal and no DAG, the watch the journal records.

local workflow = require "accelerate.workflow"
local declare = require "accelerate.cli.declare"
local usage = require "accelerate.cli.usage"
local config = require "accelerate.cli.config"
local progress = require "accelerate.cli.progress"
local watching = require "accelerate.cli.watching"

local error = error

local _M = { name = "wait", order = 3, summary = "watch a backfill until every instance has finished" }

function _M.declare(cmd)
  cmd:usage("usage: accelerate wait DAG [options]\n       accelerate wait --journal FILE [options]")
  cmd:description("Watches a backfill until every instance is SUCCESS or FAILED, with a live\n"
    .. "progress line on a terminal (one line per change otherwise), then reports.\n"
    .. "With --journal and no DAG, resumes the watch recorded in FILE.")
  declare.argument(cmd, "DAG", "the backfill's dagName", { optional = true })
  declare.value(cmd, "--journal", "FILE", "resume from / record into FILE", { complete = "file" })
  declare.flag(cmd, "--no-calendar", "do not draw the calendar")
  declare.watch_options(cmd)
  cmd:epilog(declare.EXIT_HELP .. "\n\n" .. declare.examples(
    "accelerate wait fba27ddf-1aac-451b-ba5f-3d8af4660999 --timeout 3600",
    "accelerate wait --journal jan.journal",
    "accelerate wait fba27ddf-1aac-451b-ba5f-3d8af4660999 --json --quiet"))
end

function _M.run(o, ctx)
  local dag = o.args[1]
  if not dag and not o.values.journal then usage.raise("give a DAG or --journal FILE", "wait") end
  local client = config.client(o, ctx)
  local p = progress.new(ctx, o)
  local opts = watching.opts(o, ctx, p)
  opts.journal = o.values.journal
  local report, err = workflow.wait(client, dag, opts)
  p.finish()
  if not report then error(err, 0) end
  return watching.finish(ctx, o, client, report)
end

return _M
