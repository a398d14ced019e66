-- `accelerate completion bash|zsh|fish`: the completion script of a shell,
-- written from the commands' declarations (cli/completion.lua).

local declare = require "accelerate.cli.declare"
local completion = require "accelerate.cli.completion"
local output = require "accelerate.cli.output"

local EXIT = output.EXIT

local _M = { name = "completion", order = 12, summary = "print the completion script of bash, zsh or fish" }

function _M.declare(cmd)
  cmd:usage("usage: accelerate completion bash|zsh|fish")
  cmd:description("Prints the shell's completion script for accelerate: commands, each command's\n"
    .. "options, campaign's subcommands, the values of --format, --type, --status and\n"
    .. "--auth-type, files where a file is wanted and (bash) plan names after --plan\n"
    .. "and `plan`.  `make install` installs bash's; or load it yourself.")
  declare.argument(cmd, "SHELL", "bash, zsh or fish", { complete = { "bash", "zsh", "fish" } })
    :choices({ "bash", "zsh", "fish" })
  cmd:epilog(declare.examples(
    "accelerate completion bash >~/.local/share/bash-completion/completions/accelerate",
    "accelerate completion zsh >\"${fpath[1]}/_accelerate\"",
    "accelerate completion fish >~/.config/fish/completions/accelerate.fish"))
end

function _M.run(o, ctx)
  ctx.out(completion.script(o.args[1]))
  return EXIT.OK
end

return _M
