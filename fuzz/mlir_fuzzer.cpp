//===- mlir_fuzzer.cpp - the .mlir path of mtgr-opt --------------------------===//
//
// mtgr IR text as mtgr-opt reads it (the same dialects), parsed and verified,
// then mtgr's passes with the verifier after each. A verifier or pass must
// refuse bad IR with a diagnostic. Crashes inside upstream MLIR's parser are
// recorded in docs/bad-inputs.md and kept out of the CI corpus.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  DialectRegistry registry;
  mlir::mtgr::registerPipelineDialects(registry); // mtgr-opt's
  MLIRContext context(registry);
  context.allowUnregisteredDialects(false);
  ScopedDiagnosticHandler handler(&context, [](Diagnostic &) { return success(); });
  // As mtgr-opt reads a file: a NUL-terminated buffer. MLIR's lexer relies on
  // the NUL; parseSourceString on bytes not followed by one reads past their
  // end (docs/bad-inputs.md, "Upstream").
  llvm::SourceMgr sources;
  sources.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(text, "fuzz.mlir"), llvm::SMLoc());
  ParserConfig config(&context);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sources, config);
  if (!module)
    return 0;
  PassManager pm(&context);
  pm.enableVerifier(true);
  pm.addPass(mlir::mtgr::createMTGRDecomposeLayersPass());
  if (module->lookupSymbol("forward") && module->lookupSymbol("loss"))
    pm.addPass(mlir::mtgr::createMTGRGenerateTrainStepPass());
  (void)pm.run(*module);
  return 0;
}
