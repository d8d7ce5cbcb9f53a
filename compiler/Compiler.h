//===- Compiler.h - model description -> any stage -> artifact ---*- C++ -*-===//
//
// The whole compiler as one call, shared by mtgr-compile and the tests:
//   description --frontend--> mtgr IR --decompose--> kernel IR --bind--> entry
//   points on buffers (compiler/Pipeline.h) --the back end--> its loops, LLVM
//   IR, an object, code sections --> artifact (abi/Artifact.h)
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_COMPILER_COMPILER_H
#define MTGR_COMPILER_COMPILER_H

#include "abi/Artifact.h"
#include "codegen/common/TargetBackend.h"
#include "model/ModelDesc.h"

namespace mlir::mtgr {

enum class Stage { Mtgr, Kernel, Bound, Loops, LLVMIR, Object, Artifact };

struct CompileOutput {
  std::string text;  // IR of the last stage (mtgr, kernel, loops, llvm)
  std::string bytes; // object file (Stage::Object)
  Artifact artifact; // Stage::Artifact
  /// Why train_step / the prefix split's entry points are absent ("" when
  /// present), known from Stage::Kernel on (the artifact records them too).
  std::string trainStepMissing, prefixSplitMissing;
};

/// Compiles the description `modelText` (already parsed into `model`) up to
/// `stop` with `backend`. Diagnostics go to `diag`; failures return an error.
/// `trainStep`: also generate the train_step entry point (compiling it
/// roughly doubles the compile time). `profile`: the code times each op
/// family (runtime/Profile.h).
llvm::Expected<CompileOutput> compileModel(const ModelDesc &model, llvm::StringRef modelText,
                                           Stage stop, const TargetBackend &backend,
                                           llvm::raw_ostream &diag, bool trainStep = true,
                                           bool profile = false);

/// Parses and compiles description text to an artifact with the back end
/// `target` (default: compiler/Backends.h kDefaultTarget, for this machine)
/// created with `options`; `profile` as for compileModel.
llvm::Expected<Artifact> compileArtifact(llvm::StringRef modelText, llvm::StringRef name,
                                         bool trainStep = true, llvm::StringRef target = "",
                                         const BackendOptions &options = {}, bool profile = false);

} // namespace mlir::mtgr

#endif
