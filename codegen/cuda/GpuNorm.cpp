//===- GpuNorm.cpp - group layer norm and its gradient as GPU kernels -----===//
//
// Forward: one thread per token row (the row's statistics, then gamma and
// beta of its group), the math of RowMath.h on one lane, as the CPU's
// standalone norm computes it. Backward: one thread per row for dx (storing
// the row's mean and rstd), then one thread per (group, column) summing
// dgamma and dbeta over the rows of its group in row order: deterministic,
// no atomics, the CPU's summation order.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/RowMath.h"
#include "codegen/cuda/GpuSupport.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
using Results = FailureOr<SmallVector<SmallVector<Value>>>;

struct GpuGroupLayerNorm : GpuPattern<GroupLayerNormOp> {
  using GpuPattern::GpuPattern;
  Results lower(GroupLayerNormOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    LayoutBuffers layout(a.getLayout());
    Value gamma = a.getGamma()[0], beta = a.getBeta()[0];
    int64_t d = getRowShape(op.getType())[0];
    Value rows = l.rows(x.values);
    Value y = l.alloc(l.act(), {d}, rows);
    launchThreads(l, rows, blockSize, [&](Value r) {
      Value eps = l.cf32(op.getEps().convertToDouble());
      NormStatistics stats = layerNormRowStatistics(l, x.values, r, d, eps);
      Value g = normRow(l, layout, gamma, r);
      Lanes scalar{l, 1};
      l.loop(l.idx(0), l.idx(d), [&](Value k) {
        l.store(layerNormAffine(scalar, l.load(x.values, {r, k}), stats, l.load(gamma, {g, k}),
                                l.load(beta, {g, k})),
                y, {r, k});
      });
    });
    return SmallVector<SmallVector<Value>>{rowsLike(x, y)};
  }
};

struct GpuGroupLayerNormBackward : GpuPattern<GroupLayerNormBackwardOp> {
  using GpuPattern::GpuPattern;
  Results lower(GroupLayerNormBackwardOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    LayoutBuffers layout(a.getLayout());
    Value gamma = a.getGamma()[0], dy = a.getResultGrad()[0];
    int64_t d = getRowShape(op.getInput().getType())[0];
    int64_t groups = cast<MemRefType>(gamma.getType()).getDimSize(0);
    Value rows = l.rows(x.values);
    Value dx = l.alloc(l.act(), {d}, rows);
    Value means = l.alloc(l.f32(), {}, rows), rstds = l.alloc(l.f32(), {}, rows);
    Value dg = l.allocStatic(l.f32(), {groups, d}), db = l.allocStatic(l.f32(), {groups, d});
    // dx, one thread per row; the row's statistics kept for dgamma.
    launchThreads(l, rows, blockSize, [&](Value r) {
      Value eps = l.cf32(op.getEps().convertToDouble());
      NormStatistics stats = layerNormRowStatistics(l, x.values, r, d, eps);
      l.store(stats.mean, means, {r});
      l.store(stats.rstd, rstds, {r});
      Value g = normRow(l, layout, gamma, r);
      Lanes scalar{l, 1};
      auto xhat = [&](Value k) {
        return layerNormNormalized(scalar, l.load(x.values, {r, k}), stats.mean, stats.rstd);
      };
      auto gy = [&](Value k) { return l.load(dy, {r, k}); };
      auto gam = [&](Value k) { return l.load(gamma, {g, k}); };
      std::pair<Value, Value> m = layerNormGradMeans(scalar, d, gy, gam, xhat);
      l.loop(l.idx(0), l.idx(d), [&](Value k) {
        Value dxhat = l.fmul(l.load(dy, {r, k}), l.load(gamma, {g, k}));
        l.store(layerNormInputGrad(scalar, stats.rstd, dxhat, xhat(k), m.first, m.second), dx,
                {r, k});
      });
    });
    // dgamma, dbeta: one thread per (group, column), rows in order.
    launchThreads(l, l.idx(groups * d), blockSize, [&](Value i) {
      Value g = arith::DivUIOp::create(l.b, i, l.idx(d));
      Value k = arith::RemUIOp::create(l.b, i, l.idx(d));
      Value zero = l.cf32(0.0);
      auto sums = scf::ForOp::create(l.b, l.idx(0), rows, l.idx(1), ValueRange{zero, zero});
      {
        OpBuilder::InsertionGuard guard(l.b);
        l.b.setInsertionPointToStart(sums.getBody());
        Value r = sums.getInductionVar();
        Value sg = sums.getRegionIterArgs()[0], sb = sums.getRegionIterArgs()[1];
        Value mine = l.cmp(arith::CmpIPredicate::eq, normRow(l, layout, gamma, r), g);
        Value gy = l.load(dy, {r, k});
        Lanes scalar{l, 1};
        Value xh = layerNormNormalized(scalar, l.load(x.values, {r, k}), l.load(means, {r}),
                                       l.load(rstds, {r}));
        scf::YieldOp::create(l.b, ValueRange{l.select(mine, l.fadd(sg, l.fmul(gy, xh)), sg),
                                             l.select(mine, l.fadd(sb, gy), sb)});
      }
      l.store(sums.getResult(0), dg, {g, k});
      l.store(sums.getResult(1), db, {g, k});
    });
    return SmallVector<SmallVector<Value>>{rowsLike(x, dx), {dg}, {db}};
  }
};
} // namespace

void mlir::mtgr::populateGpuNormPatterns(BufferTypeConverter &converter,
                                         RewritePatternSet &patterns, int64_t blockSize) {
  patterns.add<GpuGroupLayerNorm, GpuGroupLayerNormBackward>(converter, patterns.getContext(),
                                                             blockSize);
}
