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
/// The CPU's independent iterations: a contiguous range of blocks of them
/// per thread (an scf.parallel of at most `mtgr_threads` parts: the
/// runtime's OpenMP team), or a loop where the code is already inside a thread's part
/// (a GEMM's, the attention's, another forEach's). Every iteration writes
/// its own outputs, so results do not depend on the thread count. The
/// memory-bound ops (elementwise, tokens, norms, the optimiser) ran on the
/// calling thread alone before 2026-12-06 (docs/cpu-backend.md).
class CpuParallelLoops final : public ParallelLoops {
public:
  void forEach(LoopBuilder &l, Value count, function_ref<void(Value)> body) const override {
    if (insidePart(l))
      return l.loop(l.idx(0), count, body);
    // The iterations in blocks of kBlock, each block a loop of its own, and
    // whole blocks to the threads: LLVM may vectorise or unroll a loop
    // across iterations (small rows), and its vector body and scalar tail
    // may round differently (the `contract` and `reassoc` of LoopBuilder's
    // float ops). A block's code is the same wherever its part begins, so
    // no result depends on the thread count (a range per part gave other
    // bits on 2 threads: Threads/FewSamplesOnThreads). One copy of the body
    // for the same reason: no serial twin for one part.
    Value blocks = arith::CeilDivUIOp::create(l.b, count, l.idx(kBlock));
    Value parts = l.minI(l.threads(), arith::MaxSIOp::create(l.b, blocks, l.idx(1)));
    l.parallelParts(parts, "each", [&](Value part) {
      auto [first, end] = l.evenShare(blocks, part, parts);
      l.loop(first, end, [&](Value block) {
        Value lo = l.mul(block, l.idx(kBlock));
        l.loop(lo, l.minI(l.add(lo, l.idx(kBlock)), count), body);
      });
    });
  }
  /// Rows to threads, each row's columns a loop (vectorisable).
  void forEach2(LoopBuilder &l, Value n, Value m,
                function_ref<void(Value, Value)> body) const override {
    forEach(l, n, [&](Value i) { l.loop(l.idx(0), m, [&](Value j) { body(i, j); }); });
  }
  void serial(LoopBuilder &l, function_ref<void()> body) const override { body(); }
  bool threadPerIteration() const override { return false; }

private:
  /// Iterations per block: small, so a batch of a few samples still splits.
  static constexpr int64_t kBlock = 4;
  static bool insidePart(LoopBuilder &l) {
    Operation *parent = l.b.getInsertionBlock()->getParentOp();
    return isa<scf::ParallelOp>(parent) || parent->getParentOfType<scf::ParallelOp>();
  }
};

struct MTGRLowerToLoopsPass
    : mlir::mtgr::impl::MTGRLowerToLoopsPassBase<MTGRLowerToLoopsPass> {
  using MTGRLowerToLoopsPassBase::MTGRLowerToLoopsPassBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    FailureOr<SmallVector<Operation *>> entries = boundEntryPoints(module);
    if (failed(entries))
      return signalPassFailure();
    if (entries->empty())
      return; // nothing bound: nothing to lower
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
    gemm.l2Bytes = l2Bytes;
    gemm.kBlock = gemmKBlock;
    if (gemm.l2Bytes < 1024 || gemm.kBlock < 1) {
      module.emitError("mtgr-lower-to-loops: L2 of ")
          << gemm.l2Bytes << " bytes and GEMM K blocks of " << gemm.kBlock
          << " (at least 1024 bytes and 1)";
      return signalPassFailure();
    }
    if (gemm.rows < 1 || gemm.vectors < 1 || gemm.lanes < 1 || gemm.rows * gemm.vectors > 64) {
      module.emitError("mtgr-lower-to-loops: GEMM tile ")
          << gemm.rows << " x " << gemm.vectors << " x " << gemm.lanes
          << " is not a register tile (1 .. 64 accumulators, lanes >= 1)";
      return signalPassFailure();
    }
    CpuParallelLoops threads;
    populateLinearLoweringPatterns(converter, patterns, gemm);
    populateElementwiseLoweringPatterns(converter, patterns, &threads);
    populateTokenLoweringPatterns(converter, patterns, &threads);
    populateNormLoweringPatterns(converter, patterns, &threads, lanes);
    if (vectorRegisters < 4) {
      module.emitError("mtgr-lower-to-loops: ")
          << int64_t(vectorRegisters) << " vector registers (at least 4)";
      return signalPassFailure();
    }
    if (attentionSweepBytes < 1) {
      module.emitError("mtgr-lower-to-loops: attention sweep of ")
          << int64_t(attentionSweepBytes) << " bytes (at least 1)";
      return signalPassFailure();
    }
    if (l1Bytes < 1024) {
      module.emitError("mtgr-lower-to-loops: L1 of ")
          << int64_t(l1Bytes) << " bytes (at least 1024)";
      return signalPassFailure();
    }
    populateAttentionLoweringPatterns(converter, patterns,
                                      {vectorRegisters, attentionSweepBytes, l1Bytes, l2Bytes});
    populateLossLoweringPatterns(converter, patterns, &threads);
    populateOptimizerLoweringPatterns(converter, patterns, &threads);

    ConversionTarget target(*ctx);
    target.addLegalDialect<arith::ArithDialect, math::MathDialect, memref::MemRefDialect,
                           scf::SCFDialect, ub::UBDialect, vector::VectorDialect>();
    target.addLegalOp<func::FuncOp, func::ReturnOp, func::CallOp>(); // kernels are functions
    target.addDynamicallyLegalOp<UnrealizedConversionCastOp>([](UnrealizedConversionCastOp op) {
      return llvm::all_of(op->getOperandTypes(), isBufferType) &&
             llvm::all_of(op->getResultTypes(), isBufferType);
    });
    populateBufferCastFolding(converter, patterns, &threads);
    target.addIllegalDialect<MTGRDialect>();
    FrozenRewritePatternSet frozen(std::move(patterns));
    if (failed(applyPartialConversion(*entries, target, frozen)))
      return signalPassFailure();
    // What is left is the model-level description: keep only the lowered code.
    auto keep = [&](Operation *op) {
      auto fn = dyn_cast<func::FuncOp>(op);
      if (!fn)
        return false;
      bool profileHook = fn.isDeclaration() && fn.getName().starts_with("mtgr_profile_");
      bool threads = fn.isDeclaration() && fn.getName() == kThreadsImport &&
                     !SymbolTable::symbolKnownUseEmpty(fn, module);
      bool kernel = fn->hasAttr("mtgr.kernel"); // shared by the layers (attention)
      return profileHook || threads || kernel;
    };
    if (failed(keepLoweredCode(module, *entries, keep)))
      return signalPassFailure();
    module->removeAttr("mtgr.profile");
  }
};
} // namespace
