//===- HostCodegen.cpp - loops -> LLVM -> x86-64 shared object ------------===//
//
// The only translation unit that includes the heavy conversion headers.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/HostCodegen.h"
#include "abi/Environment.h"
#include "codegen/common/LoweringSupport.h"
#include "codegen/cpu/Passes.h"
#include "codegen/cpu/Target.h"
#include "model/Error.h"

#include "llvm/ADT/StringSwitch.h"

#include "mlir/Conversion/LLVMCommon/Pattern.h"
#include "mlir/Dialect/LLVMIR/FunctionCallUtils.h"
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

#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/X86TargetParser.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
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
  t.thisMachine = true;
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
  if (cpu == "x86-64-v3") {
    t.features = v3;
    return t;
  }
  if (cpu == "x86-64-v4") {
    t.features = v3 + ",+avx512f,+avx512bw,+avx512cd,+avx512dq,+avx512vl";
    return t;
  }
  // A CPU of the target description's table (codegen/cpu/Target.cpp), or
  // any other 64-bit x86 CPU LLVM knows (Sierra Forest, Lunar Lake, ...:
  // the description's FMA and cache figures are then its defaults, and say
  // so). The features are LLVM's for that CPU with what they imply. LLVM
  // lists a CPU's own features only: Alder Lake's "fma,avxvnni" imply AVX2
  // without naming it, and its description had 4 SSE lanes (so did Raptor,
  // Meteor and Arrow Lake's) where the code LLVM made for it was AVX2.
  if (!TargetDescription::isNamedCpu(cpu) &&
      llvm::X86::parseArchX86(cpu, /*Only64Bit=*/true) == llvm::X86::CK_None)
    return std::nullopt;
  llvm::SmallVector<llvm::StringRef> listed;
  llvm::X86::getFeaturesForCPU(cpu, listed, /*NeedPlus=*/false);
  llvm::StringMap<bool> all;
  for (llvm::StringRef f : listed) {
    all[f] = true;
    llvm::X86::updateImpliedFeatures(f, /*Enabled=*/true, all);
  }
  llvm::SmallVector<std::string> names;
  for (const auto &f : all)
    if (f.second)
      names.push_back("+" + f.first().str());
  llvm::sort(names); // one spelling for the artifact and the tiles cache
  t.features = llvm::join(names, ",");
  return t;
}

std::string HostTarget::unknownCpu(llvm::StringRef cpu) {
  return "unknown CPU '" + cpu.str() + "': not a 64-bit x86 CPU LLVM knows (with tables: native, " +
         TargetDescription::namedCpus() + ")";
}

namespace mlir::mtgr {
#define GEN_PASS_DEF_MTGRCPUOUTLINEPARALLELPASS
#define GEN_PASS_DEF_MTGRCPUMATHAPPROXIMATIONSPASS
#define GEN_PASS_DEF_MTGRCPUSETTEAMSIZESPASS
#define GEN_PASS_DEF_MTGRCPUPACKEDENTRYPOINTSPASS
#define GEN_PASS_DEF_MTGRHOSTMEMORYALLOCSPASS
#include "codegen/cpu/Passes.h.inc"
} // namespace mlir::mtgr

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

