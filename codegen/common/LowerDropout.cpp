//===- LowerDropout.cpp - dropout to loops, for every back end ------------===//
//
// Inference (or rate 0): the identity. Training: keep iff uniform(key) >=
// rate with the counter-based key of DESIGN 1.3, a row per
// LoopBuilder::forEach iteration (a loop on the CPU, a thread on a GPU).
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LoweringSupport.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
using Results = FailureOr<SmallVector<SmallVector<Value>>>;

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
    int64_t width = getRowShape(op.getType())[0];
    Value rows = l.rows(x.values);
    Value y = l.alloc(l.act(), {width}, rows);
    Value keepScale = l.cf32(1.0 / (1.0 - rate));
    // The rows are independent (a thread each on a GPU, which reads the
    // step's key where it runs).
    l.forEach(rows, [&](Value r) {
      Value seed = l.load(rng, {l.idx(0)}), step = l.load(rng, {l.idx(1)});
      Value base = mix(arith::XOrIOp::create(
          b, mix(arith::XOrIOp::create(b, mix(seed), step)), constant(op.getStreamAttr().getInt())));
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

void mlir::mtgr::populateDropoutLoweringPatterns(BufferTypeConverter &converter,
                                                 RewritePatternSet &patterns,
                                                 const ParallelLoops *parallel) {
  patterns.add<LowerDropout>(converter, patterns.getContext(), parallel);
}
