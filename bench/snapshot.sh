#!/usr/bin/env bash
# Snapshot throughput beside reference tools, on one generated tree, warm page cache.
#
#   bench/snapshot.sh [FILES] [TOTAL_MIB]     (default 20000 files, 1024 MiB)
#
# Prints seconds and GB/s for: buildproof snapshot (inputs = the whole tree),
# `find | xargs sha256sum` (one process), the same with `xargs -P` (all cores),
# and `nix hash path` when nix is installed. No assertion: the figures are for people.
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-20000}
mib=${2:-1024}
work=${BENCH_DIR:-/tmp/buildproof-bench}
tree="$work/tree"

cargo build --release --quiet
bin="$PWD/target/release/buildproof"

if [ ! -f "$work/.done-$files-$mib" ]; then
  rm -rf "$work"; mkdir -p "$work"
  echo "generating $files files, $mib MiB in $tree ..."
  python3 bench/gen-tree.py "$tree" "$files" "$mib"
  touch "$work/.done-$files-$mib"
fi
printf '[[component]]\nname = "bench"\ninputs = ["tree/**"]\noutputs = ["out"]\n' > "$work/buildproof.toml"
echo out > "$work/out"
bytes=$(du -sb "$tree" | cut -f1)
nfiles=$(find "$tree" -type f | wc -l)
echo "tree: $nfiles files, $bytes bytes; $(nproc) cores"
# Warm the page cache so every tool reads from memory.
find "$tree" -type f -print0 | xargs -0 cat > /dev/null

time_it() { # label, command...
  local label=$1; shift
  local best=""
  for _ in 1 2 3; do
    local s e
    s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N)
    local t; t=$(awk -v s="$s" -v e="$e" 'BEGIN { print e - s }')
    if [ -z "$best" ] || awk -v t="$t" -v b="$best" 'BEGIN { exit !(t < b) }'; then best=$t; fi
  done
  awk -v l="$label" -v t="$best" -v b="$bytes" 'BEGIN { printf "%-42s %7.3f s  %6.2f GB/s\n", l, t, b / t / 1e9 }'
}

time_it "buildproof snapshot" "$bin" snapshot -c "$work/buildproof.toml"
time_it "find | xargs sha256sum" sh -c "cd '$work' && find tree -type f -print0 | xargs -0 sha256sum"
time_it "find | xargs -P$(nproc) sha256sum" sh -c "cd '$work' && find tree -type f -print0 | xargs -0 -P$(nproc) -n 500 sha256sum"
if command -v nix > /dev/null; then
  time_it "nix hash path" nix --extra-experimental-features nix-command hash path "$tree"
  time_it "buildproof nar-hash" "$bin" nar-hash "$tree"
fi