struct OutlineParallel : mlir::mtgr::impl::MTGRCpuOutlineParallelPassBase<OutlineParallel> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // The entry points get C interfaces (wrapped by mtgr-cpu-packed-entry-points).
    for (auto fn : module.getOps<func::FuncOp>())
      if (!fn.isDeclaration() && !fn.isPrivate())
        fn->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(), UnitAttr::get(&getContext()));
    SmallVector<scf::ParallelOp> ops;
    module.walk([&](scf::ParallelOp p) {
      if (p->hasAttr("mtgr.parallel") && !p->getParentOfType<scf::ParallelOp>())
        ops.push_back(p);
    });
    OpBuilder b(module.getContext());
    int64_t count = 0;
    // The functions outlined so far, by type: a region equal to an earlier
    // one (the same ops, attributes and types, locations aside: every layer
    // of one shape, and the forward's regions again in the train step) calls
    // that one's function, so its code is lowered, optimised and compiled
    // once (MTGR-small with its train step: ~40% of the LLVM IR).
    llvm::DenseMap<Type, SmallVector<func::FuncOp>> outlined;
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
      name += "_" + std::to_string(count++);
      b.setInsertionPointToEnd(module.getBody());
      auto fn = func::FuncOp::create(b, par.getLoc(), name,
                                     b.getFunctionType(ValueRange(passed).getTypes(), {}));
      fn.setPrivate();
      fn->setAttr("mtgr.outlined", b.getUnitAttr());
      Block *body = fn.addEntryBlock();
      b.setInsertionPointToStart(body);
      IRMapping map;
      for (auto [v, arg] : llvm::zip(passed, body->getArguments()))
        map.map(v, arg);
      for (Operation *c : constants)
        b.clone(*c, map);
      b.clone(*par, map);
      func::ReturnOp::create(b, par.getLoc());
      SmallVector<func::FuncOp> &sameType = outlined[fn.getFunctionType()];
      auto equal = llvm::find_if(sameType, [&](func::FuncOp earlier) {
        return OperationEquivalence::isRegionEquivalentTo(&earlier.getBody(), &fn.getBody(),
                                                          OperationEquivalence::IgnoreLocations);
      });
      if (equal != sameType.end()) {
        fn.erase();
        fn = *equal;
      } else {
        sameType.push_back(fn);
      }
      b.setInsertionPoint(par);
      func::CallOp::create(b, par.getLoc(), fn, passed);
      par.erase();
    }
  }
};

/// f32 e^x (scalars and vectors) in 13 operations, where MLIR's
/// approximation takes 20: every SiLU and sigmoid runs one per element (the
/// U/V/Q/K projection's epilogue, each attention score, their backward), and
/// on an AVX2 machine with two FMA units (znver3) MLIR's made the SiLU 15
/// cycles per 8 lanes, this one 9-10: 5-6% of MTGR-small's inference was
/// that epilogue. The method:
///   x clamped to [-86.6, 88] (a NaN stays NaN): k = round(x / ln 2) lies in
///     [-125, 127], so 2^k and the result stay normal floats (below -86.6
///     the result is 2.4e-38, above 88 it is 1.65e38, not 0 and inf);
///   k by adding 1.5 2^23 (the sum's integer part is k, rounded to nearest);
///   r = x - k ln 2 in two parts (Cody-Waite: k ln2_hi is exact), |r| <= ln2/2;
///   e^r by a degree-5 polynomial with p(0) = 1 (a relative-minimax fit, so
///     exp(0) is 1 exactly), then k added to its exponent bits (fptosi of a
///     NaN k gives 0x80000000, which the shift clears: the NaN survives).
/// Relative error 1.63e-7 (2.7 ulp) at worst against libm over [-86, 88]
/// (test/unit/HostMathTest.cpp); MLIR's: 2^-22.5 (1.7e-7) in range.
struct FastExp : OpRewritePattern<math::ExpOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(math::ExpOp op, PatternRewriter &rw) const override {
    Type type = op.getType();
    if (!getElementTypeOrSelf(type).isF32())
      return rw.notifyMatchFailure(op, "f32 only (f64 keeps libm)");
    Location loc = op.getLoc();
    auto vec = dyn_cast<VectorType>(type);
    Type intType = vec ? Type(vec.clone(rw.getI32Type())) : Type(rw.getI32Type());
    auto splat = [&](Type t, Attribute a) -> Value {
      if (auto v = dyn_cast<VectorType>(t))
        return arith::ConstantOp::create(rw, loc, DenseElementsAttr::get(v, a));
      return arith::ConstantOp::create(rw, loc, cast<TypedAttr>(a));
    };
    auto c = [&](float v) { return splat(type, rw.getF32FloatAttr(v)); };
    auto fma = [&](Value a, Value b, Value acc) { return math::FmaOp::create(rw, loc, a, b, acc); };
    // select(x uge lo, x, lo): x86's vmaxps/vminps with the NaN passed on.
    auto clamp = [&](Value x, arith::CmpFPredicate keep, float bound) -> Value {
      Value b = c(bound);
      return arith::SelectOp::create(rw, loc, arith::CmpFOp::create(rw, loc, keep, x, b), x, b);
    };
    Value x = clamp(clamp(op.getOperand(), arith::CmpFPredicate::UGE, -86.6f),
                    arith::CmpFPredicate::ULE, 88.0f);
    Value magic = c(12582912.0f); // 1.5 2^23
    Value k = arith::SubFOp::create(rw, loc, fma(x, c(1.44269504f), magic), magic);
    Value r = fma(k, c(-0.693145752f), x); // ln2_hi: 15 significant bits
    r = fma(k, c(-1.42860677e-6f), r);     // ln2 - ln2_hi
    Value p = c(8.290315047e-03f);
    for (float coefficient :
         {4.189793020e-02f, 1.666763574e-01f, 4.999915063e-01f, 9.999997020e-01f, 1.0f})
      p = fma(p, r, c(coefficient));
    Value exponent = arith::ShLIOp::create(rw, loc, arith::FPToSIOp::create(rw, loc, intType, k),
                                           splat(intType, rw.getI32IntegerAttr(23)));
    Value bits =
        arith::AddIOp::create(rw, loc, arith::BitcastOp::create(rw, loc, intType, p), exponent);
    rw.replaceOpWithNewOp<arith::BitcastOp>(op, type, bits);
    return success();
  }
};

