#!/usr/bin/env bash
# Current Nix beside Debian's Nix 2.8, without touching the system: Debian trixie's
# nix-bin (2.26) and its library closure are unpacked into DIR, and DIR/bin gets
# wrappers that run it through trixie's own loader and libraries. Prints DIR/bin.
#
#   .ci/current-nix.sh DIR
#
# .ci/run runs the Nix tests a second time with DIR/bin first on PATH, because the
# `nix` key must work with Debian's Nix 2.8 and with current Nix (whose JSON shapes
# differ). Needs Debian's mirror, nothing else.
set -euo pipefail
dir=$(mkdir -p "${1:?usage: current-nix.sh DIR}" && cd "$1" && pwd)
state=$dir/apt
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$dir/debs" "$dir/root" "$dir/bin"
echo "deb http://deb.debian.org/debian trixie main" >"$state/sources.list"
apt=(-o Dir::Etc::SourceList="$state/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o Dir::State::Lists="$state/lists" -o Dir::Cache="$state/cache"
  -o Dir::State::status=/dev/null)
apt-get "${apt[@]}" update -qq >/dev/null 2>&1 || apt-get "${apt[@]}" update
mapfile -t pkgs < <(apt-cache "${apt[@]}" depends --recurse --no-recommends --no-suggests \
  --no-conflicts --no-breaks --no-replaces --no-enhances --no-pre-depends nix-bin |
  grep -v -e '^ ' -e '<' | sort -u)
(cd "$dir/debs" && apt-get "${apt[@]}" download "${pkgs[@]}" >/dev/null 2>&1) ||
  (cd "$dir/debs" && apt-get "${apt[@]}" download "${pkgs[@]}")
for deb in "$dir"/debs/*.deb; do dpkg -x "$deb" "$dir/root"; done

root=$dir/root
libs=$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu:$root/usr/lib
for cmd in nix nix-build nix-instantiate nix-store nix-hash nix-env; do
  # Nix re-executes itself for the build hook, and /proc/self/exe is the loader here:
  # the hook is switched off (builds are local anyway). No substituter is reachable.
  cat >"$dir/bin/$cmd" <<WRAPPER
#!/bin/sh
export NIX_CONFIG="build-hook =
substituters =
\${NIX_CONFIG:-}"
exec $root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path $libs \\
  --argv0 $cmd $root/usr/bin/nix "\$@"
WRAPPER
  chmod +x "$dir/bin/$cmd"
done
"$dir/bin/nix" --version >&2
echo "$dir/bin"
