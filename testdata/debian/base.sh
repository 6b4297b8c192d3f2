#!/usr/bin/env bash
# Builds (or reuses) the Debian bookworm base the test cases in this directory derive
# from, and prints the path of its OCI layout (tag `latest`).
#
#   testdata/debian/base.sh [CACHE_DIR]        (default: $HOME/.cache/buildproof)
#
# The base is a minimal bookworm rootfs made by mmdebstrap --variant=minbase with the
# packages in packages.txt (no Recommends, no docs/man/locales, no apt lists), imported
# with buildah as a single layer committed with --timestamp 0. It is cached under
#   CACHE_DIR/debian-base-<sha256 of this script + packages.txt>/base.oci
# so a re-run with the same recipe returns at once; changing either file builds a new
# base. Package versions are whatever bookworm (+ -updates, -security) serves at build
# time: the tests assert verdicts and causes, never digests.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${1:-${HOME:?}/.cache/buildproof}
key=$(cat "$here/base.sh" "$here/packages.txt" | sha256sum | cut -c1-64)
dir=$cache/debian-base-$key
if [ -f "$dir/base.oci/index.json" ]; then
  echo "$dir/base.oci"
  exit 0
fi
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.debian-base-$key.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

packages=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/packages.txt" | paste -sd, -)
mirror=http://deb.debian.org/debian
start=$(date +%s)
# The merged-usr hook sets up the /usr merge itself and installs usr-is-merged;
# otherwise init-system-helpers pulls in usrmerge and with it the full perl (40 MB).
mmdebstrap --quiet --variant=minbase --format=tar \
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --include="$packages" \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/*.log "$1"/var/log/apt/*' \
  bookworm "$tmp/rootfs.tar" \
  "deb $mirror bookworm main" \
  "deb $mirror bookworm-updates main" \
  "deb $mirror-security bookworm-security main" >&2
mid=$(date +%s)

B=(buildah --root "$tmp/storage" --runroot "$tmp/run" --storage-driver vfs)
ctr=$("${B[@]}" from --quiet scratch)
"${B[@]}" add --quiet "$ctr" "$tmp/rootfs.tar" / >/dev/null
"${B[@]}" config \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --cmd /bin/bash --os linux --arch amd64 \
  --label org.opencontainers.image.description="buildproof test base: Debian bookworm minbase + $packages" \
  "$ctr"
"${B[@]}" commit --quiet --timestamp 0 --rm "$ctr" "oci:$tmp/base.oci:latest" >/dev/null
"${B[@]}" rm --all >/dev/null 2>&1 || true
chmod -R u+w "$tmp/storage" 2>/dev/null || true
rm -rf "$tmp/storage" "$tmp/run" "$tmp/rootfs.tar"
end=$(date +%s)
echo "base: mmdebstrap $((mid - start))s, import $((end - mid))s, layout $(du -sh "$tmp/base.oci" | cut -f1)" >&2
mv "$tmp" "$dir"
trap - EXIT
echo "$dir/base.oci"
