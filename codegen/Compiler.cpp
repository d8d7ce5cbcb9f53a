//===- Compiler.cpp - model description -> artifact -----------------------===//
#include "codegen/Compiler.h"
#include "codegen/Pipeline.h"
#include "frontend/MLIRGen.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
llvm::Error fail(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}
std::string print(Operation *op) {
  std::string s;
  llvm::raw_string_ostream os(s);
  op->print(os);
  return s;
}
} // namespace

llvm::Expected<CompileOutput> mlir::mtgr::compileModel(const ModelDesc &model,
                                                       llvm::StringRef modelText, Stage stop,
                                                       const HostTarget &target,
                                                       llvm::raw_ostream &diag, bool trainStep,
                                                       bool profile) {
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
    return fail("mtgr-decompose-layers failed");
  // @train_step when every op on the way has a gradient rule; otherwise the
  // artifact serves inference only and says why.
  std::string trainStepMissing = trainStep ? "" : "compiled for inference only";
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
  if (stop == Stage::Kernel)
    return out.text = print(*module), std::move(out);
  {
    PassManager loops(&context);
    addLoopPasses(loops, TargetDescription::fromFeatures(target.features), stop == Stage::Bound,
                  profile);
    if (failed(loops.run(*module)))
      return fail("lowering to loops failed");
  }
  if (stop == Stage::Bound)
    return out.text = print(*module), std::move(out);
  if (stop == Stage::Loops)
    return out.text = print(*module), std::move(out);
  // Keep the ABI: the LLVM conversion drops the functions' attributes.
  std::vector<EntryPoint> entries;
  for (StringRef name : {"forward", "train_step", "apply_update"}) {
    Operation *fn = module->lookupSymbol(("mtgr_" + name).str());
    if (!fn)
      continue;
    EntryPoint e{name.str(), ("mtgr_" + name + "_packed").str(), {}};
    auto types = cast<func::FuncOp>(fn).getArgumentTypes();
    for (auto [a, type] : llvm::zip(fn->getAttrOfType<ArrayAttr>("mtgr.abi"), types)) {
      auto d = cast<DictionaryAttr>(a);
      auto optional = [&](StringRef key) {
        auto v = d.getAs<StringAttr>(key);
        return v ? v.str() : std::string();
      };
      AbiArg arg{d.getAs<StringAttr>("kind").str(), d.getAs<StringAttr>("name").str(),
                 optional("group"), -1, optional("param"), optional("table"), optional("slot"),
                 {}};
      if (auto index = d.getAs<IntegerAttr>("index"))
        arg.index = index.getInt();
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
  if (failed(lowerLoopsToLLVMDialect(*module)))
    return fail("conversion to the LLVM dialect failed");
  llvm::LLVMContext llvmContext;
  auto llvmModule = translateAndOptimize(*module, llvmContext, target);
  if (!llvmModule)
    return llvmModule.takeError();
  // The code carries its own ABI record, which the runtime compares with the
  // manifest before any call (a manifest edited after compiling is refused).
  {
    std::string record = abiRecord(hashModelText(modelText), entries);
    auto *init = llvm::ConstantDataArray::getString(llvmContext, record, /*AddNull=*/true);
    new llvm::GlobalVariable(**llvmModule, init->getType(), /*isConstant=*/true,
                             llvm::GlobalValue::ExternalLinkage, init, kAbiRecordSymbol);
  }
  if (stop == Stage::LLVMIR) {
    llvm::raw_string_ostream os(out.text);
    (*llvmModule)->print(os, nullptr);
    return std::move(out);
  }
  auto object = emitObject(**llvmModule, target);
  if (!object)
    return object.takeError();
  if (stop == Stage::Object)
    return out.bytes = std::move(*object), std::move(out);
  auto so = linkSharedObject(*object);
  if (!so)
    return so.takeError();
  Artifact &a = out.artifact;
  a.compilerVersion = compilerVersion();
  a.target = target.str();
  a.modelText = modelText.str();
  a.modelHash = hashModelText(modelText);
  a.model = model;
  a.hostCode = std::move(*so);
  a.entryPoints = std::move(entries);
  a.trainStepMissing = trainStepMissing;
  return std::move(out);
}

llvm::Expected<Artifact> mlir::mtgr::compileArtifact(llvm::StringRef modelText,
                                                     llvm::StringRef name, bool trainStep) {
  std::string diag;
  llvm::raw_string_ostream os(diag);
  auto model = parseModelDesc(modelText, name, os);
  if (!model)
    return fail(diag);
  auto out = compileModel(*model, modelText, Stage::Artifact, HostTarget::native(), os, trainStep);
  if (!out)
    return llvm::joinErrors(out.takeError(), fail(diag));
  return std::move(out->artifact);
}