struct MathApproximations : mlir::mtgr::impl::MTGRCpuMathApproximationsPassBase<MathApproximations> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FastExp>(&getContext());
    populateMathPolynomialApproximationPatterns(
        patterns, [](StringRef op) { return op == math::Log1pOp::getOperationName(); });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

struct SetTeamSizes : mlir::mtgr::impl::MTGRCpuSetTeamSizesPassBase<SetTeamSizes> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    WalkResult r = module.walk([](omp::ParallelOp par) {
      omp::LoopNestOp nest;
      par.walk([&](omp::LoopNestOp n) {
        if (!nest)
          nest = n;
      });
      if (!nest || nest.getLoopUpperBounds().size() != 1) {
        par.emitError("an OpenMP parallel region without its one-dimensional loop");
        return WalkResult::interrupt();
      }
      OpBuilder b(par);
      Value count = arith::IndexCastOp::create(b, par.getLoc(), b.getI32Type(),
                                               nest.getLoopUpperBounds()[0]);
      par.getNumThreadsMutable().assign(count);
      return WalkResult::advance();
    });
    if (r.wasInterrupted())
      return signalPassFailure();
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
  }
};

/// A memref.alloc marked kHostMemoryAttr: mtgr_host_alloc(bytes) and the
/// descriptor of its block (mtgr-host-memory-allocs).
struct HostMemoryAlloc : ConvertOpToLLVMPattern<memref::AllocOp> {
  using ConvertOpToLLVMPattern::ConvertOpToLLVMPattern;
  LogicalResult matchAndRewrite(memref::AllocOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    MemRefType type = op.getType();
    if (!op->hasAttr(kHostMemoryAttr) || !isConvertibleAndHasIdentityMaps(type))
      return rewriter.notifyMatchFailure(op, "not a host-memory buffer of identity layout");
    Location loc = op.getLoc();
    SmallVector<Value> sizes, strides;
    Value bytes;
    getMemRefDescriptorSizes(loc, type, adaptor.getOperands(), rewriter, sizes, strides, bytes);
    FailureOr<LLVM::LLVMFuncOp> fn = LLVM::lookupOrCreateFn(
        rewriter, op->getParentOfType<ModuleOp>(), kHostAllocImport, {getIndexType()},
        LLVM::LLVMPointerType::get(op.getContext()));
    if (failed(fn))
      return failure();
    Value block = LLVM::CallOp::create(rewriter, loc, *fn, ValueRange{bytes}).getResult();
    Value descriptor = createMemRefDescriptor(loc, type, block, block, sizes, strides, rewriter);
    rewriter.replaceOp(op, descriptor);
    return success();
  }
};

