#!/usr/bin/env bash
# Makes a Docker-compatible engine answer, or says exactly what is missing.
#   1. an engine already answers (DOCKER_HOST or the default socket): use it;
#   2. dockerd is installed but not running: clear a stale pid file, start it, wait until it answers;
#   3. dockerd is absent and we are root on Debian: apt-get install docker.io, then 2;
#   4. otherwise: exit 3 with a message naming what to install.
# It also registers gVisor's runsc runtime when the binary is present (never installs it).
# Idempotent and fast when the engine already answers. Exit codes: 0 ready, 3 no engine possible.
set -euo pipefail

LOG_DIR=${AIRLOCK_ENGINE_LOG_DIR:-/var/log/airlock}
DAEMON_JSON=${AIRLOCK_DAEMON_JSON:-/etc/docker/daemon.json}
WAIT_SECONDS=${AIRLOCK_ENGINE_WAIT:-60}

say() { printf 'engine: %s\n' "$*" >&2; }
die() { printf 'engine: %s\n' "$*" >&2; exit 3; }

answers() { timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# Registers runsc in daemon.json; returns 0 when the file changed (the engine must then reload).
register_runsc() {
  local runsc
  runsc=$(command -v runsc 2>/dev/null) || return 1
  mkdir -p "$(dirname "$DAEMON_JSON")"
  [ -s "$DAEMON_JSON" ] || echo '{}' >"$DAEMON_JSON"
  node - "$DAEMON_JSON" "$runsc" <<'JS'
const fs = require('node:fs');
const [file, runsc] = process.argv.slice(2);
const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
const want = { path: runsc, runtimeArgs: ['--network=none', '--ignore-cgroups'] };
if (JSON.stringify(cfg.runtimes?.runsc) === JSON.stringify(want)) process.exit(1);
cfg.runtimes = { ...(cfg.runtimes ?? {}), runsc: want };
fs.writeFileSync(file + '.tmp', JSON.stringify(cfg, null, 2) + '\n');
fs.renameSync(file + '.tmp', file);
JS
}

install_engine() {
  [ "$(id -u)" = 0 ] || die "dockerd is not installed and this is not root: install Debian's docker.io (or Podman with its Docker-compatible socket and set DOCKER_HOST)"
  grep -qi debian /etc/os-release 2>/dev/null || die "dockerd is not installed and this is not Debian: install a Docker engine (or Podman's Docker-compatible socket) and set DOCKER_HOST"
  say "installing Debian's docker.io (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends docker.io >/dev/null || die "apt-get install docker.io failed"
}

start_engine() {
  local pidfile=/var/run/docker.pid
  if [ -f "$pidfile" ]; then
    local pid; pid=$(cat "$pidfile" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      say "dockerd (pid $pid) is running but does not answer yet; waiting"
    else
      say "removing stale $pidfile (process ${pid:-?} is gone)"
      rm -f "$pidfile"
    fi
  fi
  # containerd may have left its own stale socket/pid behind too; dockerd starts its own when none answers.
  if ! pgrep -x dockerd >/dev/null 2>&1; then
    mkdir -p "$LOG_DIR"
    say "starting dockerd (log: $LOG_DIR/dockerd.log)"
    nohup dockerd >>"$LOG_DIR/dockerd.log" 2>&1 </dev/null &
    disown || true
  fi
  local i
  for ((i = 0; i < WAIT_SECONDS * 2; i++)); do
    answers && return 0
    sleep 0.5
  done
  tail -n 20 "$LOG_DIR/dockerd.log" >&2 2>/dev/null || true
  die "dockerd did not answer within ${WAIT_SECONDS}s (see $LOG_DIR/dockerd.log)"
}

command -v docker >/dev/null 2>&1 || { command -v dockerd >/dev/null 2>&1 || install_engine; }

if answers; then
  if [ -z "${DOCKER_HOST:-}" ] && [ "$(id -u)" = 0 ] && register_runsc; then
    say "registered runsc in $DAEMON_JSON; reloading dockerd"
    pkill -HUP -x dockerd || true
    sleep 1
  fi
  exit 0
fi

[ -n "${DOCKER_HOST:-}" ] && die "DOCKER_HOST=$DOCKER_HOST does not answer; start that engine or unset DOCKER_HOST"
command -v dockerd >/dev/null 2>&1 || install_engine
register_runsc || true
start_engine
say "ready: $(docker version --format 'engine {{.Server.Version}}, API {{.Server.APIVersion}}')"
