#!/usr/bin/env bash
# `make demo`: the demo tenant's acceleration plans, then a month of
# backfill against the simulator's demo scenario, with live progress, the
# calendar and the failure report, then a repair of the failed dates
# watched to success, then a short campaign (three plans, a quarter each, a
# task per month, two at a time, a transient failure repaired on its own) on
# a second, faster simulator, the same campaign POSTed to the OpenResty
# example's runner (accelerate.runner) with a reload of nginx in the middle,
# resumed from its journal by the new worker, and at the end the first backfill's failures
# grouped by cause with its HTML report in build/demo-report.html.  The
# simulators are started on loopback and stopped by pid whatever happens;
# nothing is left running.
#
#   ACCELERATE_SIM_PORT   port for the simulator (default 8083; the campaign's
#                         uses the next one)
#   OPENRESTY_PORT        port for the OpenResty example (default 8090)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

export ACCELERATE_SIM_PORT=${ACCELERATE_SIM_PORT:-8083}
export ACCELERATE_SIM_SCENARIO=demo
export ACCELERATE_SIM_DIR=$root/build/demo-sim-$ACCELERATE_SIM_PORT

# simctl start is harmless when a simulator already runs there, but that
# one is not ours to reuse (other scenario) or to stop.
if sim/simctl status >/dev/null 2>&1; then
  echo "demo: a simulator already runs in $ACCELERATE_SIM_DIR; stop it (sim/simctl stop) first" >&2
  exit 2
fi

# The campaign's simulator: examples/campaign-scenario.json (the demo's
# plans, faster, one transient and one lasting failure).
camp_port=$((ACCELERATE_SIM_PORT + 1))
camp_sim() {
  ACCELERATE_SIM_PORT=$camp_port ACCELERATE_SIM_DIR=$root/build/demo-sim-$camp_port \
    ACCELERATE_SIM_SCENARIO=$root/examples/campaign-scenario.json sim/simctl "$@"
}
if camp_sim status >/dev/null 2>&1; then
  echo "demo: a simulator already runs on port $camp_port; stop it first" >&2
  exit 2
fi

# The OpenResty example's port: taken, the demo would fail half-way.
ngx_port=${OPENRESTY_PORT:-8090}
if (exec 3<>"/dev/tcp/127.0.0.1/$ngx_port") 2>/dev/null; then
  echo "demo: port $ngx_port on 127.0.0.1 is in use by another program: set OPENRESTY_PORT to a free port" >&2
  exit 2
fi

