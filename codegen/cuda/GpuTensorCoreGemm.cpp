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

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
constexpr int64_t kBlockM = 64, kBlockN = 64, kStepK = 16;
constexpr int64_t kWarps = 4, kWarpM = 32, kWarpN = 32;
constexpr int64_t kTilesM = kWarpM / 16, kTilesN = kWarpN / 8; // mma tiles per warp
constexpr int64_t kThreads = kWarps * 32;

/// The bf16 bits (round to nearest even; NaN stays NaN) of an f32.
Value toBf16Bits(LoopBuilder &l, Value x) {
  Type i32 = l.b.getI32Type();
  auto c = [&](int64_t v) { return arith::ConstantIntOp::create(l.b, i32, v).getResult(); };
  Value bits = arith::BitcastOp::create(l.b, i32, x);
  Value lsb = arith::AndIOp::create(l.b, arith::ShRUIOp::create(l.b, bits, c(16)), c(1));
  Value rounded = arith::AddIOp::create(l.b, bits, arith::AddIOp::create(l.b, lsb, c(0x7fff)));
  Value high = arith::ShRUIOp::create(l.b, rounded, c(16));
  Value nan = arith::CmpFOp::create(l.b, arith::CmpFPredicate::UNO, x, x);
  Value chosen = arith::SelectOp::create(l.b, nan, c(0x7fc0), high);
  return arith::TruncIOp::create(l.b, l.b.getI16Type(), chosen);
}

/// A shared-memory address `bytes` into `tile`, as the pointer ldmatrix
/// takes.
Value sharedPointer(LoopBuilder &l, Value tile, Value bytes) {
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(l.b, tile);
  Value address = arith::IndexCastOp::create(l.b, l.i64(), l.add(base, bytes));
  auto shared = LLVM::LLVMPointerType::get(l.b.getContext(),
                                           static_cast<unsigned>(NVVM::NVVMMemorySpace::Shared));
  return LLVM::IntToPtrOp::create(l.b, shared, address);
}

/// ldmatrix .x`count` (b16, not transposed) from this lane's row address.
SmallVector<Value> loadMatrices(LoopBuilder &l, Value pointer, int count) {
  MLIRContext *ctx = l.b.getContext();
  Type i32 = l.b.getI32Type();
  Type result = count == 1 ? i32
                           : LLVM::LLVMStructType::getLiteral(ctx, SmallVector<Type>(count, i32));
  Value loaded = NVVM::LdMatrixOp::create(
      l.b, result, pointer, count, NVVM::MMALayout::row, NVVM::LdStMatrixShapeAttr::get(ctx, 8, 8),
      NVVM::LdStMatrixEltType::B16);
  if (count == 1)
    return {loaded};
  SmallVector<Value> registers;
  for (int i = 0; i < count; ++i)
    registers.push_back(LLVM::ExtractValueOp::create(l.b, loaded, i));
  return registers;
}
} // namespace

void mlir::mtgr::launchTensorCoreGemm(LoopBuilder &l, const GpuGemmProblem &p) {
  MLIRContext *ctx = l.b.getContext();
  Value one = l.idx(1);
  Value gridX = arith::CeilDivUIOp::create(l.b, p.n, l.idx(kBlockN));
  Value gridY = arith::CeilDivUIOp::create(l.b, p.m, l.idx(kBlockM));
  auto launch = gpu::LaunchOp::create(l.b, gridX, gridY, one, l.idx(kThreads), one, one);
  nameKernel(l, launch);
  auto shared = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  Type i16 = l.b.getI16Type();
  auto tileType = [&](int64_t rows) {
    return MemRefType::get({rows, kStepK}, i16, MemRefLayoutAttrInterface{}, shared);
  };
  Value aTile = launch.addWorkgroupAttribution(tileType(kBlockM), l.b.getLoc());
  Value bTile = launch.addWorkgroupAttribution(tileType(kBlockN), l.b.getLoc()); // [n][k]
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
    Type f32 = l.f32();
    Type result = LLVM::LLVMStructType::getLiteral(ctx, {f32, f32, f32, f32});
    for (int64_t mi = 0; mi < kTilesM; ++mi)
      for (int64_t ni = 0; ni < kTilesN; ++ni) {
        auto acc = steps.getRegionIterArgs().slice((mi * kTilesN + ni) * 4, 4);
        Value d = NVVM::MmaOp::create(
            l.b, result, aFragments[mi], bFragments[ni], SmallVector<Value>(acc.begin(), acc.end()),
            /*shape=*/{16, 8, 16}, /*b1Op=*/std::nullopt, /*intOverflow=*/std::nullopt,
            std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16, NVVM::MMATypes::bf16},
            std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row, NVVM::MMALayout::col});
        for (int i = 0; i < 4; ++i)
          sums.push_back(LLVM::ExtractValueOp::create(l.b, d, i));
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
