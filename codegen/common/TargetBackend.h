//===- TargetBackend.h - what a code generation target provides --*- C++ -*-===//
//
// The compiler's shared pipeline (compiler/Pipeline.cpp) is target-neutral up
// to the kernel-level ops with their entry points bound and tile lists planned;
// there it forks (docs/architecture.md). A back end says how big its attention
// tiles are (mtgr-plan-attention runs before the fork), which passes take the
// bound kernels to its code, and which artifact sections it emits. Back ends
// are registered by name in one place (compiler/Backends.cpp) and selected
// with `mtgr-compile --target=`; the driver names none of them.
// (Triton's TargetInfoBase and IREE's per-target pipelines, scaled down.)
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_CODEGEN_COMMON_TARGETBACKEND_H
#define MTGR_CODEGEN_COMMON_TARGETBACKEND_H

#include "abi/Artifact.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

#include <memory>
#include <string>
#include <vector>

namespace mlir::mtgr {

/// Attention tile shape for mtgr-plan-attention (rows of a row block,
/// columns of a column tile), and the row block of score_candidates'
/// attention (passes/SplitPrefix.cpp: only R and C rows, few against many
/// columns; 0 = rowBlock).
struct AttentionTiles {
  int64_t rowBlock = 8, colTile = 16, suffixRowBlock = 0;
};

/// What a back end is asked to produce from the bound kernel-level module.
enum class EmitStop {
  Lowered,  // the target's loop level (mtgr-compile --emit=loops)
  LLVMIR,   // LLVM IR, optimised (--emit=llvm)
  Object,   // an object file (--emit=object)
  Sections, // the artifact's code sections
};

struct Emitted {
  std::string text;   // EmitStop::Lowered, LLVMIR
  std::string object; // EmitStop::Object
  std::vector<CodeSection> sections;
};

class TargetBackend {
public:
  virtual ~TargetBackend();
  /// The registered name ("cpu").
  virtual llvm::StringRef name() const = 0;
  /// One line for --print-pipeline: the chip and the tile sizes it chose.
  virtual std::string describe() const = 0;
  virtual AttentionTiles attentionTiles() const = 0;
  /// Whether its code can time each op family (mtgr-compile --profile).
  virtual bool canProfile() const { return true; }
  /// The code's arithmetic, recorded in the artifact (Artifact::numerics):
  /// "fp32", or "bf16" where products take bf16 operands (tensor cores) or
  /// activations are stored in 16 bits (--dtype=bf16 or f16).
  virtual std::string numerics() const { return "fp32"; }
  /// Bound kernel-level entry points -> the target's loop level (with
  /// `profile`, the code times each op family, abi/AbiKinds.h).
  virtual void buildLoweringPipeline(OpPassManager &pm, bool profile) const = 0;
  /// The passes that take that level to what emit() translates (for
  /// --print-pipeline and mtgr-opt replay).
  virtual void buildCodegenPipeline(OpPassManager &pm) const = 0;
  /// Runs the codegen pipeline on the lowered `module` and produces what
  /// `stop` asks for. `abiRecord` is embedded in the code (the runtime
  /// compares it with the manifest before any call).
  virtual llvm::Expected<Emitted> emit(ModuleOp module, llvm::StringRef abiRecord,
                                       EmitStop stop) const = 0;
};

/// Options a back end is created with: `chip` is the processor to generate
/// code for ("native", "x86-64-v3", ...; "" = the back end's default).
struct BackendOptions {
  std::string chip;
  /// GPU back ends: the architectures to generate device code for, comma
  /// separated ("" = the back end's default, "none" = no device code).
  std::string gpuArchs;
  /// GPU back ends: "generated" (mtgr's own fp32 GEMM kernels, the
  /// default), "tensor-core" (mtgr's tensor-core GEMM kernels: bf16
  /// operands, f32 sums) or "cublaslt" (the products through the runtime's
  /// cuBLASLt, loaded with dlopen; prologues and epilogues stay mtgr's
  /// kernels).
  std::string gemm;
  /// GPU back ends: "generated" (mtgr's fp32 SIMT attention, the default)
  /// or "tensor-core" (the forward fused on tensor cores: bf16 operands,
  /// f32 sums).
  std::string attention;
  /// GPU back ends: the storage of activations, "fp32" (the default),
  /// "bf16" or "f16" (arithmetic stays f32; parameters, their gradients
  /// and optimiser state stay f32).
  std::string dtype;
  /// GPU back ends: > 0 puts a pseudo-random delay below this many
  /// nanoseconds before and after every synchronisation point of every
  /// kernel (mtgr-gpu-sync-delays: a test build); 0, the default, none.
  int64_t syncDelaysNs = 0;
  /// The CPU back end: register tiles set by hand instead of derived
  /// (TargetDescription::setTiles: "gemm=6x64,attention=8"); "" = derived.
  std::string tiles{};
  /// `tiles` came from `mtgr-compile --tune` (recorded as tuned).
  bool tilesTuned = false;
};

} // namespace mlir::mtgr

#endif
