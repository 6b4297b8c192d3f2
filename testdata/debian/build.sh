#!/usr/bin/env bash
# Builds the Debian test cases: every directory beside this script with a
# Containerfile, each FROM the cached bookworm base (see base.sh).
#
#   testdata/debian/build.sh OUTDIR [CASE...]
#
# Writes OUTDIR/CASE.oci (an OCI layout, tag `latest`) for every case (or the CASEs
# given). Each image is the base layer plus one layer holding everything the
# Containerfile did (no --layers: with the vfs driver every layer is a full copy of
# the rootfs), built with --timestamp 0. The base layer (uncompressed, as base.sh
# committed it) is a hard link in every layout to one file under OUTDIR/.blobs, so
# its 260 MB are stored once; each case's own layer is gzip'd and small.
# The binaries are compiled here with the host's gcc; the host is Debian bookworm
# too, so they link against the same glibc and libcrypto.so.3 as the base. buildah
# runs with its own storage under OUTDIR (OUTDIR/storage-DRIVER) and never touches
# the network (RUN steps only delete files or run ldconfig).
# STORAGE_DRIVER=overlay (default vfs) builds ~15x faster where overlayfs works:
# vfs copies the 260 MB rootfs for every container and every commit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
shift
base=$("$here/base.sh")
key=$(basename "$(dirname "$base")")
key=${key#debian-base-}

ctx=$out/context
rm -rf "$ctx"
mkdir -p "$ctx"
cp "$here"/src/* "$ctx/"
cc() { gcc -O2 -Wall "$@"; }
cc -o "$ctx/hello" "$here/src/hello.c"
cc -o "$ctx/hello-musl" -Wl,--dynamic-linker=/lib/ld-musl-x86_64.so.1 "$here/src/hello.c"
# libcrypto.so.3 named by path: DT_NEEDED is its soname, no headers needed.
cc -o "$ctx/crypto" "$here/src/crypto.c" /usr/lib/x86_64-linux-gnu/libcrypto.so.3
cc -shared -fPIC -Wl,-soname,libgreet.so.1 -o "$ctx/libgreet.so.1" "$here/src/greet.c"
cc -o "$ctx/needs-greet" "$here/src/needs-greet.c" "$ctx/libgreet.so.1"
cc -o "$ctx/needs-greet-origin" -Wl,--enable-new-dtags,-rpath,'$ORIGIN/../lib' \
  "$here/src/needs-greet.c" "$ctx/libgreet.so.1"
rm -f "$ctx"/*.c
chmod 0755 "$ctx"/hello* "$ctx"/crypto "$ctx"/needs-greet* "$ctx"/start-* "$ctx/entrypoint.sh"
chmod 0644 "$ctx"/*.py "$ctx"/*.js "$ctx"/*.pl "$ctx"/*.rb "$ctx"/*.php "$ctx"/*.conf "$ctx"/*.so.1
find "$ctx" -exec touch -h -d @0 {} +

driver=${STORAGE_DRIVER:-vfs}
B=(buildah --root "$out/storage-$driver" --runroot "$out/run-$driver" --storage-driver "$driver")
if [ -z "$("${B[@]}" images --quiet "localhost/bp-debian-base:$key" 2>/dev/null)" ]; then
  # skopeo, not buildah pull: buildah names the image after the layout's path, and
  # the path's ".cache" is not a valid reference component.
  skopeo copy --quiet "oci:$base:latest" \
    "containers-storage:[$driver@$out/storage-$driver+$out/run-$driver]localhost/bp-debian-base:$key"
  "${B[@]}" tag "localhost/bp-debian-base:$key" localhost/bp-debian-base:latest
fi

# The base's layer blobs: the digests after "layers" in its (compact) manifest.
manifest=$(grep -o '"digest":"sha256:[0-9a-f]*"' "$base/index.json" | head -1 | cut -d: -f3 | tr -d '"')
base_layers=$(sed 's/.*"layers"//' "$base/blobs/sha256/$manifest" |
  grep -o '"digest":"sha256:[0-9a-f]*"' | cut -d: -f3 | tr -d '"')

if [ $# -eq 0 ]; then
  set -- $(cd "$here" && ls -d */ | tr -d / | grep -v '^src$')
fi
mkdir -p "$out/.blobs"
for layer in $base_layers; do # a hard link into the cache, or a copy across file systems
  [ -f "$out/.blobs/$layer" ] ||
    ln "$base/blobs/sha256/$layer" "$out/.blobs/$layer" 2>/dev/null ||
    cp "$base/blobs/sha256/$layer" "$out/.blobs/$layer"
done
for name in "$@"; do
  start=$(date +%s.%N)
  rm -rf "$out/$name.oci"
  # Seed the layout with the base layer, so the push reuses it instead of re-reading
  # 260 MB out of the vfs storage (the push adds the manifest to this index).
  mkdir -p "$out/$name.oci/blobs/sha256"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$out/$name.oci/oci-layout"
  echo '{"schemaVersion":2,"manifests":[]}' >"$out/$name.oci/index.json"
  for layer in $base_layers; do
    ln "$out/.blobs/$layer" "$out/$name.oci/blobs/sha256/$layer"
  done
  "${B[@]}" bud --quiet --isolation chroot --pull=never --timestamp 0 \
    -f "$here/$name/Containerfile" -t "bp-debian-$name" "$ctx" >/dev/null
  "${B[@]}" push --quiet "bp-debian-$name" "oci:$out/$name.oci:latest" >/dev/null
  "${B[@]}" rmi "bp-debian-$name" >/dev/null
  awk -v n="$name" -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%s %.1fs\n", n, e - s }' >&2
done
