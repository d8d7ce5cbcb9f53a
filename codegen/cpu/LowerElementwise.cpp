//===- LowerElementwise.cpp - silu, add, mul, dropout to loops ------------===//
#include "codegen/common/RowMath.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
using Results = FailureOr<SmallVector<SmallVector<Value>>>;

template <typename Op>
struct LowerUnary : LoopPattern<Op> {
  using LoopPattern<Op>::LoopPattern;
  using typename LoopPattern<Op>::Adaptor;
  Results lower(Op op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getOperands()[0]);
    Value y = allocLike(l, x.values);
    l.forEachElement(x.values, [&](ValueRange at) {
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
    l.forEachElement(x.values, [&](ValueRange at) {
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
    l.forEachElement(x.values, [&](ValueRange at) {
      Value v = l.load(x.values, at), grad = l.load(dy, at);
      l.store(siluBackward(l, v, grad), dx, at);
    });
    return SmallVector<SmallVector<Value>>{rowsLike(x, dx)};
  }
};

/// mtgr.concat_silu_backward: each row's gradient columns from the pieces
/// in order, silu_backward's element on each.
struct LowerConcatSiluBackward : LoopPattern<ConcatSiluBackwardOp> {
  using LoopPattern::LoopPattern;
  Results lower(ConcatSiluBackwardOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    Value dx = allocLike(l, x.values);
    SmallVector<Value> pieces;
    for (ValueRange piece : a.getPieces())
      pieces.push_back(JaggedBuffers(piece).values);
    l.forEach(l.rows(x.values), [&](Value r) {
      int64_t first = 0; // the piece's first column of x
      for (Value piece : pieces) {
        int64_t width = cast<MemRefType>(piece.getType()).getDimSize(1);
        l.loop(l.idx(0), l.idx(width), [&](Value c) {
          Value col = l.add(c, l.idx(first));
          Value v = l.load(x.values, {r, col}), grad = l.load(piece, {r, c});
          l.store(siluBackward(l, v, grad), dx, {r, col});
        });
        first += width;
      }
    });
    return SmallVector<SmallVector<Value>>{rowsLike(x, dx)};
  }
};
} // namespace

void mlir::mtgr::populateElementwiseLoweringPatterns(BufferTypeConverter &converter,
                                                     RewritePatternSet &patterns,
                                                     const ParallelLoops *parallel) {
  patterns.add<LowerUnary<SiluOp>, LowerBinary<AddOp>, LowerBinary<MulOp>, LowerSiluBackward,
               LowerConcatSiluBackward>(converter, patterns.getContext(), parallel);
  populateDropoutLoweringPatterns(converter, patterns, parallel);
}
