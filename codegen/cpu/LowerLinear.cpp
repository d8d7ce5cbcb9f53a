//===- LowerLinear.cpp - mtgr.linear and its gradient to loops ------------===//
//
// Every product is one packed, register-tiled GEMM (codegen/cpu/Gemm.h):
//   y  = x W^T + b     (M = rows, K = in,   N = out; B[k, o] = W[o, k])
//   dx = dy W          (M = rows, K = out,  N = in;  B = W as it lies)
//   dW = dy^T x        (M = out,  K = rows, N = in;  K dynamic, accumulated)
// The epilogue of y adds the bias on the accumulator vectors;
// linear_norm_backward runs a norm's backward on dx's rows as the GEMM
// finishes them.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/RowMath.h"
#include "codegen/cpu/Gemm.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
using Results = FailureOr<SmallVector<SmallVector<Value>>>;

/// A [rows, K] times the weight W [out, in] as a GEMM, the caller adding
/// the prologue and the epilogue: the forward y = x W^T (`transposed`: K =
/// in, N = out, B[k, o] = W[o, k], packed by transposed squares) or the
/// input gradient dx = dy W (K = out, N = in, B = W as it lies).
GemmProblem weightProduct(Value a, Value w, Value rows, bool transposed) {
  auto wt = cast<MemRefType>(w.getType());
  GemmProblem p;
  p.m = rows;
  p.n = wt.getDimSize(transposed ? 0 : 1);
  p.k = wt.getDimSize(transposed ? 1 : 0);
  if (transposed) {
    p.b = [w](LoopBuilder &l, Value k, Value o) { return l.load(w, {o, k}); };
    p.bTransposed = w;
  } else {
    p.bRowMajor = w;
  }
  p.a = [a](LoopBuilder &l, Value r, Value k) { return l.load(a, {r, k}); };
  return p;
}

/// The GEMM patterns: each builds its products with the target's tiles.
template <typename Op> struct GemmPattern : LoopPattern<Op> {
  GemmPattern(BufferTypeConverter &c, MLIRContext *ctx, const GemmTiles &tiles)
      : LoopPattern<Op>(c, ctx), tiles(tiles) {}
  GemmTiles tiles;
};

struct LowerLinear : GemmPattern<LinearOp> {
  using GemmPattern::GemmPattern;
  Results lower(LinearOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    Value w = a.getWeight()[0], bias = a.getBias()[0];
    int64_t out = cast<MemRefType>(w.getType()).getDimSize(0);
    Value rows = l.rows(x.values);
    Value y = l.alloc(l.f32(), {out}, rows);
    auto vec = VectorType::get({tiles.lanes}, l.f32());
    GemmProblem p = weightProduct(x.values, w, rows, /*transposed=*/true);
    p.store = [&](LoopBuilder &l, Value r, Value col, Value acc, Value mask) {
      Value sum = arith::AddFOp::create(l.b, acc, loadLanes(l, vec, bias, {col}, mask));
      storeLanes(l, sum, y, {r, col}, mask);
    };
    buildGemm(l, tiles, p);
    return SmallVector<SmallVector<Value>>{rowsLike(x, y)};
  }
};

/// dW[o, i] = sum_r dy[r, o] x[r, i] (a GEMM with K = rows, accumulated)
/// and db[o] = sum_r dy[r, o], the rows in order: {dW, db}.
std::pair<Value, Value> weightGradients(LoopBuilder &l, const GemmTiles &tiles, Value x,
                                        Value weight, Value dy, Value rows) {
  auto wt = cast<MemRefType>(weight.getType());
  int64_t out = wt.getDimSize(0), in = wt.getDimSize(1);
  Value dw = l.allocStatic(l.f32(), {out, in}), db = l.allocStatic(l.f32(), {out});
  l.fill(dw, l.cf32(0.0));
  GemmProblem weights;
  weights.m = l.idx(out);
  weights.n = in;
  weights.kDynamic = rows;
  weights.bRowMajor = x;
  weights.a = [&](LoopBuilder &l, Value o, Value r) { return l.load(dy, {r, o}); };
  weights.prefetchA = [&](LoopBuilder &l, Value o, Value r) { l.prefetch(dy, {r, o}); };
  weights.accumulateInto = dw;
  buildGemm(l, tiles, weights);
  // db over the threads by column ranges, each column adding the rows in
  // order (a serial pass over dy on the calling thread before).
  l.fill(db, l.cf32(0.0));
  forColumnRanges(l, tiles.lanes, out, "bias_grad", [&](Lanes &v, Value c0, Value c1) {
    l.loop(l.idx(0), rows, [&](Value r) {
      l.loop(c0, c1, [&](Value c) {
        Value o = l.mul(c, l.idx(v.width));
        v.store(l.fadd(v.load(db, {o}), v.load(dy, {r, o})), db, {o});
      });
    });
  });
  return {dw, db};
}

