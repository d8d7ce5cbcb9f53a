//===- HostCodegen.h - loops -> LLVM -> x86-64 shared object ----*- C++ -*-===//
#ifndef MTGR_CODEGEN_HOSTCODEGEN_H
#define MTGR_CODEGEN_HOSTCODEGEN_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <optional>
#include <string>

namespace llvm {
class LLVMContext;
class Module;
} // namespace llvm

namespace mlir::mtgr {

/// The machine code is generated for: the host's triple, CPU and features by
/// default. The artifact records it and the loader checks it.
struct HostTarget {
  std::string triple, cpu, features;
  static HostTarget native();
  /// "native" (this machine), or a generic x86-64 level for another one:
  /// "x86-64-v3" (AVX2 + FMA) or "x86-64-v4" (AVX-512 F/BW/CD/DQ/VL);
  /// std::nullopt for any other name.
  static std::optional<HostTarget> named(llvm::StringRef cpu);
  std::string str() const { return triple + ";" + cpu + ";" + features; }
};

/// Converts the loop-level module (lowerForwardToLoops) to the LLVM dialect
/// and adds the packed entry point `void mtgr_forward_packed(void **args)`:
/// args[i] points to the memref descriptor of ABI argument i.
LogicalResult lowerLoopsToLLVMDialect(ModuleOp module);

/// The passes lowerLoopsToLLVMDialect runs, as text (--print-pipeline).
std::string describeHostPipeline();

/// LLVM dialect -> LLVM IR, optimised at O3 for `target`.
llvm::Expected<std::unique_ptr<llvm::Module>>
translateAndOptimize(ModuleOp module, llvm::LLVMContext &context, const HostTarget &target);

/// An ELF relocatable object for `target`.
llvm::Expected<std::string> emitObject(llvm::Module &module, const HostTarget &target);

/// Links an object into a shared object with ld.lld (LLVM 22). Its dynamic
/// imports are what the code calls: libc/libm (malloc, free, expf, ...).
llvm::Expected<std::string> linkSharedObject(llvm::StringRef object);

} // namespace mlir::mtgr

#endif
