#!/usr/bin/env bash
# The 12-cell matrix (examples/matrix: 3 builds, 2 services per cell), measured in one run:
#   - cold (no action cache, no engine layer cache) and warm (everything cached) wall times;
#   - cells per minute at maxParallel 1 and 2 (action cache empty, images already built);
#   - airlock's per-cell overhead against plain `docker` doing the same cell by hand
#     (internal network, the two services, wait until they listen, the steps, clean up).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
spec=examples/matrix/airlock.yaml
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

node bin/airlock keygen --out "$work/key" --root "$work" >/dev/null
export AIRLOCK_SIGNING_KEY="$work/key"
run() { node bin/airlock run --spec "$spec" --root "$1" "${@:2}" >/dev/null 2>&1; }

t0=$(now); run "$work/cold" --no-cache; t1=$(now)
cold=$(secs "$t0" "$t1")
# fully cached: no build, no measurement, every cell replayed (the bundle still sealed and verified); median of 3
for i in 1 2 3; do a=$(now); run "$work/cold"; b=$(now); echo "$(secs "$a" "$b")"; done >"$work/warm"
warm=$(sort -n "$work/warm" | sed -n 2p)
echo "cold (no caches)              $cold s"
echo "warm (12 cells cached)        $warm s (median of 3: $(tr '\n' ' ' <"$work/warm"))"

for p in 1 2; do
  a=$(now); run "$work/p$p" --max-parallel "$p"; b=$(now)
  awk -v s="$(secs "$a" "$b")" -v p="$p" 'BEGIN { printf "maxParallel %d                 %.2f s, %.1f cells/min\n", p, s, 12 * 60 / s }'
  [ "$p" = 1 ] && serial=$(secs "$a" "$b")
done

# The same 12 cells by hand with the docker CLI, one at a time (as maxParallel 1).
app=$(docker images --format '{{.Repository}}:{{.Tag}}' | grep -m1 '^airlock.local/matrix-demo/app:')
web=$(docker images --format '{{.Repository}}:{{.Tag}}' | grep -m1 '^airlock.local/matrix-demo/web:')
listening() { docker exec "$1" sh -c "grep -qi ':$(printf %04X "$2") ' /proc/net/tcp /proc/net/tcp6"; }
a=$(now)
for opt in 1 2 3; do for n in 10 100 1000 10000; do
  net=bench-$$-$opt-$n
  docker network create --internal "$net" >/dev/null
  docker run -d --name "$net-web" --network "$net" --network-alias web "$web" httpd -f -p 8080 -h /www >/dev/null
  docker run -d --name "$net-kv" --network "$net" --network-alias kv airlock/busybox sh -c 'while true; do echo pong | nc -l -p 6379; done' >/dev/null
  until listening "$net-web" 8080 && listening "$net-kv" 6379; do sleep 0.1; done
  docker run --rm --network "$net" --read-only --tmpfs /out "$app" sh -c \
    "sum $n && echo 'GET /expected.txt HTTP/1.0' | nc -w 3 web 8080 >/dev/null && echo ping | nc -w 3 kv 6379 >/dev/null; nc -w 2 1.1.1.1 80; sum $n > /out/sum.txt" >/dev/null 2>&1 || true
  docker rm -f "$net-web" "$net-kv" >/dev/null
  docker network rm "$net" >/dev/null
done; done
b=$(now)
plain=$(secs "$a" "$b")
awk -v s="$serial" -v d="$plain" 'BEGIN {
  printf "plain docker, 12 cells        %.2f s (%.2f s per cell)\n", d, d / 12
  printf "airlock maxParallel 1         %.2f s (%.2f s per cell)\n", s, s / 12
  printf "per-cell overhead             %+.2f s (ratio %.2f)\n", (s - d) / 12, s / d
}'

source bench/lib.sh
bench_row "12-cell matrix: fully cached vs cold" "$warm" "$cold" s 0.15
bench_row "12 cells at maxParallel 1 vs plain docker" "$serial" "$plain" s
