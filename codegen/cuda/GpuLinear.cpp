//===- GpuLinear.cpp - linear, fused_linear and their gradients on the GPU -===//
//
// Every product is one shared-memory tiled SIMT GEMM (fp32, FMA): a block of
// 16 x 16 threads owns a 16 x 16 tile of C; per step of 16 along K each
// thread stages one element of A and one of B in shared memory, the block
// synchronises, and each thread accumulates its element's 16 products. The
// problems are the CPU's (codegen/cpu/LowerLinear.cpp):
//   y  = x W^T + b     (M = rows, K = in,   N = out)
//   dx = dy W          (M = rows, K = out,  N = in)
//   dW = dy^T x        (M = out,  K = rows, N = in: K dynamic)
// fused_linear's prologue (gate product, then the group norm with per-row
// statistics from a kernel of one thread per row, RowMath's math) is in the
// A loader; its epilogue (bias, SiLU, residual, split into pieces) in the
// store. Sums run in K order per output: deterministic.
//
// With --gemm=tensor-core the product runs on tensor cores
// (GpuTensorCoreGemm.cpp: bf16 operands, f32 sums), with the same loaders
// and store.
//
// With --gemm=cublaslt (libraryGemm) the product itself is a call of the
// runtime's GEMM (abi/GpuLaunch.h gpu_gemm: cuBLASLt on the CUDA device, a
// host GEMM on the emulator) on operands in memory: a plain operand is
// passed as it is (transposed where the problem reads it so); a computed one
// (fused_linear's gated, normalised A) is first written by a kernel of a
// thread per element; the epilogue is a kernel of a thread per output
// element, or nothing when the store is plain.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/RowMath.h"
#include "codegen/cuda/GpuGemm.h"
#include "codegen/cuda/GpuSupport.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
using Results = FailureOr<SmallVector<SmallVector<Value>>>;
constexpr int64_t kTile = 16;

void launchTiledGemm(LoopBuilder &l, const GpuGemmProblem &p) {
  Value tile = l.idx(kTile), one = l.idx(1);
  // The grid on the host: column tiles x row tiles.
  Value gridX = arith::CeilDivUIOp::create(l.b, p.n, tile);
  Value gridY = arith::CeilDivUIOp::create(l.b, p.m, tile);
  auto launch = gpu::LaunchOp::create(l.b, gridX, gridY, one, tile, tile, one);
  nameKernel(l, launch);
  auto shared = gpu::AddressSpaceAttr::get(l.b.getContext(), gpu::AddressSpace::Workgroup);
  auto tileType = MemRefType::get({kTile, kTile}, l.f32(), MemRefLayoutAttrInterface{}, shared);
  Value aTile = launch.addWorkgroupAttribution(tileType, l.b.getLoc());
  Value bTile = launch.addWorkgroupAttribution(tileType, l.b.getLoc());
  OpBuilder::InsertionGuard guard(l.b);
  l.b.setInsertionPointToStart(&launch.getBody().front());
  Value tx = launch.getThreadIds().x, ty = launch.getThreadIds().y;
  Value row = l.add(l.mul(launch.getBlockIds().y, tile), ty);
  Value col = l.add(l.mul(launch.getBlockIds().x, tile), tx);
  Value rowIn = l.cmp(arith::CmpIPredicate::ult, row, p.m);
  Value colIn = l.cmp(arith::CmpIPredicate::ult, col, p.n);
  auto steps = scf::ForOp::create(l.b, l.idx(0), p.k, tile, ValueRange{l.cf32(0.0)});
  {
    OpBuilder::InsertionGuard inner(l.b);
    l.b.setInsertionPointToStart(steps.getBody());
    Value k0 = steps.getInductionVar();
    Value ka = l.add(k0, tx), kb = l.add(k0, ty);
    Value aIn = arith::AndIOp::create(l.b, rowIn, l.cmp(arith::CmpIPredicate::ult, ka, p.k));
    Value bIn = arith::AndIOp::create(l.b, colIn, l.cmp(arith::CmpIPredicate::ult, kb, p.k));
    l.store(loadOrZero(l, aIn, [&] { return p.a(l, row, ka); }), aTile, {ty, tx});
    l.store(loadOrZero(l, bIn, [&] { return p.b(l, kb, col); }), bTile, {ty, tx});
    gpu::BarrierOp::create(l.b);
    Value acc = l.loopAcc(l.idx(0), tile, steps.getRegionIterArgs()[0], [&](Value kk, Value s) {
      return math::FmaOp::create(l.b, l.load(aTile, {ty, kk}), l.load(bTile, {kk, tx}), s)
          .getResult();
    });
    // Nobody overwrites the tiles before everyone has read them.
    gpu::BarrierOp::create(l.b);
    scf::YieldOp::create(l.b, acc);
  }
  l.ifThen(arith::AndIOp::create(l.b, rowIn, colIn),
           [&] { p.store(l, row, col, steps.getResult(0)); });
  gpu::TerminatorOp::create(l.b);
}