struct HostMemoryAllocs : mlir::mtgr::impl::MTGRHostMemoryAllocsPassBase<HostMemoryAllocs> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    LLVMTypeConverter converter(ctx);
    RewritePatternSet patterns(ctx);
    patterns.add<HostMemoryAlloc>(converter);
    ConversionTarget target(*ctx);
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    target.addDynamicallyLegalOp<memref::AllocOp>(
        [](memref::AllocOp op) { return !op->hasAttr(kHostMemoryAttr); });
    if (failed(applyPartialConversion(getOperation(), target, std::move(patterns))))
      signalPassFailure();
  }
};

/// The imports of the loop level and the environment field each becomes.
enum class Import {
  Threads,
  Alloc,
  AlignedAlloc,
  Free,
  ProfileClock,
  ProfileRecord,
  GpuLaunch,
  GpuGemm,
  HostAlloc,
  GpuUpload,
  GpuTensorMap,
  GpuMultiprocessors
};
std::optional<Import> importOf(StringRef callee) {
  return llvm::StringSwitch<std::optional<Import>>(callee)
      .Case(kThreadsImport, Import::Threads)
      .Case("_mlir_memref_to_llvm_alloc", Import::Alloc)
      .Case("_mlir_memref_to_llvm_aligned_alloc", Import::AlignedAlloc)
      .Case("_mlir_memref_to_llvm_free", Import::Free)
      .Case(kProfileClockImport, Import::ProfileClock)
      .Case(kProfileRecordImport, Import::ProfileRecord)
      .Case(kGpuLaunchImport, Import::GpuLaunch)
      .Case(kGpuGemmImport, Import::GpuGemm)
      .Case(kHostAllocImport, Import::HostAlloc)
      .Case(kGpuUploadImport, Import::GpuUpload)
      .Case(kGpuTensorMapImport, Import::GpuTensorMap)
      .Case(kGpuMultiprocessorsImport, Import::GpuMultiprocessors)
      .Default(std::nullopt);
}

