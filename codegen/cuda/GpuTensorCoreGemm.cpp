//===- GpuTensorCoreGemm.cpp - products on tensor cores (mma.sync) --------===//
//
// `--gemm=tensor-core` (issue 25): the operands first, then a pipelined
// kernel.
//   Operands  A as [m][K'] and B as [n][K'] in bf16 (K' = K rounded up to
//             8, zero-padded, so every row starts 16-byte aligned), each
//             written once by a kernel of a thread per element from the
//             problem's loaders (fused_linear's gate and norm prologue
//             included; a transposed operand is read transposed there):
//             every element is computed and rounded once, not once per
//             tile of C that reads it.
//   Kernel    a block of 4 warps owns a 64 x 64 tile of C (2 x 2 warps of
//             32 x 32); K in steps of 32 through a ring of 3 shared-memory
//             stages filled by 16-byte cp.async.cg (rows past m or n and
//             columns past K' zero-filled by the copy's source size), two
//             steps in flight while one is computed: per step each warp
//             loads its A fragments with ldmatrix.x4 and its B fragments
//             with ldmatrix.x2 (the PTX fragment layouts of mma.m16n8k16
//             .row.col) and accumulates 2 x 4 mma.sync m16n8k16 per 16 of
//             K (bf16 operands, f32 accumulators carried across steps); the
//             store gets each f32 result, so bias, SiLU, residual and split
//             are those of the SIMT kernel.
// Per step: wait for all but the newest copy group, a barrier (the step's
// tiles landed for every thread, and every warp is done with the stage
// about to be refilled), issue the copies of the step two ahead, compute.
// Shared-memory rows are padded by 16 bytes (80-byte stride: the 8 row
// addresses of an ldmatrix phase hit 8 different bank quads).
// Numerics: operands rounded to nearest even bf16 (8 significant bits),
// sums in f32: about 1e-2 relative error where the fp32 kernels have 1e-6
// (measured: docs/gpu-backend.md). The emulator checks every ldmatrix row,
// the mma fragments and that no stage is read before its copies are
// waited for (runtime/emu/Emulator.cpp).
//
//===----------------------------------------------------------------------===//
#include "codegen/cuda/GpuGemm.h"
#include "codegen/cuda/GpuSupport.h"
#include "codegen/cuda/TensorCore.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
constexpr int64_t kBlockM = 64, kBlockN = 64, kStepK = 32, kStages = 3;
constexpr int64_t kWarps = 4, kWarpM = 32, kWarpN = 32;
constexpr int64_t kTilesM = kWarpM / 16, kTilesN = kWarpN / 8; // mma tiles per warp
constexpr int64_t kThreads = kWarps * 32;
constexpr int64_t kRowStride = kStepK + 8; // bf16 elements per shared-memory row

/// [rows][K'] bf16 with element (r, k) = value(r, k) for k < K, zero for
/// K <= k < K': a kernel of a thread per element.
Value bf16Operand(LoopBuilder &l, Value rows, Value k, Value kPadded,
                  const std::function<Value(LoopBuilder &, Value, Value)> &value) {
  Type bf16 = l.b.getBF16Type();
  auto type = MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic}, bf16);
  Value out = memref::AllocOp::create(l.b, type, ValueRange{rows, kPadded});
  launchThreads(l, l.mul(rows, kPadded), 256, [&](Value t) {
    Value r = arith::DivUIOp::create(l.b, t, kPadded);
    Value c = arith::RemUIOp::create(l.b, t, kPadded);
    Value x = loadOrZero(l, l.cmp(arith::CmpIPredicate::ult, c, k),
                         [&] { return value(l, r, c); });
    l.store(arith::BitcastOp::create(l.b, bf16, toBf16Bits(l, x)), out, {r, c});
  });
  return out;
}

/// A plain operand that already is what bf16Operand would write: bf16
/// rows of K elements, K a multiple of 8, not transposed (activations
/// stored in bf16, --dtype=bf16, read in place); else null.
Value bf16InPlace(LoopBuilder &l, const std::optional<PlainOperand> &plain) {
  if (!plain || plain->transposed)
    return {};
  auto type = cast<MemRefType>(plain->buffer.getType());
  if (!type.getElementType().isBF16() || type.getRank() != 2 || !type.getLayout().isIdentity() ||
      type.isDynamicDim(1) || type.getDimSize(1) % 8 != 0)
    return {};
  auto matrix = MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic}, l.b.getBF16Type());
  return memref::CastOp::create(l.b, matrix, plain->buffer);
}

