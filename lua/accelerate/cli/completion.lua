-- The completion scripts of `accelerate`, written from the commands'
-- declarations (cli/parser.lua, cli/declare.lua): bash's by this module
-- (commands, options, campaign's subcommands, option values, files, and
-- plan names asked of the configured tenant), zsh's and fish's by
-- lua-argparse from the same parser.

local parser = require "accelerate.cli.parser"
local declare = require "accelerate.cli.declare"

local type = type
local ipairs = ipairs
local tbl_sort = table.sort
local tbl_concat = table.concat
local meta = declare.meta

local _M = {}

local HEAD = [[
# bash completion for accelerate(1), written by `accelerate completion bash`
# from the command's own declarations (lua/accelerate/cli/commands/): commands,
# each command's options, campaign's subcommands, the values of --format,
# --type, --status and --auth-type, files where a file is wanted, and plan
# names after --plan and `plan`.  `make install` puts it in
# PREFIX/share/bash-completion/completions/; it needs no bash-completion
# package.
#
# Plan names come from `accelerate plans --json --no-details` of the
# configured tenant (the connection options on the command line being
# completed are passed on), only when that command succeeds, within
# ACCELERATE_COMPLETION_TIMEOUT seconds (default 3), and are kept for a
# minute.
]]

-- The plan names of the configured tenant, one a line; nothing when the
-- command fails or takes too long.  @CONN@: the connection options.
local PLAN_NAMES = [==[
_accelerate_plan_names() {
  local prog=$1 i w conn=() key
  shift
  # pass the connection options of the command line on
  for ((i = 1; i <= $#; i++)); do
    w=${!i}
    case $w in
      @CONN@)
        ((i + 1 <= $#)) && { local n=$((i + 1)); conn+=("$w" "${!n}"); } ;;
      @CONN_EQ@) conn+=("$w") ;;
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
]==]

local MAIN = [==[
# What a completion of kind $1 offers for the word $2.
_accelerate_offer() {
  case $1 in
    file) mapfile -t COMPREPLY < <(compgen -f -- "$2") ;;
    plan)
      local IFS=$'\n'
      mapfile -t COMPREPLY < <(compgen -W "$(_accelerate_plan_names "$prog" "${COMP_WORDS[@]:1}")" -- "$2") ;;
    words\ *) mapfile -t COMPREPLY < <(compgen -W "${1#words }" -- "$2") ;;
  esac
}

_accelerate() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev="" cmd="" sub="" i w prog=${COMP_WORDS[0]} kind
  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
  # --name=value splits at "=" (COMP_WORDBREAKS): complete the value
  if [[ $cur == "=" ]]; then
    cur=""
  elif [[ $prev == "=" ]] && ((COMP_CWORD > 1)); then
    prev=${COMP_WORDS[COMP_CWORD - 2]}
  fi
  # a relative path (bin/accelerate) or a name on PATH
  [[ $prog == */* && -x $prog ]] || prog=accelerate
  # the command word (and a subcommand word): words that are not an
  # option or its value
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    case $w in
      -*|=) continue ;;
    esac
    [[ -n $(_accelerate_value "${COMP_WORDS[i - 1]}") ]] && continue
    if [[ -z $cmd ]]; then
      cmd=$w
    elif [[ -z $sub && -n $(_accelerate_subcommands "$cmd") ]]; then
      sub=$w
    else
      break
    fi
  done

  COMPREPLY=()
  kind=$(_accelerate_value "$prev")
  if [[ -n $kind ]]; then
    _accelerate_offer "$kind" "$cur"
    return 0
  fi
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$_accelerate_global_options $(_accelerate_options "$cmd" "$sub")" -- "$cur")
    return 0
  fi
  if [[ -z $cmd ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$_accelerate_commands help" -- "$cur")
  elif [[ $cmd == help ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$_accelerate_commands" -- "$cur")
  elif [[ -n $(_accelerate_subcommands "$cmd") && -z $sub ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(_accelerate_subcommands "$cmd")" -- "$cur")
  else
    _accelerate_offer "$(_accelerate_argument "$cmd${sub:+ $sub}")" "$cur"
  fi
  return 0
}

complete -F _accelerate accelerate
]==]

-- "file", "plan", "words A B C" or "none" (a value nothing is offered for).
local function kind_of(complete)
  if type(complete) == "table" then return "words " .. tbl_concat(complete, " ") end
  return complete or "none"
end

local function names_of(list)
  local out = {}
  for i, o in ipairs(list) do out[i] = o.name end
  tbl_sort(out)
  return tbl_concat(out, " ")
end

-- A case statement's arms, sorted: { {pattern, text}, ... }.
local function arms(list)
  tbl_sort(list, function(a, b) return a[1] < b[1] end)
  local out = {}
  for i, a in ipairs(list) do out[i] = "    " .. a[1] .. ") echo \"" .. a[2] .. "\" ;;" end
  return tbl_concat(out, "\n")
end

local function bash()
  local t = parser.tree()
  local globals = {}
  for _, o in ipairs(meta(t.root).options) do globals[#globals + 1] = o end
  local values, options, subs, positional, conn, conn_eq = {}, {}, {}, {}, {}, {}
  local seen = {}
  local function value_arms(cmd)
    for _, o in ipairs(meta(cmd).options) do
      if not o.flag and not seen[o.name] then
        seen[o.name] = true
        values[#values + 1] = { o.name, kind_of(o.complete) }
        if o.connection then
          conn[#conn + 1] = o.name
          conn_eq[#conn_eq + 1] = o.name .. "=*"
        end
      end
    end
  end
  value_arms(t.root)
  local function args_arm(pattern, cmd)
    local a = meta(cmd).arguments
    -- what the command's first argument wants (the one completed after it)
    if a[1] and a[1].complete then positional[#positional + 1] = { pattern, kind_of(a[1].complete) } end
  end
  for _, name in ipairs(parser.commands()) do
    local cmd = t.commands[name]
    value_arms(cmd)
    args_arm('"' .. name .. '"', cmd)
    local own = {}
    for _, o in ipairs(parser.options(name)) do if not t.globals[o] then own[#own + 1] = { name = o } end end
    options[#options + 1] = { '"' .. name .. '"', names_of(own) }
    local s = meta(cmd).subcommands
    if #s > 0 then
      local words = {}
      for i, sc in ipairs(s) do
        -- the name is offered; an alias typed is completed as the name
        words[i] = sc.name
        value_arms(sc.cmd)
        local pattern = '"' .. name .. " " .. sc.name .. '"'
        for _, a in ipairs(sc.aliases or {}) do pattern = pattern .. '|"' .. name .. " " .. a .. '"' end
        args_arm(pattern, sc.cmd)
        options[#options + 1] = { pattern, names_of(meta(sc.cmd).options) }
      end
      tbl_sort(words)
      subs[#subs + 1] = { name, tbl_concat(words, " ") }
    end
  end
  tbl_sort(conn)
  tbl_sort(conn_eq)
  local plan_names = PLAN_NAMES:gsub("@CONN@", tbl_concat(conn, "|")):gsub("@CONN_EQ@", tbl_concat(conn_eq, "|"))
  return HEAD .. "\n"
    .. "_accelerate_commands=\"" .. tbl_concat(parser.commands(), " ") .. "\"\n\n"
    .. "_accelerate_global_options=\"" .. names_of(globals) .. "\"\n\n"
    .. "# The options of a command, or of a command and its subcommand ($1 $2).\n"
    .. "_accelerate_options() {\n  case \"$1${2:+ $2}\" in\n" .. arms(options) .. "\n  esac\n}\n\n"
    .. "# The subcommand words of a command.\n"
    .. "_accelerate_subcommands() {\n  case $1 in\n" .. arms(subs) .. "\n  esac\n}\n\n"
    .. "# What the value of an option is completed with (nothing: a flag).\n"
    .. "_accelerate_value() {\n  case $1 in\n" .. arms(values) .. "\n  esac\n}\n\n"
    .. "# What a command's argument is completed with.\n"
    .. "_accelerate_argument() {\n  case $1 in\n" .. arms(positional) .. "\n  esac\n}\n\n"
    .. plan_names .. "\n" .. MAIN
end

-- syntax: text = completion.script(shell)
-- The completion script of "bash", "zsh" or "fish".
function _M.script(shell)
  if shell == "bash" then return bash() end
  local root = parser.tree().root
  if shell == "zsh" then return root:get_zsh_complete() end
  return root:get_fish_complete()
end

return _M
