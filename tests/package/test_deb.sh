#!/usr/bin/env bash
# The Debian package, installed for real: builds it (`make deb`) or takes its path as $1,
# installs it with apt-get, checks what it put where (binaries, library and headers, the
# natter user, /var/lib/natter, the conffile, the systemd unit), starts natterd the way the
# unit does, registers two users and chats through it over HTTP, stops it, purges the
# package and checks that nothing of it is left. Needs root; leaves nothing installed.
#
#   bash tests/package/test_deb.sh [build/release/natter_<version>_<arch>.deb]
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { echo "test_deb: $*"; }
fail() {
  echo "test_deb: FAIL: $*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || fail "needs root (it installs and purges the package)"

deb="${1:-}"
if [ -z "$deb" ]; then
  make deb
  # The newest, should older versions lie there too.
  deb=$(find build/release -maxdepth 1 -name 'natter_*.deb' -printf '%T@ %p\n' | sort -rn | head -n 1 | cut -d' ' -f2-)
fi
if [ -z "$deb" ] || [ ! -f "$deb" ]; then fail "no package: ${deb:-build/release/natter_*.deb}"; fi
deb=$(realpath "$deb")

# Never touch an installation this test did not make.
installed_state() { dpkg-query -W -f='${db:Status-Abbrev}' natter 2>/dev/null || true; }
case "$(installed_state)" in
  "" | "un "*) ;;
  *) fail "the package natter is on this machine already ($(installed_state)); apt-get purge natter first" ;;
esac
getent passwd natter >/dev/null && fail "a user natter exists already"
getent group natter >/dev/null && fail "a group natter exists already"
for p in /etc/natter /var/lib/natter; do
  [ -e "$p" ] && fail "$p exists already"
done

work=$(mktemp -d /tmp/natter-test-deb.XXXXXX)
installed_packages() { dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' | awk '$1 == "ii" {print $2}' | sort; }
installed_packages >"$work/before"
pid=""
dropin=""

cleanup() {
  local rc=$?
  set +e
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  fi
  if [ -n "$dropin" ]; then
    systemctl stop natterd.service >/dev/null 2>&1
    rm -rf "$dropin"
    systemctl daemon-reload >/dev/null 2>&1
  fi
  case "$(installed_state)" in
    "" | "un "*) ;;
    *) DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq natter >/dev/null 2>&1 || dpkg --purge natter >/dev/null 2>&1 ;;
  esac
  # Whatever the installation pulled in to satisfy the package's dependencies goes too.
  installed_packages >"$work/after"
  mapfile -t pulled < <(comm -13 "$work/before" "$work/after")
  if [ ${#pulled[@]} -gt 0 ]; then
    echo "test_deb: purging what the installation pulled in: ${pulled[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "${pulled[@]}" >/dev/null 2>&1
  fi
  if [ $rc -ne 0 ] && [ -s "$work/natterd.log" ]; then
    echo "test_deb: natterd's output:" >&2
    tail -n 40 "$work/natterd.log" >&2
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- install ----------------------------------------------------------------------------
say "installing $deb"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >"$work/apt.log" 2>&1 || {
  cat "$work/apt.log" >&2
  fail "apt-get install"
}
[ "$(installed_state)" = "ii " ] || fail "natter is not installed: '$(installed_state)'"

# ---- what it installed --------------------------------------------------------------------
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
for f in /usr/bin/natterd /usr/bin/natter; do
  [ -x "$f" ] || fail "$f is missing or not executable"
done
for f in "/usr/lib/$multiarch/libnatter.so" /usr/include/natter/natter.h /usr/include/natter/client.h \
  /lib/systemd/system/natterd.service /etc/natter/natter.toml \
  /usr/share/doc/natter/LICENSE /usr/share/doc/natter/NOTICE /usr/share/doc/natter/copyright; do
  [ -f "$f" ] || fail "$f is missing"
done
# Nothing but what the package is meant to hold (no tests, benchmarks or bindings).
unexpected=$(dpkg -L natter | grep -vxE "/(\.|usr|usr/bin|usr/bin/natterd|usr/bin/natter|usr/lib|usr/lib/$multiarch|usr/lib/$multiarch/libnatter\.so|usr/include|usr/include/natter|usr/include/natter/(natter|client)\.h|usr/share|usr/share/doc|usr/share/doc/natter|usr/share/doc/natter/(LICENSE|NOTICE|copyright)|lib|lib/systemd|lib/systemd/system|lib/systemd/system/natterd\.service|etc|etc/natter|etc/natter/natter\.toml)" || true)
[ -z "$unexpected" ] || fail "unexpected files in the package: $unexpected"
[ -n "$(/usr/bin/natterd --version)" ] || fail "natterd --version"
[ -n "$(/usr/bin/natter --version)" ] || fail "natter --version"
depends=$(dpkg-query -W -f='${Depends}' natter)
for d in adduser libc6 libssl3 libsqlite3-0 libsodium23 libvips42; do
  grep -qE "(^|, )$d( |,|$)" <<<"$depends" || fail "Depends lacks $d: $depends"
done
# The library and its C header work together.
if command -v cc >/dev/null; then
  printf '#include <natter/natter.h>\n#include <stdio.h>\nint main(void) {\n  natter_client* c = natter_client_create("not json");\n  printf("%%s\\n", c ? "created" : natter_last_error());\n  return c != NULL;\n}\n' >"$work/use.c"
  cc -o "$work/use" "$work/use.c" -lnatter || fail "a C program against libnatter does not build"
  [ -n "$("$work/use")" ] || fail "a C program against libnatter does not run"
fi

# The user, its group, and the data directory.
IFS=: read -r _ _ uid _ _ home shell < <(getent passwd natter) || fail "no user natter"
getent group natter >/dev/null || fail "no group natter"
[ "$(id -gn natter)" = natter ] || fail "natter's group is $(id -gn natter)"
[ "$uid" -lt 1000 ] || fail "natter is not a system user (uid $uid)"
[ "$home" = /var/lib/natter ] || fail "natter's home is $home"
case "$shell" in */nologin | */false) ;; *) fail "natter's shell is $shell" ;; esac
[ "$(stat -c '%U:%G %a' /var/lib/natter)" = "natter:natter 700" ] ||
  fail "/var/lib/natter is $(stat -c '%U:%G %a' /var/lib/natter)"

