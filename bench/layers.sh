#!/usr/bin/env bash
# Benchmark: `buildproof image inspect` on a generated image with ~1 GiB of layers,
# beside `gzip -dc BLOB | sha256sum` over the same blobs, with peak memory.
#
#   bench/layers.sh [WORKDIR]        (default target/bench-image)
#
# The image: 4 gzip layers of 256 MiB uncompressed each (half random bytes, half
# repetitive text, 4 MiB files), written as an OCI layout. buildproof does more than
# the pipeline: it also hashes the compressed blob and indexes every tar entry, and
# reads the layers in parallel (rayon); RAYON_NUM_THREADS=1 shows the one-core figure.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-target/bench-image}
img=$work/image.oci
layers=4
files=32 # per kind per layer, 4 MiB each

if [ ! -f "$img/index.json" ]; then
  rm -rf "$work"
  mkdir -p "$img/blobs/sha256" "$work/tmp"
  diff_ids=()
  descs=()
  for l in $(seq 1 $layers); do
    d=$work/tmp/l$l
    mkdir -p "$d/random" "$d/text"
    for i in $(seq 1 $files); do
      head -c 4M /dev/urandom >"$d/random/f$i.bin"
      yes "layer $l file $i: the quick brown fox jumps over the lazy dog $RANDOM" | head -c 4M >"$d/text/f$i.txt" || true
    done
    tar -C "$d" -cf "$work/tmp/l$l.tar" .
    gzip -1 -c "$work/tmp/l$l.tar" >"$work/tmp/l$l.tar.gz"
    diff_id=$(sha256sum "$work/tmp/l$l.tar" | cut -d' ' -f1)
    digest=$(sha256sum "$work/tmp/l$l.tar.gz" | cut -d' ' -f1)
    size=$(stat -c %s "$work/tmp/l$l.tar.gz")
    mv "$work/tmp/l$l.tar.gz" "$img/blobs/sha256/$digest"
    rm -rf "$d" "$work/tmp/l$l.tar"
    diff_ids+=("\"sha256:$diff_id\"")
    descs+=("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$digest\",\"size\":$size}")
  done
  ids=$(IFS=,; echo "${diff_ids[*]}")
  ls=$(IFS=,; echo "${descs[*]}")
  config="{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Entrypoint\":[\"/random/f1.bin\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[$ids]}}"
  cd_=$(printf %s "$config" | sha256sum | cut -d' ' -f1)
  printf %s "$config" >"$img/blobs/sha256/$cd_"
  manifest="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$cd_\",\"size\":${#config}},\"layers\":[$ls]}"
  md=$(printf %s "$manifest" | sha256sum | cut -d' ' -f1)
  printf %s "$manifest" >"$img/blobs/sha256/$md"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$img/oci-layout"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d}]}' "$md" "${#manifest}" >"$img/index.json"
fi

cargo build --release --quiet
bin=target/release/buildproof
mapfile -t blobs < <(python3 -c "
import json,sys
idx=json.load(open('$img/index.json'))
m=json.load(open('$img/blobs/sha256/'+idx['manifests'][0]['digest'][7:]))
print('\\n'.join('$img/blobs/sha256/'+l['digest'][7:] for l in m['layers']))")
compressed=$(du -cb "${blobs[@]}" | tail -1 | cut -f1)
uncompressed=$(for b in "${blobs[@]}"; do gzip -dc "$b" | wc -c; done | paste -sd+ | bc)

measure() { # label command...
  local label=$1
  shift
  cat "${blobs[@]}" >/dev/null # warm the page cache for every contender alike
  /usr/bin/time -f '%e %M' -o "$work/time.txt" "$@" >/dev/null 2>"$work/err.txt" || true
  read -r secs kb < <(tail -1 "$work/time.txt")
  local mbps
  mbps=$(echo "scale=1; $uncompressed / 1048576 / $secs" | bc)
  printf '%-48s %7.2f s  %8s MiB/s  peak %6d KiB\n' "$label" "$secs" "$mbps" "$kb"
}

echo "image: $img, $layers gzip layers, $((compressed / 1048576)) MiB compressed, $((uncompressed / 1048576)) MiB uncompressed"
# shellcheck disable=SC2016 # $@ and $b are for the inner sh
measure "gzip -dc BLOB | sha256sum (each blob)" sh -c 'for b in "$@"; do gzip -dc "$b" | sha256sum; done' sh "${blobs[@]}"
measure "buildproof image inspect" "$bin" image inspect "$img" --format json
RAYON_NUM_THREADS=1 measure "buildproof image inspect (RAYON_NUM_THREADS=1)" env RAYON_NUM_THREADS=1 "$bin" image inspect "$img" --format json
measure "buildproof image diff (file digests too)" "$bin" image diff "$img" "$img" --format json
