//===- GpuElementwise.cpp - silu, add, mul as GPU kernels -----------------===//
//
// The elementwise family, one thread per element (GpuSupport.h). The math is
// the CPU lowering's (LoopBuilder::silu, RowMath.h's siluDerivative), so the
// two back ends compute the same expression. Dropout is every back end's
// (codegen/common/LowerDropout.cpp).
//
//===----------------------------------------------------------------------===//
#include "codegen/common/RowMath.h"
#include "codegen/cuda/GpuSupport.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
using Results = FailureOr<SmallVector<SmallVector<Value>>>;

template <typename Op> struct GpuUnary : GpuPattern<Op> {
  using GpuPattern<Op>::GpuPattern;
  Results lower(Op op, typename LoopPattern<Op>::Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getOperands()[0]);
    Value y = allocLike(l, x.values);
    launchPerElement(l, x.values, this->blockSize, [&](ValueRange at) {
      l.store(l.silu(l.load(x.values, at)), y, at);
    });
    return SmallVector<SmallVector<Value>>{rowsLike(x, y)};
  }
};

template <typename Op> struct GpuBinary : GpuPattern<Op> {
  using GpuPattern<Op>::GpuPattern;
  Results lower(Op op, typename LoopPattern<Op>::Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getOperands()[0]);
    Value other = a.getOperands()[1][0];
    Value y = allocLike(l, x.values);
    launchPerElement(l, x.values, this->blockSize, [&](ValueRange at) {
      Value u = l.load(x.values, at), w = l.load(other, at);
      l.store(elementwiseBinary(l, op, u, w), y, at);
    });
    return SmallVector<SmallVector<Value>>{rowsLike(x, y)};
  }
};

struct GpuSiluBackward : GpuPattern<SiluBackwardOp> {
  using GpuPattern::GpuPattern;
  Results lower(SiluBackwardOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    Value dy = a.getResultGrad()[0];
    Value dx = allocLike(l, x.values);
    launchPerElement(l, x.values, blockSize, [&](ValueRange at) {
      Value v = l.load(x.values, at), grad = l.load(dy, at);
      l.store(siluBackward(l, v, grad), dx, at);
    });
    return SmallVector<SmallVector<Value>>{rowsLike(x, dx)};
  }
};

} // namespace

void mlir::mtgr::populateGpuElementwisePatterns(BufferTypeConverter &converter,
                                                RewritePatternSet &patterns, int64_t blockSize) {
  patterns.add<GpuUnary<SiluOp>, GpuBinary<AddOp>, GpuBinary<MulOp>, GpuSiluBackward>(
      converter, patterns.getContext(), blockSize);
}
