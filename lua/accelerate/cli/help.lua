-- The help text of the `accelerate` command: `accelerate --help`, and one
-- page per command (`accelerate <command> --help`, `accelerate help <command>`).
-- Text only; cli.lua decides when to print which page.

local _M = {}

local CONNECTION_HELP = [[
Connection (flags, then environment, then the config file):
  --url URL               ACCELERATE_URL          url=
  --tenant-id ID          ACCELERATE_TENANT_ID    tenant_id=
  --auth-type TYPE        ACCELERATE_AUTH_TYPE    auth_type=   (UID, TOKEN, ACCOUNT, APIKEY)
  --auth-value-file FILE  ACCELERATE_AUTH_VALUE   auth_value_file= or auth_value=
                          (or ACCELERATE_AUTH_VALUE_FILE)
  --auth-value VALUE      works, but shows in the process list: a warning is printed
  --config FILE           config file; default $ACCELERATE_CONFIG, else
                          $XDG_CONFIG_HOME/accelerate/config, else ~/.config/accelerate/config
                          (key = value lines, # comments on lines of their own; unknown
                          keys and bad values are refused; ~/ is the home folder)
  --request-timeout S     seconds per HTTP call (default 30)
  --retries N             retries of reads (never of a create) on network errors, 5xx, 429 (default 2)

Output:
  --json                  machine-readable JSON on stdout (progress still goes to stderr):
                          one object with an "exit" field, failures included as
                          {"error": {kind, message, status, code, trace_id, detail}, "exit": N}
                          (lots --json and plans --json: an array)
  --no-color              no colour (also when NO_COLOR is set or stdout is not a terminal)
  --verbose, -v           full error stacks and SQL in failure reports
  --quiet, -q             no progress output

Other:
  --help, -h              this page; `accelerate <command> --help` (or `accelerate help
                          <command>`) for a command's
  --version               print the version and exit
]]

local EXIT_HELP = [[
Exit codes:
  0  every instance SUCCESS (or the command did what it was asked)
  1  some instances FAILED
  2  usage or configuration error
  3  timed out before every instance finished (report: not finished yet)
  4  API or network error (including a create whose answer was lost)
  5  output could not be written (stdout closed, disk full): the dagName or the
     outcome is printed on stderr instead
  130  interrupted (Ctrl-C): the backfill keeps running; the message says how to resume
]]

local HELP = {}

HELP.main = [[
usage: accelerate [options] <command> [arguments]

Backfill AnyMetrics acceleration plans: create, watch, inspect, repair.

Commands:
  backfill   create a backfill and watch it to the end, then report (resumable with --journal)
  create     create a backfill and print its dagName
  wait       watch a backfill until every instance has finished
  report     draw a backfill's calendar and explain its failures
  repair     re-run only the failed date ranges of a backfill
  instances  list a backfill's instances
  detail     show one instance's detail (error stack, SQL)
  lots       show the split a create will make (and, with --plan, check the range)
  plans      list the tenant's acceleration plans, with their type and granularity
  plan       show one plan: type, granularity, table, metrics, dimensions, refresh
  campaign   many backfills as one resumable job: plan, run, status (docs/campaign.md)

`accelerate <command> --help` (or `accelerate help <command>`) describes each command;
`man accelerate` has them all.

]] .. CONNECTION_HELP .. "\n" .. EXIT_HELP

local WATCH_OPTS = [[
  --interval S            first polling interval (default 2); backs off while nothing changes
  --max-interval S        longest polling interval (default 30)
  --timeout S             stop watching after S seconds (exit 3; the backfill keeps running)
]]

local PLAN_OPTS = [[
  --plan NAME|ID          the acceleration plan by name, display name or id, looked up before
                          anything is created: a name that names no plan is refused with the
                          names near it (exit 2); the plan's id is what is created and journaled
  --plan-id ID            the plan's id, sent as given, not looked up (or --plan-name NAME)
  --start YYYY-MM-DD      first partition date
  --end YYYY-MM-DD        last partition date (inclusive); at most 100 years after --start
  --lot N                 days per instance (dateIntervalOfLot, default 1)
]]

