//===- FuseNormBackward.cpp - a norm's backward into the GEMM before it ---===//
#include "codegen/cpu/Passes.h"
#include "dialect/MTGRDialect.h"

namespace mlir::mtgr {
#define GEN_PASS_DEF_MTGRCPUFUSENORMBACKWARDPASS
#include "codegen/cpu/Passes.h.inc"
} // namespace mlir::mtgr

using namespace mlir;
using namespace mlir::mtgr;

namespace {
/// Whether every use of `op`'s results other than by `absorbed` ops comes
/// after `point` (in its block): the fused op, placed at `point`, can then
/// stand for `op`.
bool readAfter(Operation *op, Operation *point, ArrayRef<Operation *> absorbed) {
  for (Value result : op->getResults())
    for (Operation *user : result.getUsers())
      if (!llvm::is_contained(absorbed, user) &&
          !(user->getBlock() == point->getBlock() && point->isBeforeInBlock(user)))
        return false;
  return true;
}

void fuse(LinearBackwardOp linear) {
  auto norm = dyn_cast_or_null<GroupLayerNormBackwardOp>(soleUser(linear.getInputGrad()));
  if (!norm || norm.getResultGrad() != linear.getInputGrad() ||
      norm->getBlock() != linear->getBlock() || !isa<JaggedType>(linear.getInput().getType()) ||
      norm.getInput().getType() != linear.getInput().getType())
    return;
  SmallVector<Operation *> absorbed = {linear, norm};
  Operation *last = norm;
  Value residual;
  if (auto add = dyn_cast_or_null<AddOp>(soleUser(norm.getInputGrad()));
      add && add->getBlock() == norm->getBlock() && add.getLhs() != add.getRhs()) {
    SmallVector<Operation *> withAdd = {linear, norm, add};
    if (readAfter(linear, add, withAdd) && readAfter(norm, add, withAdd)) {
      residual = add.getLhs() == norm.getInputGrad() ? add.getRhs() : add.getLhs();
      absorbed = withAdd;
      last = add;
    }
  }
  if (!readAfter(linear, last, absorbed) || !readAfter(norm, last, absorbed))
    return;
  OpBuilder b(last);
  auto fused = LinearNormBackwardOp::create(
      b, linear.getLoc(), norm.getInputGrad().getType(), linear.getWeightGrad().getType(),
      linear.getBiasGrad().getType(), norm.getGammaGrad().getType(), norm.getBetaGrad().getType(),
      linear.getInput(), linear.getWeight(), linear.getResultGrad(), norm.getInput(),
      norm.getLayout(), norm.getGamma(), residual, norm.getEpsAttr());
  last->getResult(0).replaceAllUsesWith(fused.getNormInputGrad());
  linear.getWeightGrad().replaceAllUsesWith(fused.getWeightGrad());
  linear.getBiasGrad().replaceAllUsesWith(fused.getBiasGrad());
  norm.getGammaGrad().replaceAllUsesWith(fused.getGammaGrad());
  norm.getBetaGrad().replaceAllUsesWith(fused.getBetaGrad());
  for (Operation *op : llvm::reverse(absorbed))
    op->erase();
}

struct MTGRCpuFuseNormBackwardPass
    : mlir::mtgr::impl::MTGRCpuFuseNormBackwardPassBase<MTGRCpuFuseNormBackwardPass> {
  void runOnOperation() override {
    SmallVector<LinearBackwardOp> linears;
    getOperation().walk([&](LinearBackwardOp op) { linears.push_back(op); });
    for (LinearBackwardOp op : linears)
      fuse(op);
  }
};
} // namespace
