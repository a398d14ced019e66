-- The `accelerate` command.  bin/accelerate only finds the modules and calls
-- cli.main(arg); specs call cli.main with a fake client, terminal and clock.
--
-- This file is the entry: it parses the command line, prints help, runs
-- the command and turns whatever it raised into a message and an exit
-- code.  The rest lives under cli/:
--
--   cli/commands/*.lua   one file per command: its argparse declaration
--                        (arguments, options, help, examples) and run(o, ctx)
--   cli/parser.lua       the global options, the commands found under
--                        commands/, the parse and its usage errors
--   cli/declare.lua      how a command declares its options and arguments
--   cli/completion.lua   bash, zsh and fish completion, from the declarations
--   cli/usage.lua        usage errors, numbers given on the command line
--   cli/context.lua      streams, environment, clock (what specs replace),
--                        write failures kept, secrets masked in server text
--   cli/config.lua       connection settings (flags, environment, config
--                        file, auth value file) and the client
--   cli/progress.lua     the progress line of a watch, on stderr
--   cli/output.lua       the final report or error, and the exit codes
--   cli/create_params.lua, cli/watching.lua, cli/plan_lookup.lua,
--   cli/html_page.lua, cli/repairs.lua, cli/campaign_view.lua: what commands share

local util = require "accelerate.util"
local workflow = require "accelerate.workflow"
local parser = require "accelerate.cli.parser"
local usage = require "accelerate.cli.usage"
local context = require "accelerate.cli.context"
local output = require "accelerate.cli.output"

local pcall = pcall
local raise = usage.raise
local EXIT = output.EXIT

local _M = {}

_M.EXIT = EXIT

-- One version (ACC_VERSION in src/acc.h), which the workflow carries too.
local function version()
  return "accelerate " .. workflow._VERSION .. "\n"
end

-- `accelerate help [COMMAND [SUBCOMMAND]]` is `accelerate COMMAND --help`.
local function help(ctx, words)
  local topic = words[2]
  if topic ~= nil then
    local msg = parser.unknown_command(topic)
    if msg then raise(msg) end
  end
  ctx.out(parser.help(topic))
  return EXIT.OK
end

local function run(argv, ctx)
  local o, err = parser.parse(argv)
  if o.command == "help" then
    local _, words = parser.command_of(argv)
    return help(ctx, words)
  end
  if o.help then
    -- a command's page even when its arguments are missing
    if o.command and not parser.module(o.command) then raise(err or ("unknown command " .. o.command)) end
    ctx.out(parser.help(o.command))
    return EXIT.OK
  end
  if o.version then
    ctx.out(version())
    return EXIT.OK
  end
  if o.no_command then
    if err then raise(err) end
    ctx.err(parser.help())
    return EXIT.USAGE
  end
  if err then raise(err, parser.module(o.command) and o.command or nil) end
  return parser.module(o.command).run(o, ctx)
end

-- syntax: code = cli.main(argv, env)
-- env (all optional): stdout, stderr, getenv, isatty(fd), new_client(conn),
-- sleep, clock.  Returns the exit code; never raises.
function _M.main(argv, env)
  local ctx = context.new(env)
  argv = argv or {}
  ctx.json = usage.wants_json(argv)
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
  return output.finish(ctx, output.error(ctx, res, (parser.command_of(argv))))
end

return _M