-- What --plan checks before a create.
local PLAN_CHECKS = [[
With --plan the plan's granularity is checked: for a WEEK (ISO weeks, Monday to
Sunday), MONTH, QUARTER or YEAR plan, a range whose start or end cuts a period gets
a warning that names the aligned range.  An EXTERNAL plan's data is scheduled by its
owner's scheduler, not by AnyMetrics: it is refused (exit 2) unless --force.
]]

HELP.backfill = [[
usage: accelerate backfill --plan NAME|ID --start DATE --end DATE [--lot N] [--journal FILE] [options]
       accelerate backfill ... --dry-run

Creates a backfill, shows its progress until every instance has finished,
then draws the calendar and the failure report.  --dry-run shows the plan
and the lots a create would make, and creates nothing (exit 0).

]] .. PLAN_OPTS .. [[
  --dry-run               print the plan (with --plan), the range and its lots; send no create,
                          write no journal
  --force                 create even though the plan is EXTERNAL
  --journal FILE          record the dagName and every state change in FILE (mode 0600);
                          running the same command again resumes the watch instead of
                          creating a second backfill
  --force-create          create even though the journal shows a create whose answer was lost
  --no-calendar           do not draw the calendar
]] .. WATCH_OPTS .. "\n" .. PLAN_CHECKS .. "\n" .. EXIT_HELP .. [[

Examples:
  accelerate backfill --plan sales_daily --start 2025-01-01 --end 2025-01-31 --journal jan.journal
  accelerate backfill --plan gmv_monthly --start 2025-01-01 --end 2025-03-31 --dry-run
  accelerate backfill --plan-id 5468b0c0462e40e08e44108d8164c7c3 --start 2025-01-01 --end 2025-01-07 --lot 7
]]

HELP.create = [[
usage: accelerate create --plan NAME|ID --start DATE --end DATE [--lot N] [--journal FILE]

Creates a backfill and prints its dagName.  Never retried automatically: a
duplicate backfill costs real compute.

]] .. PLAN_OPTS .. [[
  --journal FILE          record intent and dagName (then `accelerate wait --journal FILE`)
  --force-create          create even though the journal shows a create whose answer was lost
  --force                 create even though the plan is EXTERNAL

]] .. PLAN_CHECKS .. [[

Exit codes: 0 created, 2 usage or config error, 4 API or network error,
5 created but the dagName could not be written (it is printed on stderr).

Examples:
  accelerate create --plan sales_daily --start 2025-01-01 --end 2025-01-14 --lot 7
  accelerate create --plan ledger_external --start 2025-01-01 --end 2025-01-31 --force --json
]]

HELP.wait = [[
usage: accelerate wait DAG [options]
       accelerate wait --journal FILE [options]

Watches a backfill until every instance is SUCCESS or FAILED, with a live
progress line on a terminal (one line per change otherwise), then reports.
With --journal and no DAG, resumes the watch recorded in FILE.

  --journal FILE          resume from / record into FILE
  --no-calendar           do not draw the calendar
]] .. WATCH_OPTS .. "\n" .. EXIT_HELP .. [[

Examples:
  accelerate wait fba27ddf-1aac-451b-ba5f-3d8af4660999 --timeout 3600
  accelerate wait --journal jan.journal
  accelerate wait fba27ddf-1aac-451b-ba5f-3d8af4660999 --json --quiet
]]

HELP.report = [[
usage: accelerate report DAG [--html FILE] [--verbose]

Draws a calendar of the backfill's partitions (one cell per day, coloured by
status; letters S F R W when colour is off) and the failures grouped by
cause: for each cause its count, root cause, tables, dates, whether it is
transient and the repair command (--verbose: every failed instance with its
full stack and SQL instead), then a timing line (queue and run p50/p95,
throughput).

  --html FILE             also write one self-contained HTML page to FILE:
                          calendar heatmap, timeline, failure groups with a
                          sample stack and SQL, timing per table and resource
                          group (fetches every instance's detail for it);
                          FILE is opened before anything is fetched, and
                          one that cannot be written is exit 5

Exit codes: 0 all SUCCESS, 1 some FAILED, 3 not finished yet, 2 usage, 4 API error,
5 output could not be written.

Examples:
  accelerate report fba27ddf-1aac-451b-ba5f-3d8af4660999
  accelerate report fba27ddf-1aac-451b-ba5f-3d8af4660999 --verbose --no-color
  accelerate report fba27ddf-1aac-451b-ba5f-3d8af4660999 --html report.html
]]