/// A dense [rows, cols] f32 buffer (cols static when it is a constant: the
/// working-memory estimate counts bytes per row).
Value allocMatrix(LoopBuilder &l, Value rows, Value cols) {
  if (std::optional<int64_t> width = getConstantIntValue(cols))
    return l.alloc(l.f32(), {*width}, rows);
  auto type = MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic}, l.f32());
  return memref::AllocOp::create(l.b, type, ValueRange{rows, cols});
}

/// The operand as a plain buffer: itself, or written by a kernel of a
/// thread per element from its loader (value(i, j) for i < rows, j < cols).
PlainOperand materialize(LoopBuilder &l, std::optional<PlainOperand> plain, Value rows, Value cols,
                         int64_t blockSize,
                         const std::function<Value(LoopBuilder &, Value, Value)> &value) {
  if (plain)
    return *plain;
  Value out = allocMatrix(l, rows, cols);
  launchPerElement(l, out, blockSize,
                   [&](ValueRange at) { l.store(value(l, at[0], at[1]), out, at); });
  return {out, false};
}

void libraryGemm(LoopBuilder &l, const GpuGemmProblem &p, int64_t blockSize) {
  PlainOperand a = materialize(l, p.plainA, p.m, p.k, blockSize, p.a);
  PlainOperand b = materialize(l, p.plainB, p.k, p.n, blockSize, p.b);
  Value c = p.plainC ? p.plainC : allocMatrix(l, p.m, p.n);
  auto i64 = [&](Value v) { return arith::IndexCastOp::create(l.b, l.i64(), v).getResult(); };
  MemRefType strided = gemmBufferType(l.b.getContext());
  auto buffer = [&](Value v) { return memref::CastOp::create(l.b, strided, v).getResult(); };
  auto call = func::CallOp::create(
      l.b, kGpuGemmBuffersImport, TypeRange{},
      ValueRange{l.ci64(a.transposed), l.ci64(b.transposed), i64(p.m), i64(p.n), i64(p.k),
                 buffer(a.buffer), buffer(b.buffer), buffer(c)});
  call->setAttr("mtgr.kernel_call", l.b.getUnitAttr());
  if (p.plainC)
    return;
  launchPerElement(l, c, blockSize, [&](ValueRange at) { p.store(l, at[0], at[1], l.load(c, at)); });
}

/// The product: mtgr's tiled kernel (SIMT or tensor cores), or the
/// runtime's GEMM library.
void gemm(LoopBuilder &l, const GpuGemmProblem &p, const GpuLinearOptions &options) {
  switch (options.gemm) {
  case GpuGemmKind::Library:
    return libraryGemm(l, p, options.blockSize);
  case GpuGemmKind::TensorCore:
    return launchTensorCoreGemm(l, p);
  case GpuGemmKind::Wgmma:
    return launchWgmmaGemm(l, p);
  case GpuGemmKind::Simt:
    return launchTiledGemm(l, p);
  }
}

/// y = x W^T: A = x, B[k, o] = W[o, k].
GpuGemmProblem forwardProblem(LoopBuilder &l, Value x, Value w, Value rows) {
  auto wt = cast<MemRefType>(w.getType());
  GpuGemmProblem p;
  p.m = rows;
  p.n = l.idx(wt.getDimSize(0));
  p.k = l.idx(wt.getDimSize(1));
  p.a = [x](LoopBuilder &l, Value r, Value k) { return l.load(x, {r, k}); };
  p.b = [w](LoopBuilder &l, Value k, Value o) { return l.load(w, {o, k}); };
  p.plainA = PlainOperand{x, false};
  p.plainB = PlainOperand{w, true};
  return p;
}

/// The linear patterns' options: the block size of their element kernels
/// and whether products go to the GEMM library.
template <typename Op> struct GpuLinearPattern : GpuPattern<Op> {
  GpuLinearPattern(BufferTypeConverter &c, MLIRContext *ctx, GpuLinearOptions options)
      : GpuPattern<Op>(c, ctx, options.blockSize), options(options) {}
  GpuLinearOptions options;
};

