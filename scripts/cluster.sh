#!/usr/bin/env bash
# cluster.sh: a whole natter cluster on loopback, for development and tests.
#
#   scripts/cluster.sh start     PostgreSQL x2, a NATS cluster of 3, natterd x3 and HAProxy
#                                in front; waits for each part and prints the URLs
#   scripts/cluster.sh status    what runs, and each node's /readyz
#   scripts/cluster.sh stop      stops everything it started, by the pids it recorded
#
# Everything lives in one state directory (NATTER_CLUSTER_DIR, default ./natter-cluster):
# PostgreSQL data, natterd data dirs, the shared signing key ring, generated configs,
# logs/ and run/ (pid files). `start` writes the settings it used to cluster.env, and
# every later command reads them back, so ports never drift between calls.
# `scripts/cluster.sh help` lists every subcommand, environment variable and exit code.
set -euo pipefail

readonly script_name="cluster.sh"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly repo_root

# Exit codes, so a test can tell a failure from a misuse from a state conflict.
readonly EXIT_FAILED=1       # a part did not start, stop or become ready in time; status: not all well
readonly EXIT_USAGE=2        # bad subcommand, argument, setting, or a missing program
readonly EXIT_NOT_STARTED=3  # no cluster in the state dir (status: nothing runs)
readonly EXIT_RUNNING=4      # start refused: parts of this cluster already run, or a port is taken