struct PackedEntryPoints : mlir::mtgr::impl::MTGRCpuPackedEntryPointsPassBase<PackedEntryPoints> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);
    SmallVector<LLVM::LLVMFuncOp> defined;
    for (auto fn : module.getOps<LLVM::LLVMFuncOp>())
      if (!fn.isExternal())
        defined.push_back(fn);
    if (defined.empty()) {
      module.emitError("no function to give the environment to (run the conversions to the LLVM "
                       "dialect first)");
      return signalPassFailure();
    }
    llvm::DenseSet<StringRef> definedNames;
    // Every defined function takes the environment as its last argument.
    for (LLVM::LLVMFuncOp fn : defined) {
      definedNames.insert(fn.getName());
      LLVM::LLVMFunctionType type = fn.getFunctionType();
      SmallVector<Type> params(type.getParams());
      params.push_back(ptr);
      fn.setFunctionType(LLVM::LLVMFunctionType::get(type.getReturnType(), params, type.isVarArg()));
      fn.getBody().front().addArgument(ptr, fn.getLoc());
      if (fn->hasAttr("mtgr.outlined"))
        fn.setNoInline(true);
    }
    // Calls pass it on; calls of the imports read it.
    bool failedImport = false;
    for (LLVM::LLVMFuncOp fn : defined) {
      Value env = fn.getBody().front().getArguments().back();
      SmallVector<LLVM::CallOp> calls;
      fn.walk([&](LLVM::CallOp call) { calls.push_back(call); });
      for (LLVM::CallOp call : calls) {
        std::optional<StringRef> callee = call.getCallee();
        if (!callee)
          continue;
        OpBuilder b(call);
        Location loc = call.getLoc();
        if (definedNames.contains(*callee)) {
          SmallVector<Value> args(call.getArgOperands());
          args.push_back(env);
          auto replaced = LLVM::CallOp::create(b, loc, call.getResultTypes(),
                                               call.getCalleeAttr(), args);
          call.replaceAllUsesWith(replaced.getResults());
          call.erase();
          continue;
        }
        std::optional<Import> import = importOf(*callee);
        if (!import)
          continue; // libm
        auto field = [&](int index, Type type) -> Value {
          Value slot = LLVM::GEPOp::create(b, loc, ptr, ptr, env,
                                           ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(index)});
          return LLVM::LoadOp::create(b, loc, type, slot);
        };
        Value context = field(MTGR_ENV_CONTEXT, ptr);
        auto indirect = [&](int index, Type result, SmallVector<Value> args) {
          args.insert(args.begin(), context);
          SmallVector<Type> types;
          for (Value a : args)
            types.push_back(a.getType());
          auto type = LLVM::LLVMFunctionType::get(result, types);
          args.insert(args.begin(), field(index, ptr));
          return LLVM::CallOp::create(b, loc, type, args);
        };
        auto zero = [&] { return LLVM::ConstantOp::create(b, loc, i64, 0).getResult(); };
        SmallVector<Value> operands(call.getArgOperands());
        Value result;
        switch (*import) {
        case Import::Threads:
          result = field(MTGR_ENV_THREADS, i64);
          break;
        case Import::Alloc:
          result = indirect(MTGR_ENV_ALLOC, ptr, {zero(), operands[0]}).getResult();
          break;
        case Import::AlignedAlloc:
          result = indirect(MTGR_ENV_ALLOC, ptr, {operands[0], operands[1]}).getResult();
          break;
        case Import::Free:
          indirect(MTGR_ENV_FREE, LLVM::LLVMVoidType::get(ctx), {operands[0]});
          break;
        case Import::ProfileClock:
          result = indirect(MTGR_ENV_PROFILE_CLOCK, i64, {}).getResult();
          break;
        case Import::ProfileRecord:
          indirect(MTGR_ENV_PROFILE_RECORD, LLVM::LLVMVoidType::get(ctx), operands);
          break;
        case Import::GpuLaunch:
          // The words' address arrives as an integer (abi/GpuLaunch.h).
          operands[8] = LLVM::IntToPtrOp::create(b, loc, ptr, operands[8]);
          indirect(MTGR_ENV_GPU_LAUNCH, LLVM::LLVMVoidType::get(ctx), operands);
          break;
        case Import::GpuGemm:
          indirect(MTGR_ENV_GPU_GEMM, LLVM::LLVMVoidType::get(ctx), operands);
          break;
        case Import::HostAlloc:
          result = indirect(MTGR_ENV_HOST_ALLOC, ptr, {operands[0]}).getResult();
          break;
        case Import::GpuUpload:
          indirect(MTGR_ENV_GPU_UPLOAD, LLVM::LLVMVoidType::get(ctx), operands);
          break;
        case Import::GpuTensorMap:
          result = indirect(MTGR_ENV_GPU_TENSOR_MAP, i64, operands).getResult();
          break;
        case Import::GpuMultiprocessors:
          result = field(MTGR_ENV_GPU_MULTIPROCESSORS, i64);
          break;
        }
        if (call.getNumResults() != (result ? 1u : 0u)) {
          call.emitError("unexpected signature of the import '") << *callee << "'";
          failedImport = true;
          continue;
        }
        if (result)
          call.getResult().replaceAllUsesWith(result);
        call.erase();
      }
    }
    if (failedImport)
      return signalPassFailure();
    for (auto fn : llvm::make_early_inc_range(module.getOps<LLVM::LLVMFuncOp>()))
      if (fn.isExternal() && importOf(fn.getName()))
        fn.erase();
    // A packed wrapper per C interface: void <name>_packed(void **args, env).
    OpBuilder b(ctx);
    for (LLVM::LLVMFuncOp ciface : defined) {
      StringRef name = ciface.getName();
      if (!name.consume_front("_mlir_ciface_"))
        continue;
      // The entry point keeps its name in profiles (perf maps name mtgr_forward).
      if (auto entry = module.lookupSymbol<LLVM::LLVMFuncOp>(name))
        entry.setNoInline(true);
      Location loc = ciface.getLoc();
      b.setInsertionPointToEnd(module.getBody());
      auto packed = LLVM::LLVMFuncOp::create(
          b, loc, (name + "_packed").str(),
          LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {ptr, ptr}));
      Block *body = packed.addEntryBlock(b);
      b.setInsertionPointToStart(body);
      SmallVector<Value> args;
      unsigned numArgs = ciface.getNumArguments() - 1; // the environment is last
      for (unsigned i = 0; i < numArgs; ++i) {
        Value slot = LLVM::GEPOp::create(b, loc, ptr, ptr, body->getArgument(0),
                                         ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(i)});
        args.push_back(LLVM::LoadOp::create(b, loc, ptr, slot));
      }
      args.push_back(body->getArgument(1));
      LLVM::CallOp::create(b, loc, ciface, args);
      LLVM::ReturnOp::create(b, loc, ValueRange{});
    }
  }
};
} // namespace

