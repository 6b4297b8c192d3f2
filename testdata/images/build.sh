#!/usr/bin/env bash
# Rebuilds the fixture images from the Dockerfiles beside this script.
#
#   testdata/images/build.sh OUTDIR [NAME...]
#
# Writes OUTDIR/NAME.oci (an OCI layout, tag `latest`) for every fixture directory
# (or the NAMEs given), plus:
#   OUTDIR/ok-shell.oci.tar      oci-archive of ok-shell
#   OUTDIR/ok-shell.docker.tar   docker-archive of ok-shell (tag ok-shell:latest)
# The binaries are compiled here with gcc; busybox comes from busybox-static. buildah
# runs with its own storage under OUTDIR, so it does not touch anyone else's images,
# and with --layers, so each instruction is its own layer (whiteouts stay whiteouts).
# web-* are built with --format docker (HEALTHCHECK and SHELL survive only there) and
# pushed as Docker schema 2 manifests inside the OCI layout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
shift
ctx=$out/context
rm -rf "$ctx"
mkdir -p "$ctx"

cp /bin/busybox "$ctx/busybox"
gcc -static -O2 -o "$ctx/hello-static" "$here/src/hello.c"
gcc -O2 -o "$ctx/hello-dynamic" "$here/src/hello.c"
gcc -shared -fPIC -o "$ctx/libfoo.so" "$here/src/foo.c"
gcc -O2 -o "$ctx/needs-foo" "$here/src/needs-foo.c" -L"$ctx" -lfoo
cp -L /lib64/ld-linux-x86-64.so.2 "$ctx/ld-linux-x86-64.so.2"
cp -L "$(gcc -print-file-name=libc.so.6)" "$ctx/libc.so.6"
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' >"$ctx/passwd"
printf 'root:x:0:\napp:x:1000:\n' >"$ctx/group"
printf '#!/bin/sh\necho started\n' >"$ctx/start.sh"
printf '#!/usr/bin/python3\nprint("started")\n' >"$ctx/start-python.sh"
chmod 0755 "$ctx/start.sh" "$ctx/start-python.sh" "$ctx/hello-static" "$ctx/hello-dynamic" "$ctx/needs-foo"
# Stable mtimes, so rebuilds without --timestamp produce the same layers.
find "$ctx" -exec touch -h -d @0 {} +

B=(buildah --root "$out/storage" --runroot "$out/run" --storage-driver vfs)
build() { # name format extra-bud-args...
  local name=$1 format=$2
  shift 2
  "${B[@]}" bud --quiet --layers --isolation chroot --format "$format" "$@" \
    -f "$here/$name/Dockerfile" -t "bp-fixture-$name" "$ctx" >/dev/null
}
push() { # name destination [push args]
  local name=$1 dest=$2
  shift 2
  "${B[@]}" push --quiet "$@" "bp-fixture-$name" "$dest" >/dev/null
}

if [ $# -eq 0 ]; then
  set -- $(cd "$here" && ls -d */ | tr -d / | grep -v '^src$')
fi
for name in "$@"; do
  rm -rf "$out/$name.oci"
  case $name in
    web-*)
      build "$name" docker --timestamp 0
      push "$name" "oci:$out/$name.oci:latest" --format v2s2
      ;;
    *)
      build "$name" oci --timestamp 0
      push "$name" "oci:$out/$name.oci:latest"
      ;;
  esac
  case $name in
    ok-shell)
      rm -f "$out/ok-shell.oci.tar" "$out/ok-shell.docker.tar"
      push ok-shell "oci-archive:$out/ok-shell.oci.tar:latest"
      push ok-shell "docker-archive:$out/ok-shell.docker.tar:ok-shell:latest"
      ;;
  esac
done
