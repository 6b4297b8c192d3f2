#!/usr/bin/env bash
# Benchmark: reading an image from a registry, three ways, side by side in one run
# against a local `docker-registry` (plain HTTP on loopback), for two image sizes:
#
#   1. buildproof image inspect docker://127.0.0.1:PORT/…
#   2. skopeo copy docker://… oci:DIR, then buildproof image inspect DIR
#   3. skopeo inspect --raw, then every blob fetched with curl | sha256sum
#      (what verifying the blobs costs at the least, with no layer read at all)
#
#   bench/registry.sh [WORKDIR]      (default target/bench-registry)
#
# The large image is bench/layers.sh's (4 gzip layers, 1 GiB uncompressed); the
# small one is its first layer alone (256 MiB). Peak memory is the largest RSS of
# the command and its children.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-target/bench-registry}
big=target/bench-image/image.oci
if [ ! -f "$big/index.json" ]; then
  echo "run bench/layers.sh first (it writes $big)" >&2
  exit 2
fi
mkdir -p "$work"
work=$(cd "$work" && pwd)

# The small image: the big one's first layer, its own config and manifest.
small=$work/small.oci
if [ ! -f "$small/index.json" ]; then
  python3 - "$big" "$small" <<'EOF'
import hashlib, json, os, sys
big, small = sys.argv[1], sys.argv[2]
os.makedirs(f"{small}/blobs/sha256", exist_ok=True)
blob = lambda d: f"{big}/blobs/sha256/{d[7:]}"
idx = json.load(open(f"{big}/index.json"))
m = json.load(open(blob(idx["manifests"][0]["digest"])))
c = json.load(open(blob(m["config"]["digest"])))
layer = m["layers"][0]
os.link(blob(layer["digest"]), f"{small}/blobs/sha256/{layer['digest'][7:]}")
c["rootfs"]["diff_ids"] = c["rootfs"]["diff_ids"][:1]
def put(b):
    d = hashlib.sha256(b).hexdigest()
    open(f"{small}/blobs/sha256/{d}", "wb").write(b)
    return {"digest": "sha256:" + d, "size": len(b)}
cd = put(json.dumps(c).encode())
m2 = {"schemaVersion": 2, "mediaType": m["mediaType"],
      "config": dict(m["config"], **cd), "layers": [layer]}
md = put(json.dumps(m2).encode())
open(f"{small}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
json.dump({"schemaVersion": 2, "manifests": [dict(mediaType=m["mediaType"], **md)]},
          open(f"{small}/index.json", "w"))
EOF
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/registry.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
EOF
docker-registry serve "$work/registry.yml" 2>"$work/registry.err" &
registry=$!
trap 'kill $registry 2>/dev/null; rm -rf "$work/copy"' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break
  sleep 0.1
done

[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet
bin=$PWD/target/release/buildproof

measure() { # label command...
  local label=$1
  shift
  /usr/bin/time -f '%e %M' -o "$work/time.txt" "$@" >/dev/null 2>"$work/err.txt" || true
  read -r secs kb < <(tail -1 "$work/time.txt")
  printf '  %-52s %7.2f s  peak %7d KiB\n' "$label" "$secs" "$kb"
}

for name in small big; do
  dir=$small
  [ "$name" = big ] && dir=$big
  ref=127.0.0.1:$port/bench-$name:v1
  skopeo --insecure-policy copy --quiet --preserve-digests --dest-tls-verify=false \
    "oci:$dir" "docker://$ref"
  compressed=$(python3 -c "
import json,sys
d='$dir'; i=json.load(open(d+'/index.json')); m=json.load(open(d+'/blobs/sha256/'+i['manifests'][0]['digest'][7:]))
print(sum(l['size'] for l in m['layers']))")
  echo "$name image: $((compressed / 1048576)) MiB compressed, pushed as $ref"
  measure "buildproof image inspect docker://…" \
    "$bin" image inspect "docker://$ref" --tls-verify=false --format json
  measure "skopeo copy docker://… oci:DIR + image inspect DIR" \
    sh -c "rm -rf '$work/copy' && skopeo --insecure-policy copy --quiet --src-tls-verify=false docker://$ref oci:$work/copy:v1 && '$bin' image inspect '$work/copy:v1' --format json"
  measure "skopeo inspect --raw + curl BLOB | sha256sum" \
    sh -c "skopeo inspect --raw --tls-verify=false docker://$ref >'$work/m.json' && for d in \$(python3 -c \"import json; m=json.load(open('$work/m.json')); print(' '.join([m['config']['digest']]+[l['digest'] for l in m['layers']]))\"); do curl -sf http://127.0.0.1:$port/v2/bench-$name/blobs/\$d | sha256sum; done"
done
