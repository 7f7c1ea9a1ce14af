#!/usr/bin/env bash
# Extra Docker engines next to the main one, for multi-engine tests and benches:
#
#   scripts/engines.sh start NAME...   start one dockerd per NAME (idempotent); prints one line per
#                                      engine: NAME unix:///run/airlock-engines/NAME/docker.sock
#   scripts/engines.sh start NAME --tls PORT CERTS
#                                      the same, also answering on tcp://127.0.0.1:PORT with TLS both
#                                      ways (CERTS holds ca.pem, server-cert.pem, server-key.pem)
#   scripts/engines.sh stop NAME...    stop them by their pid files, kill what their containers left
#                                      running, unmount and remove their directories
#   scripts/engines.sh kill NAME       SIGKILL the engine and its containerd (an engine lost mid-work);
#                                      its containers keep running until `stop NAME`
#   scripts/engines.sh list            the engines started here and whether they answer
#
# Each engine has its own data-root, exec-root, socket, pid file, containerd (its own namespace),
# cgroup parent and default bridge, and runs with `--iptables=false`: it never touches the host's
# firewall or the main engine's state. Not `--bridge none`: a dockerd started with it deletes the
# host's docker0, the main engine's default bridge. Names are [a-z0-9-], at most 20 characters.
# Exit codes: 0 done, 2 usage, 3 an engine did not start.
set -euo pipefail

BASE_RUN=${AIRLOCK_ENGINES_RUN:-/run/airlock-engines}
BASE_DATA=${AIRLOCK_ENGINES_DATA:-/var/lib/airlock-engines}
WAIT_SECONDS=${AIRLOCK_ENGINE_WAIT:-60}

say() { printf 'engines: %s\n' "$*" >&2; }
usage() { sed -n '2,/^set /{/^#/s/^# \{0,1\}//p}' "$0" >&2; exit 2; }

check_name() {
  [[ "$1" =~ ^[a-z0-9][a-z0-9-]{0,19}$ ]] || { say "bad engine name '$1' (want [a-z0-9-], 1-20 chars)"; exit 2; }
}

run_dir() { echo "$BASE_RUN/$1"; }
socket() { echo "$(run_dir "$1")/docker.sock"; }
pidfile() { echo "$(run_dir "$1")/docker.pid"; }
# The engine's own default bridge (interface names are at most 15 bytes): al<10 hex of its name>.
bridge() { echo "al$(printf '%s' "$1" | sha256sum | cut -c1-10)"; }

# A /24 in 10.213.0.0/16 that no interface of the host has yet, for the bridge's address.
free_subnet() {
  local n
  for ((n = 1; n < 255; n++)); do
    ip -4 addr show | grep -q "inet 10\.213\.$n\." || { echo "10.213.$n.1/24"; return 0; }
  done
  say "no free /24 left in 10.213.0.0/16"
  exit 3
}

make_bridge() {
  local br; br=$(bridge "$1")
  ip link show "$br" >/dev/null 2>&1 && return 0
  ip link add name "$br" type bridge
  ip addr add "$(free_subnet)" dev "$br"
  ip link set "$br" up
}

