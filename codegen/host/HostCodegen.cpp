//===- HostCodegen.cpp - loops -> LLVM -> x86-64 shared object ------------===//
//
// The only translation unit that includes the heavy conversion headers.
//
//===----------------------------------------------------------------------===//
#include "codegen/host/HostCodegen.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
llvm::Error fail(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

llvm::Expected<std::unique_ptr<llvm::TargetMachine>> makeTargetMachine(const HostTarget &t) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(llvm::Triple(t.triple), error);
  if (!target)
    return fail("no LLVM target for '" + t.triple + "': " + error);
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      llvm::Triple(t.triple), t.cpu, t.features, options, llvm::Reloc::PIC_, std::nullopt,
      llvm::CodeGenOptLevel::Aggressive));
  if (!tm)
    return fail("cannot create a target machine for " + t.str());
  return std::move(tm);
}
} // namespace

HostTarget HostTarget::native() {
  HostTarget t;
  t.triple = llvm::sys::getDefaultTargetTriple();
  t.cpu = llvm::sys::getHostCPUName().str();
  std::string features;
  for (const auto &f : llvm::sys::getHostCPUFeatures())
    if (f.second)
      features += (features.empty() ? "+" : ",+") + f.first().str();
  t.features = features;
  return t;
}

std::optional<HostTarget> HostTarget::named(llvm::StringRef cpu) {
  if (cpu == "native")
    return native();
  HostTarget t;
  t.triple = llvm::sys::getDefaultTargetTriple();
  t.cpu = cpu.str();
  std::string v3 = "+sse4.2,+popcnt,+avx,+avx2,+fma,+f16c,+bmi,+bmi2,+lzcnt,+movbe";
  if (cpu == "x86-64-v3")
    t.features = v3;
  else if (cpu == "x86-64-v4")
    t.features = v3 + ",+avx512f,+avx512bw,+avx512cd,+avx512dq,+avx512vl";
  else
    return std::nullopt;
  return t;
}