/// Both tensor-core kernels' operands: A as [m][K'] and B as [n][K'] in
/// bf16 (K' = K rounded up to 8); A is the problem's own buffer where that
/// already has this form.
struct Bf16Operands {
  Value a, b, kPadded;
};
Bf16Operands bf16Operands(LoopBuilder &l, const GpuGemmProblem &p) {
  Value kPadded = l.mul(arith::CeilDivUIOp::create(l.b, p.k, l.idx(8)), l.idx(8));
  Value a = bf16InPlace(l, p.plainA);
  if (!a)
    a = bf16Operand(l, p.m, p.k, kPadded, p.a);
  Value b = bf16Operand(l, p.n, p.k, kPadded,
                        [&](LoopBuilder &l, Value col, Value k) { return p.b(l, k, col); });
  return {a, b, kPadded};
}

/// The store of one 16 x 8 accumulator tile at (row0, col0) of C, the
/// layout of mma.sync's C / D and of each 8 columns of wgmma's D: lane 4 g +
/// t holds rows g and g + 8, columns 2t and 2t + 1; each result in bounds
/// goes to the problem's store (the epilogue).
void storeAccumulatorTile(LoopBuilder &l, const GpuGemmProblem &p, const LaneFragments &f,
                          Value row0, Value col0, ArrayRef<Value> four) {
  for (int64_t i = 0; i < 4; ++i) {
    Value row = l.add(row0, l.add(l.idx((i / 2) * 8), f.g));
    Value col = l.add(col0, l.add(l.idx(i % 2), f.t2));
    Value inside = arith::AndIOp::create(l.b, l.cmp(arith::CmpIPredicate::ult, row, p.m),
                                         l.cmp(arith::CmpIPredicate::ult, col, p.n));
    l.ifThen(inside, [&] { p.store(l, row, col, four[i]); });
  }
}
} // namespace

namespace {
/// The runtime's function `name` the host code calls, declared once per
/// module.
func::FuncOp runtimeImport(LoopBuilder &l, StringRef name, FunctionType type) {
  ModuleOp module = l.b.getInsertionBlock()->getParentOp()->getParentOfType<ModuleOp>();
  auto fn = module.lookupSymbol<func::FuncOp>(name);
  if (!fn) {
    OpBuilder top(module.getBodyRegion());
    fn = func::FuncOp::create(top, module.getLoc(), name, type);
    fn.setPrivate();
  }
  return fn;
}
} // namespace

Value mlir::mtgr::swizzledTensorMap(LoopBuilder &l, Value buffer, int64_t boxRows,
                                    int64_t boxCols) {
  constexpr int64_t kSwizzle128B = 3; // CUtensorMapSwizzle
  auto matrix = MemRefType::get(
      {ShapedType::kDynamic, ShapedType::kDynamic}, l.b.getBF16Type(),
      StridedLayoutAttr::get(l.b.getContext(), ShapedType::kDynamic, {ShapedType::kDynamic, 1}));
  Type i64 = l.i64();
  func::FuncOp import = runtimeImport(l, kGpuTensorMapBuffersImport,
                                      l.b.getFunctionType({matrix, i64, i64, i64}, {i64}));
  Value cast = memref::CastOp::create(l.b, matrix, buffer);
  auto call = func::CallOp::create(
      l.b, import, ValueRange{cast, l.ci64(boxRows), l.ci64(boxCols), l.ci64(kSwizzle128B)});
  // A use of the buffer that keeps nothing (mtgr-free-buffers).
  call->setAttr("mtgr.kernel_call", l.b.getUnitAttr());
  return call.getResult(0);
}

Value mlir::mtgr::gpuMultiprocessors(LoopBuilder &l) {
  func::FuncOp import =
      runtimeImport(l, kGpuMultiprocessorsImport, l.b.getFunctionType({}, {l.i64()}));
  return l.toIndex(func::CallOp::create(l.b, import, ValueRange{}).getResult(0));
}