struct LowerLinearBackward : GemmPattern<LinearBackwardOp> {
  using GemmPattern::GemmPattern;
  Results lower(LinearBackwardOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    Value weight = a.getWeight()[0], dy = JaggedBuffers(a.getResultGrad()).values;
    int64_t in = cast<MemRefType>(weight.getType()).getDimSize(1);
    Value rows = l.rows(x.values);
    Value dx = l.alloc(l.f32(), {in}, rows);
    GemmProblem input = weightProduct(dy, weight, rows, /*transposed=*/false);
    input.store = [&](LoopBuilder &l, Value r, Value col, Value acc, Value mask) {
      storeLanes(l, acc, dx, {r, col}, mask);
    };
    buildGemm(l, tiles, input);
    auto [dw, db] = weightGradients(l, tiles, x.values, weight, dy, rows);
    return SmallVector<SmallVector<Value>>{rowsLike(x, dx), {dw}, {db}};
  }
};

/// mtgr.linear_norm_backward: the input-gradient GEMM writes dn = dy W;
/// as each range of its rows is final (GemmProblem::rowsDone, on the
/// thread that computed them, while they are in cache) the norm's per-row
/// backward turns them into dx (+ the residual gradient). The weight
/// gradients as linear_backward's; dgamma and dbeta a pass over columns.
struct LowerLinearNormBackward : GemmPattern<LinearNormBackwardOp> {
  using GemmPattern::GemmPattern;
  Results lower(LinearNormBackwardOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers n(a.getInput());
    Value weight = a.getWeight()[0], dy = JaggedBuffers(a.getResultGrad()).values;
    Value x = JaggedBuffers(a.getNormInput()).values;
    LayoutBuffers layout(a.getLayout());
    Value gamma = a.getGamma()[0];
    Value residual = op.getResidualGrad() ? a.getResidualGrad()[0] : Value();
    int64_t in = cast<MemRefType>(weight.getType()).getDimSize(1);
    Value rows = l.rows(n.values);
    Value dn = l.alloc(l.f32(), {in}, rows), dx = l.alloc(l.f32(), {in}, rows);
    Value means = l.alloc(l.f32(), {}, rows), rstds = l.alloc(l.f32(), {}, rows);
    Value eps = l.cf32(op.getEps().convertToDouble());
    GemmProblem input = weightProduct(dy, weight, rows, /*transposed=*/false);
    input.store = [&](LoopBuilder &l, Value r, Value col, Value acc, Value mask) {
      storeLanes(l, acc, dn, {r, col}, mask);
    };
    input.rowsDone = [&](LoopBuilder &l, Value first, Value end) {
      l.loop(first, end, [&](Value r) {
        Lanes v = Lanes::across(l, in, tiles.lanes);
        // The residual gradient's add is mtgr.add's sum (a + b is b + a),
        // without `contract`: an FMA with the dx math would round once
        // where the ops apart rounded twice; the fused step keeps their bits.
        groupLayerNormBackwardRow(
            v, in, x, layout, gamma, dn, r, eps, means, rstds, [&](Value k, Value dxk) {
              if (residual)
                dxk = arith::AddFOp::create(l.b, v.load(residual, {r, k}), dxk);
              v.store(dxk, dx, {r, k});
            });
      });
    };
    buildGemm(l, tiles, input);
    auto [dw, db] = weightGradients(l, tiles, n.values, weight, dy, rows);
    int64_t groups = cast<MemRefType>(gamma.getType()).getDimSize(0);
    Value dg = l.allocStatic(l.f32(), {groups, in}), dbeta = l.allocStatic(l.f32(), {groups, in});
    groupLayerNormParamGrads(l, tiles.lanes, in, x, layout, gamma, dn, rows, means, rstds, dg,
                             dbeta);
    return SmallVector<SmallVector<Value>>{rowsLike(n, dx), {dw}, {db}, {dg}, {dbeta}};
  }
};

/// mtgr.fused_linear: the prologue packs each row's A (gate product, then
/// the group norm) once per call, the epilogue adds the bias (and writes
/// that pre-activation whole when asked), applies SiLU and the residual and
/// writes each column piece to its own buffer.
struct LowerFusedLinear : GemmPattern<FusedLinearOp> {
  using GemmPattern::GemmPattern;

