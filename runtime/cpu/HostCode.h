//===- HostCode.h - an artifact's x86-64 shared object, loaded ---*- C++ -*-===//
//
// The host code of an artifact (the CPU back end's `host.so`, the CUDA back
// end's `cuda.host.so`) loaded from memory with dlopen, its entry points
// found and its ABI record compared with the manifest before any call. The
// CPU device runs it directly; the CUDA devices give it a launcher.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_CPU_HOSTCODE_H
#define MTGR_RUNTIME_CPU_HOSTCODE_H

#include "abi/Environment.h"
#include "runtime/Device.h"

#include <map>
#include <memory>
#include <string>

namespace mtgr {

class HostCode {
public:
  /// Loads `artifact`'s section `section`; the error names `where`.
  static llvm::Expected<std::unique_ptr<HostCode>> load(const Artifact &artifact,
                                                        llvm::StringRef section,
                                                        llvm::StringRef where);
  ~HostCode();
  HostCode(const HostCode &) = delete;
  HostCode &operator=(const HostCode &) = delete;

  /// A symbol the code exports, or nullptr.
  void *symbol(const char *name) const;
  /// Calls entry point `entry` with one memref descriptor per view.
  void call(const EntryPoint &entry, llvm::ArrayRef<BufferView> args,
            const mtgr_environment &table) const;

private:
  HostCode() = default;
  using EntryFn = void (*)(void **, const mtgr_environment *);
  void *library = nullptr;
  int codeFile = -1; // the file the code was loaded from, open while it is loaded
  std::map<std::string, EntryFn> functions;
};

} // namespace mtgr

#endif