struct GpuLinear : GpuLinearPattern<LinearOp> {
  using GpuLinearPattern::GpuLinearPattern;
  Results lower(LinearOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    Value w = a.getWeight()[0], bias = a.getBias()[0];
    int64_t out = cast<MemRefType>(w.getType()).getDimSize(0);
    Value rows = l.rows(x.values);
    Value y = l.alloc(l.act(), {out}, rows);
    GpuGemmProblem p = forwardProblem(l, x.values, w, rows);
    p.store = [&](LoopBuilder &l, Value r, Value col, Value acc) {
      l.store(l.fadd(acc, l.load(bias, {col})), y, {r, col});
    };
    gemm(l, p, options);
    return SmallVector<SmallVector<Value>>{rowsLike(x, y)};
  }
};

struct GpuLinearBackward : GpuLinearPattern<LinearBackwardOp> {
  using GpuLinearPattern::GpuLinearPattern;
  Results lower(LinearBackwardOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    Value weight = a.getWeight()[0], dy = JaggedBuffers(a.getResultGrad()).values;
    auto wt = cast<MemRefType>(weight.getType());
    int64_t out = wt.getDimSize(0), in = wt.getDimSize(1);
    Value rows = l.rows(x.values);
    Value dx = l.alloc(l.act(), {in}, rows);
    Value dw = l.allocStatic(l.f32(), {out, in}), db = l.allocStatic(l.f32(), {out});
    // dx[r, i] = sum_o dy[r, o] W[o, i]
    GpuGemmProblem input;
    input.m = rows;
    input.n = l.idx(in);
    input.k = l.idx(out);
    input.a = [&](LoopBuilder &l, Value r, Value o) { return l.load(dy, {r, o}); };
    input.b = [&](LoopBuilder &l, Value o, Value i) { return l.load(weight, {o, i}); };
    input.store = [&](LoopBuilder &l, Value r, Value i, Value acc) { l.store(acc, dx, {r, i}); };
    input.plainA = PlainOperand{dy, false};
    input.plainB = PlainOperand{weight, false};
    input.plainC = dx;
    gemm(l, input, options);
    // dW[o, i] = sum_r dy[r, o] x[r, i]: all rows in one sum per element.
    GpuGemmProblem weights;
    weights.m = l.idx(out);
    weights.n = l.idx(in);
    weights.k = rows;
    weights.a = [&](LoopBuilder &l, Value o, Value r) { return l.load(dy, {r, o}); };
    weights.b = [&](LoopBuilder &l, Value r, Value i) { return l.load(x.values, {r, i}); };
    weights.store = [&](LoopBuilder &l, Value o, Value i, Value acc) { l.store(acc, dw, {o, i}); };
    weights.plainA = PlainOperand{dy, true};
    weights.plainB = PlainOperand{x.values, false};
    weights.plainC = dw;
    gemm(l, weights, options);
    // db[o] = sum_r dy[r, o]: a thread per output, rows in order.
    launchThreads(l, l.idx(out), blockSize, [&](Value o) {
      l.store(l.loopAcc(l.idx(0), rows, l.cf32(0.0),
                        [&](Value r, Value s) { return l.fadd(s, l.load(dy, {r, o})); }),
              db, {o});
    });
    return SmallVector<SmallVector<Value>>{rowsLike(x, dx), {dw}, {db}};
  }
};

