#!/usr/bin/env bash
# Benchmark: `buildproof nar-hash` against `nix hash path` on the same trees, warm
# page cache, release build. Prints both side by side and checks the hashes agree.
#
#   bench/nar-hash.sh [WORKDIR]    (default: a temp dir, removed afterwards)
#
# Trees: a generated many-file tree (FILES files of 0..64 KiB in nested dirs, plus
# symlinks and executables) and one LARGE_MB file. Each tool runs RUNS times per
# tree; the best time is reported (least disturbed by other load on the machine).
set -euo pipefail
cd "$(dirname "$0")/.."

FILES=${FILES:-20000}
LARGE_MB=${LARGE_MB:-1024}
RUNS=${RUNS:-5}

work=${1:-}
if [ -z "$work" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi

cargo build --release --quiet
bp=target/release/buildproof
nix_hash() { nix --extra-experimental-features nix-command hash path "$1"; }

many=$work/many
if [ ! -d "$many" ]; then
  python3 - "$many" "$FILES" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(42)
for i in range(n):
    d = os.path.join(root, f"d{i % 50:02}", f"s{(i // 50) % 20:02}")
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, f"f{i:06}.dat")
    with open(p, "wb") as f:
        f.write(rng.randbytes(rng.randint(0, 64 * 1024)))
    if i % 17 == 0:
        os.chmod(p, 0o755)
    if i % 101 == 0:
        os.symlink(f"f{i:06}.dat", os.path.join(d, f"l{i:06}"))
PY
fi
large=$work/large.bin
if [ ! -f "$large" ]; then
  head -c $((LARGE_MB * 1024 * 1024)) /dev/urandom > "$large"
fi

# Best wall time of RUNS runs, and the CPU time (user+sys) of that run, in seconds.
best() {
  local b=999999 cpu=0 w u s
  for _ in $(seq "$RUNS"); do
    read -r w u s < <({ /usr/bin/time -f "%e %U %S" "$@" >/dev/null; } 2>&1 | tail -1)
    if (( $(echo "$w < $b" | bc -l) )); then b=$w; cpu=$(echo "$u + $s" | bc -l); fi
  done
  echo "$b $cpu"
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
printf '%-10s %8s %9s %9s %10s %9s %9s %10s %8s\n' tree MiB "nix wall" "nix cpu" "nix MiB/s" "bp wall" "bp cpu" "bp MiB/s" speedup
for tree in "$many" "$large"; do
  # Same answer first, and the page cache is warm for both after this.
  a=$(nix_hash "$tree"); b=$("$bp" nar-hash "$tree")
  if [ "$a" != "$b" ]; then echo "MISMATCH on $tree: nix $a, buildproof $b" >&2; exit 1; fi
  mib=$(du -sb --apparent-size "$tree" | awk '{printf "%.1f", $1/1048576}')
  read -r tn cn < <(best nix --extra-experimental-features nix-command hash path "$tree")
  read -r tb cb < <(best "$bp" nar-hash "$tree")
  printf '%-10s %8s %9.2f %9.2f %10.0f %9.2f %9.2f %10.0f %7.2fx\n' "$(basename "$tree")" "$mib" \
    "$tn" "$cn" "$(echo "$mib / $tn" | bc -l)" "$tb" "$cb" "$(echo "$mib / $tb" | bc -l)" "$(echo "$tn / $tb" | bc -l)"
done

# The ceiling: a NAR hash is one sequential SHA-256, so no tool can hash a tree faster
# than one core runs SHA-256 over data already in its cache. OpenSSL's figure for
# 1 MiB blocks is that rate; Nix links the same OpenSSL.
if command -v openssl >/dev/null; then
  kbs=$(openssl speed -evp sha256 -bytes 1048576 -seconds 2 2>/dev/null | awk '/^sha256/ {sub(/k$/, "", $2); print $2}')
  if [ -n "$kbs" ]; then
    printf 'SHA-256 on one core (openssl speed): %.0f MiB/s, the most any NAR hasher can reach here\n' \
      "$(echo "$kbs * 1000 / 1048576" | bc -l)"
  fi
fi
