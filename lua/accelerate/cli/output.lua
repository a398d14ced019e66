-- What the command prints when it is done, and the exit code that goes with
-- it: a watch's report (text with calendar and failures, or --json), or an
-- error.  The exit codes live here:
--
--   0 every instance SUCCESS (or the command did what it was asked)
--   1 some instances FAILED
--   2 usage or configuration error
--   3 timed out before every instance finished (report: not finished yet)
--   4 API or network error
--   5 the output could not be written (stdout closed, a full disk): the
--     key facts (the dagName, the outcome) go to stderr instead
--   130 interrupted (Ctrl-C)
--
-- With --json every outcome is one JSON object on stdout with an `exit`
-- field, failures included: {"error": {...}, "exit": N}.

local util = require "accelerate.util"
local workflow = require "accelerate.workflow"
local calendar = require "accelerate.render.calendar"
local render_text = require "accelerate.render.text"
local insight = require "accelerate.insight"
local progress = require "accelerate.cli.progress"

local type = type
local ipairs = ipairs
local tostring = tostring
local error = error
local io_open = io.open
local os_remove = os.remove
local getmetatable = getmetatable
local setmetatable = setmetatable
local str_find = string.find
local str_sub = string.sub
local str_match = string.match
local tbl_concat = table.concat
local errstr = util.errstr
local json_encode = util.json_encode
local format_duration = util.format_duration

local _M = {}

local EXIT = { OK = 0, FAILED = 1, USAGE = 2, TIMEOUT = 3, API = 4, OUTPUT = 5, INTERRUPTED = 130 }
_M.EXIT = EXIT

-- Masking --------------------------------------------------------------------
-- Only text a server wrote can carry the auth value back to us: the
-- message of an error it caused, an error's detail, code and trace id, an
-- instance's error stack.  Ids, dagNames and our own messages (which name
-- ids) are printed as they are.

local SERVER_KINDS = { http = true, api = true, decode = true, network = true, timeout = true, error = true }

-- syntax: err = output.redact_error(ctx, err)
-- A copy of err with the text a server may have written masked.
function _M.redact_error(ctx, err)
  if type(err) ~= "table" then return ctx.redact(tostring(err)) end
  if err.kind == "usage" then return err end
  local copy = setmetatable(util.shallow_copy(err), getmetatable(err))
  if SERVER_KINDS[err.kind] then copy.message = ctx.redact(err.message) end
  copy.detail = ctx.redact(err.detail)
  copy.code = ctx.redact(err.code)
  copy.trace_id = ctx.redact(err.trace_id)
  return copy
end

-- syntax: d = output.redact_detail(ctx, detail)
-- A copy of an instance's detail with its error stack (msg) masked.
function _M.redact_detail(ctx, d)
  if type(d) ~= "table" or type(d.msg) ~= "string" then return d end
  local copy = util.shallow_copy(d)
  copy.msg = ctx.redact(d.msg)
  return copy
end

-- syntax: r2 = output.redact_report(ctx, r)
-- A copy of report r whose failures have their stacks and errors masked.
local function redact_report(ctx, r)
  if type(r.failures) ~= "table" or #r.failures == 0 then return r end
  local out = util.shallow_copy(r)
  out.failures = util.array()
  for i, f in ipairs(r.failures) do
    local g = util.shallow_copy(f)
    g.detail = _M.redact_detail(ctx, f.detail)
    if f.err ~= nil then g.err = _M.redact_error(ctx, f.err) end
    out.failures[i] = g
  end
  return out
end
_M.redact_report = redact_report

-- Errors ----------------------------------------------------------------------

-- syntax: bool = output.interrupted(err)
-- Whether err is Ctrl-C, which ends the command but not the backfill.
_M.interrupted = util.interrupted

local output_mt = { __tostring = function(e) return e.message end }

-- syntax: err = output.write_error(message)
-- An error of kind "output": a file the command was asked to write (report
-- --html) could not be written; exit 5.
function _M.write_error(msg)
  return setmetatable({ kind = "output", message = msg }, output_mt)
end

-- Output files --------------------------------------------------------------------
-- A file the command was asked to write (report --html FILE): opened before
-- anything is fetched, written whole or not at all, any failure exit 5.