usage() {
  cat <<'EOF'
Usage: scripts/cluster.sh COMMAND [ARG]

A natter cluster on 127.0.0.1: PostgreSQL instances, a NATS cluster, natterd nodes and
HAProxy in front. Data, configs, logs and pid files live in the state directory.

Commands:
  start                 start everything (refuses if any part already runs); prints the URLs
  stop                  stop everything this state dir recorded (HAProxy, nodes, NATS, PostgreSQL)
  status                what runs, each node's /readyz, NATS routes, HAProxy's view of the nodes
  env                   KEY=VALUE lines for scripts and tests: URLs, ports, pids of what runs
  clean                 stop, then delete the state directory
  start-node N|all [--no-wait]   start natterd node(s); waits for /readyz 200 and for HAProxy
                                 to see it UP (--no-wait: only for /healthz)
  stop-node N|all       SIGTERM: the node drains (clients closed with 1012 over its drain-ms),
                        finishes in-flight commits and exits
  kill-node N|all       SIGKILL
  start-nats N|all      start NATS server(s); waits for its routes to the others that run
  stop-nats N|all       SIGTERM
  kill-nats N|all       SIGKILL
  start-pg N|all        start PostgreSQL instance(s) (initdb on first start)
  stop-pg N|all         fast shutdown (SIGINT)
  start-proxy           start HAProxy
  stop-proxy            stop HAProxy
  help                  this text

N counts from 1. Node N runs with --node-id N. Without N, a component command means all.

Environment (read by `start`; the cluster keeps them in STATE_DIR/cluster.env):
  NATTER_CLUSTER_DIR             state directory (./natter-cluster); read by every command
  NATTER_CLUSTER_BASE_PORT       base of every port (18000):
                                   base+9 HAProxy stats, base+10+N node N,
                                   base+20+N PostgreSQL N, base+30+N NATS N (clients),
                                   base+40+N NATS N (routes), base+50+N NATS N (monitoring)
  NATTER_CLUSTER_PROXY_PORT      HAProxy's port; default 8080, or the base port itself
                                   when NATTER_CLUSTER_BASE_PORT is set
  NATTER_CLUSTER_NODES           natterd nodes, 0-9 (3); 0 starts no natterd
  NATTER_CLUSTER_PG              PostgreSQL instances, 1-9 (2)
  NATTER_CLUSTER_NATS            NATS servers, 1-9 (3)
  NATTERD                        natterd binary (build/release/natterd of this checkout)
  NATTER_CLUSTER_NATTERD_ARGS    extra natterd flags, split on spaces (e.g. "--log-level debug")
  NATTER_CLUSTER_PASSWORD_PROFILE  natterd --password-profile (minimal: fast hashing, tests only)
  NATTER_CLUSTER_PG_BIN          PostgreSQL server binaries (newest /usr/lib/postgresql/*/bin)
  NATTER_CLUSTER_PG_OS_USER      OS user PostgreSQL runs as (postgres when run as root,
                                   else the current user)
  NATS_SERVER, HAPROXY           programs (nats-server, haproxy from PATH, or /usr/sbin)
Read by every command (not kept):
  NATTER_CLUSTER_WAIT            seconds to wait for each part to be ready or gone (30)
  NATTERD, NATTER_CLUSTER_NATTERD_ARGS  override the kept ones for start-node (rolling upgrades)
  NATTER_CLUSTER_KEEP_ON_FAILURE=1  a failed `start` leaves what it started running

Exit codes: 0 ok; 1 something did not start/stop/become ready in time (status: not all
running and ready); 2 usage or setting error; 3 no cluster here (status: nothing runs);
4 start refused: already running or a port is taken.
EOF
}

# ---------------------------------------------------------------------------------------
# Output helpers

say() { printf '%s\n' "$*"; }
warn() { printf '%s: %s\n' "$script_name" "$*" >&2; }
# fail CODE MESSAGE: print and exit. Never call it inside $(...): it would only end the subshell.
fail() {
  local code=$1
  shift
  warn "$*"
  exit "$code"
}

# Shows the end of a component's log since its last start (launch writes a "===" line),
# indented, so a failure explains itself.
show_log_tail() {
  local log="$logs_dir/$1.log"
  [[ -s $log ]] || return 0
  warn "last lines of $log:"
  awk '/^=== / { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' "$log" |
    tail -n "${2:-20}" | sed 's/^/    /' >&2
}

# ---------------------------------------------------------------------------------------
# Settings

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
# in_range VALUE MIN MAX: a whole number within MIN..MAX.
in_range() { is_uint "$1" && (($1 >= $2 && $1 <= $3)); }

# The newest PostgreSQL server binaries Debian installed (initdb is not on PATH there).
find_pg_bin() {
  local dir best=""
  for dir in /usr/lib/postgresql/*/bin; do
    [[ -x $dir/initdb ]] && best=$dir
  done
  if [[ -z $best ]] && command -v initdb >/dev/null 2>&1; then best="$(dirname "$(command -v initdb)")"; fi
  printf '%s' "$best"
}

# A program from PATH, else from /usr/sbin (not on a normal user's PATH on Debian).
find_program() {
  if command -v "$1" >/dev/null 2>&1; then command -v "$1"
  elif [[ -x /usr/sbin/$1 ]]; then printf '%s' "/usr/sbin/$1"
  else printf '%s' "$1"; fi
}

resolve_state_dir() {
  local dir="${NATTER_CLUSTER_DIR:-./natter-cluster}"
  [[ -n $dir ]] || fail $EXIT_USAGE "NATTER_CLUSTER_DIR is empty"
  case $dir in /*) ;; *) dir="$PWD/$dir" ;; esac
  state_dir="${dir%/}"
  env_file="$state_dir/cluster.env"
  logs_dir="$state_dir/logs"
  run_dir="$state_dir/run"
  jwt_keys="$state_dir/jwt-keys.json"
}

# The settings `start` uses: from the environment, with defaults.
settings_from_env() {
  base_port="${NATTER_CLUSTER_BASE_PORT:-18000}"
  if [[ -n ${NATTER_CLUSTER_PROXY_PORT:-} ]]; then proxy_port="$NATTER_CLUSTER_PROXY_PORT"
  elif [[ -n ${NATTER_CLUSTER_BASE_PORT:-} ]]; then proxy_port="$base_port"
  else proxy_port=8080; fi
  node_count="${NATTER_CLUSTER_NODES:-3}"
  pg_count="${NATTER_CLUSTER_PG:-2}"
  nats_count="${NATTER_CLUSTER_NATS:-3}"
  natterd="${NATTERD:-$repo_root/build/release/natterd}"
  natterd_args="${NATTER_CLUSTER_NATTERD_ARGS:-}"
  password_profile="${NATTER_CLUSTER_PASSWORD_PROFILE:-minimal}"
  pg_bin="${NATTER_CLUSTER_PG_BIN:-$(find_pg_bin)}"
  if [[ -n ${NATTER_CLUSTER_PG_OS_USER+x} ]]; then pg_os_user="$NATTER_CLUSTER_PG_OS_USER"
  elif [[ $(id -u) -eq 0 ]]; then pg_os_user=postgres  # PostgreSQL refuses to run as root
  else pg_os_user=""; fi
  nats_server="${NATS_SERVER:-$(find_program nats-server)}"
  haproxy="${HAPROXY:-$(find_program haproxy)}"

  in_range "$base_port" 1024 65475 || fail $EXIT_USAGE "NATTER_CLUSTER_BASE_PORT must be 1024-65475 (got '$base_port')"
  in_range "$proxy_port" 1 65535 || fail $EXIT_USAGE "NATTER_CLUSTER_PROXY_PORT must be a port (got '$proxy_port')"
  in_range "$node_count" 0 9 || fail $EXIT_USAGE "NATTER_CLUSTER_NODES must be 0-9 (got '$node_count')"
  in_range "$pg_count" 1 9 || fail $EXIT_USAGE "NATTER_CLUSTER_PG must be 1-9 (got '$pg_count')"
  in_range "$nats_count" 1 9 || fail $EXIT_USAGE "NATTER_CLUSTER_NATS must be 1-9 (got '$nats_count')"
  case $natterd in /*) ;; *) natterd="$PWD/$natterd" ;; esac
}

# Keeps the settings next to the data, so stop/status/start-node use the same ports.
save_settings() {
  {
    printf '# written by scripts/cluster.sh start; read back by every other command\n'
    local var
    for var in base_port proxy_port node_count pg_count nats_count natterd natterd_args \
      password_profile pg_bin pg_os_user nats_server haproxy; do
      printf '%s=%q\n' "$var" "${!var}"
    done
  } >"$env_file"
}

load_settings() {
  [[ -r $env_file ]] || return 1
  # shellcheck disable=SC1090  # written by save_settings
  source "$env_file"
  # A new binary or new flags for the next start-node (rolling upgrades, debugging).
  natterd="${NATTERD:-$natterd}"
  natterd_args="${NATTER_CLUSTER_NATTERD_ARGS-$natterd_args}"
}

# Settings that never persist: how long to wait.
runtime_settings() {
  wait_s="${NATTER_CLUSTER_WAIT:-30}"
  in_range "$wait_s" 1 3600 || fail $EXIT_USAGE "NATTER_CLUSTER_WAIT must be 1-3600 seconds (got '$wait_s')"
}

require_cluster() {
  load_settings || fail $EXIT_NOT_STARTED "no cluster in $state_dir (run: scripts/cluster.sh start)"
}

# Ports: one base, fixed offsets, so a test picks one free range.
stats_port() { printf '%s' $((base_port + 9)); }
node_port() { printf '%s' $((base_port + 10 + $1)); }
pg_port() { printf '%s' $((base_port + 20 + $1)); }
nats_port() { printf '%s' $((base_port + 30 + $1)); }
nats_route_port() { printf '%s' $((base_port + 40 + $1)); }
nats_http_port() { printf '%s' $((base_port + 50 + $1)); }

pg_url() { printf 'postgresql://natter@127.0.0.1:%s/natter' "$(pg_port "$1")"; }
nats_url() { printf 'nats://127.0.0.1:%s' "$(nats_port "$1")"; }
node_url() { printf 'http://127.0.0.1:%s' "$(node_port "$1")"; }
proxy_url() { printf 'http://127.0.0.1:%s' "$proxy_port"; }

# Comma-separated, in instance order: natterd partitions conversations by this order.
join_urls() {
  local fn=$1 count=$2 i out=""
  for ((i = 1; i <= count; i++)); do out+="${out:+,}$("$fn" "$i")"; done
  printf '%s' "$out"
}

# ---------------------------------------------------------------------------------------
# Processes: every part we start has run/NAME.pid holding "pid starttime". The start time
# (field 22 of /proc/pid/stat) tells our process from a later one that reused its pid.

# Prints the start time of a live process; fails for a gone one or a zombie (a container's
# init may never reap what we killed, and a zombie's pid still exists).
proc_start_time() {
  local stat rest fields
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  rest="${stat##*) }"  # the command name in parentheses may hold spaces
  read -r -a fields <<<"$rest"
  [[ ${fields[0]} != Z && ${fields[0]} != X ]] || return 1
  printf '%s' "${fields[19]}"
}

record_pid() {
  local start
  start="$(proc_start_time "$2")" || start=gone
  printf '%s %s\n' "$2" "$start" >"$run_dir/$1.pid"
}

# Sets rec_pid and rec_start from run/NAME.pid.
read_pidfile() {
  local f="$run_dir/$1.pid"
  rec_pid="" rec_start=""
  [[ -r $f ]] || return 1
  read -r rec_pid rec_start <"$f" || true
  [[ -n $rec_pid ]]
}

# Whether the process recorded for NAME still runs.
running() {
  local now
  read_pidfile "$1" || return 1
  now="$(proc_start_time "$rec_pid")" || return 1
  [[ $now == "$rec_start" ]]
}

# Starts a program in the background and records its pid. Its stdin, stdout and stderr
# never point at ours: a test reading our output through a pipe gets EOF when we exit.
launch() {
  local name=$1
  shift
  printf '\n=== %s: starting: %s\n' "$(date '+%F %T')" "$*" >>"$logs_dir/$name.log"
  "$@" </dev/null >>"$logs_dir/$name.log" 2>&1 &
  record_pid "$name" $!
}

# Waits until NAME is gone; fails after SECS.
wait_gone() {
  local name=$1 deadline=$((SECONDS + $2))
  while running "$name"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# Sends SIG to each named part that runs, then waits for each (up to wait_s, then SIGKILL).
# Signalling all first lets them shut down in parallel.
stop_components() {
  local sig=$1 name rc=0
  shift
  local signalled=()
  for name in "$@"; do
    if running "$name"; then
      kill -s "$sig" "$rec_pid" 2>/dev/null || true
      signalled+=("$name")
    else
      say "$name is not running"
      rm -f "$run_dir/$name.pid"
    fi
  done
  for name in "${signalled[@]}"; do
    if ! wait_gone "$name" "$wait_s"; then
      warn "$name (pid $rec_pid) still runs ${wait_s}s after SIG$sig; sending SIGKILL"
      kill -KILL "$rec_pid" 2>/dev/null || true
      if ! wait_gone "$name" 5; then
        warn "$name (pid $rec_pid) survives SIGKILL"
        rc=$EXIT_FAILED
        continue
      fi
    fi
    rm -f "$run_dir/$name.pid"
    say "stopped $name (SIG$sig)"
  done
  return $rc
}

# Polls a check (a command) every 0.2 s until it passes (0), NAME's process exits (2) or
# wait_s passes (1).
wait_until() {
  local name=$1 deadline=$((SECONDS + wait_s))
  shift
  while :; do
    "$@" && return 0
    running "$name" || return 2
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# GET a URL; sets http_code ("000" when nothing answers), http_raw (the body) and
# http_body (the body on one line, for messages).
http_get() {
  local out
  out="$(curl -s --max-time 2 -w '\n%{http_code}' "$1" 2>/dev/null)" || true
  http_code="${out##*$'\n'}"
  http_raw="${out%$'\n'*}"
  [[ $out == *$'\n'* ]] || http_raw=""
  [[ $http_code =~ ^[0-9]{3}$ ]] || http_code=000
  http_body="$(printf '%s' "$http_raw" | tr '\n' ' ')"
}
http_ok() {
  http_get "$1"
  [[ $http_code == 200 ]]
}

# Whether something accepts TCP connections on a loopback port.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# select_instances ARG COUNT PREFIX WHAT: expands N|all|"" (all) to component names
# PREFIX-1..PREFIX-COUNT in `targets` and their numbers in `target_numbers`.
select_instances() {
  local arg=$1 count=$2 prefix=$3 what=$4 i
  targets=() target_numbers=()
  if [[ -z $arg || $arg == all ]]; then
    for ((i = 1; i <= count; i++)); do target_numbers+=("$i"); done
  elif in_range "$arg" 1 "$count"; then
    target_numbers=("$arg")
  else
    fail $EXIT_USAGE "$what must be 1-$count or all (got '$arg')"
  fi
  for i in "${target_numbers[@]}"; do targets+=("$prefix-$i"); done
}

# ---------------------------------------------------------------------------------------
# PostgreSQL: one data directory per instance, TCP on 127.0.0.1 only, trust auth (initdb
# writes trust lines for loopback), fsync on. Run as pg_os_user because it refuses root.

as_pg() {
  if [[ -n $pg_os_user && $pg_os_user != "$(id -un)" ]]; then
    # From /, since the caller's directory may be closed to that user.
    (cd / && runuser -u "$pg_os_user" -- "$@")
  else
    "$@"
  fi
}

# Gives a path to the PostgreSQL user (when that is another user).
give_to_pg() {
  if [[ -n $pg_os_user && $pg_os_user != "$(id -un)" ]]; then chown "$pg_os_user:" "$@"; fi
}

psql_super() {
  local n=$1
  shift
  "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$(pg_port "$n")" -U postgres -d postgres "$@"
}

pg_init() {
  local n=$1
  local name="pg-$n" dir="$state_dir/pg/$n"
  local data="$dir/data" log="$logs_dir/pg-$n.log"
  mkdir -p "$dir"
  touch "$log"
  give_to_pg "$dir" "$log"
  if ! as_pg test -w "$dir"; then
    fail $EXIT_USAGE "user '$pg_os_user' cannot write $dir (a parent directory is closed to it?);" \
      "set NATTER_CLUSTER_DIR to a path it can reach, e.g. /tmp/natter-cluster"
  fi
  [[ -s $data/PG_VERSION ]] && return 0
  say "initdb $name"
  if ! as_pg "$pg_bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    --no-instructions >>"$log" 2>&1; then
    show_log_tail "$name"
    fail $EXIT_FAILED "initdb for $name failed"
  fi
  # Our settings live in their own file, rewritten at every start (the port may change).
  printf "\ninclude_if_exists = 'natter-cluster.conf'\n" >>"$data/postgresql.conf"
}

pg_write_conf() {
  local n=$1 conf="$state_dir/pg/$1/data/natter-cluster.conf"
  cat >"$conf" <<EOF
# written by scripts/cluster.sh at every start-pg
listen_addresses = '127.0.0.1'
port = $(pg_port "$n")
unix_socket_directories = ''   # TCP only: no socket in /var/run/postgresql needed
fsync = on                     # natter acknowledges only what is durable
synchronous_commit = on
full_page_writes = on
max_connections = 200
autovacuum_naptime = 5s        # the rows every send updates are vacuumed often (docs/operations.md)
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  give_to_pg "$conf"
}

# Creates the natter role and database once; harmless on every later start.
pg_provision() {
  local n=$1
  psql_super "$n" -c "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'natter') THEN CREATE ROLE natter LOGIN; END IF;
    END \$\$;" || return 1
  if [[ -z $(psql_super "$n" -At -c "SELECT 1 FROM pg_database WHERE datname = 'natter'") ]]; then
    psql_super "$n" -c "CREATE DATABASE natter OWNER natter" || return 1
  fi
}

start_pg() {
  local n=$1 name="pg-$1" data="$state_dir/pg/$1/data"
  if running "$name"; then
    say "$name already runs (pid $rec_pid)"
    return 0
  fi
  [[ -x $pg_bin/initdb && -x $pg_bin/pg_ctl ]] ||
    fail $EXIT_USAGE "PostgreSQL binaries not found in '$pg_bin'; set NATTER_CLUSTER_PG_BIN"
  if [[ -n $pg_os_user && $pg_os_user != "$(id -un)" && $(id -u) -ne 0 ]]; then
    fail $EXIT_USAGE "running PostgreSQL as '$pg_os_user' needs root; unset NATTER_CLUSTER_PG_OS_USER"
  fi
  pg_init "$n"
  pg_write_conf "$n"
  say "starting $name on port $(pg_port "$n")"
  local started=1 pid
  # shellcheck disable=SC2094  # pg_ctl and its server append to the same log, as we do
  as_pg "$pg_bin/pg_ctl" -D "$data" -l "$logs_dir/$name.log" -w -t "$wait_s" -s start \
    >>"$logs_dir/$name.log" 2>&1 || started=0
  # pg_ctl daemonises the server; its pid is the first line of postmaster.pid. Record it
  # even when pg_ctl gave up waiting, so stop can still end a server that came up late.
  pid="$(head -n1 "$data/postmaster.pid" 2>/dev/null)" || true
  if is_uint "$pid"; then record_pid "$name" "$pid"; fi
  if ((started == 0)); then
    show_log_tail "$name"
    warn "$name did not start in ${wait_s}s"
    return $EXIT_FAILED
  fi
  is_uint "$pid" || { warn "$name started but wrote no postmaster.pid"; return $EXIT_FAILED; }
  if ! pg_provision "$n" >>"$logs_dir/$name.log" 2>&1; then
    show_log_tail "$name"
    warn "could not create the natter role and database on $name"
    return $EXIT_FAILED
  fi
}

# ---------------------------------------------------------------------------------------
# NATS: a full mesh of routes on loopback; each server lists the others.

write_nats_conf() {
  local n=$1 i routes=""
  for ((i = 1; i <= nats_count; i++)); do
    ((i == n)) || routes+="    nats-route://127.0.0.1:$(nats_route_port "$i")"$'\n'
  done
  cat >"$state_dir/nats/nats-$n.conf" <<EOF
# written by scripts/cluster.sh at every start-nats
server_name: natter-nats-$n
listen: 127.0.0.1:$(nats_port "$n")
http: 127.0.0.1:$(nats_http_port "$n")   # monitoring: /healthz, /varz, /routez

cluster {
  name: natter
  listen: 127.0.0.1:$(nats_route_port "$n")
  routes: [
${routes}  ]
}
EOF
}

nats_healthy() { http_ok "http://127.0.0.1:$(nats_http_port "$1")/healthz"; }

# Prints how many routes server N has (empty when it does not answer).
nats_routes() {
  http_get "http://127.0.0.1:$(nats_http_port "$1")/routez"
  [[ $http_code == 200 ]] || return 1
  printf '%s' "$http_body" | grep -o '"num_routes": *[0-9]*' | grep -o '[0-9]*$'
}
nats_has_routes() {
  local got
  got="$(nats_routes "$1")" || return 1
  [[ -n $got ]] && ((got >= $2))
}

start_nats() {
  local n=$1 name="nats-$1" conf="$state_dir/nats/nats-$1.conf"
  if running "$name"; then
    say "$name already runs (pid $rec_pid)"
    return 0
  fi
  mkdir -p "$state_dir/nats"
  write_nats_conf "$n"
  if ! "$nats_server" -c "$conf" -t >>"$logs_dir/$name.log" 2>&1; then
    show_log_tail "$name"
    fail $EXIT_USAGE "$conf does not pass nats-server -t"
  fi
  say "starting $name on port $(nats_port "$n")"
  launch "$name" "$nats_server" -c "$conf"
  local rc=0
  wait_until "$name" nats_healthy "$n" || rc=$?
  if ((rc != 0)); then
    show_log_tail "$name"
    if ((rc == 2)); then warn "$name exited"; else warn "$name not healthy after ${wait_s}s"; fi
    return $EXIT_FAILED
  fi
}

# Waits until server N has a route to every other server that runs.
wait_nats_routes() {
  local n=$1 i others=0 rc=0
  for ((i = 1; i <= nats_count; i++)); do
    ((i != n)) && running "nats-$i" && others=$((others + 1))
  done
  ((others > 0)) || return 0
  wait_until "nats-$n" nats_has_routes "$n" "$others" || rc=$?
  if ((rc != 0)); then
    show_log_tail "nats-$n"
    warn "nats-$n has $(nats_routes "$n" || echo no) routes, not $others, after ${wait_s}s"
    return $EXIT_FAILED
  fi
}

# ---------------------------------------------------------------------------------------
# natterd nodes

launch_node() {
  local n=$1 name="node-$1"
  local extra=()
  # Split on spaces on purpose: NATTER_CLUSTER_NATTERD_ARGS holds several flags.
  read -r -a extra <<<"$natterd_args"
  mkdir -p "$state_dir/nodes/$n"
  say "starting $name on port $(node_port "$n")"
  launch "$name" "$natterd" \
    --listen 127.0.0.1 --port "$(node_port "$n")" --node-id "$n" --trusted-proxies 127.0.0.1 \
    --data-dir "$state_dir/nodes/$n" --jwt-keys "$jwt_keys" \
    --postgres "$(join_urls pg_url "$pg_count")" \
    --nats "$(join_urls nats_url "$nats_count")" \
    --password-profile "$password_profile" "${extra[@]}"
}

node_ready() { http_ok "$(node_url "$1")/readyz"; }
node_alive() { http_ok "$(node_url "$1")/healthz"; }

# Waits for node N: /readyz 200 (or only /healthz with no_wait=1). A node that serves but
# is not ready in time is left running, and we say what its /readyz answered.
wait_node() {
  local n=$1 name="node-$1" check=node_ready rc=0
  [[ ${no_wait:-0} == 1 ]] && check=node_alive
  wait_until "$name" "$check" "$n" || rc=$?
  ((rc == 0)) && return 0
  show_log_tail "$name"
  if ((rc == 2)); then
    warn "$name exited during start"
  else
    http_get "$(node_url "$n")/readyz"
    warn "$name not ready after ${wait_s}s (/readyz: $http_code $http_body); left running"
  fi
  return $EXIT_FAILED
}

check_natterd() {
  [[ -x $natterd ]] || fail $EXIT_USAGE "natterd not found at $natterd (build it: make build; or set NATTERD)"
}

# Starts the given nodes and waits for all of them; they boot in parallel.
start_nodes() {
  local n rc=0 started=()
  check_natterd
  for n in "$@"; do
    if running "node-$n"; then
      say "node-$n already runs (pid $rec_pid)"
    else
      launch_node "$n"
      started+=("$n")
    fi
  done
  for n in "${started[@]}"; do wait_node "$n" || rc=$EXIT_FAILED; done
  return $rc
}

# ---------------------------------------------------------------------------------------
# HAProxy: the shape of deploy/haproxy.cfg, on loopback, with faster health checks so
# tests see a dead node taken out within about two seconds.

write_haproxy_cfg() {
  local n servers=""
  for ((n = 1; n <= node_count; n++)); do
    servers+="    server node$n 127.0.0.1:$(node_port "$n")"$'\n'
  done
  cat >"$state_dir/haproxy.cfg" <<EOF
# written by scripts/cluster.sh at every start-proxy; production example: deploy/haproxy.cfg
global
    log stdout format raw local0 info
    maxconn 4096

defaults
    mode http
    log global
    option httplog
    option dontlognull
    option forwardfor
    option redispatch
    retries 2
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-request 10s
    timeout http-keep-alive 10s
    timeout queue 5s
    # After the WebSocket upgrade only this applies; natterd pings idle sockets every 30 s.
    timeout tunnel 1h
    timeout client-fin 5s
    timeout server-fin 5s

frontend natter
    bind 127.0.0.1:${proxy_port}
    default_backend natterd

backend natterd
    balance leastconn
    option httpchk
    http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host natterd
    http-check expect status 200
    default-server check inter 1s fall 2 rise 1
${servers}
listen stats
    bind 127.0.0.1:$(stats_port)
    stats enable
    stats uri /stats
    stats refresh 5s
EOF
}

# Prints HAProxy's state of server nodeN ("UP", "DOWN", "MAINT", ...).
proxy_server_state() {
  http_get "http://127.0.0.1:$(stats_port)/stats;csv"
  [[ $http_code == 200 ]] || return 1
  printf '%s\n' "$http_raw" | awk -F, -v s="node$1" '$1 == "natterd" && $2 == s { print $18 }'
}
proxy_server_up() { [[ $(proxy_server_state "$1") == UP ]]; }
proxy_stats_answer() { http_ok "http://127.0.0.1:$(stats_port)/stats;csv"; }

start_proxy() {
  local name=proxy cfg="$state_dir/haproxy.cfg" rc=0 n
  if running "$name"; then
    say "proxy already runs (pid $rec_pid)"
    return 0
  fi
  write_haproxy_cfg
  if ! "$haproxy" -c -q -f "$cfg" >>"$logs_dir/$name.log" 2>&1; then
    show_log_tail "$name"
    fail $EXIT_USAGE "$cfg does not pass haproxy -c"
  fi
  say "starting HAProxy on port $proxy_port"
  # -db: stay in the foreground, so the pid we record is HAProxy's own.
  launch "$name" "$haproxy" -db -f "$cfg"
  wait_until "$name" proxy_stats_answer || rc=$?
  if ((rc != 0)); then
    show_log_tail "$name"
    warn "HAProxy did not come up in ${wait_s}s"
    return $EXIT_FAILED
  fi
  # Ready when it sends traffic to every node that runs.
  for ((n = 1; n <= node_count; n++)); do
    running "node-$n" || continue
    wait_proxy_sees "$n" || return $EXIT_FAILED
  done
}

# Waits until HAProxy (when it runs) has node N UP, so a test's next request through the
# proxy can reach it.
wait_proxy_sees() {
  running proxy || return 0
  wait_until proxy proxy_server_up "$1" && return 0
  warn "HAProxy does not see node$1 UP after ${wait_s}s (state: $(proxy_server_state "$1" || true))"
  return $EXIT_FAILED
}

# ---------------------------------------------------------------------------------------
# Whole-cluster commands

# Every part, in stopping order: the proxy first (no new clients), then nodes (they finish
# in-flight commits while the store is still up), then NATS, then PostgreSQL.
all_names() {
  local i
  printf '%s\n' proxy
  for ((i = 1; i <= node_count; i++)); do printf 'node-%s\n' "$i"; done
  for ((i = 1; i <= nats_count; i++)); do printf 'nats-%s\n' "$i"; done
  for ((i = 1; i <= pg_count; i++)); do printf 'pg-%s\n' "$i"; done
}

any_running() {
  local name
  for name in $(all_names); do running "$name" && return 0; done
  return 1
}

# Stops whatever of the recorded parts runs; also parts a previous start recorded but the
# current settings no longer count (fewer nodes), by looking at every pid file.
stop_everything() {
  local rc=0 f name nodes=() nats=() pgs=()
  [[ -d $run_dir ]] || return 0
  for f in "$run_dir"/*.pid; do
    [[ -e $f ]] || continue
    name="$(basename "$f" .pid)"
    case $name in
      node-*) nodes+=("$name") ;;
      nats-*) nats+=("$name") ;;
      pg-*) pgs+=("$name") ;;
    esac
  done
  stop_components TERM proxy || rc=$?
  ((${#nodes[@]} == 0)) || stop_components TERM "${nodes[@]}" || rc=$?
  ((${#nats[@]} == 0)) || stop_components TERM "${nats[@]}" || rc=$?
  ((${#pgs[@]} == 0)) || stop_components INT "${pgs[@]}" || rc=$?  # SIGINT: fast shutdown
  return $rc
}

check_ports_free() {
  local i ports=("$proxy_port:HAProxy" "$(stats_port):HAProxy stats") p
  for ((i = 1; i <= node_count; i++)); do ports+=("$(node_port "$i"):node-$i"); done
  for ((i = 1; i <= pg_count; i++)); do ports+=("$(pg_port "$i"):pg-$i"); done
  for ((i = 1; i <= nats_count; i++)); do
    ports+=("$(nats_port "$i"):nats-$i" "$(nats_route_port "$i"):nats-$i routes" "$(nats_http_port "$i"):nats-$i monitoring")
  done
  for p in "${ports[@]}"; do
    if port_open "${p%%:*}"; then
      fail $EXIT_RUNNING "port ${p%%:*} (${p#*:}) is taken; pick other ports with NATTER_CLUSTER_BASE_PORT" \
        "(and NATTER_CLUSTER_PROXY_PORT)"
    fi
  done
}

check_programs() {
  command -v curl >/dev/null || fail $EXIT_USAGE "curl is needed (apt-get install curl)"
  [[ -x $(command -v "$nats_server" 2>/dev/null || true) ]] ||
    fail $EXIT_USAGE "nats-server not found ('$nats_server'); apt-get install nats-server, or set NATS_SERVER"
  [[ -x $(command -v "$haproxy" 2>/dev/null || true) ]] ||
    fail $EXIT_USAGE "haproxy not found ('$haproxy'); apt-get install haproxy, or set HAPROXY"
  [[ -n $pg_bin && -x $pg_bin/initdb ]] ||
    fail $EXIT_USAGE "PostgreSQL server binaries not found; apt-get install postgresql, or set NATTER_CLUSTER_PG_BIN"
  if [[ -n $pg_os_user ]] && ! id "$pg_os_user" >/dev/null 2>&1; then
    fail $EXIT_USAGE "user '$pg_os_user' (for PostgreSQL) does not exist; set NATTER_CLUSTER_PG_OS_USER"
  fi
  ((node_count == 0)) || check_natterd
}

# On a failed start, stop what it started so no half cluster lingers (unless asked to).
on_start_exit() {
  local rc=$1
  ((rc != 0)) || return 0
  if [[ ${NATTER_CLUSTER_KEEP_ON_FAILURE:-0} == 1 ]]; then
    warn "start failed; NATTER_CLUSTER_KEEP_ON_FAILURE=1, so what started keeps running"
  else
    warn "start failed; stopping what it started (logs stay in $logs_dir)"
    stop_everything >&2 || true
  fi
}

cmd_start() {
  if load_settings && any_running; then
    fail $EXIT_RUNNING "a cluster already runs in $state_dir (scripts/cluster.sh status; or stop)"
  fi
  settings_from_env
  check_programs
  check_ports_free
  mkdir -p "$state_dir" "$logs_dir" "$run_dir" "$state_dir/nodes" "$state_dir/nats" "$state_dir/pg"
  save_settings

  trap 'on_start_exit $?' EXIT
  local i
  for ((i = 1; i <= pg_count; i++)); do start_pg "$i"; done
  for ((i = 1; i <= nats_count; i++)); do start_nats "$i"; done
  for ((i = 1; i <= nats_count; i++)); do wait_nats_routes "$i"; done
  if ((node_count > 0)); then
    # Node 1 first: it writes the signing key ring that every node then shares.
    start_nodes 1
    [[ -s $jwt_keys ]] || warn "node-1 is ready but wrote no key ring at $jwt_keys"
    ((node_count == 1)) || start_nodes $(seq 2 "$node_count")
  fi
  start_proxy
  trap - EXIT
  print_summary
}

print_summary() {
  local i natter="$repo_root/build/release/natter"
  say ""
  say "natter cluster is up (state in $state_dir)"
  say "  proxy     $(proxy_url)   ws: ws://127.0.0.1:$proxy_port/v1/ws   stats: http://127.0.0.1:$(stats_port)/stats"
  for ((i = 1; i <= node_count; i++)); do say "  node $i    $(node_url "$i")  (--node-id $i)"; done
  say "  nats      $(join_urls nats_url "$nats_count")"
  say "  postgres  $(join_urls pg_url "$pg_count")"
  say "  logs      $logs_dir/"
  if ((node_count > 0)); then
    say ""
    say "Try: $natter --server $(proxy_url) --profile /tmp/alice register alice 'correct horse'"
  fi
  say "Stop: scripts/cluster.sh stop"
}

cmd_stop() {
  if ! load_settings; then
    say "no cluster in $state_dir; nothing to stop"
    return 0
  fi
  stop_everything
}

cmd_clean() {
  [[ -d $state_dir ]] || return 0
  # Refuse to delete a directory this script did not make.
  [[ -e $env_file ]] || fail $EXIT_USAGE "$state_dir holds no cluster.env; not deleting it"
  load_settings
  stop_everything || fail $EXIT_FAILED "something did not stop; not deleting $state_dir"
  rm -rf "$state_dir"
  say "deleted $state_dir"
}

# One line per part; exit 0 when everything runs and is ready, 1 when some of it does,
# 3 when nothing runs.
cmd_status() {
  require_cluster
  local i up=0 down=0 state detail
  say "natter cluster in $state_dir (base port $base_port)"

  if running proxy; then
    detail=""
    for ((i = 1; i <= node_count; i++)); do detail+=" node$i=$(proxy_server_state "$i" || echo '?')"; done
    say "proxy    running  pid $rec_pid  $(proxy_url)  backends:${detail:- none}"
    up=$((up + 1))
  else
    say "proxy    stopped"
    down=$((down + 1))
  fi

  for ((i = 1; i <= node_count; i++)); do
    if running "node-$i"; then
      http_get "$(node_url "$i")/readyz"
      say "node $i   running  pid $rec_pid  $(node_url "$i")  readyz $http_code ${http_body:0:300}"
      if [[ $http_code == 200 ]]; then up=$((up + 1)); else down=$((down + 1)); fi
    else
      say "node $i   stopped"
      down=$((down + 1))
    fi
  done

  for ((i = 1; i <= nats_count; i++)); do
    if running "nats-$i"; then
      state="$(nats_routes "$i" || true)"
      say "nats $i   running  pid $rec_pid  $(nats_url "$i")  routes ${state:-?}"
      if nats_healthy "$i"; then up=$((up + 1)); else down=$((down + 1)); fi
    else
      say "nats $i   stopped"
      down=$((down + 1))
    fi
  done

  for ((i = 1; i <= pg_count; i++)); do
    if running "pg-$i"; then
      if "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$(pg_port "$i")" -t 2; then state="accepting"; up=$((up + 1))
      else state="not accepting"; down=$((down + 1)); fi
      say "pg $i     running  pid $rec_pid  $(pg_url "$i")  $state"
    else
      say "pg $i     stopped"
      down=$((down + 1))
    fi
  done

  if ((down == 0)); then return 0; fi
  if ((up == 0)); then return $EXIT_NOT_STARTED; fi
  return $EXIT_FAILED
}

# KEY=VALUE lines (no quoting; no value holds spaces except NATTERD_ARGS) for tests.
cmd_env() {
  require_cluster
  local i
  pid_of() { if running "$1"; then printf '%s' "$rec_pid"; fi; }
  say "NATTER_CLUSTER_DIR=$state_dir"
  say "BASE_PORT=$base_port"
  say "PROXY_URL=$(proxy_url)"
  say "PROXY_WS_URL=ws://127.0.0.1:$proxy_port/v1/ws"
  say "PROXY_PID=$(pid_of proxy)"
  say "STATS_URL=http://127.0.0.1:$(stats_port)/stats"
  say "NODES=$node_count"
  for ((i = 1; i <= node_count; i++)); do
    say "NODE_${i}_URL=$(node_url "$i")"
    say "NODE_${i}_PID=$(pid_of "node-$i")"
    say "NODE_${i}_LOG=$logs_dir/node-$i.log"
  done
  say "NATS=$nats_count"
  say "NATS_URLS=$(join_urls nats_url "$nats_count")"
  for ((i = 1; i <= nats_count; i++)); do
    say "NATS_${i}_URL=$(nats_url "$i")"
    say "NATS_${i}_MONITOR_URL=http://127.0.0.1:$(nats_http_port "$i")"
    say "NATS_${i}_PID=$(pid_of "nats-$i")"
  done
  say "PG=$pg_count"
  say "PG_URLS=$(join_urls pg_url "$pg_count")"
  for ((i = 1; i <= pg_count; i++)); do
    say "PG_${i}_URL=$(pg_url "$i")"
    say "PG_${i}_PID=$(pid_of "pg-$i")"
  done
  say "JWT_KEYS=$jwt_keys"
  say "NATTERD=$natterd"
  say "NATTERD_ARGS=$natterd_args"
  say "LOGS_DIR=$logs_dir"
}

# ---------------------------------------------------------------------------------------

main() {
  local cmd="${1:-help}"
  local arg="${2:-}"
  no_wait=0
  if [[ ${3:-} == --no-wait || $arg == --no-wait ]]; then
    no_wait=1
    [[ $arg == --no-wait ]] && arg="${3:-}"
  fi
  resolve_state_dir
  runtime_settings
  trap 'exit 130' INT
  trap 'exit 143' TERM

  local n
  case $cmd in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    clean) cmd_clean ;;
    start-node | stop-node | kill-node)
      require_cluster
      ((node_count > 0)) || fail $EXIT_USAGE "this cluster has no natterd nodes (NATTER_CLUSTER_NODES=0)"
      select_instances "$arg" "$node_count" node "node"
      case $cmd in
        start-node)
          start_nodes "${target_numbers[@]}"
          if [[ $no_wait == 0 ]]; then
            for n in "${target_numbers[@]}"; do wait_proxy_sees "$n"; done
          fi
          ;;
        stop-node) stop_components TERM "${targets[@]}" ;;
        kill-node) stop_components KILL "${targets[@]}" ;;
      esac
      ;;
    start-nats | stop-nats | kill-nats)
      require_cluster
      select_instances "$arg" "$nats_count" nats "NATS server"
      case $cmd in
        start-nats)
          for n in "${target_numbers[@]}"; do start_nats "$n"; done
          for n in "${target_numbers[@]}"; do wait_nats_routes "$n"; done
          ;;
        stop-nats) stop_components TERM "${targets[@]}" ;;
        kill-nats) stop_components KILL "${targets[@]}" ;;
      esac
      ;;
    start-pg | stop-pg)
      require_cluster
      select_instances "$arg" "$pg_count" pg "PostgreSQL instance"
      if [[ $cmd == start-pg ]]; then
        for n in "${target_numbers[@]}"; do start_pg "$n"; done
      else
        stop_components INT "${targets[@]}"  # SIGINT: fast shutdown
      fi
      ;;
    start-proxy) require_cluster && start_proxy ;;
    stop-proxy) require_cluster && stop_components TERM proxy ;;
    help | -h | --help) usage ;;
    *)
      usage >&2
      exit $EXIT_USAGE
      ;;
  esac
}

main "$@"
