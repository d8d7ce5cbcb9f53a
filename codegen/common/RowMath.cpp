//===- RowMath.cpp - per-row math shared by standalone and fused lowerings -===//
#include "codegen/common/RowMath.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::mtgr;

Type Lanes::type() { return width == 1 ? l.f32() : Type(VectorType::get({width}, l.f32())); }

// Lanes of 16-bit float storage are widened on load and rounded on store,
// as LoopBuilder's scalars are.
Value Lanes::load(Value m, ValueRange at) {
  if (width == 1)
    return l.load(m, at);
  Type stored = VectorType::get({width}, cast<MemRefType>(m.getType()).getElementType());
  return l.widen(vector::LoadOp::create(l.b, stored, m, at));
}

void Lanes::store(Value v, Value m, ValueRange at) {
  if (width == 1)
    return l.store(v, m, at);
  vector::StoreOp::create(l.b, l.narrowTo(v, cast<MemRefType>(m.getType()).getElementType()), m,
                          at);
}

Value Lanes::splat(Value s) {
  return width == 1 ? s : vector::BroadcastOp::create(l.b, type(), s).getResult();
}

Value Lanes::sum(Value v) {
  return width == 1 ? v
                    : vector::ReductionOp::create(l.b, vector::CombiningKind::ADD, v).getResult();
}

Value Lanes::accumulate(int64_t n, function_ref<Value(Value)> body) {
  auto loop = scf::ForOp::create(l.b, l.idx(0), l.idx(n), l.idx(width),
                                 ValueRange{l.cf32Like(splat(l.cf32(0.0)), 0.0)});
  {
    OpBuilder::InsertionGuard guard(l.b);
    l.b.setInsertionPointToStart(loop.getBody());
    scf::YieldOp::create(l.b, l.fadd(loop.getRegionIterArgs()[0], body(loop.getInductionVar())));
  }
  return sum(loop.getResult(0));
}

void Lanes::each(int64_t n, function_ref<void(Value)> body) {
  auto loop = scf::ForOp::create(l.b, l.idx(0), l.idx(n), l.idx(width));
  OpBuilder::InsertionGuard guard(l.b);
  l.b.setInsertionPointToStart(loop.getBody());
  body(loop.getInductionVar());
}

NormStatistics mlir::mtgr::layerNormStatistics(Lanes &v, int64_t n,
                                               function_ref<Value(Value)> input, Value eps) {
  LoopBuilder &l = v.l;
  Value width = l.cf32(static_cast<double>(n));
  Value mean = l.fdiv(v.accumulate(n, input), width);
  Value var = l.fdiv(v.accumulate(n,
                                  [&](Value k) {
                                    Value c = l.fsub(input(k), v.splat(mean));
                                    return l.fmul(c, c);
                                  }),
                     width);
  Value root = math::SqrtOp::create(l.b, arith::AddFOp::create(l.b, var, eps));
  return {mean, l.fdiv(l.cf32(1.0), root)};
}

NormStatistics mlir::mtgr::layerNormRowStatistics(LoopBuilder &l, Value x, Value r, int64_t n,
                                                  Value eps) {
  Lanes scalar{l, 1};
  return layerNormStatistics(scalar, n, [&](Value k) { return l.load(x, {r, k}); }, eps);
}

Value mlir::mtgr::layerNormAffine(Lanes &v, Value x, const NormStatistics &s, Value gamma,
                                  Value beta) {
  LoopBuilder &l = v.l;
  Value c = l.fmul(l.fsub(x, v.splat(s.mean)), v.splat(s.rstd));
  return l.fadd(l.fmul(gamma, c), beta);
}

Value mlir::mtgr::siluDerivative(LoopBuilder &l, Value v) {
  Value s = l.sigmoid(v);
  return l.fmul(s, l.fadd(l.cf32(1.0), l.fmul(v, l.fsub(l.cf32(1.0), s))));
}

Value mlir::mtgr::siluBackward(LoopBuilder &l, Value x, Value dy) {
  return l.fmul(dy, siluDerivative(l, x));
}

void mlir::mtgr::forColumnRanges(LoopBuilder &l, int64_t lanes, int64_t n, StringRef kind,
                                 function_ref<void(Lanes &v, Value c0, Value c1)> body) {
  Lanes v = Lanes::across(l, n, lanes);
  Value chunks = l.idx(n / v.width), parts = l.minI(l.threads(), chunks);
  l.parallelParts(parts, kind, [&](Value part) {
    std::pair<Value, Value> share = l.evenShare(chunks, part, parts);
    body(v, share.first, share.second);
  });
}

