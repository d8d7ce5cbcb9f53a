#!/usr/bin/env bash
# The prefix cache's cost on the CPU (docs/serving.md): one request of the
# paper's serving shape (S 1000, R 100, 512 candidates) on MTGR-small with
# n_norm: visible, cold and cached, and a stream at a 0.9 repeat rate.
# Writes bench/results/serve-prefix-cache.txt. Usage: bash bench/serve/run.sh [options]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bash "$root/scripts/setup.sh" >/dev/null
mkdir -p "$root/bench/results"
"$root/build/bin/mtgr-bench-prefix-cache" "$root/bench/models/mtgr-small-visible.yaml" \
  --results="$root/bench/results/serve-prefix-cache.txt" "$@"
