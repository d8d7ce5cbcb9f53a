//===- CudaBackend.h - the CUDA back end --------------------------*- C++ -*-===//
//
// Bound kernel-level entry points -> GPU kernels (mtgr-lower-to-gpu) ->
// outlined gpu.modules and host functions that launch them through the
// runtime (mtgr-lower-gpu-launches) -> NVVM IR per kernel. The artifact's
// section `cuda.host.so` is an x86-64 shared object holding the host code
// and, for `--device=cuda-emu`, every kernel compiled for the host under the
// emulator's checks (codegen/cuda/EmulatorRetarget.h) with the kernel table
// both devices launch by (abi/GpuLaunch.h).
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_CODEGEN_CUDA_CUDABACKEND_H
#define MTGR_CODEGEN_CUDA_CUDABACKEND_H

#include "codegen/common/TargetBackend.h"

namespace mlir::mtgr {

llvm::Expected<std::unique_ptr<TargetBackend>> createCudaBackend(const BackendOptions &options);

} // namespace mlir::mtgr

#endif
