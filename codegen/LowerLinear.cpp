//===- LowerLinear.cpp - mtgr.linear and its gradient to loops ------------===//
//
// Every product is one packed, register-tiled GEMM (codegen/Gemm.h):
//   y  = x W^T + b     (M = rows, K = in,   N = out; B[k, o] = W[o, k])
//   dx = dy W          (M = rows, K = out,  N = in;  B = W as it lies)
//   dW = dy^T x        (M = out,  K = rows, N = in;  K dynamic, accumulated)
// The epilogue of y adds the bias on the accumulator vectors.
//
//===----------------------------------------------------------------------===//
#include "codegen/Gemm.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
using Results = FailureOr<SmallVector<SmallVector<Value>>>;

struct LowerLinear : LoopPattern<LinearOp> {
  LowerLinear(BufferTypeConverter &c, MLIRContext *ctx, const GemmTiles &tiles)
      : LoopPattern(c, ctx), tiles(tiles) {}
  GemmTiles tiles;
  Results lower(LinearOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    Value w = a.getWeight()[0], bias = a.getBias()[0];
    auto wt = cast<MemRefType>(w.getType());
    int64_t out = wt.getDimSize(0), in = wt.getDimSize(1);
    Value rows = l.rows(x.values);
    Value y = l.alloc(l.f32(), {out}, rows);
    auto vec = VectorType::get({tiles.lanes}, l.f32());
    GemmProblem p;
    p.m = rows;
    p.n = out;
    p.k = in;
    p.b = [&](LoopBuilder &l, Value k, Value o) { return l.load(w, {o, k}); };
    p.a = [&](LoopBuilder &l, Value r, Value k) { return l.load(x.values, {r, k}); };
    p.store = [&](LoopBuilder &l, Value r, Value col, Value acc, Value mask) {
      Value sum = arith::AddFOp::create(l.b, acc, loadLanes(l, vec, bias, {col}, mask));
      storeLanes(l, sum, y, {r, col}, mask);
    };
    buildGemm(l, tiles, p);
    return SmallVector<SmallVector<Value>>{rowsLike(x, y)};
  }
};

struct LowerLinearBackward : LoopPattern<LinearBackwardOp> {
  LowerLinearBackward(BufferTypeConverter &c, MLIRContext *ctx, const GemmTiles &tiles)
      : LoopPattern(c, ctx), tiles(tiles) {}
  GemmTiles tiles;
  Results lower(LinearBackwardOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    Value weight = a.getWeight()[0], dy = JaggedBuffers(a.getResultGrad()).values;
    auto wt = cast<MemRefType>(weight.getType());
    int64_t out = wt.getDimSize(0), in = wt.getDimSize(1);
    Value rows = l.rows(x.values);
    Value dx = l.alloc(l.f32(), {in}, rows);
    Value dw = l.allocStatic(l.f32(), {out, in}), db = l.allocStatic(l.f32(), {out});
    // dx[r, i] = sum_o dy[r, o] W[o, i]
    GemmProblem input;
    input.m = rows;
    input.n = in;
    input.k = out;
    input.b = [&](LoopBuilder &l, Value o, Value i) { return l.load(weight, {o, i}); };
    input.a = [&](LoopBuilder &l, Value r, Value o) { return l.load(dy, {r, o}); };
    input.store = [&](LoopBuilder &l, Value r, Value col, Value acc, Value mask) {
      storeLanes(l, acc, dx, {r, col}, mask);
    };
    buildGemm(l, tiles, input);
    // dW[o, i] = sum_r dy[r, o] x[r, i]
    l.fill(dw, l.cf32(0.0));
    GemmProblem weights;
    weights.m = l.idx(out);
    weights.n = in;
    weights.kDynamic = rows;
    weights.b = [&](LoopBuilder &l, Value r, Value i) { return l.load(x.values, {r, i}); };
    weights.a = [&](LoopBuilder &l, Value o, Value r) { return l.load(dy, {r, o}); };
    weights.accumulateInto = dw;
    buildGemm(l, tiles, weights);
    // db[o] = sum_r dy[r, o]
    l.fill(db, l.cf32(0.0));
    l.loop(l.idx(0), rows, [&](Value r) {
      l.loop(l.idx(0), l.idx(out), [&](Value o) {
        l.store(l.fadd(l.load(db, {o}), l.load(dy, {r, o})), db, {o});
      });
    });
    return SmallVector<SmallVector<Value>>{rowsLike(x, dx), {dw}, {db}};
  }
};
} // namespace

void mlir::mtgr::populateLinearLoweringPatterns(BufferTypeConverter &converter,
                                                RewritePatternSet &patterns,
                                                const GemmTiles &tiles) {
  patterns.add<LowerLinear, LowerLinearBackward>(converter, patterns.getContext(), tiles);
}
