//===- Backends.cpp - the registered back ends ----------------------------===//
#include "compiler/Backends.h"
#include "codegen/cpu/CpuBackend.h"
#include "codegen/cuda/CudaBackend.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir::mtgr;

namespace {
using Factory = llvm::Expected<std::unique_ptr<TargetBackend>> (*)(const BackendOptions &);
struct Registered {
  const char *name;
  Factory create;
};
constexpr Registered kBackends[] = {
    {"cpu", createCpuBackend},
    {"cuda", createCudaBackend},
};
} // namespace

std::string mlir::mtgr::targetBackendNames() {
  std::string names;
  for (const Registered &r : kBackends)
    names += (names.empty() ? "" : ", ") + std::string(r.name);
  return names;
}

llvm::Expected<std::unique_ptr<TargetBackend>>
mlir::mtgr::createTargetBackend(llvm::StringRef name, const BackendOptions &options) {
  for (const Registered &r : kBackends)
    if (name == r.name)
      return r.create(options);
  return llvm::createStringError("unknown target '" + name.str() +
                                 "' (this mtgr compiles for: " + targetBackendNames() + ")");
}
