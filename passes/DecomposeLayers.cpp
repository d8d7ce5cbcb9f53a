//===- DecomposeLayers.cpp - model-level ops to kernel-level ops ----------===//
//
// One pattern per model-level op. Patterns may create other model-level ops
// (a tokenizer becomes concat + mtgr.mlp); the greedy driver rewrites those too.
//
//===----------------------------------------------------------------------===//
#include "dialect/MTGRDialect.h"
#include "passes/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::mtgr {
#define GEN_PASS_DEF_MTGRDECOMPOSELAYERSPASS
#include "passes/Passes.h.inc"
} // namespace mlir::mtgr

using namespace mlir;
using namespace mlir::mtgr;

namespace {
int64_t outWidth(Value weight) {
  return cast<RankedTensorType>(weight.getType()).getDimSize(0);
}

/// Linear layers with SiLU between them (DESIGN 1.2).
Value buildMlp(PatternRewriter &rewriter, Location loc, Value x,
               ValueRange weights, ValueRange biases) {
  for (auto [i, w, b] : llvm::enumerate(weights, biases)) {
    Type type = withRowShape(x.getType(), {outWidth(w)});
    x = LinearOp::create(rewriter, loc, type, x, w, b);
    if (i + 1 < weights.size())
      x = SiluOp::create(rewriter, loc, x);
  }
  return x;
}

/// Concatenates the features' columns (no op for a single feature).
Value buildConcat(PatternRewriter &rewriter, Location loc, ValueRange features) {
  if (features.size() == 1)
    return features.front();
  int64_t width = 0;
  for (Value f : features)
    width += getRowShape(f.getType())[0];
  Type type = withRowShape(features.front().getType(), {width});
  return ConcatOp::create(rewriter, loc, type, features);
}

struct DecomposeMlp : OpRewritePattern<MlpOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MlpOp op, PatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, buildMlp(rewriter, op.getLoc(), op.getInput(),
                                    op.getWeights(), op.getBiases()));
    return success();
  }
};

struct DecomposeTaskHead : OpRewritePattern<TaskHeadOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TaskHeadOp op, PatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, buildMlp(rewriter, op.getLoc(), op.getInput(),
                                    op.getWeights(), op.getBiases()));
    return success();
  }
};

struct DecomposeProfileTokens : OpRewritePattern<ProfileTokensOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ProfileTokensOp op, PatternRewriter &rewriter) const override {
    SmallVector<Value> tokens;
    for (auto [x, w, b] : llvm::zip(op.getFeatures(), op.getWeights(), op.getBiases()))
      tokens.push_back(buildMlp(rewriter, op.getLoc(), x, w, b));
    rewriter.replaceOpWithNewOp<StackOp>(op, op.getResult().getType(), tokens);
    return success();
  }
};

struct DecomposeSequenceTokens : OpRewritePattern<SequenceTokensOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SequenceTokensOp op, PatternRewriter &rewriter) const override {
    Value x = buildConcat(rewriter, op.getLoc(), op.getFeatures());
    rewriter.replaceOp(op, buildMlp(rewriter, op.getLoc(), x, op.getWeights(),
                                    op.getBiases()));
    return success();
  }
};

struct DecomposeCandidateTokens : OpRewritePattern<CandidateTokensOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CandidateTokensOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    SmallVector<Value> features(op.getItems());
    features.append(op.getCross().begin(), op.getCross().end());
    // Per-sample context rows: one copy per candidate of the sample.
    Value like = op.getItems().front();
    for (Value ctx : op.getSampleFeatures()) {
      Type type = withRowShape(like.getType(), getRowShape(ctx.getType()));
      features.push_back(BroadcastRowsOp::create(rewriter, loc, type, ctx, like));
    }
    Value x = buildConcat(rewriter, loc, features);
    rewriter.replaceOp(op, buildMlp(rewriter, loc, x, op.getWeights(), op.getBiases()));
    return success();
  }
};

struct DecomposeHstuLayer : OpRewritePattern<HstuLayerOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(HstuLayerOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getInput(), layout = op.getLayout();
    Type rows = x.getType();
    int64_t h = op.getHeads(), dqk = op.getDqk(), dv = op.getDv();
    auto jagged = [&](int64_t width) { return withRowShape(rows, {width}); };

    FloatAttr eps = rewriter.getF64FloatAttr(1e-5); // DESIGN 1.4
    Value xn = GroupLayerNormOp::create(rewriter, loc, rows, x, layout,
                                        op.getGln1Gamma(), op.getGln1Beta(), eps);
    int64_t uvqkWidth = 2 * h * dv + 2 * h * dqk;
    Value hidden = LinearOp::create(rewriter, loc, jagged(uvqkWidth), xn,
                                    op.getUvqkWeight(), op.getUvqkBias());
    hidden = SiluOp::create(rewriter, loc, hidden);
    // Column blocks U, V, Q, K in that order (DESIGN 1.3).
    int64_t offset = 0;
    auto slice = [&](int64_t width) {
      Value s = ColumnSliceOp::create(rewriter, loc, jagged(width), hidden,
                                      offset, width);
      offset += width;
      return s;
    };
    Value u = slice(h * dv), v = slice(h * dv), q = slice(h * dqk),
          k = slice(h * dqk);

    Value mask = op.getIntervals();
    if (!mask) {
      Type intervals = JaggedType::get(getContext(), {3, 2},
                                       IntegerType::get(getContext(), 32));
      mask = BuildMaskOp::create(rewriter, loc, intervals, op.getMask(), layout);
    }
    Value o = HstuAttentionOp::create(
        rewriter, loc, jagged(h * dv), q, k, v, mask, layout, op.getRabPos(),
        op.getRabTime(), /*tiles=*/Value(), op.getHeadsAttr(), op.getAlphaAttr(), op.getNNormAttr(),
        op.getNNormConstantAttr());

    Type gated = jagged(h * dv);
    auto gln2 = [&](Value in) {
      return GroupLayerNormOp::create(rewriter, loc, gated, in, layout,
                                      op.getGln2Gamma(), op.getGln2Beta(), eps)
          .getResult();
    };
    Value y = op.getNormOrder() == NormOrder::gate_then_norm
                  ? gln2(MulOp::create(rewriter, loc, o, u))
                  : MulOp::create(rewriter, loc, gln2(o), u).getResult();
    if (!op.getDropout().isZero())
      y = DropoutOp::create(rewriter, loc, y, op.getDropoutAttr(), op.getLayerAttr());
    Value out = LinearOp::create(rewriter, loc, rows, y, op.getOutWeight(),
                                 op.getOutBias());
    rewriter.replaceOpWithNewOp<AddOp>(op, x, out);
    return success();
  }
};

struct MTGRDecomposeLayersPass
    : mlir::mtgr::impl::MTGRDecomposeLayersPassBase<MTGRDecomposeLayersPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<DecomposeMlp, DecomposeTaskHead, DecomposeProfileTokens,
                 DecomposeSequenceTokens, DecomposeCandidateTokens,
                 DecomposeHstuLayer>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    WalkResult left = getOperation().walk([](Operation *op) {
      if (op->hasTrait<ModelLevel>()) {
        op->emitError("model-level op left after mtgr-decompose-layers");
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (left.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