local function cannot(target, why)
  local path = target.path
  why = tostring(why)
  if why:sub(1, #path + 2) == path .. ": " then why = why:sub(#path + 3) end   -- io.open names the path
  error(_M.write_error("accelerate: cannot write " .. target.option .. " " .. path .. ": " .. why), 0)
end

-- syntax: target = output.open_file(path, option)
-- Opens path for writing without truncating a file already there (that
-- happens when the new one is written); raises an "output" error (exit 5,
-- naming option) when it cannot be opened.  target.created: the file was
-- not there before.
function _M.open_file(path, option)
  local target = { path = path, option = option }
  local before = io_open(path, "rb")
  if before then before:close() end
  local f, err = io_open(path, "ab")
  if not f then cannot(target, err) end
  f:close()
  target.created = before == nil
  return target
end

-- syntax: output.discard_file(target)
-- Removes the file open_file created, when nothing was written to it.
function _M.discard_file(target)
  if target and target.created and not target.written then os_remove(target.path) end
end

-- syntax: output.write_file(target, text)
-- Writes text to target whole; on any failure no half-written file of
-- ours is left behind and an "output" error (exit 5) is raised.
function _M.write_file(target, text)
  local f, err = io_open(target.path, "wb")
  if not f then cannot(target, err) end
  local ok, werr = f:write(text)
  if ok then ok, werr = f:flush() end
  local cok, cerr = f:close()
  if not ok or not cok then
    if target.created then os_remove(target.path) end
    cannot(target, werr or cerr)
  end
  target.written = true
end

-- syntax: code = output.exit_for_error(err)
-- 2 for bad input (kinds usage and invalid, wherever they come from), 5
-- for an output not written (kind output), 4 for everything else.
local function exit_for_error(err)
  local kind = type(err) == "table" and err.kind
  if kind == "usage" or kind == "invalid" then return EXIT.USAGE end
  -- a file the command was asked to write (report --html) was not written
  if kind == "output" then return EXIT.OUTPUT end
  -- a watch's own --timeout, even before any poll answered, is a timeout
  if kind == "timeout" and err.watch then return EXIT.TIMEOUT end
  return EXIT.API
end
_M.exit_for_error = exit_for_error

-- The first line of a server's detail that says something, trimmed.
local function first_line(s)
  if type(s) ~= "string" then return nil end
  for line in (s .. "\n"):gmatch("([^\n]*)\n") do
    line = str_match(line, "^%s*(.-)%s*$")
    if line ~= "" then
      if #line > 300 then line = str_sub(line, 1, 297) .. "..." end
      return line
    end
  end
  return nil
end

-- syntax: fields = output.error_json(err)
-- What --json says of an error: kind, message, status, code, trace_id,
-- detail (and outcome_unknown for a create that may have happened).
function _M.error_json(err)
  if type(err) ~= "table" then return { kind = "error", message = tostring(err) } end
  return { kind = err.kind, message = err.message, status = err.status, code = err.code,
    trace_id = err.trace_id, detail = err.detail, outcome_unknown = err.outcome_unknown }
end

-- syntax: code = output.error(ctx, err [, command])
-- Prints err on stderr (with the first line of the server's detail) and
-- gives its exit code; a usage error also points at `accelerate [command]
-- --help`.  With --json (ctx.json) the error is also one JSON object on
-- stdout, unless the command already printed its own (ctx.json_done).
function _M.error(ctx, err, cmd)
  local code = exit_for_error(err)
  err = _M.redact_error(ctx, err)
  local msg = ctx.text(errstr(err))   -- stderr is text, --json or not
  if str_sub(msg, 1, 11) ~= "accelerate:" then msg = "accelerate: " .. msg end
  ctx.err(msg .. "\n")
  local detail = type(err) == "table" and first_line(ctx.text(err.detail))
  if detail then ctx.err("  detail: " .. detail .. "\n") end
  if type(err) == "table" and err.kind == "usage" then
    ctx.err("Try `accelerate " .. (cmd and (cmd .. " ") or "") .. "--help`.\n")
  end
  if ctx.json and not ctx.json_done then
    ctx.out(json_encode { error = _M.error_json(err), exit = code, dagName = ctx.current_dag } .. "\n")
  end
  return code
end

-- syntax: code = output.finish(ctx, code)
-- Flushes stdout.  When any write to it failed, says so on stderr with
-- the key facts the command recorded (ctx.facts: the dagName, the outcome)
-- and turns a successful or reporting exit code into 5.
function _M.finish(ctx, code)
  local werr = ctx.flush_out()
  if not werr then return code end
  ctx.err("accelerate: the output could not be written (" .. werr .. ")"
    .. (ctx.facts and ("; " .. ctx.facts) or "") .. "\n")
  if code == EXIT.OK or code == EXIT.FAILED or code == EXIT.TIMEOUT then return EXIT.OUTPUT end
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

-- syntax: output.csv(ctx, header, rows)
-- --format csv: a header line, then one line per row (arrays of strings
-- or nil, shown empty), quoted as RFC 4180 says: a field holding a comma,
-- a quote or a line break between quotes, its quotes doubled; lines end
-- in CRLF.  A server's strings lose their control characters (ctx.text),
-- but for the tab and line break that quoting keeps.
function _M.csv(ctx, header, rows)
  local function line(cells, n)
    local parts = {}
    for i = 1, n do
      local v = cells[i] == nil and "" or ctx.text(tostring(cells[i]))
      if str_find(v, '[,"\r\n]') then v = '"' .. v:gsub('"', '""') .. '"' end
      parts[i] = v
    end
    ctx.out(tbl_concat(parts, ",") .. "\r\n")
  end
  line(header, #header)
  for _, r in ipairs(rows) do line(r, #header) end
end

-- syntax: code = output.json_result(ctx, t)
-- A server's object (a page, a plan, a detail) as the command's --json
-- result: a copy of it with `exit` 0, on one line.
function _M.json_result(ctx, t)
  local out = util.shallow_copy(t)
  out.exit = _M.EXIT.OK
  ctx.out(util.json_encode(out) .. "\n")
  return _M.EXIT.OK
end

-- syntax: code = output.exit_for_report(report)
function _M.exit_for_report(r)
  if r.ok then return EXIT.OK end
  if r.timed_out or not r.done then return EXIT.TIMEOUT end
  return EXIT.FAILED
end

-- syntax: text = output.facts(report, code [, what])
-- A report in one line, for stderr when stdout could not take it:
-- "backfill DAG: 8 SUCCESS, 2 FAILED of 10 instances (exit 1)".
function _M.facts(r, code, what)
  local parts = {}
  for _, k in ipairs(workflow.STATUS_ORDER) do
    local n = r.counts and r.counts[k]
    if n and n > 0 then parts[#parts + 1] = tostring(n) .. " " .. k end
  end
  return (what or "backfill") .. " " .. tostring(r.dagName) .. ": "
    .. (#parts > 0 and tbl_concat(parts, ", ") or "no instance") .. " of " .. tostring(r.total)
    .. " instances (exit " .. tostring(code) .. ")"
end

-- syntax: output.print_report(ctx, o, report [, what])
-- The summary line (what: "backfill" unless given), the calendar unless
-- --no-calendar, the failure report, and what to do next.
function _M.print_report(ctx, o, r, what)
  r = redact_report(ctx, r)
  -- the server's strings in it, printed as text (not the instances: the
  -- calendar draws their statuses, it prints none of their text)
  r = util.shallow_copy(r)
  r.dagName, r.failures, r.repaired_by = ctx.text(r.dagName), ctx.text(r.failures), ctx.text(r.repaired_by)
  local color = use_color(o, ctx)
  local out = ctx.out
  out((what or "backfill") .. " " .. r.dagName .. ": " .. workflow.summary(r)
    .. "  (" .. format_duration(r.elapsed or 0) .. ", " .. tostring(r.polls or 0) .. " polls, "
    .. tostring(r.requests or 0) .. " requests)\n")
  local drawn = not o.flags["no-calendar"] and #(r.instances or {}) > 0
  if drawn then out("\n" .. calendar.render(r.instances, { color = color }) .. "\n") end
  -- failures by cause; --verbose: each failed instance with its whole stack
  local groups = insight.failures(r.failures)
  local text = o.flags.verbose and render_text.failures(r.failures, { verbose = true, color = color })
    or render_text.groups(groups, { dag = r.dagName, color = color,
      width = ctx.isatty(1) and progress.columns(ctx, 1) - 1 or nil })   -- wrapped on a terminal
  if text ~= "" then out((drawn and "" or "\n") .. text .. "\n") end
  local timing = render_text.timing_line(insight.overall_timing(r, r.details))
  if timing then out(timing .. "\n") end
  if r.ok then
    out("all " .. r.total .. " instances succeeded\n")
  elseif r.timed_out then
    out("timed out: the backfill keeps running on the server; resume the watch with `accelerate wait "
      .. r.dagName .. "`\n")
  elseif not r.done then
    out("not finished: watch it with `accelerate wait " .. r.dagName .. "`\n")
  elseif r.repaired_by then
    out(tostring(#r.failures) .. " instance(s) failed; repaired by " .. tbl_concat(r.repaired_by, ", ")
      .. ": watch with `accelerate wait " .. r.repaired_by[#r.repaired_by] .. "`\n")
  else
    out(tostring(#r.failures) .. " instance(s) failed (" .. #groups .. (#groups == 1 and " cause" or " causes")
      .. "); re-run only the failed dates with `accelerate repair " .. r.dagName .. "`\n")
  end
  if r.journal_error then ctx.err("accelerate: warning: " .. r.journal_error .. "\n") end
end

-- syntax: code = output.report(ctx, o, report)
-- The report as text, or with --json as one JSON object that also carries
-- the exit code, the failure groups and the timing (insight); returns that
-- exit code.  report.details ({[id] = detail}, when every detail was
-- fetched) feeds the timing, and is not printed.
function _M.report(ctx, o, r)
  local code = _M.exit_for_report(r)
  ctx.facts = _M.facts(r, code)
  if o.flags.json then
    local out = util.shallow_copy(redact_report(ctx, r))
    out.groups = insight.failures(out.failures)
    out.timing = insight.timing(insight.each_entry(out, r.details))
    out.instances = util.array(workflow.instance_list(out))   -- a compact store too
    out.details = nil
    out.exit = code
    ctx.out(json_encode(out) .. "\n")
  else
    _M.print_report(ctx, o, r)
  end
  return code
end

return _M
