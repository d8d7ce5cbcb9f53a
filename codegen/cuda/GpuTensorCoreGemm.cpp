//===- GpuTensorCoreGemm.cpp - products on tensor cores (mma.sync) --------===//
//
// `--gemm=tensor-core` (issue 25's first kernel): a block of 4 warps owns a
// 64 x 64 tile of C (2 x 2 warps of 32 x 32). Per step of 16 along K every
// thread rounds half a row of A (64 x 16, row-major) and of B (stored
// n-major: 64 x 16, k contiguous) to bf16 into shared memory through the
// problem's loaders (fused_linear's prologue included; zeros outside the
// problem); after a barrier each warp loads its A fragments with
// ldmatrix.x4 and its B fragments with ldmatrix.x2 (the PTX fragment
// layouts of mma.m16n8k16 .row.col) and accumulates 2 x 4 mma.sync
// m16n8k16 (bf16 operands, f32 accumulators, carried across steps); the
// store gets each f32 result, so bias, SiLU, residual and split are those
// of the SIMT kernel. Numerics: operands rounded to nearest even bf16
// (8 significant bits), sums in f32: about 1e-2 relative error where the
// fp32 kernels have 1e-6 (measured: docs/gpu-backend.md).
//
// The simple form first: no cp.async pipeline (operands are computed by the
// loaders, not copied), one tile in flight, rounding in integer arithmetic
// (the emulator runs it on the host as is). The emulator checks every
// ldmatrix row and the mma fragments (runtime/emu/Emulator.cpp).
//
//===----------------------------------------------------------------------===//
#include "codegen/cuda/GpuGemm.h"
#include "codegen/cuda/GpuSupport.h"
#include "codegen/cuda/TensorCore.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
constexpr int64_t kBlockM = 64, kBlockN = 64, kStepK = 16;
constexpr int64_t kWarps = 4, kWarpM = 32, kWarpN = 32;
constexpr int64_t kTilesM = kWarpM / 16, kTilesN = kWarpN / 8; // mma tiles per warp
constexpr int64_t kThreads = kWarps * 32;
} // namespace

