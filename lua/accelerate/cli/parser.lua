-- The command line of `accelerate`, on lua-argparse: the global options,
-- every command found under cli/commands/ (one file each, declaring its
-- argparse command and run(o, ctx)), and the parse itself.  argparse never
-- prints nor exits here: pparse's error becomes our usage error (exit 2,
-- "Try `accelerate COMMAND --help`."), with argparse's "did you mean".
--
-- Before argparse sees the line, the command word (and a subcommand word)
-- is moved to its front and `--name value` is written `--name=value`, so
-- that, as always, options may come before the command word and a value
-- may look like an option (`--journal --x`).

local argparse = require "argparse"
local declare = require "accelerate.cli.declare"

local type = type
local error = error
local tostring = tostring
local pairs = pairs
local ipairs = ipairs
local require = require
local io_open = io.open
local str_sub = string.sub
local str_find = string.find
local str_gsub = string.gsub
local str_match = string.match
local tbl_sort = table.sort
local package = package
local meta = declare.meta

local _M = {}

-- Global options ------------------------------------------------------------------

local function global_options(root)
  local v, f = declare.value, declare.flag
  local function conn(name, argname, help) return v(root, name, argname, help, { connection = true }) end
  root:group("Connection (flags, then environment, then the config file)",
    conn("--url", "URL", "ACCELERATE_URL          url="),
    conn("--tenant-id", "ID", "ACCELERATE_TENANT_ID    tenant_id="),
    v(root, "--auth-type", "TYPE", "ACCELERATE_AUTH_TYPE    auth_type=   (UID, TOKEN, ACCOUNT, APIKEY)",
      { connection = true, complete = { "UID", "TOKEN", "ACCOUNT", "APIKEY" } }),
    v(root, "--auth-value-file", "FILE", "ACCELERATE_AUTH_VALUE   auth_value_file= or auth_value=\n"
      .. "(or ACCELERATE_AUTH_VALUE_FILE)", { connection = true, complete = "file" }),
    conn("--auth-value", "VALUE", "works, but shows in the process list: a warning is printed"),
    v(root, "--config", "FILE", "config file; default $ACCELERATE_CONFIG, else\n"
      .. "$XDG_CONFIG_HOME/accelerate/config, else ~/.config/accelerate/config\n"
      .. "(key = value lines, # comments on lines of their own; unknown\n"
      .. "keys and bad values are refused; ~/ is the home folder)", { connection = true, complete = "file" }),
    v(root, "--request-timeout", "S", "seconds per HTTP call (default 30)", { number = { 0, false, true } }),
    v(root, "--retries", "N", "retries of reads (never of a create) on network errors, 5xx, 429 (default 2)",
      { number = { 0, true } }))
  root:group("Output",
    f(root, "--json", "machine-readable JSON on stdout (progress still goes to stderr):\n"
      .. "one object with an \"exit\" field, failures included as\n"
      .. "{\"error\": {kind, message, status, code, trace_id, detail}, \"exit\": N}\n"
      .. "(lots --json and plans --json: an array)"),
    f(root, "--no-color", "no colour (also when NO_COLOR is set or stdout is not a terminal)"),
    f(root, "--color", "colour even when stdout is not a terminal (NO_COLOR and --no-color win)"),
    f(root, "--verbose", "full error stacks and SQL in failure reports", "-v"),
    f(root, "--quiet", "no progress output", "-q"))
  root:group("Other",
    f(root, "--help", "this page; `accelerate <command> --help` (or `accelerate help\n"
      .. "<command>`) for a command's", "-h"),
    f(root, "--version", "print the version and exit"))
end

-- The commands -------------------------------------------------------------------

-- The folder of cli/commands/, found as require finds modules.
local function commands_dir()
  for template in (package.path .. ";"):gmatch("([^;]*);") do
    local path = str_gsub(template, "%?", "accelerate/cli/parser")
    local f = io_open(path, "rb")
    if f then
      f:close()
      local dir = str_match(path, "^(.*)/parser%.lua$")
      if dir then return dir .. "/commands" end
    end
  end
  error("accelerate: cannot find lua/accelerate/cli/commands/ on package.path", 0)
end

-- The files of dir, from the core (no subprocess: `ls` in a child would
-- hold off Ctrl-C while it runs, and cost a fork at every start).
local function list_dir(dir)
  local names, err = require("accelerate.core").list_dir(dir)
  if not names then error("accelerate: cannot list the commands: " .. tostring(err), 0) end
  return names
end

