-- Writes the COMMANDS section of accelerate(1) for help2man's --include:
-- each command's own help, as its declaration (lua/accelerate/cli/commands/)
-- gives it to `accelerate COMMAND --help`, in the order of `accelerate
-- --help`, then each subcommand's (campaign run), as no-fill text.  Run by
-- `make man`:
--   lua5.4 docs/man/commands.lua >build/man/commands.h2m
package.path = "lua/?.lua;" .. package.path
-- the commands load the workflow, which loads the core built for this Lua
package.cpath = "build/" .. (rawget(_G, "jit") and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+")))
  .. "/?.so;" .. package.cpath
local parser = require "accelerate.cli.parser"

-- roff: a backslash doubled, a line starting with . or ' protected, and
-- hyphens in options kept as hyphens (not typeset as dashes).
local function roff(text)
  local out = {}
  for line in (text:gsub("\n+$", "") .. "\n"):gmatch("([^\n]*)\n") do
    line = line:gsub("\\", "\\e"):gsub("%-", "\\-")
    if line:match("^[.']") then line = "\\&" .. line end
    out[#out + 1] = line
  end
  return table.concat(out, "\n")
end

io.write("[COMMANDS]\n")
local t = parser.tree()
for _, name in ipairs(t.order) do
  io.write(".SS ", name, "\n.nf\n", roff(parser.help(name)), "\n.fi\n")
  for _, s in ipairs(require("accelerate.cli.declare").meta(t.commands[name]).subcommands) do
    io.write(".SS ", name, " ", s.name, "\n.nf\n", roff(parser.help(name, s.name)), "\n.fi\n")
  end
end
