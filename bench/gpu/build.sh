#!/usr/bin/env bash
# Prepares what bench/gpu/run.sh carries to a GPU machine (no LLVM, no MLIR
# there): the device probe linked against static LLVM Support, and the PTX of
# the GPU kernels mtgr generates today (test/codegen/cuda inputs through
# mtgr-opt). Writes build/gpu-carry/. Run here, after scripts/setup.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$root/build/gpu-carry"
rm -rf "$out" && mkdir -p "$out"
llvm=/usr/lib/llvm-22
clang++-22 -std=c++17 -O2 -I"$root" -isystem "$llvm/include" \
  "$root/bench/gpu/probe.cpp" "$root/app/Devices.cpp" "$root/runtime/cuda/CudaDriver.cpp" \
  "$llvm/lib/libLLVMTargetParser.a" "$llvm/lib/libLLVMSupport.a" "$llvm/lib/libLLVMDemangle.a" \
  -ldl -lpthread -o "$out/mtgr-devices"
for input in elementwise-ptxas norms-ptxas; do
  for chip in sm_90a sm_80; do
    "$root/build/bin/mtgr-opt" "$root/test/codegen/cuda/$input.mlir" \
      --pass-pipeline="builtin.module(mtgr-lower-to-gpu, gpu-kernel-outlining, nvvm-attach-target{chip=$chip features=+ptx80 O=3}, gpu.module(convert-scf-to-cf, convert-gpu-to-nvvm, reconcile-unrealized-casts), gpu-module-to-binary{format=isa toolkit=${CUDA_HOME:-/usr/local/cuda}})" |
      python3 "$root/test/codegen/cuda/Inputs/extract_ptx.py" "$out/$input.$chip." >/dev/null
  done
done
cp "$root/bench/gpu/run.sh" "$out/"
ls -la "$out"