namespace {
/// The first name in a location (the op's name from the frontend).
std::string locationName(Location loc) {
  std::string name;
  loc->walk([&](Location l) {
    if (auto n = dyn_cast<NameLoc>(l)) {
      name = n.getName().str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  for (char &c : name)
    if (!llvm::isAlnum(c))
      c = '_';
  return name;
}

/// Every parallel op (LoopBuilder::parallelParts) becomes a private function
/// of its own, mtgr_<kind>_<op name>_<n>, called where the op was, and kept
/// out of line (perf names each GEMM and attention region; OpenMP's outliner
/// scans that small function, not the whole entry point). Returns their names.
std::vector<std::string> outlineParallelOps(ModuleOp module) {
  SmallVector<scf::ParallelOp> ops;
  module.walk([&](scf::ParallelOp p) {
    if (p->hasAttr("mtgr.parallel") && !p->getParentOfType<scf::ParallelOp>())
      ops.push_back(p);
  });
  std::vector<std::string> names;
  OpBuilder b(module.getContext());
  for (scf::ParallelOp par : ops) {
    auto kind = par->getAttrOfType<StringAttr>("mtgr.parallel");
    llvm::SetVector<Value> above;
    getUsedValuesDefinedAbove(par->getRegions(), above);
    above.insert(par->operand_begin(), par->operand_end());
    // Constants are cloned into the function; everything else is passed.
    SmallVector<Value> passed;
    SmallVector<Operation *> constants;
    for (Value v : above) {
      Operation *def = v.getDefiningOp();
      if (def && def->hasTrait<OpTrait::ConstantLike>() && def->getNumOperands() == 0)
        constants.push_back(def);
      else
        passed.push_back(v);
    }
    std::string name = "mtgr_" + kind.getValue().str();
    if (std::string op = locationName(par.getLoc()); !op.empty())
      name += "_" + op;
    name += "_" + std::to_string(names.size());
    b.setInsertionPointToEnd(module.getBody());
    auto fn = func::FuncOp::create(b, par.getLoc(), name,
                                   b.getFunctionType(ValueRange(passed).getTypes(), {}));
    fn.setPrivate();
    Block *body = fn.addEntryBlock();
    b.setInsertionPointToStart(body);
    IRMapping map;
    for (auto [v, arg] : llvm::zip(passed, body->getArguments()))
      map.map(v, arg);
    for (Operation *c : constants)
      b.clone(*c, map);
    b.clone(*par, map);
    func::ReturnOp::create(b, par.getLoc());
    b.setInsertionPoint(par);
    func::CallOp::create(b, par.getLoc(), fn, passed);
    par.erase();
    names.push_back(name);
  }
  return names;
}

/// Parallel parts (LoopBuilder::parallelParts) to OpenMP: every scf.parallel
/// becomes omp.parallel + omp.wsloop (static schedule).
void addOpenMPConversion(OpPassManager &pm) { pm.addPass(createConvertSCFToOpenMPPass()); }

/// Each parallel op runs one part per thread: its team gets as many threads
/// as it has parts (the runtime's mtgr_threads), not OpenMP's default.
LogicalResult setTeamSizes(ModuleOp module) {
  WalkResult r = module.walk([](omp::ParallelOp par) {
    omp::LoopNestOp nest;
    par.walk([&](omp::LoopNestOp n) {
      if (!nest)
        nest = n;
    });
    if (!nest || nest.getLoopUpperBounds().size() != 1)
      return WalkResult::interrupt();
    OpBuilder b(par);
    Value count = arith::IndexCastOp::create(b, par.getLoc(), b.getI32Type(),
                                             nest.getLoopUpperBounds()[0]);
    par.getNumThreadsMutable().assign(count);
    return WalkResult::advance();
  });
  if (r.wasInterrupted())
    return module.emitError("an OpenMP parallel region without its one-dimensional loop");
  // The conversion wraps each loop body in a memref.alloca_scope; the
  // generated code allocates a part's scratch from the pool, not the stack,
  // so the scopes are inlined (scf-to-cf would otherwise split them into
  // blocks, which a scope may not hold).
  SmallVector<memref::AllocaScopeOp> scopes;
  module.walk([&](memref::AllocaScopeOp s) { scopes.push_back(s); });
  for (memref::AllocaScopeOp scope : scopes) {
    if (!scope->getParentOfType<omp::ParallelOp>())
      continue;
    bool allocas = false;
    scope.walk([&](memref::AllocaOp) { allocas = true; });
    if (allocas)
      continue;
    Block &body = scope.getBodyRegion().front();
    Operation *yield = body.getTerminator();
    scope->replaceAllUsesWith(yield->getOperands());
    yield->erase();
    scope->getBlock()->getOperations().splice(Block::iterator(scope), body.getOperations());
    scope->erase();
  }
  return success();
}

/// The upstream conversions from loops to the LLVM dialect.
void addLLVMConversions(OpPassManager &pm) {
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  // Buffers come from the runtime's pool (runtime/HostMemory.h), not malloc.
  FinalizeMemRefToLLVMConversionPassOptions memrefOptions;
  memrefOptions.useGenericFunctions = true;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefOptions));
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}
} // namespace

std::string mlir::mtgr::describeHostPipeline() {
  std::string text;
  llvm::raw_string_ostream os(text);
  OpPassManager openmp(ModuleOp::getOperationName(), OpPassManager::Nesting::Implicit);
  addOpenMPConversion(openmp);
  OpPassManager pm(ModuleOp::getOperationName(), OpPassManager::Nesting::Implicit);
  addLLVMConversions(pm);
  os << "math polynomial approximations of f32 exp and log1p, then ";
  openmp.printAsTextualPipeline(os);
  os << " (each team as many threads as parts), then ";
  pm.printAsTextualPipeline(os);
  os << ", then packed entry points <name>_packed(void **args); LLVM O3 for the host CPU";
  return text;
}

LogicalResult mlir::mtgr::lowerLoopsToLLVMDialect(ModuleOp module) {
  MLIRContext *ctx = module.getContext();
  ctx->loadDialect<LLVM::LLVMDialect>();
  // Every lowered entry point (mtgr_forward, mtgr_train_step,
  // mtgr_apply_update) gets a C interface, then a packed wrapper:
  // void <name>_packed(void **args).
  SmallVector<std::pair<std::string, unsigned>> entries;
  Location loc = module.getLoc();
  for (auto fn : module.getOps<func::FuncOp>()) {
    if (fn.isDeclaration() || fn.isPrivate()) // the runtime's hooks, the shared kernels
      continue;
    fn->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(), UnitAttr::get(ctx));
    entries.push_back({fn.getName().str(), fn.getNumArguments()});
    loc = fn.getLoc(); // the functions themselves are replaced by the conversion
  }
  if (entries.empty())
    return module.emitError("no lowered entry point to convert");

  std::vector<std::string> outlined = outlineParallelOps(module);

  // f32 exp and log1p as inline polynomials (MLIR's approximations, a few
  // ulp): a libm call per attention pair kept the loops scalar, and expf was
  // a fifth of a training step's time. f64 (the optimisers) keeps libm.
  RewritePatternSet approximations(ctx);
  populateMathPolynomialApproximationPatterns(approximations, [](StringRef op) {
    return op == math::ExpOp::getOperationName() || op == math::Log1pOp::getOperationName();
  });
  if (failed(applyPatternsGreedily(module, std::move(approximations))))
    return module.emitError("expanding exp and log1p failed");

