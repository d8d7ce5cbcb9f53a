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

LogicalResult StackOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                      SmallVectorImpl<Value> &operandGrads) {
  SmallVector<Type> types(getInputs().getTypes());
  auto un = UnstackOp::create(b, getLoc(), types, resultGrads[0]);
  operandGrads.assign(un.getResults().begin(), un.getResults().end());
  return success();
}

LogicalResult AssembleTokensOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                               SmallVectorImpl<Value> &operandGrads) {
  // The layout result has no gradient; timestamps get none.
  Value d = resultGrads[0], layout = getLayout();
  auto group = [&](TokenGroup g) {
    return ExtractGroupOp::create(b, getLoc(), d.getType(), g, d, layout, TokenGroupAttr())
        .getResult();
  };
  operandGrads.assign({ExtractUserOp::create(b, getLoc(), getUser().getType(), d, layout),
                       group(TokenGroup::sequence), group(TokenGroup::realtime),
                       group(TokenGroup::candidate), Value(), Value(), Value()});
  return success();
}

LogicalResult ExtractGroupOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                             SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign({ScatterGroupOp::create(b, getLoc(), getInput().getType(), getGroup(),
                                              resultGrads[0], getLayout(), getThroughAttr()),
                       Value()});
  return success();
}

LogicalResult GroupLayerNormOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                               SmallVectorImpl<Value> &operandGrads) {
  auto back = GroupLayerNormBackwardOp::create(
      b, getLoc(), getInput().getType(), getGamma().getType(), getGamma().getType(), getInput(),
      getLayout(), getGamma(), resultGrads[0], getEpsAttr());
  operandGrads.assign(
      {back.getInputGrad(), Value(), back.getGammaGrad(), back.getBetaGrad()});
  return success();
}

LogicalResult HstuAttentionOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                              SmallVectorImpl<Value> &operandGrads) {
  SmallVector<Type> rabTypes;
  if (getRabPos())
    rabTypes = {getRabPos().getType(), getRabTime().getType()};
  auto back = HstuAttentionBackwardOp::create(
      b, getLoc(), getQ().getType(), getK().getType(), getV().getType(), rabTypes, getQ(), getK(),
      getV(), getMask(), getLayout(), getRabPos(), getRabTime(), resultGrads[0], getTiles(),
      getHeadsAttr(),
      getAlphaAttr(), getNNormAttr(), getNNormConstantAttr());
  operandGrads.assign({back.getQGrad(), back.getKGrad(), back.getVGrad(), Value(), Value()});
  if (getRabPos())
    operandGrads.append({back.getRabGrads()[0], back.getRabGrads()[1]});
  return success();
}

LogicalResult DropoutOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                        SmallVectorImpl<Value> &operandGrads) {
  // The keep decisions are a function of (seed, step, stream, token, column):
  // the same dropout applied to the gradient.
  operandGrads.assign(
      {DropoutOp::create(b, getLoc(), resultGrads[0], getRateAttr(), getStreamAttr())});
  return success();
}
