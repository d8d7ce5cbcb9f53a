//===- CpuBackend.h - the CPU back end ---------------------------*- C++ -*-===//
//
// Bound kernel-level ops -> vectorised, OpenMP-parallel loops (LowerToLoops
// and the per-family patterns) -> the LLVM dialect (the host passes,
// HostCodegen.cpp) -> LLVM IR at O3 -> an x86-64 object -> a shared object,
// the artifact's "host.so" section.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_CODEGEN_CPU_CPUBACKEND_H
#define MTGR_CODEGEN_CPU_CPUBACKEND_H

#include "codegen/common/TargetBackend.h"
#include "codegen/cpu/HostCodegen.h"
#include "codegen/cpu/Target.h"

namespace mlir::mtgr {

/// What the tiles of `host` derive from: the caches of this machine (sysfs)
/// when compiling for it, else the named CPU's table.
TargetDescription describeHost(const HostTarget &host);

/// A CPU back end for `host`; its tiles follow the host's features.
std::unique_ptr<TargetBackend> createCpuBackend(const HostTarget &host);
/// From options: `chip` is native (the default), x86-64-v3 or x86-64-v4.
llvm::Expected<std::unique_ptr<TargetBackend>> createCpuBackend(const BackendOptions &options);

} // namespace mlir::mtgr

#endif
