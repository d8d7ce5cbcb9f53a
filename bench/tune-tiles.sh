#!/usr/bin/env bash
# The register-tile search of `mtgr-compile --tune` (compiler/TileTuning.h)
# run as a benchmark: longer runs, a batch of the bench's shape, no cache, and
# the table written down per CPU. The GEMM's and the attention's tiles are
# derived from the CPU's description (vector registers, FMA units x latency:
# codegen/cpu/Target.h); this checks the rule against other shapes on the
# real model: step 1 GEMM tiles, step 2 attention row blocks, each compiled
# and timed on 1 and 2 threads in rotating rounds, with a control (the
# derived tiles compiled apart) whose spread widens the 2% a winner must
# beat the derived tiles by.
#
# Prints and writes bench/results/<cpu>/tiles-<model>[-<CPU>].txt (<cpu>:
# LLVM's name for this CPU); its last line names the tiles (--tiles=...).
#
# Usage: bash bench/tune-tiles.sh [model.yaml] [mtgr-compile options...]
#   default: examples/models/mtgr-small.yaml --tune-users=16 --seq-len=512
#            --rt-len=64 --candidates=32 --tune-seconds=2
# Environment: CPU (mtgr-compile --cpu, default native; e.g. x86-64-v3 for
# AVX2 code on an AVX-512 machine).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/build/bin"
model="${1:-$root/examples/models/mtgr-small.yaml}"
shift || true
args=("$@")
[ ${#args[@]} -gt 0 ] ||
  args=(--tune-users=16 --seq-len=512 --rt-len=64 --candidates=32 --tune-seconds=2)
cpu="${CPU:-native}"
out_dir="$root/bench/results/$("$bin/mtgr-run" devices | sed -n 's/^cpu: \([^ ]*\).*/\1/p')"
mkdir -p "$out_dir"
out="$out_dir/tiles-$(basename "$model" .yaml)$([ "$cpu" = native ] || echo "-$cpu").txt"
{
  echo "# register tiles on this machine ($([ "$cpu" = native ] || echo "CPU=$cpu ")bash bench/tune-tiles.sh $(basename "$model") ${args[*]})"
  echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores; $(date -u +%Y-%m-%d), $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
  "$bin/mtgr-compile" "$model" --cpu="$cpu" --inference-only --tune --tune-cache=none \
    "${args[@]}" --emit=none 2>&1
} | tee "$out"