HELP.repair = [[
usage: accelerate repair DAG [--wait] [--dry-run] [--journal FILE] [--again] [options]

Creates new backfills covering only the failed date ranges of DAG: adjacent
and overlapping failed partitions (of any table) merge into as few ranges as
possible, each created with the original lot size and plan.  The plan and
lot size come from the failed instances; override with:

  --plan NAME|ID          looked up before anything is created (as for backfill)
  --plan-id ID | --plan-name NAME   sent as given
  --lot N
  --dry-run               print the ranges, create nothing
  --journal FILE          record each repair create (and which DAG it repairs); rerunning
                          resumes instead of creating twice.  Without it the repair is
                          recorded under $XDG_STATE_HOME/accelerate/repairs/ (else
                          ~/.local/state/...), one record per API url, tenant and DAG, so
                          that rerunning never creates it twice; a record whose repairs
                          the server does not know (a restarted simulator) is set aside
  --again                 create the repairs once more, though they were created before
  --force-create          create even though the journal shows a create whose answer was lost
  --force                 repair even though DAG still has unfinished instances, or though
                          the plan given with --plan is EXTERNAL
  --wait                  watch the repairs to the end (exit code as for wait)
]] .. WATCH_OPTS .. "\n" .. EXIT_HELP .. [[

Examples:
  accelerate repair fba27ddf-1aac-451b-ba5f-3d8af4660999 --dry-run
  accelerate repair fba27ddf-1aac-451b-ba5f-3d8af4660999 --wait
  accelerate repair fba27ddf-1aac-451b-ba5f-3d8af4660999 --lot 1 --journal repair.journal
]]

HELP.instances = [[
usage: accelerate instances DAG [--page N] [--page-size N] [--all] [--status STATUS]...
                                [--format table|json|csv]

Lists a backfill's instances: id, status, table, partitions, times.

  --page N                page number (default 1)
  --page-size N           instances per page (default 20)
  --all                   every page
  --status STATUS         only the instances of this status (WAITING, RUNNING, SUCCESS,
                          FAILED, or any other the server reports); repeat it, or give
                          FAILED,RUNNING, for several; pages through every instance
  --format FORMAT         table (default), json (the same as --json), or csv (a header line,
                          then id,status,mtGuid,startPartition,endPartition,startTime,endTime)

Exit codes: 0 listed, 2 usage or config error, 4 API or network error, 5 output
could not be written.

Examples:
  accelerate instances fba27ddf-1aac-451b-ba5f-3d8af4660999
  accelerate instances fba27ddf-1aac-451b-ba5f-3d8af4660999 --status FAILED --status RUNNING
  accelerate instances fba27ddf-1aac-451b-ba5f-3d8af4660999 --all --format csv >instances.csv
]]

HELP.detail = [[
usage: accelerate detail ID

Shows one instance's detail: status, table, partitions, retries, status
times, server, the full error message and the SQL.

Exit codes: 0 shown, 2 usage or config error, 4 API or network error, 5 output
could not be written.

Examples:
  accelerate detail 12876562
  accelerate detail 12876562 --json
]]

HELP.lots = [[
usage: accelerate lots START END [N] [--plan NAME|ID]

Prints the lots a create over START..END with N days per lot (default 1)
will make: inclusive dates, the last lot shorter.  Calls nothing, unless
--plan is given: the plan is looked up (connection settings needed), its
type and granularity printed above the lots, and a range that cuts its
weeks, months, quarters or years warned about on stderr, with the aligned
range; an EXTERNAL plan is warned about too.  --json stays the array of
lots (warnings on stderr).

Exit codes: 0, 2 for dates that do not exist (or that a create would refuse),
START after END, a range longer than 100 years, or a plan that --plan does
not name; 4 API or network error
(--plan), 5 output could not be written.

Examples:
  accelerate lots 2025-01-01 2025-03-31 7
  accelerate lots 2025-01-15 2025-02-10 --plan gmv_monthly
]]

