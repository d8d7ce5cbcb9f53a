#!/usr/bin/env bash
# The main job: build mtgr; summarise every bundled model; train the tiny
# MTGR model on synthetic data (held-out AUC/GAUC before and after) next to its
# DLRM-style baseline; score a few candidates with the trained weights; compile
# MTGR-small for this CPU and verify it against the float64 reference.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh" >/dev/null
cd "$root"
bin=build/bin
out=build/demo
mkdir -p "$out"

echo "== Bundled models (verified mtgr IR, parameters, FLOPs per user sample)"
for model in examples/models/*.yaml; do
  "$bin/mtgr-compile" "$model" --summary --emit=none
done

echo
echo "== Compile tiny.yaml (forward + generated train_step) and its DLRM baseline"
"$bin/mtgr-compile" examples/models/tiny.yaml -o "$out/tiny.mtgr"
"$bin/mtgr-compile" examples/models/tiny-dlrm.yaml -o "$out/tiny-dlrm.mtgr"

data=(--users=2000 --windows=4 --seq-len=64 --rt-len=16 --candidates=8 --epochs=6 --token-budget=4096)
echo
echo "== Train tiny (MTGR, compressed samples) on synthetic data; held out: each user's last window"
"$bin/mtgr-run" train "$out/tiny.mtgr" "${data[@]}" --checkpoint="$out/tiny.ckpt" --save-params="$out/tiny.npz"
echo
echo "== Train tiny-dlrm (the DLRM-style baseline, one row per candidate) the same way"
"$bin/mtgr-run" train "$out/tiny-dlrm.mtgr" "${data[@]}" --dlrm-rows

echo
echo "== Score a few candidates with the trained tiny (user, candidate, P(click), P(conversion))"
"$bin/mtgr-run" infer "$out/tiny.mtgr" --params="$out/tiny.npz" --users=2 --data-seed=99 --show=6

echo
echo "== Compile MTGR-small for this CPU and verify it against the float64 reference"
"$bin/mtgr-compile" examples/models/mtgr-small.yaml --inference-only -o "$out/mtgr-small.mtgr"
"$bin/mtgr-run" verify "$out/mtgr-small.mtgr" --batches=2 --users=3 --seq-len=128 --rt-len=16 --randomize-params
