#!/usr/bin/env bash
# Scale-out figures, each against its baseline measured in the same run (issue 13).
#   usage: bash bench/scale.sh
# Prints: figure, airlock, baseline, ratio, target, met (bench/lib.sh's bench_row).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
work=$(mktemp -d)
nginx_pid=
cleanup() {
  [[ -n "$nginx_pid" ]] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

node bin/airlock keygen --out "$work/key" --root "$work/keys" >/dev/null
export AIRLOCK_SIGNING_KEY="$work/key"

# A shared cache as a team could run it: nginx with WebDAV PUT on loopback (Bazel's HTTP
# remote-cache protocol is GET/HEAD/PUT on /cas/ and /ac/), every path it writes under $1.
# Sets cache_url (not printed: a command substitution would wait on nginx's open stdout).
start_cache_server() {
  local dir=$1 port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$dir/data" "$dir/tmp" "$dir/logs"
  cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
$([[ $(id -u) == 0 ]] && echo 'user root root;')
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  server {
    listen 127.0.0.1:$port;
    root $dir/data;
    location / { dav_methods PUT DELETE; create_full_put_path on; client_max_body_size 0; }
  }
}
CONF
  nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' >"$dir/logs/nginx.out" 2>&1 &
  nginx_pid=$!
  until curl -s -o /dev/null "http://127.0.0.1:$port/"; do sleep 0.1; done
  cache_url="http://127.0.0.1:$port"
}

# A cold CI runner (empty artifacts/: no CAS, no ledger, no action cache) running the 12-cell
# matrix, once with the remote cache a first runner of the same commit filled, once without.
# Both run on the same engine, whose images the first runner left: the figure is what the
# remote cache saves (every cell replayed instead of run), not image builds.
bench_remote_cache() {
  local spec=examples/matrix/airlock.yaml url a b c with without cached
  start_cache_server "$work/cache"
  url=$cache_url
  AIRLOCK_REMOTE_CACHE=$url node bin/airlock run --spec "$spec" --root "$work/first" >/dev/null 2>&1
  a=$(now)
  AIRLOCK_REMOTE_CACHE=$url node bin/airlock run --spec "$spec" --root "$work/with" --json >"$work/with.json" 2>/dev/null
  b=$(now)
  AIRLOCK_REMOTE_CACHE= node bin/airlock run --spec "$spec" --root "$work/without" >/dev/null 2>&1
  c=$(now)
  with=$(secs "$a" "$b")
  without=$(secs "$b" "$c")
  cached=$(tail -1 "$work/with.json" | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).cells.filter((c) => c.status === "cached").length))')
  echo "cold runner, 12 cells: ${cached} cached from the remote cache in ${with} s; ${without} s without it"
  bench_row "cold runner with remote cache vs without" "$with" "$without" s 0.5
}

# The same 6 sleep-bound cells (one CPU each, 3 s) on the one engine, then placed across 3 extra
# engines (scripts/engines.sh) by AIRLOCK_ENGINES; both --no-cache, images already built. On this
# one host the engines share its CPUs: what grows is how many cells run at once (each engine
# offers its CPUs), which is what a sleep- or I/O-bound matrix gains from more nodes.
bench_engines() {
  local names=("bs$$a" "bs$$b" "bs$$c") list="" n a b c one three
  bash scripts/engines.sh start "${names[@]}" >/dev/null
  # the names now: the trap runs after this function's locals are gone
  trap "bash scripts/engines.sh stop ${names[*]} >/dev/null 2>&1 || true; cleanup" EXIT
  for n in "${names[@]}"; do list+="${list:+,}$n=unix:///run/airlock-engines/$n/docker.sock"; done
  mkdir -p "$work/sleep"
  printf 'FROM airlock/busybox\n' >"$work/sleep/Dockerfile"
  cat >"$work/sleep/airlock.yaml" <<'YAML'
version: 1
name: sleepy
images:
  box: { dockerfile: Dockerfile, context: . }
environments:
  nap:
    image: box
    policy: { cpus: 1, memory: 128m }
    steps:
      - { name: nap, run: "sleep 3; echo ${{ matrix.n }}" }
matrix:
  environment: nap
  axes: { n: [1, 2, 3, 4, 5, 6] }
YAML
  node bin/airlock run --spec "$work/sleep/airlock.yaml" --root "$work/sleep" >/dev/null 2>&1 # builds the image once
  a=$(now)
  AIRLOCK_ENGINES= node bin/airlock run --no-cache --spec "$work/sleep/airlock.yaml" --root "$work/sleep" >/dev/null 2>&1
  b=$(now)
  AIRLOCK_ENGINES=$list node bin/airlock run --no-cache --spec "$work/sleep/airlock.yaml" --root "$work/sleep" >/dev/null 2>&1
  c=$(now)
  one=$(secs "$a" "$b")
  three=$(secs "$b" "$c")
  echo "6 cells of sleep 3: ${one} s on the one engine, ${three} s across 3 engines (images shipped and measured on each)"
  # no target: on one host the engines share its two CPUs, and what it shows is the placement, not more hardware
  bench_row "6 sleep-bound cells on 3 engines vs 1" "$three" "$one" s
}

bench_remote_cache
bench_engines
