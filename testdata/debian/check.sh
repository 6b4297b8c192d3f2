#!/usr/bin/env bash
# Compares each case's `# expect:` line with a results file written by run.sh
# (default: podman-results.txt beside this script) and prints one line per case:
#   CASE  EXPECTED  OUTCOME  agrees|DISAGREES
# `# expect: ok` agrees with "started", or with "failed" when the Containerfile says
# `# app-level: fails` (the exec succeeded; the program itself gave up). `# expect:
# broken KIND` agrees with "failed". Exits 1 if any case disagrees or has no result.
#   testdata/debian/check.sh [RESULTS]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
results=${1:-$here/podman-results.txt}
status=0
for file in "$here"/*/Containerfile; do
  name=$(basename "$(dirname "$file")")
  expect=$(sed -n 's/^# expect: //p' "$file")
  outcome=$(awk -F ' :: ' -v n="$name" '$1 == n { print $2 }' "$results")
  case "$expect/$outcome" in
    ok/started | broken\ */failed) verdict=agrees ;;
    ok/failed) grep -q '^# app-level: fails' "$file" && verdict=agrees || verdict=DISAGREES ;;
    *) verdict=DISAGREES ;;
  esac
  [ "$verdict" = agrees ] || status=1
  printf '%-36s %-32s %-8s %s\n' "$name" "$expect" "${outcome:-(none)}" "$verdict"
done
exit $status
