#!/usr/bin/env bash
# Starts every case image built by build.sh with podman + runc, to establish what the
# static verdict must be. Usage: testdata/debian/run.sh OUTDIR [CASE...]
# Prints one line per case, as kept in podman-results.txt beside this script:
#   CASE :: started|failed :: FIRST LINE OF OUTPUT
# Judging: each image runs detached; podman gets WAIT seconds (default 10) for it to
# exit. "started" = exit status 0, or still running after WAIT seconds (a server,
# e.g. nginx: the exec succeeded; it is then stopped). "failed" = podman or runc could
# not start it, or it exited non-zero; the exit status is appended. The line is the
# first non-empty line podman printed (for a start failure) or the container logged;
# for a failure the first that reads like an error, if any.
# "failed" can be an application-level failure after a successful exec: such cases
# say `# app-level: fails` in their Containerfile (nginx as nobody).
# podman runs with its own storage under OUTDIR (run-time state in /tmp); images are
# copied in with skopeo (podman would name an oci: image after its path, which need
# not be a valid name) and removed after their run, the base kept so its layer is
# copied in only once.
# STORAGE_DRIVER=overlay (default vfs) is ~15x faster where overlayfs works.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$1" && pwd)
shift
wait=${WAIT:-10}
driver=${STORAGE_DRIVER:-vfs}
# podman refuses a runroot longer than 50 characters (conmon's socket paths): the
# run-time state goes to a short temporary directory, the storage stays in OUTDIR.
prun=$(mktemp -d /tmp/bp-prun.XXXXXX)
trap 'rm -rf "$prun"' EXIT
P=(podman --root "$out/pstore-$driver" --runroot "$prun" --storage-driver "$driver" --runtime runc)
store="containers-storage:[$driver@$out/pstore-$driver+$prun]"
if [ -z "$("${P[@]}" images --quiet localhost/bp-debian-base:latest 2>/dev/null)" ]; then
  skopeo copy --quiet "oci:$("$here/base.sh"):latest" "${store}localhost/bp-debian-base:latest"
fi
if [ $# -eq 0 ]; then
  set -- $(cd "$out" && ls -d *.oci | sed 's/\.oci$//')
fi
# The first non-empty line; for a failure, the first that reads like an error if any
# (nginx warns first, node prints a source line first). Log timestamps are cut.
first() {
  local text
  text=$(tr -d '\r' | sed -E 's#^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9:]{8} ##' | grep -v '^[[:space:]]*$')
  if [ "${1:-}" = failed ]; then
    printf '%s\n' "$text" | grep -m1 -i -E \
      'error|emerg|fatal|cannot|can.t|not found|no such|denied|could not|unable' ||
      printf '%s\n' "$text" | head -1
  else
    printf '%s\n' "$text" | head -1
  fi
}
for name in "$@"; do (
  image=localhost/bp-debian-$name:latest
  ctr=bp-debian-$name
  skopeo copy --quiet "oci:$out/$name.oci:latest" "$store$image"
  "${P[@]}" rm --force --ignore "$ctr" >/dev/null 2>&1
  if ! started=$(timeout 120 "${P[@]}" run --detach --name "$ctr" \
    --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$image" 2>&1); then
    echo "$name :: failed :: $(printf '%s\n' "$started" | first failed)"
  elif code=$(timeout "$wait" "${P[@]}" wait "$ctr" 2>/dev/null); then
    if [ "$code" = 0 ]; then
      echo "$name :: started :: $("${P[@]}" logs "$ctr" 2>&1 | first)"
    else
      echo "$name :: failed :: $("${P[@]}" logs "$ctr" 2>&1 | first failed) (exit $code)"
    fi
  else
    echo "$name :: started :: (still running after ${wait}s) $("${P[@]}" logs "$ctr" 2>&1 | first)"
  fi
  "${P[@]}" rm --force --time 0 --ignore "$ctr" >/dev/null 2>&1
  "${P[@]}" rmi --force "$image" >/dev/null 2>&1
) | sed 's/[[:space:]]*$//'; done
