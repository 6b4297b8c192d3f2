#!/usr/bin/env bash
# Regenerates the small ld.so.cache fixtures beside this script with the host's
# ldconfig (these were written by Debian bookworm's glibc 2.36, which still has
# `-c old` and `-c compat`; glibc 2.38+ dropped both).
#
#   testdata/ldcache/make.sh
#
# A scratch root holds five tiny libraries: libz.so.1 in /usr/lib/x86_64-linux-gnu
# and in its glibc-hwcaps/x86-64-v3 subdirectory, libfoo.so.2 and libfoo.so.10 in
# /usr/local/lib, libgreet.so.1 (file libgreet.so.1.0) in /opt/greet/lib; ld.so.conf
# includes ld.so.conf.d/*.conf, which lists /usr/local/lib and /opt/greet/lib.
# `ldconfig -r ROOT -c FORMAT` then writes new.cache, old.cache and compat.cache.
# bookworm-base.cache is /etc/ld.so.cache of testdata/debian's base image, copied as
# is (mmdebstrap ran ldconfig; 111 entries).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
lib=$root/usr/lib/x86_64-linux-gnu
mkdir -p "$root/etc/ld.so.conf.d" "$lib/glibc-hwcaps/x86-64-v3" "$root/usr/local/lib" "$root/opt/greet/lib"
echo 'int f(void) { return 1; }' >"$root/f.c"
so() { gcc -shared -fPIC -Wl,-soname,"$1" -o "$2" "$root/f.c"; }
so libz.so.1 "$lib/libz.so.1.2.13"
so libz.so.1 "$lib/glibc-hwcaps/x86-64-v3/libz.so.1.2.13"
so libfoo.so.2 "$root/usr/local/lib/libfoo.so.2"
so libfoo.so.10 "$root/usr/local/lib/libfoo.so.10"
so libgreet.so.1 "$root/opt/greet/lib/libgreet.so.1.0"
printf 'include /etc/ld.so.conf.d/*.conf\n' >"$root/etc/ld.so.conf"
printf '# libc default configuration\n/usr/local/lib\n' >"$root/etc/ld.so.conf.d/libc.conf"
printf '/opt/greet/lib\n' >"$root/etc/ld.so.conf.d/greet.conf"
for format in new old compat; do
  ldconfig -r "$root" -c "$format" -C "/etc/$format.cache"
  cp "$root/etc/$format.cache" "$here/$format.cache"
done
