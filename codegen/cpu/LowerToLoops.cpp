//===- LowerToLoops.cpp - the mtgr-lower-to-loops conversion --------------===//
//
// Assembles the per-op-family patterns into one dialect conversion over the
// bound entry points (mtgr-bind-entry-points), then folds the buffer <-> mtgr
// type casts away. What is left of the module is loop code on memrefs.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LoweringSupport.h"
#include "codegen/cpu/Passes.h"
#include "codegen/cpu/Target.h"

#include "mlir/Dialect/UB/IR/UBOps.h"

namespace mlir::mtgr {
#define GEN_PASS_DEF_MTGRLOWERTOLOOPSPASS
#include "codegen/cpu/Passes.h.inc"
} // namespace mlir::mtgr

using namespace mlir;
using namespace mlir::mtgr;

namespace {
struct MTGRLowerToLoopsPass
    : mlir::mtgr::impl::MTGRLowerToLoopsPassBase<MTGRLowerToLoopsPass> {
  using MTGRLowerToLoopsPassBase::MTGRLowerToLoopsPassBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<func::FuncOp> entries;
    for (auto fn : module.getOps<func::FuncOp>())
      if (fn->hasAttr("mtgr.abi"))
        entries.push_back(fn);
    if (entries.empty())
      return; // nothing bound: nothing to lower
    for (StringRef name : {"forward", "train_step", "apply_update"})
      if (Operation *fn = module.lookupSymbol(name)) {
        fn->emitError("entry point not bound: run mtgr-bind-entry-points first");
        return signalPassFailure();
      }
    {
      // The runtime says how many threads a call's parallel ops split into.
      OpBuilder b(ctx);
      b.setInsertionPointToStart(module.getBody());
      if (!module.lookupSymbol(kThreadsImport))
        func::FuncOp::create(b, module.getLoc(), kThreadsImport,
                             b.getFunctionType({}, {b.getI64Type()}))
            .setPrivate();
    }
    if (profile) { // the runtime's clock and per-family sums
      module->setAttr("mtgr.profile", UnitAttr::get(ctx));
      OpBuilder b(ctx);
      b.setInsertionPointToStart(module.getBody());
      Type i64 = b.getI64Type();
      if (!module.lookupSymbol(kProfileClockImport))
        func::FuncOp::create(b, module.getLoc(), kProfileClockImport, b.getFunctionType({}, {i64}))
            .setPrivate();
      if (!module.lookupSymbol(kProfileRecordImport))
        func::FuncOp::create(b, module.getLoc(), kProfileRecordImport,
                             b.getFunctionType({i64, i64, i64}, {}))
            .setPrivate();
    }
    BufferTypeConverter converter;
    RewritePatternSet patterns(ctx);
    GemmTiles gemm;
    gemm.rows = gemmRows;
    gemm.vectors = gemmVectors;
    gemm.lanes = lanes;
    if (gemm.rows < 1 || gemm.vectors < 1 || gemm.lanes < 1 || gemm.rows * gemm.vectors > 64) {
      module.emitError("mtgr-lower-to-loops: GEMM tile ")
          << gemm.rows << " x " << gemm.vectors << " x " << gemm.lanes
          << " is not a register tile (1 .. 64 accumulators, lanes >= 1)";
      return signalPassFailure();
    }
    populateLinearLoweringPatterns(converter, patterns, gemm);
    populateElementwiseLoweringPatterns(converter, patterns);
    populateTokenLoweringPatterns(converter, patterns);
    populateNormLoweringPatterns(converter, patterns);
    populateAttentionLoweringPatterns(converter, patterns);
    populateLossLoweringPatterns(converter, patterns);
    populateOptimizerLoweringPatterns(converter, patterns);

    ConversionTarget target(*ctx);
    target.addLegalDialect<arith::ArithDialect, math::MathDialect, memref::MemRefDialect,
                           scf::SCFDialect, ub::UBDialect, vector::VectorDialect>();
    target.addLegalOp<func::FuncOp, func::ReturnOp, func::CallOp>(); // kernels are functions
    target.addDynamicallyLegalOp<UnrealizedConversionCastOp>([](UnrealizedConversionCastOp op) {
      return llvm::all_of(op->getOperandTypes(), isBufferType) &&
             llvm::all_of(op->getResultTypes(), isBufferType);
    });
    populateBufferCastFolding(converter, patterns);
    target.addIllegalDialect<MTGRDialect>();
    SmallVector<Operation *> roots;
    for (func::FuncOp fn : entries) {
      WalkResult modelLevel = fn.walk([](Operation *op) {
        if (!op->hasTrait<ModelLevel>())
          return WalkResult::advance();
        op->emitError("model-level op: run mtgr-decompose-layers before lowering");
        return WalkResult::interrupt();
      });
      if (modelLevel.wasInterrupted())
        return signalPassFailure();
      roots.push_back(fn);
    }
    FrozenRewritePatternSet frozen(std::move(patterns));
    if (failed(applyPartialConversion(roots, target, frozen)))
      return signalPassFailure();
    WalkResult castLeft = module.walk([](UnrealizedConversionCastOp c) {
      c.emitError("a buffer cast is left after lowering");
      return WalkResult::interrupt();
    });
    if (castLeft.wasInterrupted())
      return signalPassFailure();
    // What is left is the model-level description: keep only the lowered code.
    for (Operation &op : llvm::make_early_inc_range(*module.getBody())) {
      auto fn = dyn_cast<func::FuncOp>(op);
      bool profileHook = fn && fn.isDeclaration() && fn.getName().starts_with("mtgr_profile_");
      if (fn && fn.isDeclaration() && fn.getName() == kThreadsImport &&
          !SymbolTable::symbolKnownUseEmpty(fn, module))
        continue;
      bool kernel = fn && fn->hasAttr("mtgr.kernel"); // shared by the layers (attention)
      if (!llvm::is_contained(entries, &op) && !profileHook && !kernel)
        op.erase();
    }
    module->removeAttr("mtgr.profile");
  }
};
} // namespace
