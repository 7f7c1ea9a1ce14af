#!/usr/bin/env bash
# A private Podman engine for airlock: `podman system service` answering the Docker API on its
# own socket, with its own storage, run root, temp dir and configuration, all under one folder,
# so it shares nothing with any other engine (nor with a system Podman).
#   scripts/podman-service.sh start DIR   start it and wait until it answers; prints
#                                         DOCKER_HOST=unix://DIR/podman.sock (its pid is in DIR/podman.pid)
#   scripts/podman-service.sh stop DIR    remove its containers, stop it by its pid (and the conmon
#                                         monitors it started), unmount what its storage mounted, remove DIR
# Exit codes: 0 done, 2 usage, 3 podman missing or not answering.
set -euo pipefail

say() { printf 'podman-service: %s\n' "$*" >&2; }
die() { printf 'podman-service: %s\n' "$*" >&2; exit "${2:-3}"; }

[ $# -eq 2 ] && { [ "$1" = start ] || [ "$1" = stop ]; } || die "usage: $0 start|stop DIR" 2
cmd=$1
dir=$(realpath -m "$2")
# written by `start`: `stop` removes only a folder that holds it
marker="$dir/.airlock-podman-service"

podman_here() {
  CONTAINERS_CONF="$dir/containers.conf" podman --root "$dir/root" --runroot "$dir/run" --tmpdir "$dir/tmp" "$@"
}

start() {
  command -v podman >/dev/null || die "podman is not installed (Debian: apt-get install podman)"
  mkdir -p "$dir/root" "$dir/run" "$dir/tmp"
  : >"$marker"
  # Only this file is read (CONTAINERS_CONF), so the host's configuration cannot change the engine.
  # Podman gives each container RLIMIT_NOFILE 1048576 (and with this file RLIMIT_NPROC as much),
  # which runc must raise to: where root lacks CAP_SYS_RESOURCE (a container, a VM sandbox) no
  # container starts. Cells get what a Docker container inherits instead: this shell's hard
  # limits (nproc no higher than the 32768 Podman lowers its own to).
  local nofile nproc
  nofile=$(ulimit -Hn)
  nproc=$(ulimit -Hu)
  [ "$nofile" = unlimited ] && nofile=1048576
  { [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; } && nproc=32768
  cat >"$dir/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
  local sock="$dir/podman.sock"
  CONTAINERS_CONF="$dir/containers.conf" nohup podman --root "$dir/root" --runroot "$dir/run" --tmpdir "$dir/tmp" \
    system service --time=0 "unix://$sock" >"$dir/service.log" 2>&1 </dev/null &
  echo $! >"$dir/podman.pid"
  for _ in $(seq 1 100); do
    if [ -S "$sock" ] && podman --remote --url "unix://$sock" version >/dev/null 2>&1; then
      say "podman $(podman --version | awk '{print $3}') answers at unix://$sock (pid $(cat "$dir/podman.pid"))"
      echo "DOCKER_HOST=unix://$sock"
      return 0
    fi
    kill -0 "$(cat "$dir/podman.pid")" 2>/dev/null || die "podman system service exited: $(tail -n 5 "$dir/service.log")"
    sleep 0.1
  done
  die "podman system service does not answer at unix://$sock after 10 s: $(tail -n 5 "$dir/service.log")"
}

stop() {
  [ -f "$marker" ] || die "$dir was not made by '$0 start': not touching it" 2
  local pid
  pid=$(cat "$dir/podman.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    # this engine's containers only (its own storage): their monitors end with them
    podman_here rm --all --force --time 0 >/dev/null 2>&1 || true
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  # conmon monitors this engine started stay up to 5 minutes after their exec session (--exit-delay),
  # then run `podman container cleanup` against this storage: end them now, each by its pid
  local p
  for p in /proc/[0-9]*; do
    [ "$({ cat "$p/comm"; } 2>/dev/null)" = conmon ] || continue
    if { tr '\0' '\n' <"$p/cmdline"; } 2>/dev/null | grep -qxF -- "$dir/root"; then
      kill -KILL "${p#/proc/}" 2>/dev/null || true
    fi
  done
  # the storage bind-mounts its overlay folder on itself (and may leave layer mounts): deepest first
  awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf "$dir"
  say "stopped${pid:+ (pid $pid)} and removed $dir"
}

"$cmd"
