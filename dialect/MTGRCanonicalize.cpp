//===- MTGRCanonicalize.cpp - canonicalization patterns of the mtgr ops ---===//
//
// Rewrites that hold on any target and only remove work. The canonicalizer
// runs after mtgr-generate-train-step (compiler/Pipeline.cpp), where the
// reverse sweep leaves these shapes behind.
//
//===----------------------------------------------------------------------===//
#include "dialect/MTGRDialect.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
/// The leaves of the add tree rooted at `v`: operands of adds, looking
/// through inner adds that have no other use, left to right.
void addLeaves(Value v, bool root, SmallVectorImpl<Value> &leaves) {
  auto add = v.getDefiningOp<AddOp>();
  if (!add || (!root && !v.hasOneUse())) {
    leaves.push_back(v);
    return;
  }
  addLeaves(add.getLhs(), false, leaves);
  addLeaves(add.getRhs(), false, leaves);
}

/// sum of column_pads into disjoint ranges -> the pieces side by side.
///
/// The reverse sweep gives a value split by column_slice one column_pad per
/// piece (zero rows of the full width with the piece's gradient at its
/// columns) and sums them: for U, V, Q, K of width W each, four full-width
/// zeroed buffers and three full-width sums. Every column of the sum has one
/// non-zero term, so the pieces side by side (`concat`) are the same
/// numbers. Runs of adjacent ranges merge; a run that does not cover every
/// column stays padded, and the runs are summed as before.
struct MergeColumnPads : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AddOp add, PatternRewriter &rewriter) const override {
    // Only the root of a tree: an inner add is merged with its whole tree.
    if (add->hasOneUse() && isa<AddOp>(*add->getUsers().begin()))
      return failure();
    SmallVector<Value> leaves;
    addLeaves(add.getResult(), true, leaves);
    SmallVector<ColumnPadOp> pads;
    for (Value leaf : leaves) {
      auto pad = leaf.getDefiningOp<ColumnPadOp>();
      if (!pad)
        return failure(); // another term would mix into the padded columns
      pads.push_back(pad);
    }
    // Offsets are distinct unless ranges overlap, which is refused below.
    llvm::sort(pads, [](ColumnPadOp a, ColumnPadOp b) {
      return a.getOffsetAttr().getInt() < b.getOffsetAttr().getInt();
    });
    auto widthOf = [](ColumnPadOp p) { return getRowShape(p.getInput().getType())[0]; };
    // Runs of adjacent ranges; overlapping ranges are a real sum: leave them.
    SmallVector<SmallVector<ColumnPadOp>> runs;
    int64_t end = -1;
    for (ColumnPadOp p : pads) {
      int64_t start = p.getOffsetAttr().getInt();
      if (start < end)
        return failure();
      if (start != end)
        runs.emplace_back();
      runs.back().push_back(p);
      end = start + widthOf(p);
    }
    if (runs.size() == pads.size())
      return failure(); // nothing adjacent: the sum is already the cheapest form

    Location loc = add.getLoc();
    Type type = add.getType();
    int64_t width = getRowShape(type)[0];
    Value sum;
    for (MutableArrayRef<ColumnPadOp> run : runs) {
      int64_t start = run.front().getOffsetAttr().getInt(), runWidth = 0;
      SmallVector<Value> inputs;
      for (ColumnPadOp p : run) {
        inputs.push_back(p.getInput());
        runWidth += widthOf(p);
      }
      Type runType = runWidth == width ? type : withRowShape(type, {runWidth});
      Value piece = inputs.size() == 1
                        ? inputs[0]
                        : ConcatOp::create(rewriter, loc, runType, inputs).getResult();
      if (runWidth != width)
        piece = ColumnPadOp::create(rewriter, loc, type, piece, start, width);
      sum = sum ? AddOp::create(rewriter, loc, sum, piece).getResult() : piece;
    }
    rewriter.replaceOp(add, sum);
    return success();
  }
};
} // namespace

void AddOp::getCanonicalizationPatterns(RewritePatternSet &patterns, MLIRContext *ctx) {
  patterns.add<MergeColumnPads>(ctx);
}
