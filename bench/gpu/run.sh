#!/usr/bin/env bash
# On a lent GPU machine (CUDA, no LLVM): what of mtgr's GPU path exists so far
# (docs/gpu-backend.md). Prints, and writes $OUT/gpu.txt as it goes:
# nvidia-smi; mtgr's device listing through its own dlopen of libcuda; ptxas
# -v of every generated kernel for the machine's architecture. Usage, with
# build/gpu-carry/ (bench/gpu/build.sh) as the working directory:
#   bash run.sh
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${OUT:-$here}/gpu.txt"
log() { echo "$@" | tee -a "$out"; }
: > "$out"
log "== date: $(date -u +%FT%TZ)"
log "== nvidia-smi"
nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv 2>&1 | tee -a "$out"
log "== ldd mtgr-devices (must start without LLVM)"
ldd "$here/mtgr-devices" 2>&1 | tee -a "$out"
log "== mtgr-devices (app/Devices.cpp over runtime/cuda/CudaDriver.cpp)"
"$here/mtgr-devices" 2>&1 | tee -a "$out"; log "exit: ${PIPESTATUS[0]}"
ptxas="${CUDA_HOME:-/usr/local/cuda}/bin/ptxas"
for ptx in "$here"/*.ptx; do
  arch=$(grep -m1 '^\.target' "$ptx" | awk '{print $2}')
  log "== ptxas -arch=$arch -v $(basename "$ptx")"
  "$ptxas" -arch="$arch" -v "$ptx" -o /dev/null 2>&1 | tee -a "$out"
done
log "== done"
