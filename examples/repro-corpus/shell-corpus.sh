#!/bin/sh
# shell-corpus OUT: on busybox, one file per cause; the *.ok files are controls.
set -eu
out=$1
w=/tmp/w && mkdir -p "$w"

date -u '+built %Y-%m-%d %H:%M:%S' > "$out/clock.txt"           # timestamp (inherent)
date '+%z' > "$out/zone.txt"                                     # timezone
hostname > "$out/host.txt"                                       # hostname
pwd > "$out/where.txt"                                           # build path
id -u > "$out/uid.txt"                                           # uid
umask > "$out/umask.txt"                                         # umask
echo "lang=${LANG:-unset}" > "$out/lang.txt"                     # locale
nproc > "$out/cpus.txt"                                          # CPU count
# environment order: the environment as this process received it (a shell's own
# `env` would list its hash order, whatever the order it was given)
xargs -0 -n1 < /proc/$$/environ | grep '^CORPUS_' > "$out/env.txt"
cat /proc/sys/kernel/random/uuid > "$out/random.txt"             # random
echo "seed $(od -An -tu4 -N4 /dev/urandom | tr -d ' ')" > "$out/seed.txt"   # random, as a plain number
grep '\[stack\]' /proc/self/maps | cut -d' ' -f1 > "$out/maps.txt"   # address (ASLR)
seq 1 16 | sed 's/^/item-/' | shuf > "$out/order.txt"            # order (hash/random order)

# locale-sort: busybox sort ignores locales, so do what GNU sort does under them
case "${LC_ALL:-${LANG:-C}}" in
  C | POSIX | C.*) sort_l() { sort; } ;;
  *) sort_l() { sort -f; } ;;
esac
printf '%s\n' alpha.c Beta.c gamma.c Delta.h epsilon.txt Zeta.md | sort_l > "$out/sorted.txt"

# cpio (newc): members carry the files' mtime and owner
echo one > "$w/one" && echo two > "$w/two"
(cd "$w" && printf 'one\ntwo\n' | cpio -o -H newc 2>/dev/null) > "$out/files.cpio"

# controls: the same in every run
echo "stable" > "$out/stable.ok"
printf '%s\n' alpha.c Beta.c gamma.c Delta.h | LC_ALL=C sort > "$out/sorted.ok"
date -u -d "@$SOURCE_DATE_EPOCH" '+released %Y-%m-%d' > "$out/released.ok"
xargs -0 -n1 < /proc/$$/environ | grep '^CORPUS_' | LC_ALL=C sort > "$out/env.ok"
