-- The REPL of spec/docs_spec.lua: runs a documented Lua session the way
-- `lua5.4` does when typed into, and prints what it would print.
--   lua5.4 spec/docs_repl.lua FILE
-- FILE holds the session's inputs, separated by lines "--8<--"; each input
-- is run as `return INPUT` when that compiles (its values printed as
-- print does, as the interactive interpreter does), else as a statement;
-- an error prints its message.  After each input's output comes a line
-- "--8<--", so that the spec can pair inputs with what they printed.
-- Lua 5.4 only, as the sessions it runs.
-- luacheck: std lua54
local f = assert(io.open(arg[1], "rb"))
local text = f:read("*a")
f:close()

local SEP = "--8<--"

local function run(code)
  local fn = load("return " .. code, "=stdin")
  if not fn then
    local err
    fn, err = load(code, "=stdin")
    if not fn then print(err) return end
  end
  local res = table.pack(pcall(fn))
  if not res[1] then print(tostring(res[2])) return end
  if res.n > 1 then print(table.unpack(res, 2, res.n)) end
end

local lines = {}
for line in (text .. "\n"):gmatch("([^\n]*)\n") do
  if line == SEP then
    run(table.concat(lines, "\n"))
    io.stdout:write(SEP, "\n")
    io.stdout:flush()
    lines = {}
  else
    lines[#lines + 1] = line
  end
end
