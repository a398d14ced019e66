# nginxctl.sh — run an nginx in a private prefix folder and stop it by pid.
# Sourced by sim/simctl, examples/openresty/run and bench scripts; the caller
# defines say() for messages.  A prefix folder holds conf/nginx.conf (which
# must set `pid DIR/nginx.pid`), logs/ and tmp/.

NGINX=${ACCELERATE_NGINX:-/usr/sbin/nginx}
NGINX_MODULES=${ACCELERATE_NGINX_MODULES:-/usr/share/nginx/modules}

# nginx records its prefix as an absolute path, and the pid check compares
# against it: every folder is made absolute before it is used.
ngx_absolute() {
  case $1 in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$PWD" "$1" ;;
  esac
}

# The pid is ours only while that process is an nginx master started with
# this prefix: a stale pid file must never make us signal another process.
ngx_running_pid() {
  local d=$1 pid
  [ -r "$d/nginx.pid" ] || return 1
  pid=$(cat "$d/nginx.pid" 2>/dev/null) || return 1
  case $pid in ''|*[!0-9]*) return 1 ;; esac
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "-p $d/" || return 1
  printf '%s\n' "$pid"
}

# True while process $1 exists and is not a zombie (an exited master stays
# a zombie until init reaps it, which is not immediate on every machine).
ngx_alive() {
  [ -r "/proc/$1/stat" ] && ! awk '{ exit ($3 == "Z" ? 0 : 1) }' "/proc/$1/stat" 2>/dev/null
}

# Starts the nginx of prefix $1; on failure prints why and returns 1.
ngx_start() {
  local d=$1
  rm -f "$d/nginx.pid"
  if ! "$NGINX" -p "$d/" -c "$d/conf/nginx.conf" -e "$d/logs/error.log" 2>"$d/logs/start.log"; then
    sed 's/^/  /' "$d/logs/start.log" >&2
    return 1
  fi
}

# Stops the nginx of prefix $1 (graceful, then TERM, then KILL); harmless
# when it is not running.  $2 names it in messages.
ngx_stop() {
  local d pid i what=${2:-nginx}
  d=$(ngx_absolute "$1")
  if ! pid=$(ngx_running_pid "$d"); then
    # Stale only when no process has that pid: never forget a live one.
    pid=$(cat "$d/nginx.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && ! ngx_alive "$pid"; then
      rm -f "$d/nginx.pid"
      say "removed a stale pid file in $d"
    elif [ -n "$pid" ]; then
      say "pid file in $d names process $pid, which is not this $what: left alone"
    fi
    say "not running ($d)"
    return 0
  fi
  kill -QUIT "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do
    ngx_alive "$pid" || { say "stopped (pid $pid, $d)"; return 0; }
    [ "$i" = 50 ] && kill -TERM "$pid" 2>/dev/null
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
  say "killed (pid $pid did not stop within 5 s, $d)"
}

# The `user` line of a config whose workers read Lua files below folder
# $1 (a checkout).  Run as root, nginx's workers would be `nobody`, who
# cannot read a checkout in a folder other users cannot enter (a clone in
# /root, a `mktemp -d` folder): they run as the checkout's owner instead.
# Not root: nothing (nginx ignores `user` then, and warns).
ngx_conf_user() {
  local owner group
  [ "$(id -u)" = 0 ] || return 0
  owner=$(stat -L -c %U "$1" 2>/dev/null) || owner=root
  group=$(stat -L -c %G "$1" 2>/dev/null) || group=root
  case "$owner$group" in UNKNOWN*|*UNKNOWN|*[!A-Za-z0-9._-]*) owner=root group=root ;; esac
  printf 'user %s %s;\n' "$owner" "$group"
}

# The nginx.conf lines every private prefix needs: the Lua module, and temp
# folders inside the prefix (Debian's nginx defaults to /var/lib/nginx).
ngx_conf_lua_modules() {
  printf 'load_module %s/ndk_http_module.so;\nload_module %s/ngx_http_lua_module.so;\n' "$NGINX_MODULES" "$NGINX_MODULES"
}
ngx_conf_temp_paths() {
  local d=$1 t
  for t in client_body proxy fastcgi uwsgi scgi; do
    printf '    %s_temp_path "%s/tmp/%s";\n' "$t" "$d" "$t"
  done
}
