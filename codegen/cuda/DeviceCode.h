//===- DeviceCode.h - the kernels as PTX and cubins per architecture -*- C++ -*-===//
//
// After convert-gpu-to-nvvm: every gpu.module of the module merged into one,
// `nvvm-attach-target` and `gpu-module-to-binary{format=isa}` per
// architecture (upstream passes; libdevice linked from the toolkit), then
// the toolkit's ptxas to a cubin, whose `-v` report gives each kernel's
// registers, shared memory, stack and spills: the launch metadata the
// artifact records (section `cuda.kernels`) and the CUDA device checks.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_CODEGEN_CUDA_DEVICECODE_H
#define MTGR_CODEGEN_CUDA_DEVICECODE_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <map>
#include <string>
#include <vector>

namespace mlir::mtgr {

/// What ptxas reports for one kernel.
struct KernelResources {
  int64_t registers = 0, sharedBytes = 0, stackBytes = 0, spillStores = 0, spillLoads = 0;
};

/// One architecture's code.
struct DeviceCode {
  std::string arch;  // sm_90a
  std::string ptx;
  std::string cubin;
  std::map<std::string, KernelResources> kernels; // by name
};

/// The architectures mtgr generates for by default, and those it accepts.
constexpr const char *kDefaultCudaArchs = "sm_90a,sm_80";
bool isSupportedCudaArch(llvm::StringRef arch);

/// The CUDA toolkit's root: $CUDA_HOME, else /usr/local/cuda.
std::string cudaToolkitPath();

/// Compiles the module's gpu.modules (after convert-gpu-to-nvvm; the module
/// is not changed) for each of `archs`. The error names what is missing
/// (the toolkit, ptxas) or what failed.
llvm::Expected<std::vector<DeviceCode>> compileDeviceCode(ModuleOp module,
                                                          llvm::ArrayRef<std::string> archs);

/// A kernel of the launch table: its name, parameter words and, for a
/// kernel of a model op, the op's profile family (abi/AbiKinds.h; -1: none)
/// and HSTU layer (-1: none).
struct KernelEntry {
  std::string name;
  int64_t params = 0;
  int64_t family = -1, layer = -1;
};

/// The launch metadata section: per kernel its parameter words, profile
/// family and layer, per arch what ptxas reports, as JSON.
std::string kernelMetadata(llvm::ArrayRef<KernelEntry> kernels, llvm::ArrayRef<DeviceCode> code);

} // namespace mlir::mtgr

#endif