Value mlir::mtgr::elementwiseBinary(LoopBuilder &l, Operation *op, Value u, Value w) {
  if (isa<AddOp>(op))
    return arith::AddFOp::create(l.b, u, w);
  assert(isa<MulOp>(op) && "mtgr.add or mtgr.mul");
  return arith::MulFOp::create(l.b, u, w);
}

std::pair<Value, Value> mlir::mtgr::layerNormGradMeans(Lanes &v, int64_t n,
                                                       function_ref<Value(Value)> dy,
                                                       function_ref<Value(Value)> gamma,
                                                       function_ref<Value(Value)> xhat) {
  LoopBuilder &l = v.l;
  Value width = l.cf32(static_cast<double>(n));
  Value s1 = v.accumulate(n, [&](Value k) { return l.fmul(dy(k), gamma(k)); });
  Value s2 = v.accumulate(n, [&](Value k) { return l.fmul(l.fmul(dy(k), gamma(k)), xhat(k)); });
  return {l.fdiv(s1, width), l.fdiv(s2, width)};
}

Value mlir::mtgr::layerNormInputGrad(Lanes &v, Value rstd, Value dxhat, Value xhat, Value m1,
                                     Value m2) {
  LoopBuilder &l = v.l;
  return l.fmul(v.splat(rstd), l.fsub(l.fsub(dxhat, v.splat(m1)), l.fmul(xhat, v.splat(m2))));
}

Value mlir::mtgr::layerNormNormalized(Lanes &v, Value x, Value mean, Value rstd) {
  LoopBuilder &l = v.l;
  return l.fmul(l.fsub(x, v.splat(mean)), v.splat(rstd));
}

void mlir::mtgr::groupLayerNormBackwardRow(Lanes &v, int64_t n, Value x,
                                           const LayoutBuffers &layout, Value gamma, Value dy,
                                           Value r, Value eps, Value means, Value rstds,
                                           function_ref<void(Value, Value)> store) {
  LoopBuilder &l = v.l;
  auto input = [&](Value k) { return v.load(x, {r, k}); };
  NormStatistics stats = layerNormStatistics(v, n, input, eps);
  l.store(stats.mean, means, {r});
  l.store(stats.rstd, rstds, {r});
  Value g = normRow(l, layout, gamma, r);
  auto xhat = [&](Value k) { return layerNormNormalized(v, input(k), stats.mean, stats.rstd); };
  auto gy = [&](Value k) { return v.load(dy, {r, k}); };
  auto gam = [&](Value k) { return v.load(gamma, {g, k}); };
  std::pair<Value, Value> means2 = layerNormGradMeans(v, n, gy, gam, xhat);
  Value m1 = means2.first, m2 = means2.second;
  v.each(n, [&](Value k) {
    store(k, layerNormInputGrad(v, stats.rstd, l.fmul(gy(k), gam(k)), xhat(k), m1, m2));
  });
}

void mlir::mtgr::groupLayerNormParamGrads(LoopBuilder &l, int64_t lanes, int64_t n, Value x,
                                          const LayoutBuffers &layout, Value gamma, Value dy,
                                          Value rows, Value means, Value rstds, Value dgamma,
                                          Value dbeta) {
  l.fill(dgamma, l.cf32(0.0));
  l.fill(dbeta, l.cf32(0.0));
  forColumnRanges(l, lanes, n, "norm_columns", [&](Lanes &v, Value c0, Value c1) {
    l.loop(l.idx(0), rows, [&](Value r) {
      Value g = normRow(l, layout, gamma, r);
      Value mean = l.load(means, {r}), rstd = l.load(rstds, {r});
      l.loop(c0, c1, [&](Value c) {
        Value k = l.mul(c, l.idx(v.width));
        Value gy = v.load(dy, {r, k});
        Value xh = layerNormNormalized(v, v.load(x, {r, k}), mean, rstd);
        v.store(l.fadd(v.load(dgamma, {g, k}), l.fmul(gy, xh)), dgamma, {g, k});
        v.store(l.fadd(v.load(dbeta, {g, k}), gy), dbeta, {g, k});
      });
    });
  });
}
