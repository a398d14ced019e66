# bash completion for accelerate(1): commands, each command's options, the
# values of --format, --type, --status and --auth-type, files after the
# options that take one, and plan names after --plan and `plan`.
#
# `make install` puts it in PREFIX/share/bash-completion/completions/;
# from a checkout: `. completion/accelerate.bash`.  It needs no
# bash-completion package.  spec/completion_spec.lua checks that the lists
# below are the command's (lua/accelerate/cli/args.lua): a command or an
# option added there belongs here too.
#
# Plan names come from `accelerate plans --json --no-details` of the
# configured tenant (the connection options on the command line being
# completed are passed on), only when that command succeeds, within
# ACCELERATE_COMPLETION_TIMEOUT seconds (default 3), and are kept for a
# minute.

_accelerate_commands="backfill campaign create detail instances lots plan plans repair report wait help"

_accelerate_global_options="--auth-type --auth-value --auth-value-file --color --config --help --json
  --no-color --quiet --request-timeout --retries --tenant-id --url --verbose --version"

# Each command's own options.
_accelerate_command_options() {
  case $1 in
    backfill) echo "--dry-run --end --force --force-create --interval --journal --lot --max-interval
      --no-calendar --plan --plan-id --plan-name --start --timeout" ;;
    campaign) echo "--adopt --failure-budget --force-create --interval --journal --max-interval --no-calendar
      --timeout" ;;
    create) echo "--end --force --force-create --journal --lot --plan --plan-id --plan-name --start" ;;
    detail) echo "" ;;
    instances) echo "--all --format --page --page-size --status" ;;
    lots) echo "--lot --plan" ;;
    plan) echo "" ;;
    plans) echo "--format --no-details --type" ;;
    repair) echo "--again --dry-run --force --force-create --interval --journal --lot --max-interval
      --no-calendar --plan --plan-id --plan-name --timeout --wait" ;;
    report) echo "--html --no-calendar" ;;
    wait) echo "--interval --journal --max-interval --no-calendar --timeout" ;;
  esac
}

# The plan names of the configured tenant, one a line; nothing when the
# command fails or takes too long.  $@: the command line being completed.
_accelerate_plan_names() {
  local prog=$1 i w conn=() key
  shift
  # pass the connection options of the command line on
  for ((i = 1; i <= $#; i++)); do
    w=${!i}
    case $w in
      --url|--tenant-id|--auth-type|--auth-value|--auth-value-file|--config)
        ((i + 1 <= $#)) && { local n=$((i + 1)); conn+=("$w" "${!n}"); } ;;
      --url=*|--tenant-id=*|--auth-type=*|--auth-value=*|--auth-value-file=*|--config=*) conn+=("$w") ;;
    esac
  done
  key="$prog ${conn[*]}"
  if [[ $key == "${_accelerate_plans_key-}" ]] && ((SECONDS - ${_accelerate_plans_at:-0} < 60)); then
    printf '%s' "$_accelerate_plans_cache"
    return
  fi
  local json
  json=$(timeout "${ACCELERATE_COMPLETION_TIMEOUT:-3}" "$prog" plans --json --no-details \
    --request-timeout 2 --retries 0 "${conn[@]}" 2>/dev/null </dev/null) || return 0
  _accelerate_plans_cache=$(printf '%s' "$json" | grep -o '"name": *"[^"\\]*"' | sed 's/^"name": *"//; s/"$//')
  _accelerate_plans_key=$key
  _accelerate_plans_at=$SECONDS
  printf '%s' "$_accelerate_plans_cache"
}

_accelerate() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev="" cmd="" i w prog=${COMP_WORDS[0]}
  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
  # --name=value splits at "=" (COMP_WORDBREAKS): complete the value
  if [[ $cur == "=" ]]; then
    cur=""
  elif [[ $prev == "=" ]] && ((COMP_CWORD > 1)); then
    prev=${COMP_WORDS[COMP_CWORD - 2]}
  fi
  # a relative path (bin/accelerate) or a name on PATH
  [[ $prog == */* && -x $prog ]] || prog=accelerate
  # the command word: the first word that is not an option or its value
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    case $w in
      -*|=) continue ;;
    esac
    case ${COMP_WORDS[i - 1]} in
      --url|--tenant-id|--auth-type|--auth-value|--auth-value-file|--config|--request-timeout|--retries) continue ;;
    esac
    cmd=$w
    break
  done

  COMPREPLY=()
  case $prev in
    --format) mapfile -t COMPREPLY < <(compgen -W "table json csv" -- "$cur"); return 0 ;;
    --type) mapfile -t COMPREPLY < <(compgen -W "RESULT ACCELERATE EXTERNAL" -- "$cur"); return 0 ;;
    --status) mapfile -t COMPREPLY < <(compgen -W "WAITING RUNNING SUCCESS FAILED" -- "$cur"); return 0 ;;
    --auth-type) mapfile -t COMPREPLY < <(compgen -W "UID TOKEN ACCOUNT APIKEY" -- "$cur"); return 0 ;;
    --journal|--config|--auth-value-file|--html) mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return 0 ;;
    --plan)
      local IFS=$'\n'
      mapfile -t COMPREPLY < <(compgen -W "$(_accelerate_plan_names "$prog" "${COMP_WORDS[@]:1}")" -- "$cur")
      return 0 ;;
    --url|--tenant-id|--auth-value|--request-timeout|--retries|--start|--end|--lot|--page|--page-size|\
    --interval|--max-interval|--timeout|--plan-id|--plan-name)
      return 0 ;;
  esac

  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$_accelerate_global_options $(_accelerate_command_options "$cmd")" -- "$cur")
    return 0
  fi
  case $cmd in
    "") mapfile -t COMPREPLY < <(compgen -W "$_accelerate_commands" -- "$cur") ;;
    help) mapfile -t COMPREPLY < <(compgen -W "${_accelerate_commands% help}" -- "$cur") ;;
    plan)
      local IFS=$'\n'
      mapfile -t COMPREPLY < <(compgen -W "$(_accelerate_plan_names "$prog" "${COMP_WORDS[@]:1}")" -- "$cur") ;;
  esac
  return 0
}

complete -F _accelerate accelerate
