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
