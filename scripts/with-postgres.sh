#!/usr/bin/env bash
# Runs a command with throwaway PostgreSQL instances on loopback:
#   scripts/with-postgres.sh [-n COUNT] COMMAND [ARGS...]
# Each instance is initdb'd into a temporary directory, listens on a free
# port, and is stopped and removed when the command ends. The command finds
# them in NATTER_TEST_POSTGRES (libpq URLs, comma separated).
set -euo pipefail

count=2
if [ "${1:-}" = "-n" ]; then count=$2; shift 2; fi
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
root=$(mktemp -d /tmp/natter-pg.XXXXXX)
chmod 755 "$root"

# PostgreSQL refuses to run as root: run it as the postgres user then.
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  as_pg=(runuser -u postgres --)
  chown postgres "$root"
fi

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

started=()
cleanup() {
  for dir in "${started[@]}"; do
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$dir" -m immediate stop >/dev/null 2>&1 || true
  done
  rm -rf "$root"
}
trap cleanup EXIT

urls=()
for i in $(seq 1 "$count"); do
  dir="$root/pg$i"
  port=$(free_port)
  "${as_pg[@]}" "$pgbin/initdb" -D "$dir" -U natter --auth=trust -E UTF8 >/dev/null
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$dir" -l "$root/pg$i.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $root -c fsync=on -c deadlock_timeout=100ms" start >/dev/null
  started+=("$dir")
  "${as_pg[@]}" "$pgbin/createdb" -h 127.0.0.1 -p "$port" -U natter natter
  urls+=("postgresql://natter@127.0.0.1:$port/natter")
done

export NATTER_TEST_POSTGRES
NATTER_TEST_POSTGRES=$(IFS=,; echo "${urls[*]}")
"$@"
