//===- LowerElementwise.cpp - silu, add, mul, dropout to loops ------------===//
#include "codegen/common/RowMath.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
using Results = FailureOr<SmallVector<SmallVector<Value>>>;

/// A loop nest over the elements of `x`, last dimension innermost.
void forEachElement(LoopBuilder &l, Value x, function_ref<void(ValueRange)> body) {
  int64_t rank = cast<MemRefType>(x.getType()).getRank();
  SmallVector<Value> at;
  std::function<void(int64_t)> nest = [&](int64_t d) {
    if (d == rank)
      return body(at);
    l.loop(l.idx(0), l.dim(x, d), [&](Value i) {
      at.push_back(i);
      nest(d + 1);
      at.pop_back();
    });
  };
  nest(0);
}

template <typename Op>
struct LowerUnary : LoopPattern<Op> {
  using LoopPattern<Op>::LoopPattern;
  using typename LoopPattern<Op>::Adaptor;
  Results lower(Op op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getOperands()[0]);
    Value y = allocLike(l, x.values);
    forEachElement(l, x.values, [&](ValueRange at) {
      Value v = l.load(x.values, at);
      if constexpr (std::is_same_v<Op, SiluOp>)
        v = l.silu(v);
      l.store(v, y, at);
    });
    return SmallVector<SmallVector<Value>>{rowsLike(x, y)};
  }
};

template <typename Op>
struct LowerBinary : LoopPattern<Op> {
  using LoopPattern<Op>::LoopPattern;
  using typename LoopPattern<Op>::Adaptor;
  Results lower(Op op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getOperands()[0]);
    Value other = a.getOperands()[1][0];
    Value y = allocLike(l, x.values);
    forEachElement(l, x.values, [&](ValueRange at) {
      Value u = l.load(x.values, at), w = l.load(other, at);
      l.store(elementwiseBinary(l, op, u, w), y, at);
    });
    return SmallVector<SmallVector<Value>>{rowsLike(x, y)};
  }
};

struct LowerSiluBackward : LoopPattern<SiluBackwardOp> {
  using LoopPattern::LoopPattern;
  Results lower(SiluBackwardOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    Value dy = a.getResultGrad()[0];
    Value dx = allocLike(l, x.values);
    forEachElement(l, x.values, [&](ValueRange at) {
      Value grad = siluDerivative(l, l.load(x.values, at));
      l.store(l.fmul(l.load(dy, at), grad), dx, at);
    });
    return SmallVector<SmallVector<Value>>{rowsLike(x, dx)};
  }
};

struct LowerDropout : LoopPattern<DropoutOp> {
  using LoopPattern::LoopPattern;
  Results lower(DropoutOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    Value rng = boundArgument(op, "rng"); // memref<3xi64> {seed, step, first token}
    double rate = op.getRate().convertToDouble();
    if (!rng || rate == 0.0) // inference: the identity
      return SmallVector<SmallVector<Value>>{rowsLike(x, x.values)};
    // keep iff uniform(key) >= rate, key = (seed, step, stream, token, column),
    // the counter-based stream of DESIGN 1.3 (reference::dropoutKeeps). The
    // token is its index in the whole step: the first token of this call
    // plus the row, whatever range of samples the call gets.
    auto constant = [&](uint64_t v) { return l.ci64(static_cast<int64_t>(v)); };
    auto mix = [&](Value z) {
      ImplicitLocOpBuilder &b = l.b;
      z = arith::AddIOp::create(b, z, constant(0x9e3779b97f4a7c15ULL));
      z = arith::MulIOp::create(b, arith::XOrIOp::create(b, z, arith::ShRUIOp::create(b, z, constant(30))),
                                constant(0xbf58476d1ce4e5b9ULL));
      z = arith::MulIOp::create(b, arith::XOrIOp::create(b, z, arith::ShRUIOp::create(b, z, constant(27))),
                                constant(0x94d049bb133111ebULL));
      return arith::XOrIOp::create(b, z, arith::ShRUIOp::create(b, z, constant(31))).getResult();
    };
    ImplicitLocOpBuilder &b = l.b;
    Value seed = l.load(rng, {l.idx(0)}), step = l.load(rng, {l.idx(1)});
    Value base = mix(arith::XOrIOp::create(
        b, mix(arith::XOrIOp::create(b, mix(seed), step)), constant(op.getStreamAttr().getInt())));
    int64_t width = getRowShape(op.getType())[0];
    Value rows = l.rows(x.values);
    Value y = l.alloc(l.f32(), {width}, rows);
    Value keepScale = l.cf32(1.0 / (1.0 - rate));
    l.loop(l.idx(0), rows, [&](Value r) {
      Value token = l.add(l.toIndex(l.load(rng, {l.idx(2)})), r);
      Value hr = mix(arith::XOrIOp::create(b, base, arith::IndexCastOp::create(b, l.i64(), token)));
      l.loop(l.idx(0), l.idx(width), [&](Value c) {
        Value h = mix(arith::XOrIOp::create(b, hr, arith::IndexCastOp::create(b, l.i64(), c)));
        Value u = arith::MulFOp::create(
            b, arith::UIToFPOp::create(b, l.f64(), arith::ShRUIOp::create(b, h, constant(11))),
            l.cf64(0x1.0p-53));
        Value keep = arith::CmpFOp::create(b, arith::CmpFPredicate::OGE, u, l.cf64(rate));
        l.store(l.select(keep, arith::MulFOp::create(b, l.load(x.values, {r, c}), keepScale),
                         l.cf32(0.0)),
                y, {r, c});
      });
    });
    return SmallVector<SmallVector<Value>>{rowsLike(x, y)};
  }
};
} // namespace

void mlir::mtgr::populateElementwiseLoweringPatterns(BufferTypeConverter &converter,
                                                     RewritePatternSet &patterns) {
  patterns.add<LowerUnary<SiluOp>, LowerBinary<AddOp>, LowerBinary<MulOp>, LowerSiluBackward,
               LowerDropout>(converter, patterns.getContext());
}
