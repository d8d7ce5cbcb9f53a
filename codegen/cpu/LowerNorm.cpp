//===- LowerNorm.cpp - group layer norm and its gradient to loops ---------===//
//
// Rows go to threads (LoopBuilder::forEach, CpuParallelLoops); a row's
// statistics and its gradient's two means are sums in vectors of the
// target's lanes when the width allows (RowMath.h: the fused linear's
// prologue computes the norm the same way), else scalars in order. dgamma
// and dbeta sum over rows: the threads take column ranges and add the rows
// in order, so no sum depends on the thread count. The backward's code is
// RowMath's (groupLayerNormBackwardRow, groupLayerNormParamGrads), which
// mtgr.linear_norm_backward (LowerLinear.cpp) runs inside its GEMM.
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
    l.forEach(rows, [&](Value r) {
      Lanes v = rowLanes(l, d);
      groupLayerNormBackwardRow(v, d, x.values, lay, gamma, dy, r, eps, means, rstds,
                                [&](Value k, Value dxk) {
                                  v.store(dxk, dx, {r, k});
                                });
    });
    groupLayerNormParamGrads(l, lanes, d, x.values, lay, gamma, dy, rows, means, rstds, dg, db);
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
