#!/usr/bin/env bash
# The main job: build mtgr; summarise every bundled model; compile MTGR-small
# for this CPU; score synthetic requests with it; verify the compiled code
# against the float64 reference.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh" >/dev/null
cd "$root"
bin=build/bin
mkdir -p build/models

echo "== Bundled models (verified mtgr IR, parameters, FLOPs per user sample)"
for model in examples/models/*.yaml; do
  "$bin/mtgr-compile" "$model" --summary --emit=none
done

echo
echo "== Compile examples/models/mtgr-small.yaml for this CPU"
"$bin/mtgr-compile" examples/models/mtgr-small.yaml --target=cpu -o build/models/mtgr-small.mtgr

echo
echo "== Score synthetic requests (4 users; user, candidate, P(click), P(conversion))"
"$bin/mtgr-run" infer build/models/mtgr-small.mtgr --users=4 --seq-len=256 --rt-len=32 --show=8

echo
echo "== Verify the compiled code against the float64 reference"
"$bin/mtgr-run" verify build/models/mtgr-small.mtgr --batches=2 --users=3 --seq-len=128 --rt-len=16
