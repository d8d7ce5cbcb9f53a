//===- LowerNorm.cpp - group layer norm and its gradient to loops ---------===//
#include "codegen/common/RowMath.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
using Results = FailureOr<SmallVector<SmallVector<Value>>>;
using Buffers = SmallVector<SmallVector<Value>>;

struct LowerGroupLayerNorm : LoopPattern<GroupLayerNormOp> {
  using LoopPattern::LoopPattern;
  Results lower(GroupLayerNormOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    LayoutBuffers lay(a.getLayout());
    Value gamma = a.getGamma()[0], beta = a.getBeta()[0];
    int64_t d = getRowShape(op.getType())[0];
    Value rows = l.rows(x.values);
    Value y = l.alloc(l.f32(), {d}, rows);
    Value eps = l.cf32(op.getEps().convertToDouble());
    l.loop(l.idx(0), rows, [&](Value r) {
      NormStatistics stats = layerNormRowStatistics(l, x.values, r, d, eps);
      Value g = normRow(l, lay, gamma, r);
      Lanes scalar{l, 1};
      l.loop(l.idx(0), l.idx(d), [&](Value k) {
        l.store(layerNormAffine(scalar, l.load(x.values, {r, k}), stats, l.load(gamma, {g, k}),
                                l.load(beta, {g, k})),
                y, {r, k});
      });
    });
    return Buffers{rowsLike(x, y)};
  }
};

struct LowerGroupLayerNormBackward : LoopPattern<GroupLayerNormBackwardOp> {
  using LoopPattern::LoopPattern;
  Results lower(GroupLayerNormBackwardOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    LayoutBuffers lay(a.getLayout());
    Value gamma = a.getGamma()[0], dy = a.getResultGrad()[0];
    int64_t d = getRowShape(op.getInput().getType())[0];
    Value rows = l.rows(x.values);
    Value dx = l.alloc(l.f32(), {d}, rows);
    int64_t groups = cast<MemRefType>(gamma.getType()).getDimSize(0);
    Value dg = l.allocStatic(l.f32(), {groups, d}), db = l.allocStatic(l.f32(), {groups, d});
    l.fill(dg, l.cf32(0.0));
    l.fill(db, l.cf32(0.0));
    Value eps = l.cf32(op.getEps().convertToDouble());
    l.loop(l.idx(0), rows, [&](Value r) {
      NormStatistics stats = layerNormRowStatistics(l, x.values, r, d, eps);
      Value mean = stats.mean, rstd = stats.rstd;
      Value g = normRow(l, lay, gamma, r);
      auto xhat = [&](Value k) {
        return layerNormNormalized(l, l.load(x.values, {r, k}), mean, rstd);
      };
      std::pair<Value, Value> means = layerNormGradMeans(
          l, d, [&](Value k) { return l.load(dy, {r, k}); },
          [&](Value k) { return l.load(gamma, {g, k}); }, xhat);
      Value m1 = means.first, m2 = means.second;
      l.loop(l.idx(0), l.idx(d), [&](Value k) {
        Value gy = l.load(dy, {r, k}), xh = xhat(k);
        Value dxhat = l.fmul(gy, l.load(gamma, {g, k}));
        l.store(layerNormInputGrad(l, rstd, dxhat, xh, m1, m2), dx, {r, k});
        l.store(l.fadd(l.load(dg, {g, k}), l.fmul(gy, xh)), dg, {g, k});
        l.store(l.fadd(l.load(db, {g, k}), gy), db, {g, k});
      });
    });
    return Buffers{rowsLike(x, dx), {dg}, {db}};
  }
};
} // namespace

void mlir::mtgr::populateNormLoweringPatterns(BufferTypeConverter &converter,
                                              RewritePatternSet &patterns) {
  patterns.add<LowerGroupLayerNorm, LowerGroupLayerNormBackward>(converter, patterns.getContext());
}
