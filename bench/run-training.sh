#!/usr/bin/env bash
# Training throughput with and without user-level compression, same run.
# Writes bench/results/training.txt. Usage: bash bench/run-training.sh [model.yaml]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh" >/dev/null
mkdir -p "$root/bench/results"
"$root/build/bin/mtgr-bench-training" "${1:-$root/bench/models/train-small.yaml}" \
  --results="$root/bench/results/training.txt" "${@:2}"