void mlir::mtgr::launchTensorCoreGemm(LoopBuilder &l, const GpuGemmProblem &p) {
  Value one = l.idx(1);
  auto lt = [&](Value x, Value y) { return l.cmp(arith::CmpIPredicate::ult, x, y); };
  Bf16Operands operands = bf16Operands(l, p);
  Value a = operands.a, b = operands.b, kPadded = operands.kPadded;
  Value steps = arith::CeilDivUIOp::create(l.b, kPadded, l.idx(kStepK));

  Value gridX = arith::CeilDivUIOp::create(l.b, p.n, l.idx(kBlockN));
  Value gridY = arith::CeilDivUIOp::create(l.b, p.m, l.idx(kBlockM));
  auto launch = gpu::LaunchOp::create(l.b, gridX, gridY, one, l.idx(kThreads), one, one);
  nameKernel(l, launch);
  Value aRing = addSharedBuffer(l, launch, {kStages, kBlockM, kRowStride}, l.b.getI16Type());
  Value bRing = addSharedBuffer(l, launch, {kStages, kBlockN, kRowStride}, l.b.getI16Type());
  OpBuilder::InsertionGuard guard(l.b);
  l.b.setInsertionPointToStart(&launch.getBody().front());

  Value tid = launch.getThreadIds().x;
  Value m0 = l.mul(launch.getBlockIds().y, l.idx(kBlockM));
  Value n0 = l.mul(launch.getBlockIds().x, l.idx(kBlockN));
  Value warp = arith::DivUIOp::create(l.b, tid, l.idx(32));
  Value lane = arith::RemUIOp::create(l.b, tid, l.idx(32));
  Value warpRow = l.mul(arith::DivUIOp::create(l.b, warp, l.idx(2)), l.idx(kWarpM));
  Value warpCol = l.mul(arith::RemUIOp::create(l.b, warp, l.idx(2)), l.idx(kWarpN));
  Value aBase = memref::ExtractAlignedPointerAsIndexOp::create(l.b, a);
  Value bBase = memref::ExtractAlignedPointerAsIndexOp::create(l.b, b);
  Value aRingBase = memref::ExtractAlignedPointerAsIndexOp::create(l.b, aRing);
  Value bRingBase = memref::ExtractAlignedPointerAsIndexOp::create(l.b, bRing);
  constexpr int64_t kStageBytes = kBlockM * kRowStride * 2;
  static_assert(kBlockM == kBlockN, "A's and B's stages have the same shape");

  // The copies of K step `step` into stage `stage`: per operand 64 rows of
  // 4 segments of 8 bf16, 2 per thread; rows past the operand's end and
  // segments past K' read nothing (zero-filled), from an address inside
  // the buffer.
  auto issue = [&](Value step, Value stage) {
    constexpr int64_t kSegments = kStepK / 8, kCopies = kBlockM * kSegments;
    for (auto [base, ringBase, first, rows] :
         {std::tuple{aBase, aRingBase, m0, p.m}, std::tuple{bBase, bRingBase, n0, p.n}}) {
      for (int64_t i = 0; i < kCopies / kThreads; ++i) {
        Value e = l.add(tid, l.idx(i * kThreads));
        Value r = arith::DivUIOp::create(l.b, e, l.idx(kSegments));
        Value c = l.mul(arith::RemUIOp::create(l.b, e, l.idx(kSegments)), l.idx(8));
        Value row = l.add(first, r), col = l.add(l.mul(step, l.idx(kStepK)), c);
        Value inside = arith::AndIOp::create(l.b, lt(row, rows), lt(col, kPadded));
        Value destination = l.add(l.add(ringBase, l.mul(stage, l.idx(kStageBytes))),
                                  l.mul(l.add(l.mul(r, l.idx(kRowStride)), c), l.idx(2)));
        copyBf16Segment(l, destination, base, l.minI(row, l.sub(rows, one)), kPadded,
                        l.select(inside, col, l.idx(0)), l.select(inside, l.idx(16), l.idx(0)));
      }
    }
  };
  auto issueIfAny = [&](Value step) {
    l.ifThen(lt(step, steps), [&] {
      issue(step, arith::RemUIOp::create(l.b, step, l.idx(kStages)));
    });
    commitCopies(l); // a group per step, empty past the end: the waits count steps
  };
  for (int64_t s = 0; s < kStages - 1; ++s)
    issueIfAny(l.idx(s));

  // ldmatrix addressing: A's 16 x 16 tiles as x4 (matrices: rows 0-7 / 8-15
  // x columns 0-7 / 8-15, lanes 8i .. 8i + 7 giving matrix i's rows); B's
  // 8 (n) x 16 (k) tiles as x2 (lanes 0-7: k 0-7, lanes 8-15: k 8-15).
  LaneFragments f(l, lane);
  auto rowBytes = [&](Value row) { return l.mul(row, l.idx(kRowStride * 2)); };

  constexpr int64_t kAccumulators = kTilesM * kTilesN * 4;
  auto loop = scf::ForOp::create(l.b, l.idx(0), steps, one,
                                 SmallVector<Value>(kAccumulators, l.cf32(0.0)));
  {
    OpBuilder::InsertionGuard inner(l.b);
    l.b.setInsertionPointToStart(loop.getBody());
    Value step = loop.getInductionVar();
    waitCopies(l, kStages - 2);
    gpu::BarrierOp::create(l.b);
    issueIfAny(l.add(step, l.idx(kStages - 1)));
    Value stageBytes = l.mul(arith::RemUIOp::create(l.b, step, l.idx(kStages)),
                             l.idx(kStageBytes));
    Value aStage = l.add(aRingBase, stageBytes);
    Value bStage = l.add(bRingBase, stageBytes);
    SmallVector<Value> acc(loop.getRegionIterArgs());
    for (int64_t ks = 0; ks < kStepK / 16; ++ks) {
      Value kBytes = l.idx(ks * 32);
      SmallVector<SmallVector<Value>> aFragments, bFragments;
      for (int64_t mi = 0; mi < kTilesM; ++mi) {
        Value row = l.add(l.add(warpRow, l.idx(mi * 16)), f.aRow);
        Value at = l.add(aStage, l.add(rowBytes(row), l.add(kBytes, f.aColBytes)));
        aFragments.push_back(loadMatrices(l, sharedAddress(l, at), 4));
      }
      for (int64_t ni = 0; ni < kTilesN; ++ni) {
        Value row = l.add(l.add(warpCol, l.idx(ni * 8)), f.rowInMatrix);
        Value at = l.add(bStage, l.add(rowBytes(row), l.add(kBytes, f.bColBytes)));
        bFragments.push_back(loadMatrices(l, sharedAddress(l, at), 2));
      }
      for (int64_t mi = 0; mi < kTilesM; ++mi)
        for (int64_t ni = 0; ni < kTilesN; ++ni) {
          int64_t at = (mi * kTilesN + ni) * 4;
          SmallVector<Value> d =
              mmaBf16(l, aFragments[mi], bFragments[ni], ArrayRef(acc).slice(at, 4));
          std::copy(d.begin(), d.end(), acc.begin() + at);
        }
    }
    scf::YieldOp::create(l.b, acc);
  }
  // No copy is left in flight at the end (the last groups are empty).
  waitCopies(l, 0);
  // The store, from the accumulator fragments of each 16 x 8 tile.
  for (int64_t mi = 0; mi < kTilesM; ++mi)
    for (int64_t ni = 0; ni < kTilesN; ++ni)
      storeAccumulatorTile(l, p, f, l.add(l.add(m0, warpRow), l.idx(mi * 16)),
                           l.add(l.add(n0, warpCol), l.idx(ni * 8)),
                           SmallVector<Value>(loop.getResults().slice((mi * kTilesN + ni) * 4, 4)));
  gpu::TerminatorOp::create(l.b);
}

