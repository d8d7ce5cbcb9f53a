//===- LowerLoss.cpp - the BCE loss and its gradient to loops -------------===//
//
// Shared by the back ends (LoopBuilder::forEach / serial).
#include "codegen/common/LoweringSupport.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
using Results = FailureOr<SmallVector<SmallVector<Value>>>;
using Buffers = SmallVector<SmallVector<Value>>;

struct LowerBceLoss : LoopPattern<BceLossOp> {
  using LoopPattern::LoopPattern;
  Results lower(BceLossOp op, Adaptor a, LoopBuilder &l) const override {
    // sum_t w_t sum_c BCEWithLogits(l, y) / C_expected (DESIGN 1.6), with
    // BCEWithLogits(l, y) = max(l, 0) - l y + log(1 + exp(-|l|)).
    auto lossType = cast<RankedTensorType>(op.getLoss().getType()); // tensor<f32>
    Value out = l.allocStatic(l.f32(), lossType.getShape());
    SmallVector<Value> rows;
    for (ValueRange logits : a.getLogits())
      rows.push_back(l.rows(logits[0]));
    // One sum in row order (deterministic, as on the CPU): one thread.
    l.serial([&] {
      SmallVector<Value> at(lossType.getRank(), l.idx(0));
      Value total = l.cf32(0.0);
      for (auto [t, logitsRange, labelsRange] : llvm::enumerate(a.getLogits(), a.getLabels())) {
        Value logits = logitsRange[0], labels = labelsRange[0];
        double w = cast<FloatAttr>(op.getTaskWeights()[t]).getValueAsDouble();
        Value sum = l.loopAcc(l.idx(0), rows[t], l.cf32(0.0), [&](Value r, Value acc) {
          Value x = l.load(logits, {r, l.idx(0)}), lab = l.load(labels, {r, l.idx(0)});
          Value pos = arith::MaximumFOp::create(l.b, x, l.cf32(0.0));
          Value soft = math::Log1pOp::create(
              l.b, math::ExpOp::create(l.b, arith::NegFOp::create(l.b, math::AbsFOp::create(l.b, x))));
          return l.fadd(acc, l.fadd(l.fsub(pos, l.fmul(x, lab)), soft));
        });
        total = l.fadd(total, l.fmul(l.cf32(w), sum));
      }
      l.store(l.fdiv(total, l.cf32(op.getNormalizer().convertToDouble())), out, at);
    });
    return Buffers{{out}};
  }
};

struct LowerBceLossBackward : LoopPattern<BceLossBackwardOp> {
  using LoopPattern::LoopPattern;
  Results lower(BceLossBackwardOp op, Adaptor a, LoopBuilder &l) const override {
    Value norm = l.cf32(op.getNormalizer().convertToDouble());
    Buffers grads;
    for (auto [t, logitsRange, labelsRange] : llvm::enumerate(a.getLogits(), a.getLabels())) {
      JaggedBuffers logits(logitsRange);
      Value labels = labelsRange[0];
      Value w = l.cf32(cast<FloatAttr>(op.getTaskWeights()[t]).getValueAsDouble());
      Value rows = l.rows(logits.values);
      Value d = l.alloc(l.act(), {1}, rows);
      l.forEach(rows, [&](Value r) {
        Value sig = l.sigmoid(l.load(logits.values, {r, l.idx(0)}));
        l.store(l.fdiv(l.fmul(w, l.fsub(sig, l.load(labels, {r, l.idx(0)}))), norm), d,
                {r, l.idx(0)});
      });
      grads.push_back(rowsLike(logits, d));
    }
    return grads;
  }
};
} // namespace

void mlir::mtgr::populateLossLoweringPatterns(BufferTypeConverter &converter,
                                              RewritePatternSet &patterns,
                                              const ParallelLoops *parallel) {
  patterns.add<LowerBceLoss, LowerBceLossBackward>(converter, patterns.getContext(), parallel);
}