/// mtgr.fused_linear: the gate product and the group norm in the A loader
/// (row statistics first, by a kernel of one thread per row), bias (the
/// pre-activation stored whole when asked), SiLU, residual and the split
/// into pieces in the store.
struct GpuFusedLinear : GpuLinearPattern<FusedLinearOp> {
  using GpuLinearPattern::GpuLinearPattern;
  Results lower(FusedLinearOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    Value w = a.getWeight()[0], bias = a.getBias()[0];
    Value gate = op.getGate() ? a.getGate()[0] : Value();
    Value residual = op.getResidual() ? a.getResidual()[0] : Value();
    int64_t out = cast<MemRefType>(w.getType()).getDimSize(0);
    int64_t in = cast<MemRefType>(w.getType()).getDimSize(1);
    Value rows = l.rows(x.values);
    SmallVector<int64_t> widths = op.getSplits() ? SmallVector<int64_t>(*op.getSplits())
                                                 : SmallVector<int64_t>{out};
    SmallVector<int64_t> starts;
    for (int64_t s = 0, i = 0; i < static_cast<int64_t>(widths.size()); s += widths[i++])
      starts.push_back(s);
    SmallVector<Value> pieces;
    for (int64_t width : widths)
      pieces.push_back(l.alloc(l.act(), {width}, rows));
    // y before SiLU, for a train step's silu_backward.
    Value pre = op.getPreactivation() ? l.alloc(l.act(), {out}, rows) : Value();

    auto input = [&](LoopBuilder &l, Value r, Value k) {
      Value value = l.load(x.values, {r, k});
      return gate ? l.fmul(value, l.load(gate, {r, k})) : value;
    };
    GpuGemmProblem p = forwardProblem(l, x.values, w, rows);
    if (gate) {
      p.a = input;
      p.plainA.reset();
    }
    if (op.getLayout()) {
      // DESIGN 1.4: the mean and biased variance of each (gated) row, then
      // its group's gamma and beta.
      LayoutBuffers layout(a.getLayout());
      Value gamma = a.getGamma()[0], beta = a.getBeta()[0];
      Value means = l.alloc(l.f32(), {}, rows), rstds = l.alloc(l.f32(), {}, rows);
      launchThreads(l, rows, blockSize, [&](Value r) {
        Lanes scalar{l, 1};
        NormStatistics stats = layerNormStatistics(
            scalar, in, [&](Value k) { return input(l, r, k); },
            l.cf32(op.getEps()->convertToDouble()));
        l.store(stats.mean, means, {r});
        l.store(stats.rstd, rstds, {r});
      });
      p.a = [=](LoopBuilder &l, Value r, Value k) {
        Lanes scalar{l, 1};
        NormStatistics stats{l.load(means, {r}), l.load(rstds, {r})};
        Value g = normRow(l, layout, gamma, r);
        return layerNormAffine(scalar, input(l, r, k), stats, l.load(gamma, {g, k}),
                               l.load(beta, {g, k}));
      };
      p.plainA.reset();
    }
    p.store = [&](LoopBuilder &l, Value r, Value col, Value acc) {
      Value y = l.fadd(acc, l.load(bias, {col}));
      if (pre) {
        l.store(y, pre, {r, col});
        // SiLU of the value silu_backward will read (rounded to narrow
        // storage), as the unfused linear then silu computed it, so forward
        // and backward agree on the point: SiLU of the unrounded sum left a
        // bf16 step's gradients 0.30 from the reference where the unfused
        // ops were 0.09 (EmulatedStorageTrainStep/0, tolerance 0.2).
        y = l.widen(l.narrowTo(y, l.act()));
      }
      if (op.getSilu())
        y = l.silu(y);
      if (residual)
        y = l.fadd(y, l.load(residual, {r, col}));
      // The piece holding col: a chain of ifs over the boundaries.
      std::function<void(size_t)> piece = [&](size_t i) {
        if (i + 1 == pieces.size())
          return l.store(y, pieces[i], {r, l.sub(col, l.idx(starts[i]))});
        Value inside = l.cmp(arith::CmpIPredicate::slt, col, l.idx(starts[i + 1]));
        auto choice = scf::IfOp::create(l.b, TypeRange{}, inside, /*withElseRegion=*/true);
        OpBuilder::InsertionGuard guard(l.b);
        l.b.setInsertionPointToStart(&choice.getThenRegion().front());
        l.store(y, pieces[i], {r, l.sub(col, l.idx(starts[i]))});
        l.b.setInsertionPointToStart(&choice.getElseRegion().front());
        piece(i + 1);
      };
      piece(0);
    };
    gemm(l, p, options);
    SmallVector<SmallVector<Value>> results;
    if (pre)
      results.push_back(rowsLike(x, pre));
    for (Value piece : pieces)
      results.push_back(rowsLike(x, piece));
    return results;
  }
};
} // namespace

Value mlir::mtgr::loadOrZero(LoopBuilder &l, Value cond, function_ref<Value()> load) {
  auto choice = scf::IfOp::create(l.b, TypeRange{l.f32()}, cond, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(l.b);
  l.b.setInsertionPointToStart(&choice.getThenRegion().front());
  scf::YieldOp::create(l.b, load());
  l.b.setInsertionPointToStart(&choice.getElseRegion().front());
  scf::YieldOp::create(l.b, l.cf32(0.0));
  return choice.getResult(0);
}

void mlir::mtgr::populateGpuLinearPatterns(BufferTypeConverter &converter,
                                           RewritePatternSet &patterns,
                                           GpuLinearOptions options) {
  patterns.add<GpuLinear, GpuLinearBackward, GpuFusedLinear>(converter, patterns.getContext(),
                                                             options);
}