answers() { timeout 5 docker -H "unix://$(socket "$1")" version --format '{{.Server.Version}}' >/dev/null 2>&1; }
alive() { local pid; pid=$(cat "$1" 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

start() {
  local name=$1 dir data tls=()
  if [ $# -eq 3 ]; then
    tls=(-H "tcp://127.0.0.1:$2" --tlsverify --tlscacert "$3/ca.pem" --tlscert "$3/server-cert.pem" --tlskey "$3/server-key.pem")
  fi
  dir=$(run_dir "$name")
  data="$BASE_DATA/$name"
  if alive "$(pidfile "$name")" && answers "$name"; then
    echo "$name unix://$(socket "$name")"
    return 0
  fi
  mkdir -p "$dir/exec" "$data"
  make_bridge "$name"
  rm -f "$(pidfile "$name")" "$(socket "$name")"
  # Own containerd namespaces and cgroup parent: `stop` can find every process this engine left.
  nohup dockerd \
    --data-root "$data" --exec-root "$dir/exec" --pidfile "$(pidfile "$name")" \
    -H "unix://$(socket "$name")" "${tls[@]}" \
    --containerd-namespace "airlock-$name" --containerd-plugins-namespace "airlock-$name-plugins" \
    --cgroup-parent "/airlock-$name" \
    --bridge "$(bridge "$name")" --iptables=false --ip6tables=false --ip-masq=false \
    >>"$dir/dockerd.log" 2>&1 </dev/null &
  disown || true
  local i
  for ((i = 0; i < WAIT_SECONDS * 4; i++)); do
    if answers "$name"; then
      echo "$name unix://$(socket "$name")"
      return 0
    fi
    sleep 0.25
  done
  tail -n 20 "$dir/dockerd.log" >&2 || true
  say "$name did not answer within ${WAIT_SECONDS}s (log: $dir/dockerd.log)"
  exit 3
}

# Every process in the engine's cgroup parent (cgroup v1 and v2 layouts).
cgroup_pids() {
  local name=$1
  find /sys/fs/cgroup -path "*/airlock-$name/*" -name cgroup.procs 2>/dev/null | xargs -r cat 2>/dev/null | sort -u || true
}

kill_engine() {
  local name=$1 dir
  dir=$(run_dir "$name")
  for f in "$(pidfile "$name")" "$dir/exec/containerd/containerd.pid"; do
    alive "$f" && kill -KILL "$(cat "$f")" 2>/dev/null || true
  done
}

stop() {
  local name=$1 dir data pid i
  dir=$(run_dir "$name")
  data="$BASE_DATA/$name"
  if alive "$(pidfile "$name")"; then
    pid=$(cat "$(pidfile "$name")")
    kill -TERM "$pid" 2>/dev/null || true
    # dockerd stops its containers on a clean shutdown; give it the time it asks for (10 s per container).
    for ((i = 0; i < 80 && $(kill -0 "$pid" 2>/dev/null && echo 1 || echo 0); i++)); do sleep 0.25; done
  fi
  kill_engine "$name"
  # shims and container processes an engine killed mid-work left behind
  pkill -KILL -f -- "-namespace airlock-$name( |$)" 2>/dev/null || true
  for ((i = 0; i < 20; i++)); do
    local left; left=$(cgroup_pids "$name")
    [ -z "$left" ] && break
    kill -KILL $left 2>/dev/null || true
    sleep 0.25
  done
  # mounts under its directories (overlay layers, shm, netns), deepest first
  local m
  for m in $(awk '{print $2}' /proc/self/mounts | grep -E "^($dir|$data)(/|$)" | sort -r || true); do
    umount -l "$m" 2>/dev/null || true
  done
  find /sys/fs/cgroup -depth -type d -path "*/airlock-$name*" -exec rmdir {} + 2>/dev/null || true
  ip link del "$(bridge "$name")" 2>/dev/null || true
  rm -rf "$dir" "$data"
}

list() {
  [ -d "$BASE_RUN" ] || return 0
  local d name
  for d in "$BASE_RUN"/*/; do
    [ -d "$d" ] || continue
    name=$(basename "$d")
    if answers "$name"; then echo "$name unix://$(socket "$name") up"; else echo "$name unix://$(socket "$name") down"; fi
  done
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case "$cmd" in
  start | stop | kill)
    [ $# -ge 1 ] || usage
    check_name "$1"
    if [ "${2:-}" != --tls ]; then for n in "$@"; do check_name "$n"; done; fi
    [ "$(id -u)" = 0 ] || { say "starting engines needs root"; exit 3; }
    command -v dockerd >/dev/null || { say "dockerd is not installed (bash scripts/ensure-engine.sh installs it)"; exit 3; }
    case "$cmd" in
      start)
        if [ "${2:-}" = --tls ]; then
          [ $# -eq 4 ] || usage
          start "$1" "$3" "$4"
        else
          for n in "$@"; do start "$n"; done
        fi
        ;;
      stop) for n in "$@"; do stop "$n"; done ;;
      kill) for n in "$@"; do kill_engine "$n"; done ;;
    esac
    ;;
  list) list ;;
  *) usage ;;
esac
