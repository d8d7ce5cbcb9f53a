//===- LowerLinear.cpp - mtgr.linear and its gradient to loops ------------===//
//
// Register tiles of outputs sharing their loads; the reduction runs along
// contiguous memory in x and W (reassociation lets LLVM vectorise it).
// Part 2 of the optimizing compiler replaces this with packed GEMMs.
//
//===----------------------------------------------------------------------===//
#include "codegen/LoweringSupport.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
using Results = FailureOr<SmallVector<SmallVector<Value>>>;

struct LowerLinear : LoopPattern<LinearOp> {
  using LoopPattern::LoopPattern;
  Results lower(LinearOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    Value w = a.getWeight()[0], bias = a.getBias()[0];
    auto wt = cast<MemRefType>(w.getType());
    int64_t out = wt.getDimSize(0), in = wt.getDimSize(1);
    Value rows = l.rows(x.values);
    Value y = l.alloc(l.f32(), {out}, rows);
    // y[r, o] = b[o] + sum_i x[r, i] W[o, i]. Each step of the reduction
    // loads kRows + kCols values for kRows * kCols multiply-adds.
    constexpr int64_t kRows = 4, kCols = 4;
    auto tile = [&](Value r0, int64_t nr, Value o0, int64_t no) {
      SmallVector<Value> init;
      for (int64_t i = 0; i < nr; ++i)
        for (int64_t c = 0; c < no; ++c)
          init.push_back(l.load(bias, {l.add(o0, l.idx(c))}));
      auto loop = scf::ForOp::create(l.b, l.idx(0), l.idx(in), l.idx(1), init);
      {
        OpBuilder::InsertionGuard guard(l.b);
        l.b.setInsertionPointToStart(loop.getBody());
        Value i = loop.getInductionVar();
        SmallVector<Value> xs, ws, next;
        for (int64_t r = 0; r < nr; ++r)
          xs.push_back(l.load(x.values, {l.add(r0, l.idx(r)), i}));
        for (int64_t c = 0; c < no; ++c)
          ws.push_back(l.load(w, {l.add(o0, l.idx(c)), i}));
        for (int64_t r = 0; r < nr; ++r)
          for (int64_t c = 0; c < no; ++c)
            next.push_back(l.fadd(loop.getRegionIterArgs()[r * no + c], l.fmul(xs[r], ws[c])));
        scf::YieldOp::create(l.b, next);
      }
      for (int64_t r = 0; r < nr; ++r)
        for (int64_t c = 0; c < no; ++c)
          l.store(loop.getResult(r * no + c), y, {l.add(r0, l.idx(r)), l.add(o0, l.idx(c))});
    };
    int64_t fullCols = out / kCols * kCols;
    l.forRowBlocks(rows, kRows, [&](Value r0, int64_t nr) {
      if (fullCols > 0) {
        auto cols = scf::ForOp::create(l.b, l.idx(0), l.idx(fullCols), l.idx(kCols));
        OpBuilder::InsertionGuard guard(l.b);
        l.b.setInsertionPointToStart(cols.getBody());
        tile(r0, nr, cols.getInductionVar(), kCols);
      }
      for (int64_t o = fullCols; o < out; ++o) // static remainder of outputs
        tile(r0, nr, l.idx(o), 1);
    });
    return SmallVector<SmallVector<Value>>{rowsLike(x, y)};
  }
};

struct LowerLinearBackward : LoopPattern<LinearBackwardOp> {
  using LoopPattern::LoopPattern;
  Results lower(LinearBackwardOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    Value weight = a.getWeight()[0], dy = JaggedBuffers(a.getResultGrad()).values;
    auto wt = cast<MemRefType>(weight.getType());
    int64_t out = wt.getDimSize(0), in = wt.getDimSize(1);
    Value rows = l.rows(x.values);
    Value dx = l.alloc(l.f32(), {in}, rows);
    Value dw = l.allocStatic(l.f32(), {out, in}), db = l.allocStatic(l.f32(), {out});
    l.fill(dw, l.cf32(0.0));
    l.fill(db, l.cf32(0.0));
    // Rows in blocks of kRows: each row of W and of dW is streamed once per
    // block rather than once per row (for a large layer both exceed the cache).
    constexpr int64_t kRows = 4;
    l.forRowBlocks(rows, kRows, [&](Value r0, int64_t nr) {
      SmallVector<Value> r;
      for (int64_t i = 0; i < nr; ++i)
        r.push_back(l.add(r0, l.idx(i)));
      // dx[r, i] = sum_o dy[r, o] W[o, i]
      for (Value row : r)
        l.loop(l.idx(0), l.idx(in), [&](Value i) { l.store(l.cf32(0.0), dx, {row, i}); });
      l.loop(l.idx(0), l.idx(out), [&](Value o) {
        SmallVector<Value> g;
        for (Value row : r)
          g.push_back(l.load(dy, {row, o}));
        l.loop(l.idx(0), l.idx(in), [&](Value i) {
          Value w = l.load(weight, {o, i});
          for (auto [row, gr] : llvm::zip(r, g))
            l.store(l.fadd(l.load(dx, {row, i}), l.fmul(gr, w)), dx, {row, i});
        });
        // dW[o, i] += sum_r dy[r, o] x[r, i]; db[o] += sum_r dy[r, o]
        Value gsum = l.load(db, {o});
        for (Value gr : g)
          gsum = l.fadd(gsum, gr);
        l.store(gsum, db, {o});
        l.loop(l.idx(0), l.idx(in), [&](Value i) {
          Value acc = l.load(dw, {o, i});
          for (auto [row, gr] : llvm::zip(r, g))
            acc = l.fadd(acc, l.fmul(gr, l.load(x.values, {row, i})));
          l.store(acc, dw, {o, i});
        });
      });
    });
    return SmallVector<SmallVector<Value>>{rowsLike(x, dx), {dw}, {db}};
  }
};
} // namespace

void mlir::mtgr::populateLinearLoweringPatterns(BufferTypeConverter &converter,
                                                RewritePatternSet &patterns) {
  patterns.add<LowerLinear, LowerLinearBackward>(converter, patterns.getContext());
}
