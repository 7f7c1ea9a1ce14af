#!/bin/sh
# toolchain-corpus OUT: on the Debian toolchain base, archives and objects whose
# fields carry the build's time, path, owner and umask; the *.ok files are controls.
set -eu
out=$1
workdir=$PWD
src=/usr/local/share/corpus
w=/tmp/w && mkdir -p "$w/files" && cd "$w"
echo alpha > files/a.txt && echo beta > files/b.txt
owner='--owner=0 --group=0 --numeric-owner'
fixed="--mtime=@$SOURCE_DATE_EPOCH"

tar -cf "$out/mtime.tar" --sort=name $owner --mode=u=rw,go=r files     # tar member mtime
tar -cf "$out/owner.tar" --sort=name "$fixed" --mode=u=rw,go=r files  # tar member owner (uid)
tar -cf "$out/modes.tar" --sort=name "$fixed" $owner files            # tar member mode (umask)
gzip -c files/a.txt > "$out/a.txt.gz"                                 # gzip header mtime
{ id -un 2>/dev/null || echo "uid $(id -u)"; } > "$out/whoami.txt"     # user name (from /etc/passwd)
env -u SOURCE_DATE_EPOCH gcc -c -o "$out/date.o" "$src/date.c"        # ELF .rodata __DATE__/__TIME__
mkdir -p "/tmp$workdir-dbg" && cd "/tmp$workdir-dbg"                   # a directory named after the workdir
cp "$src/hello.c" . && gcc -g -c -o "$out/debug.o" hello.c            # ELF debug info: DW_AT_comp_dir
cd "$w"
gcc -c -o a.o "$src/hello.c" && cp a.o b.o
ar rcU "$out/lib.a" a.o                                               # ar member mtime (and owner)

# controls
tar -cf "$out/files.tar.ok" --sort=name "$fixed" $owner --mode=u=rw,go=r files
gzip -n -c files/a.txt > "$out/a.gz.ok"
gcc -c -o "$out/date.o.ok" "$src/date.c"
mkdir -p "/tmp$workdir-map" && cd "/tmp$workdir-map" && cp "$src/hello.c" .
gcc -g -ffile-prefix-map="$PWD"=. -c -o "$out/debug.o.ok" hello.c
cd "$w" && ar rcD "$out/lib.a.ok" b.o