void mlir::mtgr::launchTensorCoreGemm(LoopBuilder &l, const GpuGemmProblem &p) {
  Value one = l.idx(1);
  Value gridX = arith::CeilDivUIOp::create(l.b, p.n, l.idx(kBlockN));
  Value gridY = arith::CeilDivUIOp::create(l.b, p.m, l.idx(kBlockM));
  auto launch = gpu::LaunchOp::create(l.b, gridX, gridY, one, l.idx(kThreads), one, one);
  nameKernel(l, launch);
  Value aTile = addSharedBf16Tile(l, launch, kBlockM, kStepK);
  Value bTile = addSharedBf16Tile(l, launch, kBlockN, kStepK); // [n][k]
  OpBuilder::InsertionGuard guard(l.b);
  l.b.setInsertionPointToStart(&launch.getBody().front());

  Value tid = launch.getThreadIds().x;
  Value m0 = l.mul(launch.getBlockIds().y, l.idx(kBlockM));
  Value n0 = l.mul(launch.getBlockIds().x, l.idx(kBlockN));
  Value warp = arith::DivUIOp::create(l.b, tid, l.idx(32));
  Value lane = arith::RemUIOp::create(l.b, tid, l.idx(32));
  Value warpRow = l.mul(arith::DivUIOp::create(l.b, warp, l.idx(2)), l.idx(kWarpM));
  Value warpCol = l.mul(arith::RemUIOp::create(l.b, warp, l.idx(2)), l.idx(kWarpN));
  auto lt = [&](Value x, Value y) { return l.cmp(arith::CmpIPredicate::ult, x, y); };

  // The accumulators: kTilesM x kTilesN mma tiles of 4 f32 per lane.
  constexpr int64_t kAccumulators = kTilesM * kTilesN * 4;
  SmallVector<Value> zeros(kAccumulators, l.cf32(0.0));
  auto steps = scf::ForOp::create(l.b, l.idx(0), p.k, l.idx(kStepK), zeros);
  {
    OpBuilder::InsertionGuard inner(l.b);
    l.b.setInsertionPointToStart(steps.getBody());
    Value k0 = steps.getInductionVar();
    // Each thread rounds one row's half of each tile (8 consecutive k):
    // one row test per thread, hoisted out of the loop, and k tests that
    // change with the step (ptxas spilled predicates when every element
    // had its own loop-invariant row test).
    static_assert(kBlockM == kBlockN && kBlockM * 2 == kThreads, "a row half per thread");
    constexpr int64_t kPerThread = kStepK / 2;
    Value r = arith::DivUIOp::create(l.b, tid, l.idx(2));
    Value c0 = l.mul(arith::RemUIOp::create(l.b, tid, l.idx(2)), l.idx(kPerThread));
    Value row = l.add(m0, r), col = l.add(n0, r);
    Value rowIn = lt(row, p.m), colIn = lt(col, p.n);
    for (int64_t j = 0; j < kPerThread; ++j) {
      Value c = l.add(c0, l.idx(j));
      Value k = l.add(k0, c);
      Value kIn = lt(k, p.k);
      Value a = loadOrZero(l, arith::AndIOp::create(l.b, rowIn, kIn),
                           [&] { return p.a(l, row, k); });
      Value b = loadOrZero(l, arith::AndIOp::create(l.b, colIn, kIn),
                           [&] { return p.b(l, k, col); });
      l.store(toBf16Bits(l, a), aTile, {r, c});
      l.store(toBf16Bits(l, b), bTile, {r, c});
    }
    gpu::BarrierOp::create(l.b);
    // Fragments (PTX ISA, mma.m16n8k16 with .bf16): ldmatrix.x4 of A's
    // 16 x 16 tile (matrices: rows 0-7 / 8-15 x columns 0-7 / 8-15, lanes
    // 8i .. 8i + 7 giving matrix i's rows); ldmatrix.x2 of B's 8 (n) x 16
    // (k) tile (lanes 0-7: k 0-7, lanes 8-15: k 8-15).
    Value matrix = arith::DivUIOp::create(l.b, lane, l.idx(8));
    Value rowInMatrix = arith::RemUIOp::create(l.b, lane, l.idx(8));
    Value rowHalf = l.mul(arith::RemUIOp::create(l.b, matrix, l.idx(2)), l.idx(8));
    Value colHalfBytes = l.mul(arith::DivUIOp::create(l.b, matrix, l.idx(2)), l.idx(16));
    Value kHalfBytes = l.mul(arith::RemUIOp::create(l.b, matrix, l.idx(2)), l.idx(16));
    constexpr int64_t kRowBytes = kStepK * 2;
    SmallVector<SmallVector<Value>> aFragments, bFragments;
    for (int64_t mi = 0; mi < kTilesM; ++mi) {
      Value row = l.add(l.add(warpRow, l.idx(mi * 16)), l.add(rowHalf, rowInMatrix));
      Value bytes = l.add(l.mul(row, l.idx(kRowBytes)), colHalfBytes);
      aFragments.push_back(loadMatrices(l, sharedPointer(l, aTile, bytes), 4));
    }
    for (int64_t ni = 0; ni < kTilesN; ++ni) {
      Value row = l.add(l.add(warpCol, l.idx(ni * 8)), rowInMatrix);
      Value bytes = l.add(l.mul(row, l.idx(kRowBytes)), kHalfBytes);
      bFragments.push_back(loadMatrices(l, sharedPointer(l, bTile, bytes), 2));
    }
    SmallVector<Value> sums;
    for (int64_t mi = 0; mi < kTilesM; ++mi)
      for (int64_t ni = 0; ni < kTilesN; ++ni) {
        auto acc = steps.getRegionIterArgs().slice((mi * kTilesN + ni) * 4, 4);
        llvm::append_range(sums, mmaBf16(l, aFragments[mi], bFragments[ni],
                                         SmallVector<Value>(acc.begin(), acc.end())));
      }
    // Nobody overwrites the tiles before every warp has read them.
    gpu::BarrierOp::create(l.b);
    scf::YieldOp::create(l.b, sums);
  }
  // The store, from the accumulator fragments: lane 4 g + t holds rows g
  // and g + 8, columns 2t and 2t + 1 of each 16 x 8 tile.
  Value g = arith::DivUIOp::create(l.b, lane, l.idx(4));
  Value t2 = l.mul(arith::RemUIOp::create(l.b, lane, l.idx(4)), l.idx(2));
  for (int64_t mi = 0; mi < kTilesM; ++mi)
    for (int64_t ni = 0; ni < kTilesN; ++ni)
      for (int64_t i = 0; i < 4; ++i) {
        Value row = l.add(l.add(m0, warpRow), l.add(l.idx(mi * 16 + (i / 2) * 8), g));
        Value col = l.add(l.add(n0, warpCol), l.add(l.idx(ni * 8 + i % 2), t2));
        Value acc = steps.getResult((mi * kTilesN + ni) * 4 + i);
        l.ifThen(arith::AndIOp::create(l.b, lt(row, p.m), lt(col, p.n)),
                 [&] { p.store(l, row, col, acc); });
      }
  gpu::TerminatorOp::create(l.b);
}
