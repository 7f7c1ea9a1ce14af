#!/bin/sh
# stamp OUT_DIR: writes one file per classic reproducibility bug (see README.md), and
# one file without any. Modes are set explicitly so only the contents differ.
set -eu
out=$1

# timestamp: the clock at build time
date -u +'built at %Y-%m-%dT%H:%M:%SZ' > "$out/build-date.txt"

# hostname: the machine that built it
echo "built on $(hostname)" > "$out/build-host.txt"

# random: a fresh id per build
echo "build id $(cat /proc/sys/kernel/random/uuid)" > "$out/build-id.txt"

# locale-sort: a list sorted the way `sort` sorts under the caller's locale. Busybox sort
# ignores locales, so this does what GNU sort does: byte order under C, POSIX or C.UTF-8;
# under any other locale (en_US.UTF-8, ...) case is ignored first, which `sort -f` does here.
locale_sort() {
  case "${LC_ALL:-${LC_COLLATE:-${LANG:-C}}}" in
    C | POSIX | C.* ) sort ;;
    * ) sort -f ;;
  esac
}
printf '%s\n' alpha.c Beta.c gamma.c Delta.h epsilon.txt Zeta.md | locale_sort > "$out/sources.txt"

# no bug: the same in every run
echo "stable: the same in every run" > "$out/stable.txt"

chmod 0644 "$out"/*