work=$(mktemp -d)
# A simulator's export lines (`simctl start`); when it does not start, one
# line naming why, and the end of the demo (every later step would fail).
sim_env() {
  local what=$1 out cause
  shift
  if ! out=$("$@" start 2>"$work/simctl.err"); then
    cause=$(sed -n 's/^simctl: //p' "$work/simctl.err" | tail -n 1)
    printf 'demo: %s did not start: %s\n' "$what" "${cause:-sim/simctl start failed}" >&2
    return 1
  fi
  printf '%s\n' "$out"
}
ngx_run() {
  OPENRESTY_DIR=$work/openresty ACCELERATE_RUNNER_INTERVAL=0.5 examples/openresty/run "$@"
}
cleanup() {
  ngx_run stop >/dev/null 2>&1 || true
  sim/simctl stop >/dev/null 2>&1 || true
  camp_sim stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

main_env=$(sim_env "the simulator (ACCELERATE_SIM_PORT=$ACCELERATE_SIM_PORT)" sim/simctl) || exit 1
eval "$main_env"

say() { printf '\n\033[1m== %s\033[0m\n\n' "$*"; }

say "accelerate plans   (the tenant's acceleration plans: type, granularity, id)"
bin/accelerate plans

say "accelerate lots 2025-01-01 2025-01-31 1   (what the create will make, nothing sent)"
bin/accelerate lots 2025-01-01 2025-01-31 1 | sed -n '1,3p;$p'

say "accelerate backfill --plan-name sales_daily --start 2025-01-01 --end 2025-01-31 --journal ..."
rc=0
bin/accelerate backfill --plan-name sales_daily --start 2025-01-01 --end 2025-01-31 \
  --interval 1 --max-interval 2 --journal "$work/backfill.journal" || rc=$?
echo "(exit code $rc: 1 means some instances FAILED)"
[ "$rc" -eq 1 ] || [ "$rc" -eq 0 ] || exit "$rc"

dag=$(grep -o '"dagName":"[^"]*"' "$work/backfill.journal" | head -n 1 | cut -d'"' -f4)

if [ "$rc" -eq 1 ]; then
  say "accelerate repair $dag --wait"
  bin/accelerate repair "$dag" --wait --interval 1 --max-interval 2 --journal "$work/repair.journal"
  echo "(exit code 0: every repaired date succeeded)"
fi

say "lua5.4 -i lua/accelerate/repl.lua   (the same backfill at Lua's prompt: each answer on one line)"
printf '%s\n' "page = client:list_instances(\"$dag\")" "page" \
  "for inst in client:instances(\"$dag\") do if inst.status == \"FAILED\" then failed = inst break end end" \
  "failed" "client:task_detail(failed.id)" "accelerate.inspect(page, { depth = 1 })" |
  lua5.4 -i lua/accelerate/repl.lua 2>&1 | tail -n +2
echo

say "accelerate campaign preview examples/campaign-q1.json   (three plans, a quarter, a task per month)"
camp_env=$(sim_env "the campaign's simulator (ACCELERATE_SIM_PORT + 1 = $camp_port)" camp_sim) || exit 1
(
  eval "$camp_env"
  bin/accelerate campaign preview examples/campaign-q1.json
  say "accelerate campaign run examples/campaign-q1.json --journal ...   (two at a time)"
  rc=0
  bin/accelerate campaign run examples/campaign-q1.json --journal "$work/campaign.journal" \
    --interval 0.5 --max-interval 1 || rc=$?
  echo "(exit code $rc: the transient failure was repaired on its own; the missing table was not retried)"
  [ "$rc" -eq 1 ] || [ "$rc" -eq 0 ] || exit "$rc"

  say "the same campaign inside nginx: POST it to accelerate.runner, reload nginx in the middle"
  ngx_run start
  base=http://127.0.0.1:$ngx_port/accelerate
  # one line per look at the campaign: its state, its tasks and its runner
  line='local o = require("cjson").decode(io.read("a")); local s = o.states or {}
    print(("%-8s tasks: %d succeeded, %d failed, %d running, %d pending   %s"):format(o.state,
      s.succeeded or 0, s.failed or 0, s.running or 0, s.pending or 0,
      o.runner_pid and ("run by worker %d"):format(o.runner_pid) or ""))'
  echo "POST $base/campaigns < examples/campaign-q1.json"
  answer=$(curl -fsS -X POST --data-binary @examples/campaign-q1.json "$base/campaigns")
  echo "$answer"
  id=$(printf '%s' "$answer" | lua5.4 -e 'print(require("cjson").decode(io.read("a")).id)')
  reloaded=
  for _ in $(seq 1 120); do
    # a reload's moment without a worker is a refused connection: look again
    obj=$(curl -fsS "$base/campaigns/$id") || { sleep 1; continue; }
    look=$(printf '%s' "$obj" | lua5.4 -e "$line")
    echo "$look"
    case $look in succeeded*|failed*) break ;; esac
    case $look in *"tasks: 0 succeeded"*) ;; *)
      if [ -z "$reloaded" ]; then ngx_run reload; reloaded=1; fi ;;
    esac
    sleep 1
  done
  echo "(the journal: accelerate campaign status $work/openresty/campaigns/$id.journal;"
  echo " the live page was at $base/ and the metrics at $base/metrics while it ran)"
  grep -o 'campaign [0-9a-f-]* run by worker [0-9]*\|run ended[a-z:() ,]*' "$work/openresty/logs/error.log" | sed 's/^/  nginx: /'
  rc=0
  bin/accelerate campaign status "$work/openresty/campaigns/$id.journal" --no-calendar >"$work/status.txt" || rc=$?
  tail -n 2 "$work/status.txt"
  [ "$rc" -eq 1 ] || [ "$rc" -eq 0 ] || exit "$rc"
  ngx_run stop
)
camp_sim stop >/dev/null

html=$root/build/demo-report.html
say "accelerate report $dag --html build/demo-report.html   (what happened, by cause)"
rc=0
bin/accelerate report "$dag" --no-calendar --html "$html" || rc=$?
[ "$rc" -eq 1 ] || [ "$rc" -eq 0 ] || exit "$rc"
echo "(the repairs above already re-ran these dates; the first backfill keeps its failures)"
echo "(open file://$html in a browser: calendar, timeline, failures by cause, timing)"
say "done; stopping the simulator"
