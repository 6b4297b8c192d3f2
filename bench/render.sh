#!/usr/bin/env bash
# Times every report format on a diff of two generated manifests with N components
# (default 100,000), each with one changed input file, so every component has a
# `stale-artifact` finding and a change to list. Issue 11 measured Markdown and JUnit
# at 170 s for 100,000 subjects when they were quadratic (JSON: under 2 s).
#
#   bench/render.sh [N] [BUILDPROOF]
set -euo pipefail
n=${1:-100000}
bp=${2:-target/release/buildproof}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 - "$n" "$dir" <<'PY'
import json, sys
n, out = int(sys.argv[1]), sys.argv[2]
def manifest(rev):
    comps = {}
    for i in range(n):
        comps[f"c{i:06d}"] = {
            "inputs": {"digest": "sha256:%064x" % (i * 2 + rev),
                       "files": [{"path": f"c{i}/main.go", "kind": "file", "size": 3,
                                  "digest": "sha256:%064x" % (i * 2 + rev)}]},
            "outputs": [{"path": f"out/c{i}", "kind": "file", "size": 3,
                         "digest": "sha256:%064x" % (10**9 + i)}]}
    return {"schema": "buildproof.manifest/v1", "created": "2026-01-01T00:00:00Z",
            "generator": "buildproof 0.1.0", "components": comps}
for rev, name in [(0, "base"), (1, "new")]:
    json.dump(manifest(rev), open(f"{out}/{name}.json", "w"))
PY
# Wall time, and CPU time (user + system), which a busy machine inflates less.
printf '%-9s %8s %8s %10s %8s\n' format wall cpu bytes max-rss
for format in text json sarif junit markdown github gitlab html; do
  /usr/bin/time -f '%e %U %S %M' -o "$dir/time" \
    "$bp" diff "$dir/base.json" "$dir/new.json" --format "$format" -o "$dir/out" --fail-on never 2>/dev/null
  read -r wall user sys rss <"$dir/time"
  printf '%-9s %7.2fs %7.2fs %10d %6dMB\n' "$format" "$wall" "$(echo "$user + $sys" | bc)" \
    "$(stat -c %s "$dir/out")" "$((rss / 1024))"
done
