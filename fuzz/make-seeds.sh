#!/usr/bin/env bash
# Regenerates the committed seed corpora under fuzz/corpus/ from the test
# inputs and from files the tools in build/bin write for fuzz/models/*.yaml.
# Seeds stay small (each under ~100 KB) so that mutation stays fast.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bin=build/bin
out=fuzz/corpus
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
rm -rf "$out/model-desc" "$out/mlir" "$out/requests" "$out/npz" "$out/artifact" "$out/checkpoint"
mkdir -p "$out"/{model-desc,mlir,requests,npz,artifact,checkpoint}

# Model descriptions: the examples, the parser's error cases, the test inputs.
for f in examples/models/*.yaml test/frontend/errors/*.yaml test/tools/Inputs/*.yaml fuzz/models/*.yaml; do
  cp "$f" "$out/model-desc/$(basename "$(dirname "$f")")-$(basename "$f")"
done

# mtgr IR: imported models before and after the passes, and the dialect tests
# (split at '// -----' like mtgr-opt --split-input-file).
for m in fuzz/models/mini.yaml fuzz/models/intervals.yaml; do
  n=$(basename "$m" .yaml)
  $bin/mtgr-opt "$m" > "$out/mlir/$n.mlir"
  $bin/mtgr-opt "$m" --mtgr-decompose-layers > "$out/mlir/$n-decomposed.mlir"
  $bin/mtgr-opt "$m" --mtgr-decompose-layers --mtgr-generate-train-step > "$out/mlir/$n-train-step.mlir" 2>/dev/null ||
    rm -f "$out/mlir/$n-train-step.mlir"
done
for f in test/dialect/*.mlir test/passes/*.mlir; do
  python3 - "$f" "$out/mlir/$(basename "$(dirname "$f")")-$(basename "$f" .mlir)" <<'PY'
import sys
chunks = open(sys.argv[1]).read().split("// -----")
for i, c in enumerate(chunks):
    open("%s-%d.mlir" % (sys.argv[2], i), "w").write(c)
PY
done

# Artifacts (plain and signed), requests, parameters and checkpoints of the
# fuzz models.
$bin/mtgr-compile fuzz/models/mini.yaml -o "$tmp/mini.mtgr"
$bin/mtgr-compile fuzz/models/intervals.yaml -o "$tmp/intervals.mtgr"
$bin/mtgr-keygen -o "$tmp/key" >/dev/null
$bin/mtgr-compile fuzz/models/mini.yaml --sign-key="$tmp/key.key" -o "$tmp/mini-signed.mtgr"
# The harness never loads the code: seeds keep its first KiB (checksums are
# left stale; the harness reseals the container before its second pass).
for a in mini intervals mini-signed; do
  python3 - "$tmp/$a.mtgr" "$out/artifact/$a.mtgr" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<I", b[12:16])[0]
entries, blobs = [], []
for i in range(n):
    e = b[16 + 40 * i:56 + 40 * i]
    off, size, h = struct.unpack("<QQQ", e[16:])
    data = b[off:off + size]
    if e[:16].rstrip(b"\0") == b"host.so":
        data = data[:1024]
    entries.append((e[:16], h))
    blobs.append(data)
off = 16 + 40 * n + 8
table = b""
for (name, h), data in zip(entries, blobs):
    table += name + struct.pack("<QQQ", off, len(data), h)
    off += len(data)
open(sys.argv[2], "wb").write(b[:16] + table + b[16 + 40 * n:24 + 40 * n] + b"".join(blobs))
PY
done

$bin/mtgr-run gen "$tmp/mini.mtgr" --users=3 --windows=2 --output="$tmp/mini.jsonl"
$bin/mtgr-run gen "$tmp/intervals.mtgr" --users=3 --windows=1 --output="$tmp/intervals.jsonl"
split -l 2 -d "$tmp/mini.jsonl" "$out/requests/mini-"
split -l 2 -d "$tmp/intervals.jsonl" "$out/requests/intervals-"
printf '' > "$out/requests/empty"

# KServe v2 request bodies (the kserve harness): the request files as a BYTES
# "requests" input, as JSON and with the binary tensor data extension ("MTGR"
# + the JSON's length as u16 + the body).
rm -rf "$out/kserve" && mkdir -p "$out/kserve"
python3 - "$out" <<'PY'
import json, os, struct, sys
out = sys.argv[1]
for name in ("mini-00", "intervals-00"):
    lines = [l for l in open(f"{out}/requests/{name}").read().splitlines() if l.strip()]
    body = {"id": name, "inputs": [{"name": "requests", "shape": [len(lines)], "datatype": "BYTES", "data": lines}]}
    open(f"{out}/kserve/{name}.json", "wb").write(json.dumps(body).encode())
    raw = b"".join(struct.pack("<I", len(l.encode())) + l.encode() for l in lines)
    head = json.dumps({"inputs": [{"name": "requests", "shape": [len(lines)], "datatype": "BYTES",
                                   "parameters": {"binary_data_size": len(raw)}}],
                       "outputs": [{"name": "ctr", "parameters": {"binary_data": True}}]}).encode()
    open(f"{out}/kserve/{name}.bin", "wb").write(b"MTGR" + struct.pack("<H", len(head)) + head + raw)
PY

$bin/mtgr-run train "$tmp/mini.mtgr" --users=4 --windows=2 --steps=2 --token-budget=64 \
  --checkpoint="$out/checkpoint/mini.ckpt" --save-params="$out/npz/mini.npz" >/dev/null 2>&1
python3 test/tools/Inputs/make_npz.py --convert "$out/npz/mini.npz" "$out/npz/mini-f64-deflate.npz"
ls -la "$out"/* | awk '{s+=$5} END {print "seeds: " NR " entries, " s " bytes"}'
