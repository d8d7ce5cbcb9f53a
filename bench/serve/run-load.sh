#!/usr/bin/env bash
# mtgr-serve's p50/p99 latency and throughput at 1, 4 and 16 concurrent
# clients, with and without the prefix cache, on MTGR-small (n_norm:
# visible) at the paper's serving shape (S 1000, R 100, 512 candidates) and
# a 0.9 user repeat rate (docs/serving.md). Writes bench/results/serve-load.txt
# and serve-load.png (matplotlib from PyPI into build/test-venv when the index
# is reachable; without it, no plot). About 2.5 minutes.
# Usage: bash bench/serve/run-load.sh [load.py options, e.g. --seconds=10]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bash "$root/scripts/setup.sh" >/dev/null
ninja -C "$root/build" mtgr-serve mtgr-compile mtgr-run >/dev/null
work="$root/build/bench/serve"
mkdir -p "$work" "$root/bench/results"
model="$root/bench/models/mtgr-small-visible.yaml"
"$root/build/bin/mtgr-compile" "$model" --inference-only -o "$work/small.mtgr" >/dev/null
"$root/build/bin/mtgr-run" gen "$work/small.mtgr" --users=64 --seq-len=1000 --min-seq-len=1000 \
  --rt-len=100 --candidates=512 --output="$work/pool.jsonl" >/dev/null
python=/usr/bin/python3
venv="$root/build/test-venv"
if [ -x "$venv/bin/python" ]; then
  python="$venv/bin/python"
  "$python" -c 'import matplotlib' 2>/dev/null ||
    timeout 180 "$venv/bin/pip" install -q --disable-pip-version-check --retries 1 --timeout 30 \
      matplotlib >/dev/null 2>&1 || echo "run-load.sh: matplotlib not installed: no plot"
fi
"$python" "$root/bench/serve/load.py" --serve="$root/build/bin/mtgr-serve" \
  --artifact="$work/small.mtgr" --pool="$work/pool.jsonl" --model="$(basename "$model")" \
  --results="$root/bench/results/serve-load.txt" --plot="$root/bench/results/serve-load.png" "$@"
