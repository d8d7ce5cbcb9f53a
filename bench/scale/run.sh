#!/usr/bin/env bash
# Training on several ranks on this machine (docs/scale-out.md): steps of
# tiny and of MTGR-small on 1 rank of 2 threads (the baseline) and on 2 and
# 4 ranks of 1 thread (mpirun; 4 oversubscribes 2 cores: a measure of the
# exchange's cost and volume, not of scaling), the exchange per step
# against the model of docs/scale-out.md; then 2 and 4 ranks with sharded
# tables (--shard-tables): ids, rows and row gradients sent per step.
# Writes bench/results/scale.txt.
# Usage: bash bench/scale/run.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bash "$root/scripts/setup.sh" >/dev/null
mkdir -p "$root/bench/results"
/usr/bin/python3 "$root/bench/scale/scale.py" "$root" "$root/bench/results/scale.txt"