  Results lower(FusedLinearOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    Value w = a.getWeight()[0], bias = a.getBias()[0];
    Value gate = op.getGate() ? a.getGate()[0] : Value();
    Value residual = op.getResidual() ? a.getResidual()[0] : Value();
    auto wt = cast<MemRefType>(w.getType());
    int64_t out = wt.getDimSize(0), in = wt.getDimSize(1);
    Value rows = l.rows(x.values);
    auto vec = VectorType::get({tiles.lanes}, l.f32());

    // The result pieces: [start, width) of y, each its own buffer. A piece
    // boundary inside a vector would need two stores: then y is written
    // whole and the pieces copied out.
    SmallVector<int64_t> widths = op.getSplits() ? SmallVector<int64_t>(*op.getSplits())
                                                 : SmallVector<int64_t>{out};
    SmallVector<int64_t> starts;
    bool aligned = true;
    for (int64_t s = 0, i = 0; i < static_cast<int64_t>(widths.size()); s += widths[i++]) {
      starts.push_back(s);
      aligned &= s % tiles.lanes == 0;
    }
    SmallVector<Value> pieces;
    for (int64_t width : widths)
      pieces.push_back(l.alloc(l.f32(), {width}, rows));
    Value whole = aligned ? Value() : l.alloc(l.f32(), {out}, rows);
    // y before SiLU, for a train step's silu_backward.
    Value pre = op.getPreactivation() ? l.alloc(l.f32(), {out}, rows) : Value();

    GemmProblem p = weightProduct(x.values, w, rows, /*transposed=*/true);
    if (gate || op.getLayout())
      p.packA = [&](LoopBuilder &l, Value r, Value packed, Value slot) {
        Lanes v = Lanes::across(l, in, tiles.lanes);
        auto input = [&](Value k) {
          Value value = v.load(x.values, {r, k});
          return gate ? l.fmul(value, v.load(gate, {r, k})) : value;
        };
        if (!op.getLayout())
          return v.each(in, [&](Value k) { v.store(input(k), packed, {slot, k}); });
        // DESIGN 1.4: mean and biased variance of the row, then the row's
        // group's gamma and beta.
        LayoutBuffers layout(a.getLayout());
        Value gamma = a.getGamma()[0], beta = a.getBeta()[0];
        Value eps = l.cf32(op.getEps()->convertToDouble());
        NormStatistics stats = layerNormStatistics(v, in, input, eps);
        Value g = normRow(l, layout, gamma, r);
        v.each(in, [&](Value k) {
          v.store(layerNormAffine(v, input(k), stats, v.load(gamma, {g, k}), v.load(beta, {g, k})),
                  packed, {slot, k});
        });
      };
    if (residual)
      p.prefetch = [&](LoopBuilder &l, Value r, Value col) { l.prefetch(residual, {r, col}); };
    p.store = [&](LoopBuilder &l, Value r, Value col, Value acc, Value mask) {
      Value y = arith::AddFOp::create(l.b, acc, loadLanes(l, vec, bias, {col}, mask));
      if (pre)
        storeLanes(l, y, pre, {r, col}, mask);
      if (op.getSilu())
        y = l.silu(y);
      if (residual)
        y = arith::AddFOp::create(l.b, y, loadLanes(l, vec, residual, {r, col}, mask));
      if (!aligned)
        return storeLanes(l, y, whole, {r, col}, mask);
      // The piece holding col: a chain of ifs over the boundaries.
      std::function<void(size_t)> piece = [&](size_t i) {
        if (i + 1 == pieces.size())
          return storeLanes(l, y, pieces[i], {r, l.sub(col, l.idx(starts[i]))}, mask);
        Value inside = l.cmp(arith::CmpIPredicate::slt, col, l.idx(starts[i + 1]));
        auto choice = scf::IfOp::create(l.b, TypeRange{}, inside, /*withElseRegion=*/true);
        OpBuilder::InsertionGuard guard(l.b);
        l.b.setInsertionPointToStart(&choice.getThenRegion().front());
        storeLanes(l, y, pieces[i], {r, l.sub(col, l.idx(starts[i]))}, mask);
        l.b.setInsertionPointToStart(&choice.getElseRegion().front());
        piece(i + 1);
      };
      piece(0);
    };
    buildGemm(l, tiles, p);
    if (whole)
      for (auto [piece, start, width] : llvm::zip(pieces, starts, widths))
        l.loop(l.idx(0), rows, [&, piece = piece, start = start, width = width](Value r) {
          l.loop(l.idx(0), l.idx(width), [&](Value c) {
            l.store(l.load(whole, {r, l.add(c, l.idx(start))}), piece, {r, c});
          });
        });
    SmallVector<SmallVector<Value>> results;
    if (pre)
      results.push_back(rowsLike(x, pre));
    for (Value piece : pieces)
      results.push_back(rowsLike(x, piece));
    return results;
  }
};
} // namespace

void mlir::mtgr::populateLinearLoweringPatterns(BufferTypeConverter &converter,
                                                RewritePatternSet &patterns,
                                                const GemmTiles &tiles) {
  patterns.add<LowerLinear, LowerLinearBackward, LowerLinearNormBackward, LowerFusedLinear>(
      converter, patterns.getContext(), tiles);
}
