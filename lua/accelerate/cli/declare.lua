-- How a command declares its command line on lua-argparse: flags, options
-- with a value (a number checked by the parser, a list, what completion
-- offers), positional arguments and subcommands.  Each call declares the
-- element on the argparse command and records what argparse does not keep
-- in a public field: whether it is a flag, which result key holds it, and
-- what the completion offers for it.  cli/parser.lua reads those records
-- to turn argparse's result into the commands' options table, and
-- cli/completion.lua to write the completion scripts.

local usage = require "accelerate.cli.usage"

local ipairs = ipairs
local setmetatable = setmetatable
local tbl_concat = table.concat
local str_gsub = string.gsub
local str_sub = string.sub
local type = type

-- The widest line of a help page: the man page indents the pages by 7
-- columns and must fit 80.
local HELP_WIDTH = 72

local _M = {}

-- argparse command -> { options = {...}, arguments = {...}, subcommands = {...} }
local META = setmetatable({}, { __mode = "k" })

-- syntax: m = declare.meta(cmd)
-- What was declared on cmd: options = { {name = "--plan", key = "plan",
-- flag, list, complete, argname} }, arguments = { {key, name, optional,
-- complete} }, subcommands = { {name, cmd, aliases} }.
local function meta(cmd)
  local m = META[cmd]
  if not m then
    m = { options = {}, arguments = {}, subcommands = {} }
    META[cmd] = m
  end
  return m
end
_M.meta = meta

local function key_of(name) return (str_gsub(name, "^%-+", "")) end

