#!/usr/bin/env bash
# CPU inference throughput of an MTGR-small-shaped model against this machine's
# fp32 GEMM ceiling (OpenBLAS sgemm, measured in the same run). Writes
# bench/results/<cpu>/cpu-inference.txt (<cpu>: LLVM's name for this CPU, as
# `mtgr-run devices` prints it; RESULTS=FILE writes elsewhere).
# Usage: bash bench/run-cpu-inference.sh [model.yaml [mtgr-bench-inference options]]
# The ceiling is OpenBLAS's fastest kernel on this CPU (below), timed in
# alternating rounds with mtgr's passes. AVX2 code on an AVX-512 machine,
# against an AVX2 sgemm:
#   RESULTS=bench/results/znver4/cpu-inference-avx2.txt OPENBLAS_CORETYPE=Haswell \
#     bash bench/run-cpu-inference.sh examples/models/mtgr-small.yaml --cpu=x86-64-v3
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh" >/dev/null
# The baseline only: OpenBLAS from Debian, loaded at run time by the benchmark.
if ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends libopenblas0-pthread
fi
# Debian's OpenBLAS 0.3.21 may pick a slow generic kernel (or, for SkylakeX
# on CPUs without AVX-512, crash): name the kernel from the CPU's flags, and
# on an AVX-512 CPU time both the AVX-512 (SkylakeX) and the AVX2 (Haswell)
# kernels and keep the faster as the ceiling (on znver4, whose 512-bit FMAs
# are two 256-bit halves, Haswell's measured 104.7-107.5 GFLOP/s on one core
# against SkylakeX's 100.1-101.5, 2026-12-07).
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  kernels=()
  grep -qw avx512f /proc/cpuinfo && kernels+=(SkylakeX)
  grep -qw avx2 /proc/cpuinfo && kernels+=(Haswell)
  best=0
  for k in "${kernels[@]}"; do
    rate=$(OPENBLAS_CORETYPE=$k "$root/build/bin/mtgr-bench-inference" --sgemm-only --seconds=2)
    echo "OpenBLAS sgemm, OPENBLAS_CORETYPE=$k: $rate GFLOP/s on 1 thread"
    if awk -v a="$rate" -v b="$best" 'BEGIN { exit !(a > b) }'; then
      best=$rate; export OPENBLAS_CORETYPE=$k
    fi
  done
fi
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-auto}, CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
cpu="$("$root/build/bin/mtgr-run" devices | sed -n 's/^cpu: \([^ ]*\).*/\1/p')"
out="${RESULTS:-$root/bench/results/${cpu:-unknown}/cpu-inference.txt}"
mkdir -p "$(dirname "$out")"
"$root/build/bin/mtgr-bench-inference" "${1:-$root/examples/models/mtgr-small.yaml}" \
  --results="$out" "${@:2}"
