//===- LowerNorm.cpp - group layer norm and its gradient to loops ---------===//
//
// Rows go to threads (LoopBuilder::forEach, CpuParallelLoops); a row's
// statistics and its gradient's two means are sums in vectors of the
// target's lanes when the width allows (RowMath.h: the fused linear's
// prologue computes the norm the same way), else scalars in order. dgamma
// and dbeta sum over rows: the threads take column ranges and add the rows
// in order, so no sum depends on the thread count.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/RowMath.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
using Results = FailureOr<SmallVector<SmallVector<Value>>>;
using Buffers = SmallVector<SmallVector<Value>>;

template <typename Op> struct NormPattern : LoopPattern<Op> {
  NormPattern(BufferTypeConverter &c, MLIRContext *ctx, const ParallelLoops *parallel,
              int64_t lanes)
      : LoopPattern<Op>(c, ctx, parallel), lanes(lanes) {}
  int64_t lanes;
  Lanes rowLanes(LoopBuilder &l, int64_t d) const { return Lanes::across(l, d, lanes); }
};

struct LowerGroupLayerNorm : NormPattern<GroupLayerNormOp> {
  using NormPattern::NormPattern;
  Results lower(GroupLayerNormOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    LayoutBuffers lay(a.getLayout());
    Value gamma = a.getGamma()[0], beta = a.getBeta()[0];
    int64_t d = getRowShape(op.getType())[0];
    Value rows = l.rows(x.values);
    Value y = l.alloc(l.f32(), {d}, rows);
    Value eps = l.cf32(op.getEps().convertToDouble());
    l.forEach(rows, [&](Value r) {
      Lanes v = rowLanes(l, d);
      auto input = [&](Value k) { return v.load(x.values, {r, k}); };
      NormStatistics stats = layerNormStatistics(v, d, input, eps);
      Value g = normRow(l, lay, gamma, r);
      v.each(d, [&](Value k) {
        v.store(layerNormAffine(v, input(k), stats, v.load(gamma, {g, k}), v.load(beta, {g, k})), y,
                {r, k});
      });
    });
    return Buffers{rowsLike(x, y)};
  }
};

struct LowerGroupLayerNormBackward : NormPattern<GroupLayerNormBackwardOp> {
  using NormPattern::NormPattern;
  Results lower(GroupLayerNormBackwardOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    LayoutBuffers lay(a.getLayout());
    Value gamma = a.getGamma()[0], dy = a.getResultGrad()[0];
    int64_t d = getRowShape(op.getInput().getType())[0];
    Value rows = l.rows(x.values);
    Value dx = l.alloc(l.f32(), {d}, rows);
    Value means = l.alloc(l.f32(), {}, rows), rstds = l.alloc(l.f32(), {}, rows);
    int64_t groups = cast<MemRefType>(gamma.getType()).getDimSize(0);
    Value dg = l.allocStatic(l.f32(), {groups, d}), db = l.allocStatic(l.f32(), {groups, d});
    Value eps = l.cf32(op.getEps().convertToDouble());
    // dx per row; the row's statistics kept for dgamma.
    l.forEach(rows, [&](Value r) {
      Lanes v = rowLanes(l, d);
      auto input = [&](Value k) { return v.load(x.values, {r, k}); };
      NormStatistics stats = layerNormStatistics(v, d, input, eps);
      l.store(stats.mean, means, {r});
      l.store(stats.rstd, rstds, {r});
      Value g = normRow(l, lay, gamma, r);
      auto xhat = [&](Value k) { return layerNormNormalized(v, input(k), stats.mean, stats.rstd); };
      auto gy = [&](Value k) { return v.load(dy, {r, k}); };
      auto gam = [&](Value k) { return v.load(gamma, {g, k}); };
      auto [m1, m2] = layerNormGradMeans(v, d, gy, gam, xhat);
      v.each(d, [&](Value k) {
        v.store(layerNormInputGrad(v, stats.rstd, l.fmul(gy(k), gam(k)), xhat(k), m1, m2), dx,
                {r, k});
      });
    });
    // dgamma, dbeta: each thread a range of column vectors, the rows in order.
    l.fill(dg, l.cf32(0.0));
    l.fill(db, l.cf32(0.0));
    Lanes v = rowLanes(l, d);
    Value chunks = l.idx(d / v.width), parts = l.minI(l.threads(), chunks);
    l.parallelParts(parts, "norm_columns", [&](Value part) {
      auto [c0, c1] = l.evenShare(chunks, part, parts);
      l.loop(l.idx(0), rows, [&](Value r) {
        Value g = normRow(l, lay, gamma, r);
        Value mean = l.load(means, {r}), rstd = l.load(rstds, {r});
        l.loop(c0, c1, [&](Value c) {
          Value k = l.mul(c, l.idx(v.width));
          Value gy = v.load(dy, {r, k});
          Value xh = layerNormNormalized(v, v.load(x.values, {r, k}), mean, rstd);
          v.store(l.fadd(v.load(dg, {g, k}), l.fmul(gy, xh)), dg, {g, k});
          v.store(l.fadd(v.load(db, {g, k}), gy), db, {g, k});
        });
      });
    });
    return Buffers{rowsLike(x, dx), {dg}, {db}};
  }
};
} // namespace

void mlir::mtgr::populateNormLoweringPatterns(BufferTypeConverter &converter,
                                              RewritePatternSet &patterns,
                                              const ParallelLoops *parallel, int64_t lanes) {
  patterns.add<LowerGroupLayerNorm, LowerGroupLayerNormBackward>(converter, patterns.getContext(),
                                                                 parallel, lanes);
}