void mlir::mtgr::buildHostPipeline(OpPassManager &pm) {
  pm.addPass(createMTGRCpuOutlineParallelPass());
  pm.addPass(createMTGRCpuMathApproximationsPass());
  // Parallel parts (LoopBuilder::parallelParts) to OpenMP: every
  // scf.parallel becomes omp.parallel + omp.wsloop (static schedule).
  pm.addPass(createConvertSCFToOpenMPPass());
  pm.addPass(createMTGRCpuSetTeamSizesPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  // Buffers come from the session's pool through the environment
  // (mtgr-cpu-packed-entry-points), not malloc.
  pm.addPass(createMTGRHostMemoryAllocsPass());
  FinalizeMemRefToLLVMConversionPassOptions memrefOptions;
  memrefOptions.useGenericFunctions = true;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefOptions));
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createMTGRCpuPackedEntryPointsPass());
}

llvm::Expected<std::unique_ptr<llvm::Module>>
mlir::mtgr::translateToHost(ModuleOp module, llvm::LLVMContext &context,
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
  return std::move(llvmModule);
}

llvm::Error mlir::mtgr::finishHostCode(llvm::Module &module, const HostTarget &target,
                                       llvm::StringRef abiRecord, EmitStop stop,
                                       llvm::StringRef section, Emitted &out) {
  // The code carries its own ABI record, which the runtime compares with
  // the manifest before any call (a manifest edited after compiling is
  // refused).
  auto *init = llvm::ConstantDataArray::getString(module.getContext(), abiRecord,
                                                  /*AddNull=*/true);
  new llvm::GlobalVariable(module, init->getType(), /*isConstant=*/true,
                           llvm::GlobalValue::ExternalLinkage, init, kAbiRecordSymbol);
  std::string broken;
  llvm::raw_string_ostream brokenOs(broken);
  if (llvm::verifyModule(module, &brokenOs))
    return fail("the host code does not verify: " + broken);
  if (llvm::Error e = optimizeForHost(module, target))
    return e;
  if (stop == EmitStop::LLVMIR) {
    llvm::raw_string_ostream os(out.text);
    module.print(os, nullptr);
    return llvm::Error::success();
  }
  auto object = emitObject(module, target);
  if (!object)
    return object.takeError();
  if (stop == EmitStop::Object) {
    out.object = std::move(*object);
    return llvm::Error::success();
  }
  auto so = linkSharedObject(*object);
  if (!so)
    return so.takeError();
  out.sections.push_back(CodeSection{section.str(), target.str(), std::move(*so)});
  return llvm::Error::success();
}