-- syntax: element = declare.flag(cmd, "--name", help [, "-x"])
function _M.flag(cmd, name, help, short)
  local key = key_of(name)
  local element = cmd:flag((short and (short .. " ") or "") .. name):description(help):target(key)
  local opts = meta(cmd).options
  opts[#opts + 1] = { name = name, key = key, flag = true }
  return element
end

-- syntax: element = declare.value(cmd, "--name", ARGNAME, help [, how])
-- how.number = {minimum, integer, above}: the value must be such a number
-- (usage.decimal's rule and message) and is given as a number; how.list:
-- repeatable, every value kept; how.complete: "file", "plan" or a list of
-- words, what the completion offers for the value.
function _M.value(cmd, name, argname, help, how)
  how = how or {}
  local key = key_of(name)
  local element = cmd:option(name):argname(argname):description(help):target(key)
  local n = how.number
  if n then
    element:convert(function(text) return usage.decimal(text, name, n[1], n[2], n[3]) end)
  end
  if how.list then element:count("*") end
  local opts = meta(cmd).options
  opts[#opts + 1] = { name = name, key = key, list = how.list, complete = how.complete, argname = argname,
    connection = how.connection }
  return element
end

-- syntax: element = declare.argument(cmd, NAME, help [, how])
-- how.optional: may be left out; how.complete: "file" or "plan";
-- how.number = {label, minimum, integer}: a number, checked as for options.
function _M.argument(cmd, name, help, how)
  how = how or {}
  local args = meta(cmd).arguments
  local key = "argument " .. (#args + 1)
  local element = cmd:argument(name):description(help):target(key)
  if how.optional then element:args("?") end
  local n = how.number
  if n then
    element:convert(function(text) return usage.decimal(text, n[1], n[2], n[3]) end)
  end
  args[#args + 1] = { name = name, key = key, optional = how.optional, complete = how.complete }
  return element
end

-- syntax: sub = declare.subcommand(cmd, name, summary [, aliases])
-- A subcommand (campaign preview|run|status): its own arguments and
-- options.  aliases: older names that still work (argparse lists them
-- after the name: "preview, plan"; the parse gives the name).
function _M.subcommand(cmd, name, summary, aliases)
  local names = name
  for _, a in ipairs(aliases or {}) do names = names .. " " .. a end
  local sub = cmd:command(names):summary(summary):add_help(false)
  _M.style(sub)
  local subs = meta(cmd).subcommands
  subs[#subs + 1] = { name = name, cmd = sub, aliases = aliases or {} }
  return sub
end

-- syntax: declare.style(cmd)
-- The help layout of every page: two spaces before a label, descriptions
-- from column 27, as `accelerate --help` always was.
function _M.style(cmd)
  cmd:help_usage_margin(2):help_description_margin(26):help_max_width(HELP_WIDTH)
end

-- A help text as paragraphs that argparse wraps to HELP_WIDTH: a line
-- break followed by a word joins the lines; blank lines and indented lines
-- (lists, examples) stay as written.
local function reflow(text)
  if type(text) ~= "string" then return text end
  return (str_gsub(text, "([^\n])\n(%S)", "%1 %2"))
end

-- syntax: declare.reflow(cmd)
-- Every help text of cmd (description, epilog, its options' and
-- arguments') reflowed, so that each page fits HELP_WIDTH columns: the
-- man page indents it by 7 and must fit 80 (issue 20 item 7).
function _M.reflow(cmd)
  cmd._description = reflow(cmd._description)
  cmd._epilog = reflow(cmd._epilog)
  for _, list in ipairs { cmd._options or {}, cmd._arguments or {} } do
    for _, el in ipairs(list) do el._description = reflow(el._description) end
  end
  for _, sub in ipairs(cmd._commands or {}) do _M.reflow(sub) end
end

-- What several commands say alike ----------------------------------------------

_M.EXIT_HELP = [[
Exit codes:
  0  every instance SUCCESS (or the command did what it was asked)
  1  some instances FAILED
  2  usage or configuration error
  3  timed out before every instance finished (report: not finished yet)
  4  API or network error (including a create whose answer was lost)
  5  output could not be written (stdout closed, disk full): the
     dagName or the outcome is printed on stderr instead
  130  interrupted (Ctrl-C): the backfill keeps running; the message
       says how to resume]]

-- syntax: declare.watch_options(cmd)
-- --interval, --max-interval, --timeout of the commands that watch (the
-- three elements returned).
function _M.watch_options(cmd)
  local interval = _M.value(cmd, "--interval", "S",
    "first polling interval (default 2); backs off while nothing changes", { number = { 0, false, true } })
  local max_interval = _M.value(cmd, "--max-interval", "S", "longest polling interval (default 30)",
    { number = { 0, false, true } })
  local timeout = _M.value(cmd, "--timeout", "S", "stop watching after S seconds (exit 3; the backfill keeps running)",
    { number = { 0 } })
  return interval, max_interval, timeout
end

-- syntax: declare.plan_options(cmd [, what])
-- --plan, --plan-id, --plan-name, and (what.range) --start, --end, then --lot.
function _M.plan_options(cmd, what)
  what = what or {}
  _M.value(cmd, "--plan", "NAME|ID", what.plan_help
    or "the acceleration plan by name, display name or id, looked up before\n"
    .. "anything is created: a name that names no plan is refused with the\n"
    .. "names near it (exit 2); the plan's id is what is created and journaled", { complete = "plan" })
  _M.value(cmd, "--plan-id", "ID", "the plan's id, sent as given, not looked up")
  _M.value(cmd, "--plan-name", "NAME", "the plan's name, sent as given, not looked up")
  if what.range then
    _M.value(cmd, "--start", "YYYY-MM-DD", "first partition date")
    _M.value(cmd, "--end", "YYYY-MM-DD", "last partition date (inclusive); at most 100 years after --start")
  end
  _M.value(cmd, "--lot", "N", what.lot_help or "days per instance (dateIntervalOfLot, default 1)",
    { number = { 1, true } })
end

-- What --plan checks before a create.
_M.PLAN_CHECKS = [[
With --plan the plan's granularity is checked: for a WEEK (ISO weeks, Monday to
Sunday), MONTH, QUARTER or YEAR plan, a range whose start or end cuts a period gets
a warning that names the aligned range.  An EXTERNAL plan's data is scheduled by its
owner's scheduler, not by AnyMetrics: it is refused (exit 2) unless --force.]]

-- syntax: text = declare.examples(line, ...)
-- The Examples section that ends every command's help.
function _M.examples(...)
  local lines = { "Examples:" }
  for _, l in ipairs({ ... }) do
    -- a long command continued with a backslash, as a shell reads it
    local line = "  " .. l
    while #line > HELP_WIDTH do
      local cut = HELP_WIDTH - 2
      while cut > 8 and str_sub(line, cut, cut) ~= " " do cut = cut - 1 end
      if cut <= 8 then break end
      lines[#lines + 1] = str_sub(line, 1, cut) .. "\\"
      line = "      " .. str_sub(line, cut + 1)
    end
    lines[#lines + 1] = line
  end
  return tbl_concat(lines, "\n")
end

return _M
