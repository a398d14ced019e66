-- What the command prints when it is done, and the exit code that goes with
-- it: a watch's report (text with calendar and failures, or --json), or an
-- error.  The exit codes live here:
--
--   0 every instance SUCCESS (or the command did what it was asked)
--   1 some instances FAILED
--   2 usage or configuration error
--   3 timed out before every instance finished (report: not finished yet)
--   4 API or network error
--   130 interrupted (Ctrl-C)

local util = require "accelerate.util"
local workflow = require "accelerate.workflow"
local calendar = require "accelerate.calendar"
local failreport = require "accelerate.report"

local type = type
local tostring = tostring
local str_find = string.find
local str_sub = string.sub
local errstr = util.errstr
local json_encode = util.json_encode
local format_duration = util.format_duration

local _M = {}

local EXIT = { OK = 0, FAILED = 1, USAGE = 2, TIMEOUT = 3, API = 4, INTERRUPTED = 130 }
_M.EXIT = EXIT

-- Errors ----------------------------------------------------------------------

-- syntax: bool = output.interrupted(err)
-- Whether err is Ctrl-C (the interpreter's "interrupted!"), which ends the
-- command but not the backfill.
function _M.interrupted(err)
  local msg = type(err) == "table" and err.message or err
  return type(msg) == "string" and str_find(msg, "interrupted!", 1, true) ~= nil
end

local function exit_for_error(err)
  local kind = type(err) == "table" and err.kind
  if kind == "usage" or kind == "invalid" then return EXIT.USAGE end
  -- a watch's own --timeout, even before any poll answered, is a timeout
  if kind == "timeout" and err.watch then return EXIT.TIMEOUT end
  return EXIT.API
end

-- syntax: code = output.error(ctx, err [, command])
-- Prints err on stderr and gives its exit code; a usage error also points
-- at `accelerate [command] --help`.
function _M.error(ctx, err, cmd)
  local code = exit_for_error(err)
  local msg = errstr(err)
  if str_sub(msg, 1, 11) ~= "accelerate:" then msg = "accelerate: " .. msg end
  ctx.err(msg .. "\n")
  if type(err) == "table" and err.kind == "usage" then
    ctx.err("Try `accelerate " .. (cmd and (cmd .. " ") or "") .. "--help`.\n")
  end
  return code
end

-- Reports -----------------------------------------------------------------------

-- --no-color, then NO_COLOR (set and not empty, as no-color.org says),
-- then --color, then whether stdout is a terminal.
local function use_color(o, ctx)
  if o.flags["no-color"] then return false end
  local no_color = ctx.getenv("NO_COLOR")
  if no_color ~= nil and no_color ~= "" then return false end
  if o.flags.color then return true end
  return ctx.isatty(1)
end

-- syntax: code = output.exit_for_report(report)
function _M.exit_for_report(r)
  if r.ok then return EXIT.OK end
  if r.timed_out or not r.done then return EXIT.TIMEOUT end
  return EXIT.FAILED
end

-- syntax: output.print_report(ctx, o, report [, what])
-- The summary line (what: "backfill" unless given), the calendar unless
-- --no-calendar, the failure report, and what to do next.
function _M.print_report(ctx, o, r, what)
  local color = use_color(o, ctx)
  local out = ctx.out
  out((what or "backfill") .. " " .. r.dagName .. ": " .. workflow.summary(r)
    .. "  (" .. format_duration(r.elapsed or 0) .. ", " .. tostring(r.polls or 0) .. " polls, "
    .. tostring(r.requests or 0) .. " requests)\n")
  if not o.flags["no-calendar"] and #r.instances > 0 then
    out("\n" .. calendar.render(r.instances, { color = color }) .. "\n")
  end
  local text = failreport.failures(r.failures, { verbose = o.flags.verbose, color = color })
  if text ~= "" then out(text .. "\n") end
  if r.ok then
    out("all " .. r.total .. " instances succeeded\n")
  elseif r.timed_out then
    out("timed out: the backfill keeps running on the server; resume the watch with `accelerate wait "
      .. r.dagName .. "`\n")
  elseif not r.done then
    out("not finished: watch it with `accelerate wait " .. r.dagName .. "`\n")
  else
    out(tostring(#r.failures) .. " instance(s) failed; re-run only the failed dates with "
      .. "`accelerate repair " .. r.dagName .. "`\n")
  end
  if r.journal_error then ctx.err("accelerate: warning: " .. r.journal_error .. "\n") end
end

-- syntax: code = output.report(ctx, o, report)
-- The report as text, or with --json as one JSON object that also carries
-- the exit code; returns that exit code.
function _M.report(ctx, o, r)
  local code = _M.exit_for_report(r)
  if o.flags.json then
    local out = util.shallow_copy(r)
    out.exit = code
    ctx.out(json_encode(out) .. "\n")
  else
    _M.print_report(ctx, o, r)
  end
  return code
end

return _M
