//===- HostCodegen.h - loops -> LLVM -> x86-64 shared object ----*- C++ -*-===//
#ifndef MTGR_CODEGEN_CPU_HOSTCODEGEN_H
#define MTGR_CODEGEN_CPU_HOSTCODEGEN_H

#include "codegen/common/TargetBackend.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/IR/DataLayout.h"
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
  /// The machine the compiler runs on (native()): its caches are read
  /// from sysfs for the tiles (codegen/cpu/Target.h).
  bool thisMachine = false;
  static HostTarget native();
  /// "native" (this machine), a generic x86-64 level for another one:
  /// "x86-64-v3" (AVX2 + FMA) or "x86-64-v4" (AVX-512 F/BW/CD/DQ/VL), or a
  /// CPU of the target description's table ("skylake-avx512", "znver3":
  /// LLVM's features for it); std::nullopt for any other name.
  static std::optional<HostTarget> named(llvm::StringRef cpu);
  /// Why named(cpu) has none: the one message of every tool and back end.
  static std::string unknownCpu(llvm::StringRef cpu);
  std::string str() const { return triple + ";" + cpu + ";" + features; }
};

/// Loops -> the LLVM dialect with packed entry points
/// `void mtgr_<name>_packed(void **args, const mtgr_environment *env)`
/// (abi/Environment.h): mtgr-cpu-outline-parallel,
/// mtgr-cpu-math-approximations, convert-scf-to-openmp,
/// mtgr-cpu-set-team-sizes, upstream's conversions to the LLVM dialect,
/// mtgr-cpu-packed-entry-points (codegen/cpu/Passes.td).
void buildHostPipeline(OpPassManager &pm);

/// LLVM dialect -> LLVM IR, optimised at O3 for `target`
/// (translateToHost, then optimizeForHost).
llvm::Expected<std::unique_ptr<llvm::Module>>
translateAndOptimize(ModuleOp module, llvm::LLVMContext &context, const HostTarget &target);

/// LLVM dialect -> LLVM IR for `target` (triple and data layout set); only
/// the packed entry points stay visible outside the object.
llvm::Expected<std::unique_ptr<llvm::Module>>
translateToHost(ModuleOp module, llvm::LLVMContext &context, const HostTarget &target);

/// LLVM's O3 pipeline for `target`.
llvm::Error optimizeForHost(llvm::Module &module, const HostTarget &target);

/// The end of every back end's host code: `abiRecord` added as the symbol
/// kAbiRecordSymbol, the module verified and optimised at O3, then what
/// `stop` asks for into `out`: LLVM IR, an object, or the linked shared
/// object as the code section `section`.
llvm::Error finishHostCode(llvm::Module &module, const HostTarget &target,
                           llvm::StringRef abiRecord, EmitStop stop, llvm::StringRef section,
                           Emitted &out);

/// The data layout of code for `target`.
llvm::Expected<llvm::DataLayout> hostDataLayout(const HostTarget &target);

/// An ELF relocatable object for `target`.
llvm::Expected<std::string> emitObject(llvm::Module &module, const HostTarget &target);

/// Links an object into a shared object with ld.lld (LLVM 22). Its dynamic
/// imports are what the code calls: libc/libm (malloc, free, expf, ...).
llvm::Expected<std::string> linkSharedObject(llvm::StringRef object);

} // namespace mlir::mtgr

#endif
