//===- PlanAttention.cpp - one tile list per attention mask ---------------===//
#include "dialect/MTGRDialect.h"
#include "passes/Passes.h"

namespace mlir::mtgr {
#define GEN_PASS_DEF_MTGRPLANATTENTIONPASS
#include "passes/Passes.h.inc"
} // namespace mlir::mtgr

using namespace mlir;
using namespace mlir::mtgr;

namespace {
struct MTGRPlanAttentionPass : mlir::mtgr::impl::MTGRPlanAttentionPassBase<MTGRPlanAttentionPass> {
  using MTGRPlanAttentionPassBase::MTGRPlanAttentionPassBase;
  void runOnOperation() override {
    if (rowBlock < 1 || colTile < 1 || suffixRowBlock < 0) {
      getOperation().emitError("mtgr-plan-attention: row-block and col-tile must be at least 1, "
                               "suffix-row-block at least 0");
      return signalPassFailure();
    }
    // (mask, layout) -> its tile list (values differ per function).
    DenseMap<std::pair<Value, Value>, Value> lists;
    auto tilesFor = [&](Operation *user, Value mask, Value layout) -> Value {
      Value &t = lists[{mask, layout}];
      if (t)
        return t;
      // Before the first reader (ops are visited in order, so every later
      // reader of the same mask is dominated by it).
      OpBuilder b(user);
      auto built = mask.getDefiningOp<BuildMaskOp>();
      int64_t rows = built && built.getSuffixRows() && suffixRowBlock ? suffixRowBlock : rowBlock;
      t = AttentionTilesOp::create(
          b, user->getLoc(), TileListType::get(user->getContext(), rows, colTile), mask, layout);
      return t;
    };
    getOperation().walk([&](Operation *op) {
      if (auto a = dyn_cast<HstuAttentionOp>(op); a && !a.getTiles())
        a.getTilesMutable().assign(tilesFor(op, a.getMask(), a.getLayout()));
      if (auto a = dyn_cast<HstuAttentionBackwardOp>(op); a && !a.getTiles())
        a.getTilesMutable().assign(tilesFor(op, a.getMask(), a.getLayout()));
    });
  }
};
} // namespace
