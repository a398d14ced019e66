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
  --retries N             retries of GET calls on network errors, 5xx and 429 (default 2)

Output:
  --json                  machine-readable JSON on stdout (progress still goes to stderr):
                          one object with an "exit" field, failures included as
                          {"error": {kind, message, status, code, trace_id, detail}, "exit": N}
                          (lots --json and plans --json: an array)
  --no-color              no colour (also when NO_COLOR is set or stdout is not a terminal)
  --verbose, -v           full error stacks and SQL in failure reports
  --quiet, -q             no progress output
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
  130 interrupted (Ctrl-C): the backfill keeps running; the message says how to resume
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
  lots       show the split a create will make, without calling anything
  plans      list the tenant's acceleration plans, with their type and granularity
  plan       show one plan: type, granularity, table, metrics, dimensions, refresh

`accelerate <command> --help` describes each command.

]] .. CONNECTION_HELP .. "\n" .. EXIT_HELP

local WATCH_OPTS = [[
  --interval S            first polling interval (default 2); backs off while nothing changes
  --max-interval S        longest polling interval (default 30)
  --timeout S             stop watching after S seconds (exit 3; the backfill keeps running)
]]

local PLAN_OPTS = [[
  --plan-id ID            the acceleration plan (or --plan-name NAME)
  --start YYYY-MM-DD      first partition date
  --end YYYY-MM-DD        last partition date (inclusive)
  --lot N                 days per instance (dateIntervalOfLot, default 1)
]]

HELP.backfill = [[
usage: accelerate backfill --plan-id ID --start DATE --end DATE [--lot N] [--journal FILE] [options]

Creates a backfill, shows its progress until every instance has finished,
then draws the calendar and the failure report.

]] .. PLAN_OPTS .. [[
  --journal FILE          record the dagName and every state change in FILE (mode 0600);
                          running the same command again resumes the watch instead of
                          creating a second backfill
  --force-create          create even though the journal shows a create whose answer was lost
  --no-calendar           do not draw the calendar
]] .. WATCH_OPTS .. "\n" .. EXIT_HELP

HELP.create = [[
usage: accelerate create --plan-id ID --start DATE --end DATE [--lot N] [--journal FILE]

Creates a backfill and prints its dagName.  Never retried automatically: a
duplicate backfill costs real compute.

]] .. PLAN_OPTS .. [[
  --journal FILE          record intent and dagName (then `accelerate wait --journal FILE`)
  --force-create          create even though the journal shows a create whose answer was lost

Exit codes: 0 created, 2 usage or config error, 4 API or network error,
5 created but the dagName could not be written (it is printed on stderr).
]]

HELP.wait = [[
usage: accelerate wait DAG [options]
       accelerate wait --journal FILE [options]

Watches a backfill until every instance is SUCCESS or FAILED, with a live
progress line on a terminal (one line per change otherwise), then reports.
With --journal and no DAG, resumes the watch recorded in FILE.

  --journal FILE          resume from / record into FILE
  --no-calendar           do not draw the calendar
]] .. WATCH_OPTS .. "\n" .. EXIT_HELP

HELP.report = [[
usage: accelerate report DAG [--verbose]

Draws a calendar of the backfill's partitions (one cell per day, coloured by
status; letters S F R W when colour is off) and the failure report: for each
failed instance its table, partitions, retries, timings and the first lines
of its error (--verbose prints the full stack and SQL).

Exit codes: 0 all SUCCESS, 1 some FAILED, 3 not finished yet, 2 usage, 4 API error,
5 output could not be written.
]]

HELP.repair = [[
usage: accelerate repair DAG [--wait] [--dry-run] [--journal FILE] [options]

Creates new backfills covering only the failed date ranges of DAG: adjacent
and overlapping failed partitions (of any table) merge into as few ranges as
possible, each created with the original lot size and plan.  The plan and
lot size come from the failed instances; override with:

  --plan-id ID | --plan-name NAME
  --lot N
  --dry-run               print the ranges, create nothing
  --journal FILE          record each repair create (and which DAG it repairs); rerunning
                          resumes instead of creating twice
  --force-create          create even though the journal shows a create whose answer was lost
  --force                 repair even though DAG still has unfinished instances
  --wait                  watch the repairs to the end (exit code as for wait)
]] .. WATCH_OPTS .. "\n" .. EXIT_HELP

HELP.instances = [[
usage: accelerate instances DAG [--page N] [--page-size N] [--all]

Lists a backfill's instances: id, status, table, partitions, times.

  --page N                page number (default 1)
  --page-size N           instances per page (default 20)
  --all                   every page

Exit codes: 0 listed, 2 usage or config error, 4 API or network error, 5 output
could not be written.
]]

HELP.detail = [[
usage: accelerate detail ID

Shows one instance's detail: status, table, partitions, retries, status
times, server, the full error message and the SQL.

Exit codes: 0 shown, 2 usage or config error, 4 API or network error, 5 output
could not be written.
]]

HELP.lots = [[
usage: accelerate lots START END [N]

Prints the lots a create over START..END with N days per lot (default 1)
will make: inclusive dates, the last lot shorter.  Calls nothing.

Exit codes: 0, 2 for dates that do not exist (or that a create would refuse) or
START after END, 5 output could not be written.
]]

HELP.plans = [[
usage: accelerate plans [--type RESULT|ACCELERATE|EXTERNAL] [--no-details] [--json]

Lists every acceleration plan of the tenant, page after page: NAME, DISPLAY
NAME, TYPE (materializeType), GRANULARITY (metricTimeGranularity) and ID.
The list does not carry the granularity: it is read from each plan's detail,
one call per plan, for the first 50 plans; the others (and every plan with
--no-details) show "-".

  --type TYPE             only the plans of this materializeType
  --no-details            one call per page of plans, no detail calls; no granularity
  --json                  an array of {id, name, displayName, materializeType,
                          metricTimeGranularity}

A plan's detail that cannot be read leaves its granularity "-" with a
warning on stderr; the listing still exits 0.

Exit codes: 0 listed, 2 usage or config error, 4 API or network error, 5 output
could not be written.

Examples:
  accelerate plans
  accelerate plans --type EXTERNAL
  accelerate plans --no-details --json
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

-- syntax: text = help.page(topic)
-- The page of a command, or the main page for nil or an unknown topic.
function _M.page(topic)
  return HELP[topic] or HELP.main
end

_M.HELP = HELP

return _M
