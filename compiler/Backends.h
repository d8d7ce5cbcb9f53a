//===- Backends.h - the registered back ends ---------------------*- C++ -*-===//
//
// The one place that names every back end: adding a target is a folder under
// codegen/ and a line in Backends.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_COMPILER_BACKENDS_H
#define MTGR_COMPILER_BACKENDS_H

#include "codegen/common/TargetBackend.h"

namespace mlir::mtgr {

/// The back end `mtgr-compile` uses without --target: this machine's.
constexpr const char *kDefaultTarget = "cpu";

/// The back end registered as `name`, created with `options`; an unknown or
/// not yet available target is an error that says which targets there are.
llvm::Expected<std::unique_ptr<TargetBackend>> createTargetBackend(llvm::StringRef name,
                                                                   const BackendOptions &options);
/// The registered names, for --help and messages.
std::string targetBackendNames();

} // namespace mlir::mtgr

#endif
