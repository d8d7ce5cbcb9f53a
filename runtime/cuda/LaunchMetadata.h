//===- LaunchMetadata.h - a CUDA artifact's kernel records --------*- C++ -*-===//
//
// The section `cuda.kernels` (codegen/cuda/DeviceCode.h): the architectures
// the artifact has cubins for and, per kernel in launch order, its name, its
// parameter words and ptxas's resources per architecture. Both CUDA devices
// check it against the host code's kernel table before any launch, so an
// artifact whose metadata was edited (or does not belong to its code) is
// refused by name.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_CUDA_LAUNCHMETADATA_H
#define MTGR_RUNTIME_CUDA_LAUNCHMETADATA_H

#include "abi/GpuLaunch.h"
#include "runtime/HostMemory.h"
#include "runtime/cpu/HostCode.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <map>
#include <mutex>
#include <unordered_set>
#include <string>
#include <vector>

namespace mtgr {

struct KernelRecord {
  std::string name;
  int64_t params = 0;
  /// Per architecture: registers and static shared memory as ptxas reported.
  std::map<std::string, std::pair<int64_t, int64_t>> resources;
  /// The op family (abi/AbiKinds.h ProfileFamily) and HSTU layer of the op
  /// the kernel computes; -1: none (profiles leave the kernel out).
  int64_t family = -1, layer = -1;
};

struct LaunchMetadata {
  std::vector<std::string> archs;
  std::vector<KernelRecord> kernels;
};

/// Parses the section; the error names `where` and what is malformed.
llvm::Expected<LaunchMetadata> parseLaunchMetadata(llvm::StringRef json, llvm::StringRef where);

/// The host code's kernel table (MTGR_GPU_KERNELS_SYMBOL) must list the same
/// kernels with the same parameter words, in the same order.
llvm::Error checkKernelTable(const LaunchMetadata &metadata, const mtgr_gpu_kernel *table,
                             llvm::StringRef where);

/// A CUDA artifact's host code (section cuda.host.so) with its kernel
/// table, checked against the launch metadata: what both CUDA devices load
/// first. The errors name `where` and, for an artifact of another back end,
/// `runner` ("the CUDA device").
/// The host buffers of GPU host code (the environment's host_alloc: its
/// integer buffers, abi/GpuLaunch.h plan 2), from the executable's host
/// pool and known by address, so the environment's one `free` tells them
/// from device blocks.
class GpuHostBlocks {
public:
  void *allocate(HostPool &pool, uint64_t bytes);
  /// Releases `block` and returns true when it is one of these.
  bool release(HostPool &pool, void *block);

private:
  std::mutex lock;
  std::unordered_set<void *> blocks;
};

struct GpuHostCode {
  std::unique_ptr<HostCode> code;
  const mtgr_gpu_kernel *kernels = nullptr;
  LaunchMetadata metadata;
};
llvm::Expected<GpuHostCode> loadGpuHostCode(const Artifact &artifact, llvm::StringRef where,
                                            llvm::StringRef runner);

} // namespace mtgr

#endif
