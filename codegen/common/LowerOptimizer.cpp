//===- LowerOptimizer.cpp - Adam and the sparse updates to loops ----------===//
//
// PyTorch's Adam / AdamW, SparseAdam and row-wise Adagrad (DESIGN 1.8), in
// place on the parameter and state arguments mtgr-bind-entry-points bound.
// Double precision, no fast-math (state is stored as f32). Shared by the back
// ends (LoopBuilder::forEach).
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LoweringSupport.h"

#include <cmath>

using namespace mlir;
using namespace mlir::mtgr;

namespace {
using Results = FailureOr<SmallVector<SmallVector<Value>>>;
using Buffers = SmallVector<SmallVector<Value>>;

/// 1 - beta^t for the optimiser step t = training counter + 1.
Value biasCorrection(LoopBuilder &l, Value rng, double beta) {
  Value t = arith::SIToFPOp::create(l.b, l.f64(),
                                    arith::AddIOp::create(l.b, l.load(rng, {l.idx(1)}), l.ci64(1)));
  // beta^t = exp(t ln beta): ln beta is a constant (no pow in the host code).
  Value power = math::ExpOp::create(l.b, arith::MulFOp::create(l.b, t, l.cf64(std::log(beta))));
  return arith::SubFOp::create(l.b, l.cf64(1.0), power);
}

/// One Adam moment update of element `g` with moments at (m, v)[at];
/// returns the step lr * mhat / (sqrt(vhat) + eps).
Value adamStep(LoopBuilder &l, Value g, Value m, Value v, ValueRange at, double beta1,
               double beta2, double lr, double eps, Value bc1, Value bc2) {
  ImplicitLocOpBuilder &b = l.b;
  auto mul = [&](Value x, Value y) { return arith::MulFOp::create(b, x, y).getResult(); };
  auto plus = [&](Value x, Value y) { return arith::AddFOp::create(b, x, y).getResult(); };
  auto div = [&](Value x, Value y) { return arith::DivFOp::create(b, x, y).getResult(); };
  Value mk = plus(mul(l.cf64(beta1), arith::ExtFOp::create(b, l.f64(), l.load(m, at))),
                  mul(l.cf64(1 - beta1), g));
  Value vk = plus(mul(l.cf64(beta2), arith::ExtFOp::create(b, l.f64(), l.load(v, at))),
                  mul(l.cf64(1 - beta2), mul(g, g)));
  l.store(arith::TruncFOp::create(b, l.f32(), mk), m, at);
  l.store(arith::TruncFOp::create(b, l.f32(), vk), v, at);
  Value denom = plus(math::SqrtOp::create(b, div(vk, bc2)), l.cf64(eps));
  return mul(l.cf64(lr), div(div(mk, bc1), denom));
}

/// The bound arguments `keys` of `op`, or an error naming the first missing.
FailureOr<SmallVector<Value>> bound(Operation *op, ArrayRef<StringRef> keys) {
  SmallVector<Value> args;
  for (StringRef key : keys) {
    Value v = boundArgument(op, key);
    if (!v) {
      op->emitError("argument '") << key << "' is not bound (run mtgr-bind-entry-points first)";
      return failure();
    }
    args.push_back(v);
  }
  return args;
}

struct LowerAdamUpdate : LoopPattern<AdamUpdateOp> {
  using LoopPattern::LoopPattern;
  Results lower(AdamUpdateOp op, Adaptor a, LoopBuilder &l) const override {
    auto args = bound(op, {"param", "m", "v", "rng"});
    if (failed(args))
      return failure();
    Value param = (*args)[0], m = (*args)[1], v = (*args)[2], rng = (*args)[3];
    auto type = cast<RankedTensorType>(op.getGrad().getType());
    Value grad = a.getGrad()[0];
    double lr = op.getLr().convertToDouble(), wd = op.getWeightDecay().convertToDouble();
    double beta1 = op.getBeta1().convertToDouble(), beta2 = op.getBeta2().convertToDouble();
    Value bc1 = biasCorrection(l, rng, beta1), bc2 = biasCorrection(l, rng, beta2);
    ImplicitLocOpBuilder &b = l.b;
    auto update = [&](ValueRange at) {
      Value p = arith::ExtFOp::create(b, l.f64(), l.load(param, at));
      Value g = arith::ExtFOp::create(b, l.f64(), l.load(grad, at));
      if (wd != 0 && op.getDecoupled()) // AdamW: p -= lr wd p
        p = arith::SubFOp::create(b, p, arith::MulFOp::create(b, l.cf64(lr * wd), p));
      else if (wd != 0) // Adam: L2 on the gradient
        g = arith::AddFOp::create(b, g, arith::MulFOp::create(b, l.cf64(wd), p));
      Value step = adamStep(l, g, m, v, at, beta1, beta2, lr, op.getEps().convertToDouble(), bc1, bc2);
      l.store(arith::TruncFOp::create(b, l.f32(), arith::SubFOp::create(b, p, step)), param, at);
    };
    if (type.getRank() == 1)
      l.forEach(l.idx(type.getDimSize(0)), [&](Value i) { update({i}); });
    else
      l.forEach2(l.idx(type.getDimSize(0)), l.idx(type.getDimSize(1)),
                 [&](Value i, Value j) { update({i, j}); });
    return Buffers{};
  }
};

struct LowerSparseUpdate : LoopPattern<SparseUpdateOp> {
  using LoopPattern::LoopPattern;
  Results lower(SparseUpdateOp op, Adaptor a, LoopBuilder &l) const override {
    // Sum the gradients per touched row (unique_rows, a row_index per
    // lookup), then one optimiser step per row.
    auto args = bound(op, {"weight", "unique_rows", "rng"});
    if (failed(args))
      return failure();
    Value weight = (*args)[0], unique = (*args)[1], rng = (*args)[2];
    int64_t d = cast<MemRefType>(weight.getType()).getDimSize(1);
    ImplicitLocOpBuilder &b = l.b;
    Value touched = l.dim(unique, 0);
    Value sum = l.alloc(l.f64(), {d}, touched);
    l.fill(sum, l.cf64(0.0));
    for (auto [k, grads] : llvm::enumerate(a.getGrads())) {
      auto index = bound(op, {("row_index" + llvm::Twine(k)).str()});
      if (failed(index))
        return failure();
      Value g = grads[0], at = (*index)[0];
      auto accumulate = [&](Value r, Value u, Value c) {
        Value acc = arith::AddFOp::create(b, l.load(sum, {u, c}),
                                          arith::ExtFOp::create(b, l.f64(), l.load(g, {r, c})));
        l.store(acc, sum, {u, c});
      };
      if (l.threadPerIteration()) {
        // Lookups may share a row: a thread per column, the rows in order
        // (no two threads add to one element; the sums are the CPU's).
        l.forEach(l.idx(d), [&](Value c) {
          l.loop(l.idx(0), l.dim(at, 0),
                 [&](Value r) { accumulate(r, l.toIndex(l.load(at, {r})), c); });
        });
        continue;
      }
      l.loop(l.idx(0), l.dim(at, 0), [&](Value r) {
        Value u = l.toIndex(l.load(at, {r}));
        l.loop(l.idx(0), l.idx(d), [&](Value c) { accumulate(r, u, c); });
      });
    }
    double lr = op.getLr().convertToDouble(), eps = op.getEps().convertToDouble();
    auto rowOf = [&](Value u) { return l.toIndex(l.load(unique, {u})); };
    auto applyStep = [&](Value row, Value c, Value step) {
      Value w = arith::ExtFOp::create(b, l.f64(), l.load(weight, {row, c}));
      l.store(arith::TruncFOp::create(b, l.f32(), arith::SubFOp::create(b, w, step)), weight, {row, c});
    };
    if (op.getOptimizer() == SparseOptimizer::rowwise_adagrad) {
      auto acc = bound(op, {"acc"});
      if (failed(acc))
        return failure();
      Value accumulator = (*acc)[0];
      // G += mean(g^2); w -= lr g / (sqrt(G) + eps). The touched rows are
      // distinct.
      l.forEach(touched, [&](Value u) {
        Value row = rowOf(u);
        Value squares = l.loopAcc(l.idx(0), l.idx(d), l.cf64(0.0), [&](Value c, Value s) {
          Value g = l.load(sum, {u, c});
          return arith::AddFOp::create(b, s, arith::MulFOp::create(b, g, g)).getResult();
        });
        Value G = arith::AddFOp::create(b, arith::ExtFOp::create(b, l.f64(), l.load(accumulator, {row})),
                                        arith::DivFOp::create(b, squares, l.cf64(d)));
        l.store(arith::TruncFOp::create(b, l.f32(), G), accumulator, {row});
        Value scale = arith::DivFOp::create(
            b, l.cf64(lr), arith::AddFOp::create(b, math::SqrtOp::create(b, G), l.cf64(eps)));
        l.loop(l.idx(0), l.idx(d), [&](Value c) {
          applyStep(row, c, arith::MulFOp::create(b, scale, l.load(sum, {u, c})));
        });
      });
      return Buffers{};
    }
    // SparseAdam: the moments of the touched rows only.
    auto moments = bound(op, {"m", "v"});
    if (failed(moments))
      return failure();
    Value m = (*moments)[0], v = (*moments)[1];
    double beta1 = op.getBeta1()->convertToDouble(), beta2 = op.getBeta2()->convertToDouble();
    Value bc1 = biasCorrection(l, rng, beta1), bc2 = biasCorrection(l, rng, beta2);
    l.forEach(touched, [&](Value u) {
      Value row = rowOf(u);
      l.loop(l.idx(0), l.idx(d), [&](Value c) {
        applyStep(row, c, adamStep(l, l.load(sum, {u, c}), m, v, {row, c}, beta1, beta2, lr, eps, bc1, bc2));
      });
    });
    return Buffers{};
  }
};
} // namespace

void mlir::mtgr::populateOptimizerLoweringPatterns(BufferTypeConverter &converter,
                                                   RewritePatternSet &patterns,
                                                   const ParallelLoops *parallel) {
  patterns.add<LowerAdamUpdate, LowerSparseUpdate>(converter, patterns.getContext(), parallel);
}
