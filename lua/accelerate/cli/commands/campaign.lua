-- `accelerate campaign preview|run|status`: many backfills as one job
-- (accelerate.campaign, docs/campaign.md).
--   preview SPEC.json        the dry run: the tasks in order, their instances and the total;
--                            only plan lookups ("plan", its older name, is an alias)
--   run SPEC.json --journal J   the campaign, resumable; progress on stderr, then the plan x month
--                            grid and the failures by cause
--   status J                 what the journal says; nothing sent
-- Exit codes as for backfill: 0 every task SUCCESS, 1 some FAILED (or the
-- failure budget stopped it), 2 usage, 3 timed out or not finished, 4 API,
-- 130 interrupted; --json says which stop, if any.

local util = require "accelerate.util"
local campaign = require "accelerate.campaign"
local summary = require "accelerate.campaign.summary"
local insight = require "accelerate.insight"
local render_text = require "accelerate.render.text"
local declare = require "accelerate.cli.declare"
local usage = require "accelerate.cli.usage"
local config = require "accelerate.cli.config"
local output = require "accelerate.cli.output"
local view = require "accelerate.cli.campaign_view"
local plan_lookup = require "accelerate.cli.plan_lookup"
local metrics_file = require "accelerate.cli.metrics_file"

local type = type
local ipairs = ipairs
local error = error
local assert = assert
local tostring = tostring
local io_open = io.open
local str_find = string.find
local str_gsub = string.gsub
local raise = usage.raise
local unpack_list = table.unpack or unpack   -- luacheck: ignore
local json_encode = util.json_encode
local EXIT = output.EXIT

local _M = { name = "campaign", order = 11,
  summary = "many backfills as one resumable job: preview, run, status (docs/campaign.md)",
  usage_hint = "campaign takes preview SPEC, run SPEC --journal FILE or status FILE" }

-- The spec's format, on the page an installed user has (make install
-- leaves docs/ out); docs/campaign.md says more.  Each field of
-- definition.known_fields() is named (spec/cli_campaign_spec.lua checks).
local SPEC_FORMAT = [[
The spec (SPEC.json): a JSON object; an unknown field is refused.
What to backfill, one of the two:
  backfills         a list of {plan | planId | planName, startTime,
                    endTime, dateIntervalOfLot}: plan is a name, display
                    name or id; a field left out is the spec's own
  plans             a selection {materializeType, names} (either or
                    both): the named plans, or every plan of that type
                    (RESULT, ACCELERATE, EXTERNAL); the spec's range
  startTime, endTime  YYYY-MM-DD, both included (at most 100 years)
  dateIntervalOfLot days per lot (default 1)
How to run it:
  chunk             "month" or N days: cut each range into tasks
                    (default none: a task per range)
  order             "oldest" or "newest" dates first (default "oldest")
  max_in_flight     unfinished backfills at once (default 1)
  failure_budget    no new task once more instances FAILED (default
                    none; 0 stops at the first failure)
  repair_rounds     rounds of repairs of transient failures (default 0)
  transient         Lua patterns matched against the lower-cased stack,
                    instead of the rule table (default the rule table)
  force             true: create the backfills of EXTERNAL plans
                    (default false)
  notify            {url, timeout, retries, queue}: a JSON POST to url
                    at each create and settle of a task and at the end;
                    best effort (default timeout 5 s, retries 2)
  name, description free text
Example (six tasks: January of both plans, then February, then March):
  {
    "name": "Q1 2025 result plans",
    "plans": { "materializeType": "RESULT",
               "names": ["sales_daily", "gmv_monthly"] },
    "startTime": "2025-01-01", "endTime": "2025-03-31",
    "chunk": "month", "max_in_flight": 2,
    "failure_budget": 50, "repair_rounds": 1
  }]]

