//===- model_desc_fuzzer.cpp - YAML model description -> verified IR -------===//
//
// Any text: the parser refuses it with a message or returns a description,
// which must then build into a module that verifies (MLIRGen verifies it; a
// description the parser accepts but the IR refuses is a bug to fix in the
// parser's checks). The parameter and cost counters run on it too.
//
//===----------------------------------------------------------------------===//
#include "frontend/MLIRGen.h"
#include "model/ModelDesc.h"
#include "model/ModelStats.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>

using namespace mlir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  std::string diag;
  llvm::raw_string_ostream os(diag);
  std::optional<mlir::mtgr::ModelDesc> desc = mlir::mtgr::parseModelDesc(text, "fuzz.yaml", os);
  if (!desc) {
    if (diag.empty())
      __builtin_trap(); // refused without saying why
    return 0;
  }
  (void)mlir::mtgr::collectParameters(*desc);
  // A context per accepted input: interned names do not pile up over a run.
  DialectRegistry registry;
  mlir::mtgr::registerFrontendDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  std::string irDiag;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
    irDiag += d.str() + "\n";
    return success();
  });
  OwningOpRef<ModuleOp> module = mlir::mtgr::buildModule(context, *desc);
  if (!module || failed(verify(*module))) {
    // The parser accepted a description the IR cannot represent.
    llvm::errs() << "accepted description does not verify:\n" << irDiag;
    __builtin_trap();
  }
  return 0;
}
