#!/usr/bin/env bash
# Everything `make smoke` and `make ci` need, idempotent and fast when already done:
#   host tools (mmdebstrap, apt-utils, …), npm dependencies, the compiled CLI,
#   a container engine, the base images and VM kernel built from their locks, and a signing key.
# Set AIRLOCK_SETUP_QUIET=1 to print only problems.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { [ -n "${AIRLOCK_SETUP_QUIET:-}" ] || printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: %s\n' "$*" >&2; exit 3; }

# 1. host tools the base images and cells need (Debian packages)
need=()
# mmdebstrap + apt-utils (apt-ftparchive): the Debian bases, built from their locked .debs;
# kmod (depmod): the locked guest kernel's modules; runsc: gVisor cells; qemu-system-x86
# (+ cpio, e2fsprogs): VM cells; libxml2-utils (xmllint) and chromium: the report tests;
# docker-compose: the dev stack test; podman: the Podman engine test (its Docker-compatible API,
# scripts/podman-service.sh); nginx (WebDAV: the remote-cache tests), openssh-server (ssh:// engines over
# loopback), bazel-bootstrap (a real Bazel client against the same cache). busybox and the guest kernel come from locks/, not the host.
for pkg in mmdebstrap apt-utils kmod xz-utils runsc qemu-system-x86 cpio e2fsprogs libxml2-utils chromium docker-compose podman nginx openssh-server bazel-bootstrap; do
  dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q ' installed$' || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || die "install these Debian packages first: ${need[*]}"
  say "installing ${need[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  # The package lists may be missing on a fresh machine; refresh them once if the install fails.
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; } ||
    die "apt-get install ${need[*]} failed"
fi

# 2. npm dependencies (better-sqlite3 compiles from source: ~2 min the first time)
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

# 3. the compiled CLI (dist/: tsc, then the bundle bin/airlock runs, dist/airlock/), rebuilt when
#    any source is newer than the bundle, or tsc alone wrote dist/ after it
if [ ! -f dist/airlock/main.js ] || [ dist/cli/main.js -nt dist/airlock/main.js ] ||
  [ -n "$(find src scripts/bundle.mjs tsconfig.json package.json -newer dist/airlock/main.js -print -quit)" ]; then
  say "compiling (npm run build: tsc, esbuild)"
  npm run --silent build
  touch dist/airlock/main.js
fi

# 4. an engine that answers
bash scripts/ensure-engine.sh

# 5. base images and the VM kernel, built only from the files their locks name (never re-resolved)
node bin/airlock base ${AIRLOCK_BASE_FLAGS:-} >&2

# 6. a signing key (kept outside the repo; its public key in locks/keys/)
node bin/airlock keygen --if-missing >&2