// `--gemm=wgmma` (sm_90a): the same bf16 operands, then a warp-specialised
// kernel per 128 x 256 tile of C, three warpgroups (384 threads). K goes in
// steps of 64 through a ring of 4 stages in dynamic shared memory (A 128
// and B 256 rows of 128 bytes per stage: 192 KB, with the mbarriers and the
// alignment slack 197,696 bytes), in the 128-byte-swizzled K-major layout
// wgmma reads (TensorCore.h), through tensor maps the runtime makes
// (abi/Environment.h; rows past m or n and columns past K' land as zeros).
// Each stage has two mbarriers: "full" (one arrival with the bytes of its
// two TMA copies) and "empty" (one arrival per consumer thread).
//   Producer, warpgroup 0: gives registers back (setmaxnreg 40); its thread
//     0, per step, waits for the stage's empty phase (the release of its
//     previous fill; a fresh mbarrier's phase of parity 1 counts as
//     completed, so the first round goes straight on), then arms the full
//     mbarrier with the bytes and issues the copies of A and B.
//   Consumers, warpgroups 1 and 2 (setmaxnreg 232: 128 accumulators a
//     thread), 64 rows of the tile each: per step they wait for the stage's
//     full phase, wgmma.fence, four wgmma.mma_async m64n256k16 (one per 16
//     of K, descriptors 32 bytes apart), commit, wait_group 1 (this step's
//     group stays in flight), and every consumer thread arrives at the
//     empty mbarrier of the previous step's stage, whose group has retired.
// No block barrier after the set-up: the producer runs up to three steps
// ahead. Persistent: a block per multiprocessor (the runtime's count, at
// most one per tile), looping over tiles block, block + grid, ...; K steps
// are numbered across a block's tiles, and a tile's last stage is released
// before its results are stored, so the next tile's copies overlap them. The store gets D's
// fragments (thread 32 w + 4 g + t of a consumer: rows 16 w + g, + 8; columns 8 j + 2 t, + 1), as
// the mma.sync kernel's. Each block prefetches the first row of its A and B tiles into L2 from the
// operand buffers: the kernel's use of them (what keeps them alive until it
// ran, and their conversion kernels with them), since the copies go through
// the maps. The emulator checks the descriptors' and the copies' addresses,
// that no thread reads a stage before its full phase completed, and that
// no stage is rewritten while a wgmma in flight reads it (a release before
// the wait that retires the group shows there).
void mlir::mtgr::launchWgmmaGemm(LoopBuilder &l, const GpuGemmProblem &p) {
  constexpr int64_t kM = 128, kN = 256, kStep = 64, kRing = 4;
  constexpr int64_t kConsumers = 2, kThreads = (kConsumers + 1) * 128;
  constexpr int64_t kGroupRows = kM / kConsumers;
  constexpr int64_t kRowBytes = kStep * 2; // one swizzled 128-byte row per row
  constexpr int64_t kABytes = kM * kRowBytes, kBBytes = kN * kRowBytes;
  constexpr int64_t kAtomBytes = 8 * kRowBytes; // the swizzle atom: 1024 bytes
  constexpr int64_t kBarriers = kRing * (kABytes + kBBytes);
  constexpr int64_t kSharedBytes = kBarriers + 2 * kRing * 8 + kAtomBytes;
  constexpr int64_t kProducerRegisters = 40, kConsumerRegisters = 232;
  Value one = l.idx(1);
  Type i32 = l.b.getI32Type();
  auto toI32 = [&](Value v) { return arith::IndexCastOp::create(l.b, i32, v).getResult(); };
  Bf16Operands operands = bf16Operands(l, p);
  Value a = operands.a, b = operands.b, kPadded = operands.kPadded;
  Value steps = arith::CeilDivUIOp::create(l.b, kPadded, l.idx(kStep));

  // The tensor maps, on the host: [rows][K'] bf16 in boxes of 128 (A) or
  // 256 (B) rows x 64 columns, 128-byte swizzled (the runtime makes none
  // for an empty operand: no block runs then).
  Value aMap = swizzledTensorMap(l, a, kM, kStep), bMap = swizzledTensorMap(l, b, kN, kStep);

  // Persistent blocks: one per multiprocessor (the runtime's count; a
  // block per tile when it is not known), each looping over the tiles
  // block, block + grid, ...
  Value tilesN = arith::CeilDivUIOp::create(l.b, p.n, l.idx(kN));
  Value tiles = l.mul(arith::CeilDivUIOp::create(l.b, p.m, l.idx(kM)), tilesN);
  Value sms = gpuMultiprocessors(l);
  Value grid = l.select(l.cmp(arith::CmpIPredicate::sgt, sms, l.idx(0)), l.minI(sms, tiles), tiles);
  Value sharedBytes = arith::ConstantIntOp::create(l.b, i32, kSharedBytes);
  auto launch = gpu::LaunchOp::create(l.b, grid, one, one, l.idx(kThreads), one, one, sharedBytes);
  nameKernel(l, launch);
  OpBuilder::InsertionGuard guard(l.b);
  l.b.setInsertionPointToStart(&launch.getBody().front());

  Value tid = launch.getThreadIds().x;
  Value group = arith::DivUIOp::create(l.b, tid, l.idx(128));
  Value block = launch.getBlockIds().x, blocks = launch.getGridSize().x;
  // The block's tiles: block + i blocks for i < count (the grid is at
  // most the tiles); tile t is rows m0 = kM (t / tilesN), columns n0 = kN
  // (t % tilesN). K steps are numbered across the block's tiles, which
  // is what the stages and phases follow.
  Value count = arith::CeilDivUIOp::create(l.b, l.sub(tiles, block), blocks);
  auto corner = [&](Value i) {
    Value t = l.add(block, l.mul(i, blocks));
    return std::pair{l.mul(arith::DivUIOp::create(l.b, t, tilesN), l.idx(kM)),
                     l.mul(arith::RemUIOp::create(l.b, t, tilesN), l.idx(kN))};
  };
  Value first = l.cmp(arith::CmpIPredicate::eq, tid, l.idx(0));
  // The first row of the block's first A and B tiles into L2 (rows in
  // range: a block runs only where m and n are not 0).
  l.ifThen(first, [&] {
    auto [m0, n0] = corner(l.idx(0));
    Value rowBytes = l.mul(kPadded, l.idx(2));
    prefetchL2(l,
               l.add(memref::ExtractAlignedPointerAsIndexOp::create(l.b, a), l.mul(m0, rowBytes)));
    prefetchL2(l,
               l.add(memref::ExtractAlignedPointerAsIndexOp::create(l.b, b), l.mul(n0, rowBytes)));
  });
  // The ring, aligned at run time to the swizzle atom (the pattern is of
  // shared-window addresses), then the stages' full and empty mbarriers.
  auto workgroup = gpu::AddressSpaceAttr::get(l.b.getContext(), gpu::AddressSpace::Workgroup);
  Value ring = gpu::DynamicSharedMemoryOp::create(
      l.b, MemRefType::get({ShapedType::kDynamic}, l.b.getI8Type(), MemRefLayoutAttrInterface{},
                           workgroup));
  Value window = memref::ExtractAlignedPointerAsIndexOp::create(l.b, ring);
  Value aligned =
      l.mul(arith::CeilDivUIOp::create(l.b, window, l.idx(kAtomBytes)), l.idx(kAtomBytes));
  auto aStage = [&](Value stage) { return l.add(aligned, l.mul(stage, l.idx(kABytes))); };
  auto bStage = [&](Value stage) {
    return l.add(l.add(aligned, l.idx(kRing * kABytes)), l.mul(stage, l.idx(kBBytes)));
  };
  auto full = [&](Value stage) {
    return l.add(l.add(aligned, l.idx(kBarriers)), l.mul(stage, l.idx(8)));
  };
  auto empty = [&](Value stage) {
    return l.add(l.add(aligned, l.idx(kBarriers + kRing * 8)), l.mul(stage, l.idx(8)));
  };
  l.ifThen(first, [&] {
    for (int64_t s = 0; s < kRing; ++s) {
      mbarrierInit(l, full(l.idx(s)), 1);
      mbarrierInit(l, empty(l.idx(s)), kConsumers * 128);
    }
  });
  gpu::BarrierOp::create(l.b); // the mbarriers are initialised for every thread
  // The stage of K step `step` and the parity of its fill's phase.
  auto stageOf = [&](Value step) { return arith::RemUIOp::create(l.b, step, l.idx(kRing)); };
  auto roundParity = [&](Value step, int64_t plus) {
    Value round = arith::DivUIOp::create(l.b, step, l.idx(kRing));
    return toI32(arith::RemUIOp::create(l.b, l.add(round, l.idx(plus)), l.idx(2)));
  };

  auto roles = scf::IfOp::create(l.b, TypeRange{}, l.cmp(arith::CmpIPredicate::eq, group, l.idx(0)),
                                 /*withElseRegion=*/true);
  {
    // The producer.
    OpBuilder::InsertionGuard inner(l.b);
    l.b.setInsertionPointToStart(&roles.getThenRegion().front());
    setMaxRegisters(l, kProducerRegisters, /*increase=*/false);
    Value txBytes = arith::ConstantIntOp::create(l.b, i32, kABytes + kBBytes);
    l.ifThen(first, [&] {
      l.loop(l.idx(0), count, [&](Value i) {
        Value m0, n0;
        std::tie(m0, n0) = corner(i); // (lambdas capture variables, not bindings)
        l.loop(l.idx(0), steps, [&](Value step) {
          Value fill = l.add(l.mul(i, steps), step); // the block's K step
          Value stage = stageOf(fill);
          mbarrierWaitParity(l, empty(stage), roundParity(fill, 1));
          Value col = toI32(l.mul(step, l.idx(kStep)));
          mbarrierArriveExpectTx(l, full(stage), txBytes);
          tmaLoad2d(l, aStage(stage), aMap, full(stage), col, toI32(m0));
          tmaLoad2d(l, bStage(stage), bMap, full(stage), col, toI32(n0));
        });
      });
    });
  }
  // The consumers.
  OpBuilder::InsertionGuard inner(l.b);
  l.b.setInsertionPointToStart(&roles.getElseRegion().front());
  setMaxRegisters(l, kConsumerRegisters, /*increase=*/true);
  Value consumer = l.sub(group, one);
  Value warp = arith::DivUIOp::create(l.b, arith::RemUIOp::create(l.b, tid, l.idx(128)), l.idx(32));
  Value lane = arith::RemUIOp::create(l.b, tid, l.idx(32));
  LaneFragments f(l, lane);
  constexpr int64_t kAccumulators = kN / 2;
  l.loop(l.idx(0), count, [&](Value i) {
    auto [m0, n0] = corner(i);
    Value base = l.mul(i, steps);
    auto loop = scf::ForOp::create(l.b, l.idx(0), steps, one,
                                   SmallVector<Value>(kAccumulators, l.cf32(0.0)));
    {
      OpBuilder::InsertionGuard body(l.b);
      l.b.setInsertionPointToStart(loop.getBody());
      Value step = loop.getInductionVar();
      Value fill = l.add(base, step);
      Value stage = stageOf(fill);
      mbarrierWaitParity(l, full(stage), roundParity(fill, 0));
      Value aRows = l.add(aStage(stage), l.mul(consumer, l.idx(kGroupRows * kRowBytes)));
      SmallVector<Value> acc(loop.getRegionIterArgs());
      wgmmaFence(l);
      for (int64_t ks = 0; ks < kStep / 16; ++ks) {
        Value da = wgmmaDescriptor(l, l.add(aRows, l.idx(ks * 32)), kAtomBytes, kRowBytes);
        Value db = wgmmaDescriptor(l, l.add(bStage(stage), l.idx(ks * 32)), kAtomBytes, kRowBytes);
        acc = wgmmaBf16(l, kN, da, db, acc);
      }
      wgmmaCommit(l);
      wgmmaWait(l, 1);
      // The previous step's group has retired: its stage is free.
      l.ifThen(l.cmp(arith::CmpIPredicate::ugt, step, l.idx(0)),
               [&] { mbarrierArrive(l, empty(stageOf(l.sub(fill, one)))); });
      scf::YieldOp::create(l.b, acc);
    }
    wgmmaWait(l, 0);
    // And the last step's: the producer fills the next tile's first stages
    // while this tile's results are stored.
    l.ifThen(l.cmp(arith::CmpIPredicate::ugt, steps, l.idx(0)),
             [&] { mbarrierArrive(l, empty(stageOf(l.sub(l.add(base, steps), one)))); });
    Value warpRow = l.add(l.add(m0, l.mul(consumer, l.idx(kGroupRows))), l.mul(warp, l.idx(16)));
    for (int64_t j = 0; j < kN / 8; ++j)
      storeAccumulatorTile(l, p, f, warpRow, l.add(n0, l.idx(j * 8)),
                           SmallVector<Value>(loop.getResults().slice(j * 4, 4)));
  });
  l.b.setInsertionPointAfter(roles);
  gpu::TerminatorOp::create(l.b);
}