HELP.plans = [[
usage: accelerate plans [--type RESULT|ACCELERATE|EXTERNAL] [--no-details] [--format table|json|csv]

Lists every acceleration plan of the tenant, page after page: NAME, DISPLAY
NAME, TYPE (materializeType), GRANULARITY (metricTimeGranularity) and ID.
The list does not carry the granularity: it is read from each plan's detail,
one call per plan, for the first 50 plans; the others (and every plan with
--no-details) show "-".

  --type TYPE             only the plans of this materializeType
  --no-details            one call per page of plans, no detail calls; no granularity
  --format FORMAT         table (default); json (the same as --json): an array of
                          {id, name, displayName, materializeType, metricTimeGranularity};
                          csv: a header line, then those fields in the order
                          name,displayName,materializeType,metricTimeGranularity,id

A plan's detail that cannot be read leaves its granularity "-" with a
warning on stderr; the listing still exits 0.

Exit codes: 0 listed, 2 usage or config error, 4 API or network error, 5 output
could not be written.

Examples:
  accelerate plans
  accelerate plans --no-details --json
  accelerate plans --format csv >plans.csv
]]

HELP.plan = [[
usage: accelerate plan NAME|ID [--json]

Shows one acceleration plan, found by id, then name, then display name: its
name, display name, id, type, granularity, table (catalog.schema.table),
metrics and dimensions (how many, and their names), time constraint,
dimension filters and refresh settings.  A name that names no plan is
refused with the names near it; one that several plans share, with their ids.

  --json                  the plan's detail as the API returns it, with "exit"

Exit codes: 0 shown, 2 usage or config error or no such plan, 4 API or network
error, 5 output could not be written.

Examples:
  accelerate plan sales_daily
  accelerate plan 9c41f2a7d6e84b0f8a1d3e5c7b9f0a12 --json
]]

HELP.campaign = [[
usage: accelerate campaign plan SPEC.json [--json]
       accelerate campaign run SPEC.json --journal FILE [--json] [options]
       accelerate campaign status FILE [--json]

Many backfills over many plans and dates as one job.  SPEC.json (format in
docs/campaign.md) lists backfills, or selects plans by type and names over
one range; each range is cut into tasks (chunk: "month" or N days), created
oldest or newest dates first, never more than max_in_flight unfinished at
once.  Failures judged transient are repaired automatically (repair_rounds);
once more than failure_budget instances have FAILED, no new task is created.
Every task goes through the checks backfill makes: an EXTERNAL plan is refused
(exit 2) unless the spec says "force": true, and tasks that cut their plan's
weeks or months are warned about (stderr; "warnings" in --json).

  plan                    the tasks in order and their instances (lots; each plan's tables
                          multiply them); nothing sent but plan lookups.  A misspelt plan is
                          refused with the names near it (exit 2)
  run                     the campaign: a line per task event and an overall line (counts,
                          ETA) on stderr; at the end a plan x month grid and the failures
                          by cause.  Ctrl-C or SIGTERM: no more creates, the journal written,
                          exit 130 with the command that resumes; created backfills go on
  status                  what the journal says, damaged lines (FILE:LINE) too; nothing sent
  --journal FILE          required by run: the campaign's memory.  The same command again
                          resumes: nothing created twice, running backfills watched again;
                          a journal made for another spec is refused.  A damaged line (not
                          the torn last one) holds every task not known created
  --adopt DAG             the journal shows a create whose answer was lost (or a damaged
                          line that could hide one), and DAG is the backfill it made (found
                          in AnyMetrics): take it and go on.  DAG is asked of the server
                          first: one it does not know is refused (exit 2)
  --force-create          the same, but no backfill was made: create it again
  --failure-budget N      this run's failure budget instead of the spec's.  A run after a
                          failure-budget stop first repairs the instances left FAILED, once
                          each (their cause is taken as fixed); those still failing count
  --no-calendar           no plan x month grid
]] .. WATCH_OPTS .. [[
  (--timeout bounds the whole run: exit 3, the backfills keep running)

Exit codes as for backfill: 0 every task SUCCESS, 1 some FAILED (or the failure budget
stopped the campaign), 2 usage, 3 timed out, 4 API or network error (a create whose
answer was lost included), 130 interrupted.  --json: one object with ok, stopped
(failure_budget, timeout, interrupted or null), tasks, counts, groups and exit.

Examples:
  accelerate campaign plan q1.json
  accelerate campaign run q1.json --journal q1.journal --interval 5
  accelerate campaign status q1.journal --json
]]

-- syntax: text = help.page(topic)
-- The page of a command, or the main page for nil or an unknown topic.
function _M.page(topic)
  return HELP[topic] or HELP.main
end

_M.HELP = HELP

return _M
