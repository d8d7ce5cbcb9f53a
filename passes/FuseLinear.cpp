//===- FuseLinear.cpp - norms, gates and epilogues into the GEMM ----------===//
#include "dialect/MTGRDialect.h"
#include "passes/Passes.h"

namespace mlir::mtgr {
#define GEN_PASS_DEF_MTGRFUSELINEARPASS
#include "passes/Passes.h.inc"
} // namespace mlir::mtgr

using namespace mlir;
using namespace mlir::mtgr;

namespace {
/// The column_slices that read `v` and cover its columns exactly once, in
/// column order; empty when any use is something else or the pieces overlap
/// or leave a gap.
SmallVector<ColumnSliceOp> coveringSlices(Value v, int64_t width) {
  SmallVector<ColumnSliceOp> slices;
  for (Operation *user : v.getUsers()) {
    auto slice = dyn_cast<ColumnSliceOp>(user);
    if (!slice)
      return {};
    slices.push_back(slice);
  }
  llvm::sort(slices, [](ColumnSliceOp a, ColumnSliceOp b) { return a.getOffset() < b.getOffset(); });
  int64_t next = 0;
  for (ColumnSliceOp s : slices) {
    if (static_cast<int64_t>(s.getOffset()) != next)
      return {};
    next += s.getSize();
  }
  if (next != width || slices.size() < 2)
    return {};
  return slices;
}

/// The SiLU reading `v` when v's other users (if any) all come after it in
/// its block: they can then read the fused op's pre-activation result,
/// which is defined where the SiLU was.
SiluOp siluOf(Value v) {
  SiluOp silu;
  for (Operation *user : v.getUsers())
    if (auto s = dyn_cast<SiluOp>(user)) {
      if (silu)
        return {};
      silu = s;
    }
  if (!silu)
    return {};
  for (Operation *user : v.getUsers())
    if (user != silu && !(user->getBlock() == silu->getBlock() && silu->isBeforeInBlock(user)))
      return {};
  return silu;
}

struct Fusion {
  Value input, gate, layout, gamma, beta, residual;
  FloatAttr eps;
  bool silu = false;
  Value preactivation;           // the Linear's result when others read it beside the SiLU
  SmallVector<Operation *> dead; // absorbed ops, users first
  SmallVector<ColumnSliceOp> slices;
  Value result;   // the value the fused op stands for (without slices)
  Operation *last; // the last absorbed op before any slice
};

void fuse(LinearOp linear) {
  Fusion f;
  f.input = linear.getInput();
  SmallVector<Operation *> prologue;
  if (auto norm = f.input.getDefiningOp<GroupLayerNormOp>(); norm && soleUser(norm.getResult())) {
    f.layout = norm.getLayout(), f.gamma = norm.getGamma(), f.beta = norm.getBeta();
    f.eps = norm.getEpsAttr();
    f.input = norm.getInput();
    prologue.push_back(norm);
    if (auto mul = f.input.getDefiningOp<MulOp>(); mul && soleUser(mul.getResult())) {
      f.input = mul.getLhs(), f.gate = mul.getRhs();
      prologue.push_back(mul);
    }
  }
  f.result = linear.getResult();
  f.last = linear;
  SmallVector<Operation *> epilogue;
  if (SiluOp silu = siluOf(f.result)) {
    f.silu = true;
    if (!f.result.hasOneUse())
      f.preactivation = f.result; // a train step: silu_backward reads it
    f.result = silu.getResult(), f.last = silu;
    epilogue.push_back(silu);
  }
  // The pre-activation's other readers must follow the fused op's place.
  auto afterLast = [&](Operation *op) {
    return !f.preactivation || llvm::all_of(f.preactivation.getUsers(), [&](Operation *user) {
      return llvm::is_contained(epilogue, user) || op->isBeforeInBlock(user);
    });
  };
  if (auto add = dyn_cast_or_null<AddOp>(soleUser(f.result)); add && afterLast(add)) {
    Value other = add.getLhs() == f.result ? add.getRhs() : add.getLhs();
    if (other != f.result) {
      f.residual = other;
      f.result = add.getResult(), f.last = add;
      epilogue.push_back(add);
    }
  }
  int64_t out = cast<RankedTensorType>(linear.getWeight().getType()).getDimSize(0);
  if (!f.residual)
    f.slices = coveringSlices(f.result, out);
  if (prologue.empty() && epilogue.empty() && f.slices.empty())
    return; // nothing to fuse

  OpBuilder b(f.last);
  SmallVector<Type> types;
  SmallVector<int64_t> widths;
  if (f.preactivation)
    types.push_back(f.preactivation.getType());
  for (ColumnSliceOp s : f.slices) {
    types.push_back(s.getType());
    widths.push_back(s.getSize());
  }
  if (f.slices.empty())
    types.push_back(f.result.getType());
  auto fused = FusedLinearOp::create(
      b, linear.getLoc(), types, f.input, f.gate, f.layout, f.gamma, f.beta, linear.getWeight(),
      linear.getBias(), f.residual, f.eps, f.silu ? b.getUnitAttr() : UnitAttr(),
      widths.empty() ? DenseI64ArrayAttr() : b.getDenseI64ArrayAttr(widths),
      f.preactivation ? b.getUnitAttr() : UnitAttr());
  ResultRange results = fused.getResults();
  if (f.preactivation) {
    // Every use but the SiLU's (erased below) reads the pre-activation.
    f.preactivation.replaceAllUsesExcept(results[0], epilogue.front());
    results = results.drop_front();
  }
  if (f.slices.empty()) {
    f.result.replaceAllUsesWith(results[0]);
  } else {
    for (auto [s, r] : llvm::zip(f.slices, results)) {
      s.getResult().replaceAllUsesWith(r);
      s->erase();
    }
  }
  for (Operation *op : llvm::reverse(epilogue))
    op->erase();
  linear->erase();
  for (Operation *op : prologue)
    op->erase();
}

struct MTGRFuseLinearPass : mlir::mtgr::impl::MTGRFuseLinearPassBase<MTGRFuseLinearPass> {
  void runOnOperation() override {
    SmallVector<LinearOp> linears;
    getOperation().walk([&](LinearOp op) { linears.push_back(op); });
    for (LinearOp op : linears)
      fuse(op);
  }
};
} // namespace
