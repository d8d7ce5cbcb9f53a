//===- MTGRGradients.cpp - gradient rules of the kernel-level ops ---------===//
//
// Reverse mode, one rule per op (DifferentiableOpInterface). A rule builds the
// operands' gradients from the results' gradient; the float64 reference's
// hand-written backward (runtime/reference/Ops.h) is the oracle the compiled
// gradients are tested against.
//
//===----------------------------------------------------------------------===//
#include "dialect/MTGRDialect.h"

using namespace mlir;
using namespace mlir::mtgr;

LogicalResult LinearOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                       SmallVectorImpl<Value> &operandGrads) {
  auto back = LinearBackwardOp::create(b, getLoc(), getInput().getType(), getWeight().getType(),
                                       getBias().getType(), getInput(), getWeight(),
                                       resultGrads[0]);
  operandGrads.assign({back.getInputGrad(), back.getWeightGrad(), back.getBiasGrad()});
  return success();
}

LogicalResult SiluOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                     SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(
      {SiluBackwardOp::create(b, getLoc(), getInput().getType(), getInput(), resultGrads[0])});
  return success();
}

LogicalResult AddOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign({resultGrads[0], resultGrads[0]});
  return success();
}

LogicalResult MulOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign({MulOp::create(b, getLoc(), resultGrads[0], getRhs()),
                       MulOp::create(b, getLoc(), resultGrads[0], getLhs())});
  return success();
}

LogicalResult ConcatOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                       SmallVectorImpl<Value> &operandGrads) {
  int64_t offset = 0;
  operandGrads.clear();
  for (Value in : getInputs()) {
    int64_t w = getRowShape(in.getType())[0];
    operandGrads.push_back(
        ColumnSliceOp::create(b, getLoc(), in.getType(), resultGrads[0], offset, w));
    offset += w;
  }
  return success();
}

LogicalResult ColumnSliceOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                            SmallVectorImpl<Value> &operandGrads) {
  int64_t width = getRowShape(getInput().getType())[0];
  operandGrads.assign({ColumnPadOp::create(b, getLoc(), getInput().getType(), resultGrads[0],
                                           getOffsetAttr().getInt(), width)});
  return success();
}

LogicalResult MeanPoolOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                         SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign({MeanPoolBackwardOp::create(b, getLoc(), resultGrads[0], getInput())});
  return success();
}

LogicalResult BroadcastRowsOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                              SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(
      {SegmentSumOp::create(b, getLoc(), getInput().getType(), resultGrads[0]), Value()});
  return success();
}
