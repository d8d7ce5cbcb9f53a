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
      Value grad = siluDerivative(l, l.load(x.values, at));
      l.store(l.fmul(l.load(dy, at), grad), dx, at);
    });
    return SmallVector<SmallVector<Value>>{rowsLike(x, dx)};
  }
};

/// mtgr.concat_silu_backward: each row's gradient columns from the pieces
/// in order, the same product per element as silu_backward's.
struct LowerConcatSiluBackward : LoopPattern<ConcatSiluBackwardOp> {
  using LoopPattern::LoopPattern;
  Results lower(ConcatSiluBackwardOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    Value dx = allocLike(l, x.values);
    SmallVector<std::pair<Value, int64_t>> pieces; // buffer, its first column
    int64_t offset = 0;
    for (auto [piece, type] : llvm::zip(a.getPieces(), op.getPieces().getTypes())) {
      pieces.push_back({JaggedBuffers(piece).values, offset});
      offset += getRowShape(type)[0];
    }
    l.forEach(l.rows(x.values), [&](Value r) {
      for (auto [piece, first] : pieces) {
        int64_t width = cast<MemRefType>(piece.getType()).getDimSize(1);
        l.loop(l.idx(0), l.idx(width), [&](Value c) {
          Value col = l.add(c, l.idx(first));
          Value grad = siluDerivative(l, l.load(x.values, {r, col}));
          l.store(l.fmul(l.load(piece, {r, c}), grad), dx, {r, col});
        });
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