  PassManager openmp(ctx);
  addOpenMPConversion(openmp);
  if (failed(openmp.run(module)) || failed(setTeamSizes(module)))
    return failure();
  PassManager pm(ctx);
  addLLVMConversions(pm);
  if (failed(pm.run(module)))
    return failure();
  for (const std::string &name : outlined)
    if (auto fn = module.lookupSymbol<LLVM::LLVMFuncOp>(name))
      fn.setNoInline(true);

  OpBuilder b(ctx);
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  for (auto &[name, numArgs] : entries) {
    auto ciface = module.lookupSymbol<LLVM::LLVMFuncOp>("_mlir_ciface_" + name);
    if (!ciface)
      return module.emitError("C interface of @" + name + " is missing");
    b.setInsertionPointToEnd(module.getBody());
    auto packed = LLVM::LLVMFuncOp::create(
        b, loc, name + "_packed", LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {ptr}));
    Block *body = packed.addEntryBlock(b);
    b.setInsertionPointToStart(body);
    SmallVector<Value> args;
    for (unsigned i = 0; i < numArgs; ++i) {
      Value slot = LLVM::GEPOp::create(b, loc, ptr, ptr, body->getArgument(0),
                                       ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(i)});
      args.push_back(LLVM::LoadOp::create(b, loc, ptr, slot));
    }
    LLVM::CallOp::create(b, loc, ciface, args);
    LLVM::ReturnOp::create(b, loc, ValueRange{});
  }
  return success();
}

llvm::Expected<std::unique_ptr<llvm::Module>>
mlir::mtgr::translateAndOptimize(ModuleOp module, llvm::LLVMContext &context,
                                 const HostTarget &target) {
  registerBuiltinDialectTranslation(*module.getContext());
  registerLLVMDialectTranslation(*module.getContext());
  registerOpenMPDialectTranslation(*module.getContext());
  std::unique_ptr<llvm::Module> llvmModule = translateModuleToLLVMIR(module, context, "mtgr");
  if (!llvmModule)
    return fail("translation of the LLVM dialect to LLVM IR failed");
  auto tm = makeTargetMachine(target);
  if (!tm)
    return tm.takeError();
  llvmModule->setTargetTriple(llvm::Triple(target.triple));
  llvmModule->setDataLayout((*tm)->createDataLayout());
  // Only the packed entry point is called from outside.
  for (llvm::Function &f : *llvmModule)
    if (!f.isDeclaration() && !f.getName().ends_with("_packed"))
      f.setLinkage(llvm::GlobalValue::InternalLinkage);

  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(tm->get());
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(*llvmModule, mam);
  return std::move(llvmModule);
}

llvm::Expected<std::string> mlir::mtgr::emitObject(llvm::Module &module,
                                                   const HostTarget &target) {
  auto tm = makeTargetMachine(target);
  if (!tm)
    return tm.takeError();
  llvm::SmallString<0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager pm;
  if ((*tm)->addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile))
    return fail("the target cannot emit object files");
  pm.run(module);
  return std::string(buffer.str());
}

llvm::Expected<std::string> mlir::mtgr::linkSharedObject(llvm::StringRef object) {
  std::string lld;
  for (const char *candidate : {"/usr/lib/llvm-22/bin/ld.lld", "ld.lld-22", "ld.lld"}) {
    if (auto found = llvm::sys::findProgramByName(candidate)) {
      lld = *found;
      break;
    }
    if (llvm::sys::fs::can_execute(candidate)) {
      lld = candidate;
      break;
    }
  }
  if (lld.empty())
    return fail("ld.lld (package lld-22) is needed to link the host code; it was not found");
  llvm::SmallString<128> objPath, soPath;
  if (auto ec = llvm::sys::fs::createTemporaryFile("mtgr", "o", objPath))
    return fail("cannot create a temporary file: " + ec.message());
  if (auto ec = llvm::sys::fs::createTemporaryFile("mtgr", "so", soPath))
    return fail("cannot create a temporary file: " + ec.message());
  llvm::FileRemover removeObj(objPath), removeSo(soPath);
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(objPath, ec);
    if (ec)
      return fail("cannot write " + objPath + ": " + ec.message());
    os << object;
  }
  std::string error;
  llvm::StringRef argv[] = {lld, "-shared", "--as-needed", "-o", soPath, objPath};
  int rc = llvm::sys::ExecuteAndWait(lld, argv, std::nullopt, {}, 0, 0, &error);
  if (rc != 0)
    return fail("ld.lld failed (exit " + llvm::Twine(rc) + ") " + error);
  auto so = llvm::MemoryBuffer::getFile(soPath);
  if (!so)
    return fail("cannot read the linked shared object: " + so.getError().message());
  return (*so)->getBuffer().str();
}
