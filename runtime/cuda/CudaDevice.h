//===- CudaDevice.h - `--device=cuda` ----------------------------*- C++ -*-===//
//
// A GPU through the CUDA driver (CudaDriver.h, loaded with dlopen): the
// device's primary context and one stream; the artifact's cubin for the
// device's architecture (cuda.sm_90a on compute capability 9.x, cuda.sm_80
// on 8.x; another architecture is refused by name) loaded as a module, each
// kernel of the host code's table found in it; the host code's launches go
// to cuLaunchKernel on the stream. Ran on an H200 once (2026-12-04,
// bench/results/gpu.txt); CI tests it against the stand-in driver of
// test/tools/fake-cuda.
//
// Memory is device memory (cuMemAlloc) from a caching pool (freed blocks
// reused by rounded size: the driver allocates once per shape) sized from
// the compiled code's working-memory figure (Executable::prepare). The host
// code plans each call from host memory (abi/GpuLaunch.h plan 2): its
// integer buffers are host blocks, its uploads go through a pinned staging
// buffer (cuMemcpyHtoDAsync on the stream), and the stream is waited for
// once, at the end of a call. Kernels above 48 KB of shared memory get the
// driver's opt-in before their first such launch.
// Products of --gemm=cublaslt code go to cuBLASLt (CublasLt.h) on the same
// stream; with --profile each kernel and GEMM is timed between events. A
// failed launch is reported by the driver's error name and ends the process
// with status 70, as the emulator's faults do. MTGR_CUDA_POISON fills every
// allocation with NaN bytes (bench/gpu/run.sh); MTGR_CUDA_POOL_STATS prints
// the pool's driver allocations and reuses at the end.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_CUDA_CUDADEVICE_H
#define MTGR_RUNTIME_CUDA_CUDADEVICE_H

#include "runtime/Device.h"

namespace mtgr {

/// The CUDA device of ordinal `ordinal`; "no CUDA device" (and why) when the
/// driver or the device is not there.
llvm::Expected<std::unique_ptr<Device>> createCudaDevice(int ordinal);

/// What a GPU can do at best, measured through mtgr's own dlopen paths
/// (`mtgr-run devices --ceilings`, bench/gpu/run.sh): the baselines GPU
/// kernel times are compared with. Each figure is the best of `repeats`
/// timed runs between CUDA events on the device's stream, after a warm-up.
struct CudaCeilings {
  int64_t size = 0;       // the GEMMs are size^3
  double copyBytes = 0;   // the copy moved this many bytes (4 size^2)
  double copyBytesPerSecond = 0;
  double bf16FlopsPerSecond = 0; // cuBLASLt, bf16 in and out, fp32 sums
  double f32FlopsPerSecond = 0;  // cuBLASLt, fp32
};
llvm::Expected<CudaCeilings> measureCudaCeilings(int ordinal, int64_t size, int repeats);

/// The artifact section holding cubins for devices of compute capability
/// `major` (a cubin runs on its own major version), or "" for none.
std::string cubinSectionFor(int major);

} // namespace mtgr

#endif
