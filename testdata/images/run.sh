#!/usr/bin/env bash
# Starts every fixture image built by build.sh with podman, to establish what the
# static verdict must be. Usage: testdata/images/run.sh OUTDIR
# The last run's output is kept in podman-results.txt beside this script.
set -uo pipefail
out=$(cd "$1" && pwd)
P=(podman --root "$out/pstore" --runroot "$out/prun" --storage-driver vfs --runtime runc)
for image in "$out"/*.oci; do
  name=$(basename "$image" .oci)
  result=$(timeout 60 "${P[@]}" run --rm --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
    "oci:$image:latest" 2>&1 | grep -v -E '^(Getting|Copying|Writing|Storing)' | head -2 | tr '\n' ' ')
  echo "$name :: $result"
done