# The conffile.
grep -qxF /etc/natter/natter.toml /var/lib/dpkg/info/natter.conffiles || fail "natter.toml is not a conffile"
grep -qx 'data-dir = "/var/lib/natter"' /etc/natter/natter.toml || fail "natter.toml's data-dir"
[ "$(stat -c '%U:%G %a' /etc/natter/natter.toml)" = "root:natter 640" ] ||
  fail "/etc/natter/natter.toml is $(stat -c '%U:%G %a' /etc/natter/natter.toml)"

# The unit.
unit=/lib/systemd/system/natterd.service
for line in "User=natter" "Group=natter" "ExecStart=/usr/bin/natterd --config /etc/natter/natter.toml" \
  "NoNewPrivileges=yes" "ProtectSystem=strict" "ProtectHome=yes" "PrivateTmp=yes" \
  "ReadWritePaths=/var/lib/natter" "WantedBy=multi-user.target"; do
  grep -qxF "$line" "$unit" || fail "the unit lacks $line"
done
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$unit" >"$work/verify.log" 2>&1 || {
    cat "$work/verify.log" >&2
    fail "systemd-analyze verify $unit"
  }
fi
say "installed: files, user, data directory, conffile and unit as expected"

# ---- run it ---------------------------------------------------------------------------------
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if [ -d /run/systemd/system ]; then
  # The installed unit as it is, on a port of the test's (a runtime drop-in, removed after).
  dropin=/run/systemd/system/natterd.service.d
  mkdir -p "$dropin"
  printf '[Service]\nEnvironment=NATTER_PORT=%s\n' "$port" >"$dropin/test-port.conf"
  systemctl daemon-reload
  systemctl restart natterd.service
  say "started natterd.service on port $port"
else
  # No systemd here: the unit's own command line, as its user, from its directory.
  exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
  [ -n "$exec_start" ] || fail "no ExecStart in $unit"
  workdir=$(sed -n 's/^WorkingDirectory=//p' "$unit")
  # shellcheck disable=SC2086 # the command line splits into its words
  (cd "${workdir:-/}" && exec env NATTER_PORT="$port" setpriv --reuid=natter --regid=natter --init-groups \
    --no-new-privs -- $exec_start) >"$work/natterd.log" 2>&1 &
  pid=$!
  say "started '$exec_start' as natter (pid $pid) on port $port"
