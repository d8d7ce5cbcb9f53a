//===- Backends.cpp - the registered back ends ----------------------------===//
#include "compiler/Backends.h"
#include "codegen/cpu/CpuBackend.h"

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
  if (name.starts_with("cuda"))
    return llvm::createStringError(
        "target '" + name.str() + "' is not available yet: the NVPTX (CUDA) back end is the next "
        "step of the plan; this mtgr compiles for: " + targetBackendNames());
  return llvm::createStringError("unknown target '" + name.str() +
                                 "' (this mtgr compiles for: " + targetBackendNames() + ")");
}
