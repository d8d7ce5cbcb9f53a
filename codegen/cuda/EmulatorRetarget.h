//===- EmulatorRetarget.h - NVVM IR -> host code for the emulator -*- C++ -*-===//
//
// The kernels' NVVM LLVM IR (what the PTX is generated from) rewritten to run
// on the host under runtime/emu: each NVVM intrinsic becomes a call through
// the emulator's table, each load and store of non-stack memory first asks
// the emulator where it may go (bounds and shared-memory race checks), each
// kernel gets a trampoline that runs one GPU thread (abi/GpuLaunch.h), and
// libdevice's functions become the host's libm. An NVVM intrinsic or
// libdevice function it does not know is an error naming it: never a
// silent skip.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_CODEGEN_CUDA_EMULATORRETARGET_H
#define MTGR_CODEGEN_CUDA_EMULATORRETARGET_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace llvm {
class DataLayout;
class Module;
class Triple;
} // namespace llvm

namespace mlir::mtgr {

/// The dynamic shared memory a launch may ask of the emulator: sm_90's
/// 227 KB a block.
inline constexpr int64_t kEmulatedDynamicShared = 227 * 1024;

/// A kernel after retargeting: what the kernel table records.
struct EmulatedKernel {
  std::string name;       // the kernel's symbol in the PTX
  std::string trampoline; // its host trampoline (mtgr_emu_thread_fn)
  int64_t params = 0;     // parameter words
  bool barriers = false;  // it synchronises its block
  /// Its shared memory: the module's arena (a global's name) and the size
  /// of its static part; then, with dynamic shared memory, the arena again
  /// with -kEmulatedDynamicShared (the dynamic part follows the static one,
  /// 1024-aligned).
  std::vector<std::pair<std::string, int64_t>> shared;
};

/// Rewrites `module` (the NVVM IR of one gpu.module) in place into host code
/// for `triple` and `layout`; returns its kernels.
llvm::Expected<std::vector<EmulatedKernel>> retargetForEmulator(llvm::Module &module,
                                                                const llvm::Triple &triple,
                                                                const llvm::DataLayout &layout);

/// Defines the kernel table (MTGR_GPU_KERNELS_SYMBOL, `kernels` in launch
/// order) and the emulator's table (MTGR_EMU_TABLE_SYMBOL) in `host`, after
/// the retargeted modules were linked into it.
void addKernelTables(llvm::Module &host, llvm::ArrayRef<EmulatedKernel> kernels);

} // namespace mlir::mtgr

#endif