function _M.declare(cmd)
  cmd:usage("usage: accelerate campaign preview SPEC.json [--json]\n"
    .. "       accelerate campaign run SPEC.json --journal FILE [options]\n"
    .. "       accelerate campaign status FILE [--json]")
  cmd:description("Many backfills over many plans and dates as one job.  SPEC.json (format\n"
    .. "below) lists backfills, or selects plans by type and names over\n"
    .. "one range; each range is cut into tasks (chunk: \"month\" or N days), created\n"
    .. "oldest or newest dates first, never more than max_in_flight unfinished at\n"
    .. "once.  Failures judged transient are repaired automatically (repair_rounds);\n"
    .. "once more than failure_budget instances have FAILED, no new task is created.\n"
    .. "Every task goes through the checks backfill makes: an EXTERNAL plan is refused\n"
    .. "(exit 2) unless the spec says \"force\": true, and tasks that cut their plan's\n"
    .. "weeks or months are warned about (stderr; \"warnings\" in --json).")
  -- "plan" is the API's acceleration plan: the dry run was named plan
  -- before, and that name stays an alias
  local preview = declare.subcommand(cmd, "preview", "the dry run: the tasks in order and their instances (lots; each\n"
    .. "plan's tables multiply them); nothing sent but plan lookups.  A\n"
    .. "misspelt plan is refused with the names near it (exit 2).\n"
    .. "`campaign plan`, its older name, is the same", { "plan" })
  declare.argument(preview, "SPEC.json", "the campaign spec", { complete = "file" })
  local run = declare.subcommand(cmd, "run", "the campaign: a line per task event and an overall line (counts,\n"
    .. "ETA) on stderr; at the end a plan x month grid and the failures\n"
    .. "by cause.  Ctrl-C or SIGTERM: no more creates, the journal written,\n"
    .. "exit 130 with the command that resumes; created backfills go on")
  declare.argument(run, "SPEC.json", "the campaign spec", { complete = "file" })
  local status = declare.subcommand(cmd, "status", "what the journal says, damaged lines (FILE:LINE) too; nothing sent")
  declare.argument(status, "FILE", "the campaign's journal", { complete = "file" })
  -- the options of run, listed on this page
  local opts = {
    declare.value(run, "--journal", "FILE", "required by run: the campaign's memory.  The same command again\n"
      .. "resumes: nothing created twice, running backfills watched again;\n"
      .. "a journal made for another spec is refused.  A damaged line (not\n"
      .. "the torn last one) holds every task not known created", { complete = "file" }),
    declare.value(run, "--adopt", "DAG", "the journal shows a create whose answer was lost (or a damaged\n"
      .. "line that could hide one), and DAG is the backfill it made (found\n"
      .. "in AnyMetrics): take it and go on.  DAG is asked of the server\n"
      .. "first: one it does not know is refused (exit 2)"),
    declare.flag(run, "--force-create", "the same, but no backfill was made: create it again"),
    declare.value(run, "--failure-budget", "N", "this run's failure budget instead of the spec's.  A run after a\n"
      .. "failure-budget stop first repairs the instances left FAILED, once\n"
      .. "each (their cause is taken as fixed); those still failing count", { number = { 0, true } }),
    declare.flag(run, "--no-calendar", "no plan x month grid (also for status)"),
    declare.value(run, "--metrics", "FILE", "Prometheus metrics of the run, for node_exporter's textfile\n"
      .. "collector: FILE rewritten whole (FILE.tmp, then renamed; mode\n"
      .. "0644) at each poll and at the end.  The campaign label is the\n"
      .. "journal's name without its extension.  A folder that cannot be\n"
      .. "written to is refused before anything is sent (exit 2); a write\n"
      .. "that fails later is a warning, once, and the campaign goes on", { complete = "file" }),
  }
  local watch = { declare.watch_options(run) }
  for _, e in ipairs(watch) do opts[#opts + 1] = e end
  declare.flag(status, "--no-calendar", "no plan x month grid")
  run:usage("usage: accelerate campaign run SPEC.json --journal FILE [options]")
  run:epilog("(--timeout bounds the whole run: exit 3, the backfills keep running)")
  preview:usage("usage: accelerate campaign preview SPEC.json [--json]")
  status:usage("usage: accelerate campaign status FILE [--json] [--no-calendar]")
  -- campaign's own page shows run's options (the parser reads them on run)
  cmd:group("Options of run (`accelerate campaign run --help`)", unpack_list(opts))
  cmd:epilog("(--timeout bounds the whole run: exit 3, the backfills keep running)\n\n"
    .. SPEC_FORMAT .. "\n\n"
    .. "Exit codes as for backfill: 0 every task SUCCESS, 1 some FAILED (or the failure budget\n"
    .. "stopped the campaign), 2 usage, 3 timed out, 4 API or network error (a create whose\n"
    .. "answer was lost included), 130 interrupted.  --json: one object with ok, stopped\n"
    .. "(failure_budget, timeout, interrupted or null), tasks, counts, groups and exit.\n\n"
    .. declare.examples(
    "accelerate campaign preview q1.json",
    "accelerate campaign run q1.json --journal q1.journal --interval 5",
    "accelerate campaign status q1.journal --json"))
end

local function shell_word(s)
  if str_find(s, "^[%w%./_%-=:@,+]+$") then return s end
  return "'" .. str_gsub(s, "'", "'\\''") .. "'"
end

-- path from the root, so that `campaign status`, run from any folder,
-- advises a command that finds the spec (the shell's PWD: the command
-- never changes folder).
local function absolute(ctx, path)
  if str_find(path, "^/") then return path end
  local pwd = ctx.getenv("PWD")
  if type(pwd) ~= "string" or not str_find(pwd, "^/") then return path end
  return (str_gsub(pwd, "/$", "")) .. "/" .. (str_gsub(path, "^%./", ""))
end

-- The spec file, decoded and checked; usage errors for what is wrong with it.
local function read_spec(path)
  local f, err = io_open(path, "rb")
  if not f then raise("cannot read the campaign spec: " .. tostring(err), "campaign") end
  local text = f:read("*a") or ""
  f:close()
  local spec, jerr = util.json_decode(text)
  if type(spec) ~= "table" then
    raise("the campaign spec " .. path .. " is not a JSON object" .. (jerr and (": " .. tostring(jerr)) or ""),
      "campaign")
  end
  local s, serr = campaign.check(spec)
  if not s then raise(path .. ": " .. serr.message, "campaign") end
  return spec, s
end

local function use_color(o, ctx)
  if o.flags["no-color"] then return false end
  local nc = ctx.getenv("NO_COLOR")
  if nc ~= nil and nc ~= "" then return false end
  return o.flags.color or ctx.isatty(1)
end

-- Every failure after repairs, their stacks masked.
local function failures_of(ctx, r) return summary.failures(r, ctx.redact) end

local function exit_for(r)
  if r.stopped == "interrupted" then return EXIT.INTERRUPTED end
  if r.stopped == "timeout" then return EXIT.TIMEOUT end
  if r.ok then return EXIT.OK end
  if (r.states.failed or 0) > 0 or r.stopped == "failure_budget" then return EXIT.FAILED end
  return EXIT.TIMEOUT
end

-- "N task(s) keep running on the server; " for the tasks with a backfill
-- created and not yet settled (r.on_server), nothing when there is none.
local function on_server(r)
  local n = r.on_server or 0
  if n == 0 then return "" end
  return n .. " task(s) keep running on the server; "
end

-- The last line: what happened, and what to do next.
local function verdict(r, resume)
  local n, s = #r.tasks, r.states
  if r.ok then return "all " .. n .. " tasks succeeded (" .. util.number_string(r.counts.SUCCESS) .. " instances)" end
  if r.stopped == "interrupted" or r.stopped == "timeout" then
    return (r.stopped == "timeout" and "timed out" or "interrupted") .. ": " .. on_server(r)
      .. "resume with `" .. resume .. "`"
  end
  local line = tostring(s.failed or 0) .. " of " .. n .. " tasks failed (" .. util.number_string(r.failed)
    .. " instance(s) FAILED after repairs)"
  if r.stopped == "failure_budget" then
    -- both ways work as printed: the resume repairs what is left FAILED
    -- once each (campaign.run after a failure_budget stop), and a budget
    -- of r.failed lets those fail again without stopping it
    line = line .. "; the failure budget stopped the campaign with " .. tostring(s.pending or 0)
      .. " task(s) not created: fix the cause, then `" .. resume .. "` repairs the " .. tostring(r.failed)
      .. " FAILED instance(s) once each and goes on; if they fail again, `" .. resume .. " --failure-budget "
      .. tostring(r.failed) .. "` goes on all the same"
  end
  return line
end

-- The end of run or status, as text: summary, grid, failures by cause.
local function print_text(ctx, o, r, what, resume, rules)
  local color = use_color(o, ctx)
  ctx.out(what .. ": " .. #r.tasks .. " tasks: " .. view.counts(r.counts, r.total)
    .. (r.elapsed and ("  (" .. util.format_duration(r.elapsed) .. ", " .. tostring(r.requests or 0)
      .. " requests)") or "") .. "\n")
  -- plan names the server gave, printed as text (ctx.text before the grid adds its colours)
  if not o.flags["no-calendar"] then ctx.out("\n" .. view.grid(ctx.text(r.tasks), { color = color })) end
  local failures = ctx.text(failures_of(ctx, r))   -- a server's strings, printed as text
  local text = o.flags.verbose and render_text.failures(failures, { verbose = true, color = color })
    or render_text.groups(insight.failures(failures, { rules = rules }), { color = color })
  if text ~= "" then ctx.out("\n" .. text) end
  ctx.out(verdict(r, resume) .. "\n")
end

local function print_json(ctx, r, code, rules)
  local out = summary.object(r, { redact = ctx.redact, rules = rules })
  out.exit = code
  ctx.out(json_encode(out) .. "\n")
  ctx.json_done = true
end

-- Warnings on stderr, one line each (plan names the server gave, stripped).
local warn = plan_lookup.warn

local function preview(o, ctx, path)
  local spec = read_spec(path)
  local client = config.client(o, ctx)
  local tasks, err = campaign.preview(client, spec)
  if not tasks then error(err, 0) end
  local warnings = assert(campaign.warnings(tasks, spec))
  local text, total = view.plan(ctx.text(tasks))   -- plan names the server gave, printed as text
  if o.flags.json then
    ctx.out(json_encode { tasks = tasks, total = { tasks = #tasks, instances = total }, warnings = warnings,
      exit = EXIT.OK } .. "\n")
  else
    warn(ctx, warnings)
    ctx.out(text)
  end
  return EXIT.OK
end

local function run(o, ctx, path)
  local spec, s = read_spec(path)
  local jpath = o.values.journal
  if not jpath then raise("campaign run needs --journal FILE: the campaign's memory, for resuming it", "campaign") end
  local resume = "accelerate campaign run " .. shell_word(path) .. " --journal " .. shell_word(jpath)
  ctx.resume = resume
  local client = config.client(o, ctx)
  -- --metrics FILE: the client counted, the file written at each poll and at the end
  local m = o.values.metrics and metrics_file.hooks(o.values.metrics, ctx, client, {
    id = metrics_file.campaign_label(jpath), name = type(spec.name) == "string" and spec.name or nil })
  local v = view.progress(ctx, o)
  local on_progress = v.progress
  if m then
    client = m.client
    on_progress = function(r)
      v.progress(r)
      m.progress(r)
    end
  end
  local report, err, partial = campaign.run(client, spec, {
    journal = jpath, interval = o.values.interval, max_interval = o.values["max-interval"],
    timeout = o.values.timeout, on_progress = on_progress,
    -- the checks' warnings at once (stderr), in the report's warnings for --json
    on_event = function(ev)
      if ev.event ~= "warning" then return v.event(ev) end
      if not o.flags.json then warn(ctx, { ev.message }) end
    end,
    sleep = ctx.sleep, clock = ctx.clock, defer_signals = true, spec_path = absolute(ctx, path),
    force_create = o.flags["force-create"], adopt = o.values.adopt,
    failure_budget = o.values["failure-budget"],
  })
  v.finish()
  if m then m.finish(report or partial, err) end
  if not report then
    if partial and partial.tasks and #partial.tasks > 0 and not o.flags.json then
      ctx.err("accelerate: the campaign stopped on an error; " .. on_server(partial)
        .. "once fixed, `" .. resume .. "` resumes it\n")
    end
    error(err, 0)
  end
  local code = exit_for(report)
  ctx.facts = "campaign " .. jpath .. ": " .. view.counts(report.counts, report.total) .. " (exit " .. code .. ")"
  if o.flags.json then print_json(ctx, report, code, s.rules)
  else print_text(ctx, o, report, "campaign", resume, s.rules) end
  if report.journal_error then ctx.err("accelerate: warning: " .. report.journal_error .. "\n") end
  if report.stopped == "interrupted" then
    ctx.err("\naccelerate: interrupted; " .. ((report.on_server or 0) > 0
      and "the created backfills keep running on the server: " or "") .. "resume with `" .. resume .. "`\n")
  end
  return code
end

local function status(o, ctx, path)
  local r, err = campaign.status(path)
  if not r then error(err, 0) end
  local code = r.ok and EXIT.OK or ((r.states.failed or 0) > 0 and EXIT.FAILED or EXIT.TIMEOUT)
  if o.flags.json then
    print_json(ctx, r, code)
    return code
  end
  -- the spec the journal's last run was given (SPEC for an older journal)
  print_text(ctx, o, r, "campaign " .. path, "accelerate campaign run " .. (r.spec and shell_word(r.spec) or "SPEC")
    .. " --journal " .. shell_word(path))
  if r.stopped then ctx.out("last run stopped: " .. r.stopped .. "\n") end
  if r.journal_error then ctx.out(r.journal_error .. "\n") end
  for _, u in ipairs(r.unresolved) do
    ctx.out("task " .. tostring(u.task) .. ": " .. (u.damaged and "a create a damaged line could hide ("
      or "a create whose answer was lost (") .. tostring(u.params.startTime)
      .. ".." .. tostring(u.params.endTime) .. "); the next run explains what to do\n")
  end
  return code
end

local SUB = { preview = preview, run = run, status = status }

-- o.args: the subcommand, then its SPEC.json or FILE.
function _M.run(o, ctx)
  return SUB[o.args[1]](o, ctx, o.args[2])
end

return _M
