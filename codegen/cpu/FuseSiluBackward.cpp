//===- FuseSiluBackward.cpp - a silu_backward reads its gradient's pieces -===//
#include "codegen/cpu/Passes.h"
#include "dialect/MTGRDialect.h"

namespace mlir::mtgr {
#define GEN_PASS_DEF_MTGRCPUFUSESILUBACKWARDPASS
#include "codegen/cpu/Passes.h.inc"
} // namespace mlir::mtgr

using namespace mlir;
using namespace mlir::mtgr;

namespace {
/// silu_backward(x, concat(pieces)) -> concat_silu_backward(x, pieces),
/// when the concat (of jagged pieces) has no other reader. The fused op
/// stands where the silu_backward stood: the pieces are defined before the
/// concat, so before it.
void fuse(SiluBackwardOp silu) {
  auto concat = silu.getResultGrad().getDefiningOp<ConcatOp>();
  if (!concat || soleUser(concat.getResult()) != silu ||
      !isa<JaggedType>(silu.getInput().getType()) ||
      !llvm::all_of(concat.getInputs().getTypes(), llvm::IsaPred<JaggedType>))
    return;
  OpBuilder b(silu);
  auto fused = ConcatSiluBackwardOp::create(b, silu.getLoc(), silu.getInput().getType(),
                                            silu.getInput(), concat.getInputs());
  silu.getInputGrad().replaceAllUsesWith(fused.getInputGrad());
  silu->erase();
  concat->erase();
}

struct MTGRCpuFuseSiluBackwardPass
    : mlir::mtgr::impl::MTGRCpuFuseSiluBackwardPassBase<MTGRCpuFuseSiluBackwardPass> {
  void runOnOperation() override {
    SmallVector<SiluBackwardOp> silus;
    getOperation().walk([&](SiluBackwardOp op) { silus.push_back(op); });
    for (SiluBackwardOp op : silus)
      fuse(op);
  }
};
} // namespace