-- The command modules, one a file, in the order of `accelerate --help`.
local function command_modules()
  local mods = {}
  for _, file in ipairs(list_dir(commands_dir())) do
    local name = str_match(file, "^([%w_]+)%.lua$")
    if name then mods[#mods + 1] = require("accelerate.cli.commands." .. name) end
  end
  tbl_sort(mods, function(a, b)
    if a.order ~= b.order then return (a.order or 100) < (b.order or 100) end
    return a.name < b.name
  end)
  return mods
end

local MAIN_DESCRIPTION = "Backfill AnyMetrics acceleration plans: create, watch, inspect, repair."

local tree   -- built once: { root, modules = {name = module}, commands = {name = cmd}, values, known }

-- Every option of cmd and of its subcommands (name -> record), into into.
local function collect(cmd, into)
  local m = meta(cmd)
  for _, o in ipairs(m.options) do into[o.name] = o end
  for _, s in ipairs(m.subcommands) do collect(s.cmd, into) end
  return into
end

local function build()
  local root = argparse("accelerate"):add_help(false):require_command(false):command_target("command")
  declare.style(root)
  root:usage("usage: accelerate [options] <command> [arguments]")
  root:description(MAIN_DESCRIPTION)
  global_options(root)
  local t = { root = root, modules = {}, commands = {}, order = {} }
  for _, mod in ipairs(command_modules()) do
    local cmd = root:command(mod.name):summary(mod.summary):add_help(false)
    declare.style(cmd)
    mod.declare(cmd)
    declare.reflow(cmd)
    if #meta(cmd).subcommands > 0 then cmd:command_target("subcommand") end
    t.modules[mod.name] = mod
    t.commands[mod.name] = cmd
    t.order[#t.order + 1] = mod.name
  end
  root:epilog("`accelerate <command> --help` (or `accelerate help <command>`) describes each command;\n"
    .. "`man accelerate` has them all.\n\n" .. declare.EXIT_HELP)
  declare.reflow(root)
  -- every option of every command, by name: which take a value
  t.options = collect(root, {})
  for _, cmd in pairs(t.commands) do collect(cmd, t.options) end
  t.globals = {}
  for _, o in ipairs(meta(root).options) do t.globals[o.name] = o end
  return t
end

-- syntax: t = parser.tree()
-- The parser and the commands (built once).
function _M.tree()
  if not tree then tree = build() end
  return tree
end

-- syntax: names = parser.commands()
-- Every command word, sorted.
function _M.commands()
  local names = {}
  for i, n in ipairs(_M.tree().order) do names[i] = n end
  tbl_sort(names)
  return names
end

-- syntax: mod = parser.module(name)
function _M.module(name)
  return _M.tree().modules[name]
end

-- Subcommand words of a command, their aliases too (nil: none).
local function subcommands(cmd)
  local subs = meta(cmd).subcommands
  if #subs == 0 then return nil end
  local set = {}
  for _, s in ipairs(subs) do
    set[s.name] = s.cmd
    for _, a in ipairs(s.aliases or {}) do set[a] = s.cmd end
  end
  return set
end

-- syntax: names = parser.options(command [, sub])
-- The long options a command takes (its own, its subcommands' and the
-- global ones; sub: one subcommand's), sorted: what the completion offers.
function _M.options(command, sub)
  local t = _M.tree()
  local set = {}
  for name in pairs(t.globals) do set[name] = true end
  local cmd = command and t.commands[command]
  if cmd and sub then
    cmd = (subcommands(cmd) or {})[sub] or cmd
    for _, o in ipairs(meta(cmd).options) do set[o.name] = true end
  elseif cmd then
    for name in pairs(collect(cmd, {})) do set[name] = true end
  end
  local names = {}
  for name in pairs(set) do names[#names + 1] = name end
  tbl_sort(names)
  return names
end


-- The line as argparse is given it: command (and subcommand) word first,
-- `--name value` as `--name=value`.  Also the command words found, whether
-- --help or --version are on the line, and every word not an option.
local function arrange(argv)
  local t = _M.tree()
  local words, rest, plain = {}, {}, {}
  local found = {}
  local literal = false
  local i, n = 1, #argv
  while i <= n do
    local a = argv[i]
    if literal or a == "-" or str_sub(a, 1, 1) ~= "-" then
      plain[#plain + 1] = a
      local cmd = words[1] and t.commands[words[1]]
      if not words[1] or (#words == 1 and cmd and subcommands(cmd)) then
        words[#words + 1] = a
      else
        rest[#rest + 1] = a
      end
    elseif a == "--" then
      literal = true
      rest[#rest + 1] = a
    else
      local o = t.options[a]
      if o and not o.flag and argv[i + 1] ~= nil then
        rest[#rest + 1] = a .. "=" .. argv[i + 1]
        i = i + 1
      else
        if a == "--help" or a == "-h" then found.help = true end
        if a == "--version" then found.version = true end
        rest[#rest + 1] = a
      end
    end
    i = i + 1
  end
  local line = {}
  for _, w in ipairs(words) do line[#line + 1] = w end
  for _, a in ipairs(rest) do line[#line + 1] = a end
  return line, words, found, plain
end

-- argparse's "\nDid you mean 'x'?" as "; did you mean 'x'?".
local function tip_of(msg)
  local one = str_match(msg, "\nDid you mean ('[^\n]-')%?$")
  if one then return "; did you mean " .. one .. "?" end
  local several = str_match(msg, "\nDid you mean one of these: ([^\n]-)%?$")
  if several then return "; did you mean one of " .. (str_gsub(several, "' '", "', '")) .. "?" end
  return ""
end

-- argparse's message as ours (the words of the usage errors the command
-- always gave), its suggestion kept.
local function translate(msg, words)
  local t = _M.tree()
  local command = words[1]
  local cmd = command and t.commands[command]
  local where = command and (command .. ((cmd and subcommands(cmd) and words[2]) and (" " .. words[2]) or ""))
  local tip = tip_of(msg)
  local name = str_match(msg, "^unknown command '(.-)'")
  if name then
    if name == command or not cmd then return "unknown command " .. name .. tip end
    return t.modules[command].usage_hint .. tip
  end
  if msg == "a command is required" then
    return cmd and t.modules[command].usage_hint or nil
  end
  name = str_match(msg, "^unknown option '(.-)'")
  if name then
    if t.options[name] and where then return "option " .. name .. " does not apply to " .. where end
    return "unknown option " .. name .. tip
  end
  name = str_match(msg, "^option '(.-)' requires an argument")
  if name then return "option " .. name .. " needs a value" end
  name = str_match(msg, "^option '(.-)' does not take arguments")
  if name then return "option " .. name .. " takes no value" end
  if str_find(msg, "^missing argument") or msg == "too many arguments" or str_find(msg, "^argument '.-' requires") then
    return "wrong number of arguments for " .. tostring(command) .. " (" .. msg .. ")"
  end
  return msg
end

-- argparse's result as the commands read it.
local function options_of(cmd, result, o)
  local m = meta(cmd)
  for _, d in ipairs(m.options) do
    local v = result[d.key]
    if d.flag then
      if v then o.flags[d.key] = true end
    elseif d.list then
      if type(v) == "table" and #v > 0 then
        o.lists[d.key] = v
        o.values[d.key] = v[#v]
      end
    elseif v ~= nil then
      o.values[d.key] = v
    end
  end
  for _, a in ipairs(m.arguments) do
    if result[a.key] ~= nil then o.args[#o.args + 1] = result[a.key] end
  end
end

-- syntax: o, err = parser.parse(argv)
-- o = {command, args = {...}, values = {name = value}, flags = {name =
-- true}, lists = {name = {value, ...}} (repeatable options), help, version};
-- a subcommand is o.args[1].  Numbers declared as such are numbers.  err:
-- a usage error's message, and o then still has command, help, version
-- (so that `lots --help` shows the page though lots needs arguments);
-- o.no_command when none was given.
function _M.parse(argv)
  local t = _M.tree()
  local line, words, found = arrange(argv)
  local o = { command = words[1], args = {}, values = {}, flags = {}, lists = {}, help = found.help,
    version = found.version }
  local ok, result = t.root:pparse(line)
  if not ok then
    local msg = translate(result, words)
    if not msg then o.no_command = true end
    return o, msg
  end
  local cmd = result.command and t.commands[result.command]
  options_of(t.root, result, o)
  o.help, o.version = o.flags.help, o.flags.version
  if not cmd then
    o.command, o.no_command = nil, true
    return o
  end
  o.command = result.command
  options_of(cmd, result, o)
  if result.subcommand then
    o.args[#o.args + 1] = result.subcommand
    options_of(subcommands(cmd)[result.subcommand], result, o)
  end
  if o.values.format == "json" then o.flags.json = true end
  return o
end

-- syntax: command, words = parser.command_of(argv)
-- The command word of argv (nil if none, or not a command), for pointing a
-- usage error at the right --help; words: every word not an option.
function _M.command_of(argv)
  local _, words, _, plain = arrange(argv)
  return words[1] and _M.tree().commands[words[1]] and words[1] or nil, plain
end

-- syntax: text = parser.help(command [, sub])
-- The help page of a command (of a subcommand), or the main page for nil.
function _M.help(command, sub)
  local t = _M.tree()
  local cmd = command and t.commands[command] or t.root
  if sub then cmd = subcommands(cmd)[sub] or cmd end
  return cmd:get_help() .. "\n"
end

-- syntax: msg = parser.unknown_command(word)
-- The error for `accelerate help WORD` naming no command, with argparse's
-- suggestion: nil when WORD is a command.
function _M.unknown_command(word)
  local t = _M.tree()
  if t.commands[word] then return nil end
  local ok, err = t.root:pparse { word }
  if ok then return nil end
  return translate(err, { word })
end


return _M
