#!/usr/bin/env bash
# Training throughput with and without user-level compression, same run.
# Writes bench/results/<cpu>/training.txt (<cpu>: LLVM's name for this CPU;
# RESULTS=FILE writes elsewhere). Usage: bash bench/run-training.sh [model.yaml]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh" >/dev/null
cpu="$("$root/build/bin/mtgr-run" devices | sed -n 's/^cpu: \([^ ]*\).*/\1/p')"
out="${RESULTS:-$root/bench/results/${cpu:-unknown}/training.txt}"
mkdir -p "$(dirname "$out")"
"$root/build/bin/mtgr-bench-training" "${1:-$root/bench/models/train-small.yaml}" \
  --results="$out" "${@:2}"