llvm::Expected<llvm::DataLayout> mlir::mtgr::hostDataLayout(const HostTarget &target) {
  auto tm = makeTargetMachine(target);
  if (!tm)
    return tm.takeError();
  return (*tm)->createDataLayout();
}

/// A CPU without FMA (SSE-only x86-64: Nehalem, Sandy Bridge, x86-64-v2)
/// would run each llvm.fma as libm calls, one per lane (2,700 `fmaf` calls
/// in tiny's code for --cpu=nehalem): there the fused multiply-adds become
/// llvm.fmuladd, a multiply and an add.
static void fmaWithoutFmaUnits(llvm::Module &module, const HostTarget &target) {
  llvm::SmallVector<llvm::StringRef> features;
  llvm::StringRef(target.features).split(features, ',');
  if (llvm::is_contained(features, "+fma"))
    return;
  for (llvm::Function &f : llvm::make_early_inc_range(module.functions())) {
    if (f.getIntrinsicID() != llvm::Intrinsic::fma)
      continue;
    llvm::Function *mulAdd = llvm::Intrinsic::getOrInsertDeclaration(
        &module, llvm::Intrinsic::fmuladd, {f.getReturnType()});
    f.replaceAllUsesWith(mulAdd);
    f.eraseFromParent();
  }
}

llvm::Error mlir::mtgr::optimizeForHost(llvm::Module &module, const HostTarget &target) {
  auto tm = makeTargetMachine(target);
  if (!tm)
    return tm.takeError();
  fmaWithoutFmaUnits(module, target);
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
  pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(module, mam);
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<llvm::Module>>
mlir::mtgr::translateAndOptimize(ModuleOp module, llvm::LLVMContext &context,
                                 const HostTarget &target) {
  auto llvmModule = translateToHost(module, context, target);
  if (!llvmModule)
    return llvmModule.takeError();
  if (llvm::Error e = optimizeForHost(**llvmModule, target))
    return std::move(e);
  return std::move(*llvmModule);
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
  // libomp: the parallel regions call its __kmpc_* entry points (a needed
  // library of the code itself, so a host that loaded the runtime with
  // RTLD_LOCAL still provides it).
  // compiler-rt's builtins (libclang-rt-22-dev, scripts/setup.sh): the calls
  // x86 code generation makes where the CPU has no instruction, e.g.
  // __truncsfbf2 for an f32 -> bf16 conversion that a select or phi of bf16
  // values needs (the emulated kernels of --dtype=bf16); only the members
  // used are linked in.
  llvm::SmallVector<llvm::StringRef, 8> argv{
      lld, "-shared", "--as-needed", "-o", soPath, objPath, "/usr/lib/llvm-22/lib/libomp.so"};
  constexpr llvm::StringLiteral builtins =
      "/usr/lib/llvm-22/lib/clang/22/lib/linux/libclang_rt.builtins-x86_64.a";
  if (llvm::sys::fs::exists(builtins))
    argv.push_back(builtins);
  int rc = llvm::sys::ExecuteAndWait(lld, argv, std::nullopt, {}, 0, 0, &error);
  if (rc != 0)
    return fail("ld.lld failed (exit " + llvm::Twine(rc) + ") " + error);
  auto so = llvm::MemoryBuffer::getFile(soPath);
  if (!so)
    return fail("cannot read the linked shared object: " + so.getError().message());
  return (*so)->getBuffer().str();
}
