-- Writes the COMMANDS section of accelerate(1) for help2man's --include:
-- each command's own help (accelerate.cli.help), in the order of
-- `accelerate --help`, as no-fill text.  Run by `make man`:
--   lua5.4 docs/man/commands.lua >build/man/commands.h2m
package.path = "lua/?.lua;" .. package.path
local help = require "accelerate.cli.help"

-- The order the main page lists them in.
local order = {}
for line in help.HELP.main:match("\nCommands:\n(.-)\n\n"):gmatch("[^\n]+") do
  order[#order + 1] = assert(line:match("^  (%S+)"), line)
end

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
for _, name in ipairs(order) do
  assert(help.HELP[name], "no help page for " .. name)
  io.write(".SS ", name, "\n.nf\n", roff(help.HELP[name]), "\n.fi\n")
end
