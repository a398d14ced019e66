-- The `accelerate` command.  bin/accelerate only finds the modules and calls
-- cli.main(arg); specs call cli.main with a fake client, terminal and clock.
--
-- This file is the entry: it parses the command line, prints help, runs
-- the command and turns whatever it raised into a message and an exit
-- code.  The rest lives under cli/:
--
--   cli/help.lua               help text of the command and of each subcommand
--   cli/args.lua               options of each command, the parser, usage errors
--   cli/context.lua            streams, environment, clock (what specs replace),
--                              write failures kept, secrets masked in server text
--   cli/config.lua             connection settings (flags, environment, config
--                              file, auth value file) and the client
--   cli/progress.lua           the progress line of a watch, on stderr
--   cli/output.lua             the final report or error, and the exit codes
--   cli/backfill_commands.lua  lots, create, backfill, wait, report, repair
--   cli/inspect_commands.lua   instances, detail
--   cli/html_command.lua       report --html: every detail, then the page
--   cli/plan_commands.lua      plans, plan, and the --plan lookup and checks
--   cli/campaign_commands.lua  campaign plan|run|status (cli/campaign_view.lua)

local util = require "accelerate.util"
local workflow = require "accelerate.workflow"
local help = require "accelerate.cli.help"
local args = require "accelerate.cli.args"
local context = require "accelerate.cli.context"
local output = require "accelerate.cli.output"
local backfill_commands = require "accelerate.cli.backfill_commands"
local inspect_commands = require "accelerate.cli.inspect_commands"
local plan_commands = require "accelerate.cli.plan_commands"
local campaign_commands = require "accelerate.cli.campaign_commands"

local pcall = pcall
local usage = args.usage
local EXIT = output.EXIT

local _M = {}

_M.EXIT = EXIT
_M.HELP = help.HELP

-- Where each command is implemented.
local COMMANDS = {
  lots = backfill_commands.lots,
  create = backfill_commands.create,
  backfill = backfill_commands.backfill,
  wait = backfill_commands.wait,
  report = backfill_commands.report,
  repair = backfill_commands.repair,
  instances = inspect_commands.instances,
  detail = inspect_commands.detail,
  plans = plan_commands.plans,
  plan = plan_commands.plan,
  campaign = campaign_commands.campaign,
}

-- One version (ACC_VERSION in src/acc.h), which the workflow carries too.
local function version()
  return "accelerate " .. workflow._VERSION .. "\n"
end

local function run(argv, ctx)
  local o = args.parse(argv)
  if o.flags.version then
    ctx.out(version())
    return EXIT.OK
  end
  if not o.command then
    if o.flags.help then ctx.out(help.page()) return EXIT.OK end
    ctx.err(help.page())
    return EXIT.USAGE
  end
  if o.command == "help" then
    -- `accelerate help COMMAND` is `accelerate COMMAND --help`
    local topic = o.args[1]
    if topic ~= nil and not args.is_command(topic) then usage("unknown command " .. topic) end
    ctx.out(help.page(topic))
    return EXIT.OK
  end
  if not args.is_command(o.command) then usage("unknown command " .. o.command) end
  if o.flags.help then ctx.out(help.page(o.command)) return EXIT.OK end
  args.check(o)
  return COMMANDS[o.command](o, ctx)
end

-- syntax: code = cli.main(argv, env)
-- env (all optional): stdout, stderr, getenv, isatty(fd), new_client(conn),
-- sleep, clock.  Returns the exit code; never raises.
function _M.main(argv, env)
  local ctx = context.new(env)
  argv = argv or {}
  ctx.json = args.wants_json(argv)
  local ok, res = pcall(run, argv, ctx)
  if ok then return output.finish(ctx, res) end
  if output.interrupted(res) then
    -- Ctrl-C: the server keeps working; say how to pick the watch up again
    ctx.err("\naccelerate: interrupted" .. (ctx.current_dag and ("; backfill " .. ctx.current_dag
      .. " keeps running on the server: `accelerate wait " .. ctx.current_dag .. "`") or "")
      .. (ctx.resume and ("; resume with `" .. ctx.resume .. "`") or "") .. "\n")
    if ctx.json and not ctx.json_done then
      ctx.out(util.json_encode { error = { kind = "interrupted", message = "interrupted" },
        exit = EXIT.INTERRUPTED, dagName = ctx.current_dag } .. "\n")
    end
    return output.finish(ctx, EXIT.INTERRUPTED)
  end
  return output.finish(ctx, output.error(ctx, res, args.command_of(argv)))
end

return _M
