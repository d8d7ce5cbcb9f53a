//===- Compiler.cpp - model description -> artifact -----------------------===//
#include "compiler/Compiler.h"
#include "compiler/Backends.h"
#include "compiler/Pipeline.h"
#include "dialect/MTGRDialect.h"
#include "frontend/MLIRGen.h"
#include "model/Error.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
std::string print(Operation *op) {
  std::string s;
  llvm::raw_string_ostream os(s);
  op->print(os);
  return s;
}
} // namespace

llvm::Expected<CompileOutput> mlir::mtgr::compileModel(const ModelDesc &model,
                                                       llvm::StringRef modelText, Stage stop,
                                                       const TargetBackend &backend,
                                                       llvm::raw_ostream &diag, bool trainStep,
                                                       bool profile) {
  if (profile && !backend.canProfile())
    return fail("--profile: the '" + backend.name().str() +
                "' back end compiles no timers: its devices time each kernel at run time "
                "(mtgr-run infer|train --profile)");
  DialectRegistry registry;
  registerFrontendDialects(registry);
  MLIRContext context(registry);
  context.disableMultithreading(); // the runtime owns the threads
  // Compiler diagnostics (an internal error, never user input) go to `diag`.
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
    diag << d.getLocation() << ": " << d << "\n";
    return success();
  });
  CompileOutput out;
  OwningOpRef<ModuleOp> module = buildModule(context, model);
  if (!module)
    return fail("the generated mtgr IR does not verify");
  if (stop == Stage::Mtgr)
    return out.text = print(*module), std::move(out);
  PassManager pm(&context);
  addKernelPasses(pm);
  if (failed(pm.run(*module)))
    return fail("decomposing the model into kernel ops failed");
  // @train_step when every op on the way has a gradient rule; otherwise the
  // artifact serves inference only and says why.
  std::string &trainStepMissing = out.trainStepMissing;
  trainStepMissing = trainStep ? "" : "compiled for inference only";
  if (trainStep) {
    OwningOpRef<ModuleOp> attempt = module->clone();
    std::string why;
    ScopedDiagnosticHandler quiet(&context, [&](Diagnostic &d) {
      if (why.empty())
        why = d.str();
      return success();
    });
    PassManager grads(&context);
    addGradientPasses(grads);
    if (succeeded(grads.run(*attempt)))
      module = std::move(attempt);
    else
      trainStepMissing = why;
  }
  // @encode_prefix and @score_candidates where the model allows them
  // (DESIGN 1.6); otherwise the reason goes into the manifest.
  std::string &prefixSplitMissing = out.prefixSplitMissing;
  {
    OwningOpRef<ModuleOp> attempt = module->clone();
    ScopedDiagnosticHandler quiet(&context, [&](Diagnostic &d) {
      if (prefixSplitMissing.empty())
        prefixSplitMissing = d.str();
      return success();
    });
    PassManager serving(&context);
    addServingPasses(serving);
    if (succeeded(serving.run(*attempt)))
      module = std::move(attempt);
    else if (prefixSplitMissing.empty())
      prefixSplitMissing = "the prefix split failed";
  }
  if (stop == Stage::Kernel)
    return out.text = print(*module), std::move(out);
  {
    PassManager loops(&context);
    addLoopPasses(loops, backend, stop == Stage::Bound, profile);
    if (failed(loops.run(*module)))
      return fail("lowering to loops failed");
  }
  if (stop == Stage::Bound)
    return out.text = print(*module), std::move(out);
  // Keep the ABI: the LLVM conversion drops the functions' attributes.
  std::vector<EntryPoint> entries;
  for (StringRef name : ::mtgr::kEntryPointNames) {
    Operation *fn = module->lookupSymbol(("mtgr_" + name).str());
    if (!fn)
      continue;
    EntryPoint e{name.str(), ("mtgr_" + name + "_packed").str(), {}};
    auto types = cast<func::FuncOp>(fn).getArgumentTypes();
    auto abi = fn->getAttrOfType<ArrayAttr>(kAbiAttr);
    if (!abi || abi.size() != types.size())
      return fail("@mtgr_" + name + ": its mtgr.abi does not list one buffer per argument");
    for (auto [a, type] : llvm::zip(abi, types)) {
      auto d = cast<AbiArgAttr>(a); // the dialect verified mtgr.abi
      AbiArg arg{d.getKind(),        d.getName().str(),  d.getGroup(),      d.getIndex(),
                 d.getParam().str(), d.getTable().str(), d.getSlot().str(), {}};
      for (int64_t n : cast<MemRefType>(type).getShape())
        arg.shape.push_back(ShapedType::isDynamic(n) ? -1 : n);
      e.args.push_back(std::move(arg));
    }
    if (auto memory = fn->getAttrOfType<DictionaryAttr>("mtgr.memory")) {
      e.fixedBytes = memory.getAs<IntegerAttr>("fixed").getInt();
      e.bytesPerRow = memory.getAs<IntegerAttr>("per_row").getInt();
    }
    entries.push_back(std::move(e));
  }
  EmitStop emitStop = stop == Stage::Loops    ? EmitStop::Lowered
                     : stop == Stage::LLVMIR ? EmitStop::LLVMIR
                     : stop == Stage::Object ? EmitStop::Object
                                             : EmitStop::Sections;
  auto emitted = backend.emit(*module, abiRecord(hashModelText(modelText), entries), emitStop);
  if (!emitted)
    return emitted.takeError();
  if (stop == Stage::Loops || stop == Stage::LLVMIR)
    return out.text = std::move(emitted->text), std::move(out);
  if (stop == Stage::Object)
    return out.bytes = std::move(emitted->object), std::move(out);
  Artifact &a = out.artifact;
  a.compilerVersion = compilerVersion();
  a.backend = backend.name().str();
  a.numerics = backend.numerics();
  a.modelText = modelText.str();
  a.modelHash = hashModelText(modelText);
  a.model = model;
  a.code = std::move(emitted->sections);
  a.entryPoints = std::move(entries);
  a.trainStepMissing = out.trainStepMissing;
  a.prefixSplitMissing = out.prefixSplitMissing;
  return std::move(out);
}

llvm::Expected<Artifact> mlir::mtgr::compileArtifact(llvm::StringRef modelText,
                                                     llvm::StringRef name, bool trainStep,
                                                     llvm::StringRef target,
                                                     const BackendOptions &options, bool profile) {
  std::string diag;
  llvm::raw_string_ostream os(diag);
  auto model = parseModelDesc(modelText, name, os);
  if (!model)
    return fail(diag);
  auto backend = createTargetBackend(target.empty() ? kDefaultTarget : target, options);
  if (!backend)
    return backend.takeError();
  auto out = compileModel(*model, modelText, Stage::Artifact, **backend, os, trainStep, profile);
  if (!out)
    return llvm::joinErrors(out.takeError(), fail(diag));
  return std::move(out->artifact);
}