fi

running() {
  if [ -n "$pid" ]; then kill -0 "$pid" 2>/dev/null; else systemctl is-active --quiet natterd.service; fi
}
base="http://127.0.0.1:$port"
for i in $(seq 1 300); do
  running || fail "natterd exited while starting"
  curl -fsS --max-time 2 "$base/readyz" >/dev/null 2>&1 && break
  [ "$i" -lt 300 ] || fail "natterd did not become ready on port $port within 30 s"
  sleep 0.1
done
if [ -n "$pid" ]; then
  [ "$(ps -o user= -p "$pid" | tr -d ' ')" = natter ] || fail "natterd does not run as natter"
fi

# ---- chat through it --------------------------------------------------------------------------
api="$base/v1"
# call METHOD PATH [BODY] [TOKEN]: the answer's body; fails on an HTTP error.
call() {
  local out args=(-sS --fail-with-body --max-time 30 -X "$1" "$api$2")
  [ -n "${3:-}" ] && args+=(-d "$3")
  [ -n "${4:-}" ] && args+=(-H "Authorization: Bearer $4")
  out=$(curl "${args[@]}" 2>&1) || fail "$1 $2 answered: $out"
  printf '%s' "$out"
}
# field JSON KEY: a top-level field of a JSON object.
field() { /usr/bin/python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

call POST /auth/register '{"handle":"alice","password":"correct horse"}' >/dev/null
call POST /auth/register '{"handle":"bob","password":"battery staple"}' >/dev/null
r=$(call POST /auth/login '{"handle":"alice","password":"correct horse","device":"test"}')
alice=$(field "$r" access_token)
r=$(call POST /auth/login '{"handle":"bob","password":"battery staple","device":"test"}')
bob=$(field "$r" access_token)
r=$(call GET /users/bob "" "$alice")
bob_id=$(field "$r" user_id)
r=$(call POST /conversations "{\"kind\":\"direct\",\"peer_id\":$bob_id}" "$alice")
conv=$(field "$r" id)
call POST "/conversations/$conv/messages" '{"client_msg_id":"m1","text":"hello from the package"}' "$alice" >/dev/null
history=$(call GET "/conversations/$conv/messages?limit=50" "" "$bob")
/usr/bin/python3 -c '
import json, sys
msgs = json.loads(sys.argv[1])["messages"]
sys.exit(0 if any(m.get("text") == "hello from the package" for m in msgs) else 1)' "$history" ||
  fail "bob does not read alice's message: $history"
say "chatted: alice and bob registered, a message sent and read back"
# It kept its data where the package says.
[ -n "$(find /var/lib/natter -mindepth 1 -maxdepth 1 -user natter)" ] || fail "no data of natter's in /var/lib/natter"

# ---- stop it ----------------------------------------------------------------------------------
if [ -n "$pid" ]; then
  kill -TERM "$pid"
  for i in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    [ "$i" -lt 300 ] || fail "natterd did not stop within 30 s of SIGTERM"
    sleep 0.1
  done
  status=0
  wait "$pid" || status=$?
  pid=""
  [ "$status" -eq 0 ] || fail "natterd exited with status $status after SIGTERM"
else
  systemctl stop natterd.service
  rm -rf "$dropin"
  dropin=""
  systemctl daemon-reload
fi
say "stopped natterd"

# ---- purge --------------------------------------------------------------------------------------
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq natter >"$work/apt.log" 2>&1 || {
  cat "$work/apt.log" >&2
  fail "apt-get purge natter"
}
case "$(installed_state)" in
  "" | "un "*) ;;
  *) fail "natter is still known to dpkg: '$(installed_state)'" ;;
esac
for p in /usr/bin/natterd /usr/bin/natter "/usr/lib/$multiarch/libnatter.so" /usr/include/natter \
  /lib/systemd/system/natterd.service /etc/systemd/system/multi-user.target.wants/natterd.service \
  /etc/natter /var/lib/natter /usr/share/doc/natter; do
  if [ -e "$p" ] || [ -L "$p" ]; then fail "$p is still there after purge"; fi
done
getent passwd natter >/dev/null && fail "the user natter is still there after purge"
getent group natter >/dev/null && fail "the group natter is still there after purge"
say "purged: files, user, group and /var/lib/natter gone"
say "ok"
