//===- TensorCore.cpp - the tensor-core instructions mtgr's kernels use -----===//
#include "codegen/cuda/TensorCore.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

using namespace mlir;
using namespace mlir::mtgr;

Value mlir::mtgr::packBf16(LoopBuilder &l, Value low, Value high) {
  Type i32 = l.b.getI32Type();
  Value lo = arith::ExtUIOp::create(l.b, i32, low);
  Value hi = arith::ShLIOp::create(l.b, arith::ExtUIOp::create(l.b, i32, high),
                                   arith::ConstantIntOp::create(l.b, i32, 16));
  return arith::OrIOp::create(l.b, lo, hi);
}

Value mlir::mtgr::sharedAddress(LoopBuilder &l, Value address) {
  auto shared = LLVM::LLVMPointerType::get(l.b.getContext(),
                                           static_cast<unsigned>(NVVM::NVVMMemorySpace::Shared));
  Value bits = arith::IndexCastOp::create(l.b, l.i64(), address);
  return LLVM::IntToPtrOp::create(l.b, shared, bits);
}

void mlir::mtgr::storeShared(LoopBuilder &l, Value address, Value value) {
  LLVM::StoreOp::create(l.b, value, sharedAddress(l, address));
}

Value mlir::mtgr::sharedPointer(LoopBuilder &l, Value tile, Value bytes) {
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(l.b, tile);
  return sharedAddress(l, l.add(base, bytes));
}

SmallVector<Value> mlir::mtgr::loadMatrices(LoopBuilder &l, Value pointer, int count,
                                            bool transposed) {
  MLIRContext *ctx = l.b.getContext();
  Type i32 = l.b.getI32Type();
  Type result = count == 1 ? i32
                           : LLVM::LLVMStructType::getLiteral(ctx, SmallVector<Type>(count, i32));
  Value loaded = NVVM::LdMatrixOp::create(
      l.b, result, pointer, count, transposed ? NVVM::MMALayout::col : NVVM::MMALayout::row,
      NVVM::LdStMatrixShapeAttr::get(ctx, 8, 8), NVVM::LdStMatrixEltType::B16);
  if (count == 1)
    return {loaded};
  SmallVector<Value> registers;
  for (int i = 0; i < count; ++i)
    registers.push_back(LLVM::ExtractValueOp::create(l.b, loaded, i));
  return registers;
}

SmallVector<Value> mlir::mtgr::mmaBf16(LoopBuilder &l, ArrayRef<Value> a, ArrayRef<Value> b,
                                       ArrayRef<Value> c) {
  Type f32 = l.f32();
  Type result = LLVM::LLVMStructType::getLiteral(l.b.getContext(), {f32, f32, f32, f32});
  Value d = NVVM::MmaOp::create(
      l.b, result, a, b, c, /*shape=*/{16, 8, 16}, /*b1Op=*/std::nullopt,
      /*intOverflow=*/std::nullopt,
      std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16, NVVM::MMATypes::bf16},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row, NVVM::MMALayout::col});
  SmallVector<Value> sums;
  for (int i = 0; i < 4; ++i)
    sums.push_back(LLVM::ExtractValueOp::create(l.b, d, i));
  return sums;
}

Value mlir::mtgr::addSharedBuffer(LoopBuilder &l, Operation *launch, ArrayRef<int64_t> shape,
                                  Type element) {
  auto shared = gpu::AddressSpaceAttr::get(l.b.getContext(), gpu::AddressSpace::Workgroup);
  auto type = MemRefType::get(shape, element, MemRefLayoutAttrInterface{}, shared);
  return cast<gpu::LaunchOp>(launch).addWorkgroupAttribution(type, l.b.getLoc());
}

void mlir::mtgr::copyAsync16(LoopBuilder &l, Value destination, Value source, Value sourceBytes) {
  MLIRContext *ctx = l.b.getContext();
  auto shared = LLVM::LLVMPointerType::get(ctx, static_cast<unsigned>(NVVM::NVVMMemorySpace::Shared));
  auto global = LLVM::LLVMPointerType::get(ctx, static_cast<unsigned>(NVVM::NVVMMemorySpace::Global));
  NVVM::CpAsyncOp::create(l.b, LLVM::IntToPtrOp::create(l.b, shared, destination),
                          LLVM::IntToPtrOp::create(l.b, global, source), 16u,
                          NVVM::LoadCacheModifierKind::CG, sourceBytes);
}

void mlir::mtgr::commitCopies(LoopBuilder &l) { NVVM::CpAsyncCommitGroupOp::create(l.b); }

void mlir::mtgr::waitCopies(LoopBuilder &l, int64_t newestInFlight) {
  NVVM::CpAsyncWaitGroupOp::create(l.b, l.b.getI32IntegerAttr(newestInFlight));
}

mlir::mtgr::LaneFragments::LaneFragments(LoopBuilder &l, Value lane) {
  Value matrix = arith::DivUIOp::create(l.b, lane, l.idx(8));
  Value lowHalf = arith::RemUIOp::create(l.b, matrix, l.idx(2)); // matrices 0, 2 / 1, 3
  rowInMatrix = arith::RemUIOp::create(l.b, lane, l.idx(8));
  aRow = l.add(l.mul(lowHalf, l.idx(8)), rowInMatrix);
  aColBytes = l.mul(arith::DivUIOp::create(l.b, matrix, l.idx(2)), l.idx(16));
  bColBytes = l.mul(lowHalf, l.idx(16));
  g = arith::DivUIOp::create(l.b, lane, l.idx(4));
  t2 = l.mul(arith::RemUIOp::create(l.b, lane, l.idx(4)), l.idx(2));
}

void mlir::mtgr::copyBf16Segment(LoopBuilder &l, Value destination, Value base, Value row,
                                 Value rowLength, Value col, Value bytes) {
  Value source = l.add(base, l.mul(l.add(l.mul(row, rowLength), col), l.idx(2)));
  auto i64 = [&](Value x) { return arith::IndexCastOp::create(l.b, l.i64(), x).getResult(); };
  copyAsync16(l, i64(destination), i64(source),
              arith::IndexCastOp::create(l.b, l.b.getI32Type(), bytes));
}

Value mlir::mtgr::swizzledOffset(LoopBuilder &l, Value row, Value chunk, int64_t rowBytes) {
  Value pattern = arith::RemUIOp::create(
      l.b, arith::DivUIOp::create(l.b, l.mul(row, l.idx(rowBytes)), l.idx(128)),
      l.idx(rowBytes / 16));
  Value swizzled = arith::XOrIOp::create(l.b, chunk, pattern);
  return l.add(l.mul(row, l.idx(rowBytes)), l.mul(swizzled, l.idx(16)));
}

Value mlir::mtgr::wgmmaDescriptor(LoopBuilder &l, Value address, int64_t strideBytes,
                                  int64_t rowBytes) {
  Type i64 = l.i64();
  auto c = [&](int64_t v) { return arith::ConstantIntOp::create(l.b, i64, v).getResult(); };
  Value start = arith::AndIOp::create(
      l.b, arith::ShRUIOp::create(l.b, arith::IndexCastOp::create(l.b, i64, address), c(4)),
      c(0x3fff));
  // Leading byte offset 1 (unused for swizzled K-major), stride, swizzle
  // mode in bits 62-63: 1 for 128-byte rows, 2 for 64, 3 for 32.
  int64_t mode = rowBytes == 128 ? 1 : rowBytes == 64 ? 2 : 3;
  int64_t fields = (int64_t(1) << 16) | ((strideBytes >> 4) << 32) | (mode << 62);
  return arith::OrIOp::create(l.b, start, c(fields));
}

SmallVector<Value> mlir::mtgr::wgmmaBf16(LoopBuilder &l, int64_t n, Value descriptorA,
                                         Value descriptorB, ArrayRef<Value> acc) {
  MLIRContext *ctx = l.b.getContext();
  Type f32 = l.f32();
  Type type = LLVM::LLVMStructType::getLiteral(ctx, SmallVector<Type>(acc.size(), f32));
  Value inouts = LLVM::UndefOp::create(l.b, type);
  for (size_t i = 0; i < acc.size(); ++i)
    inouts = LLVM::InsertValueOp::create(l.b, inouts, acc[i], i);
  Value d = NVVM::WgmmaMmaAsyncOp::create(
      l.b, type, inouts, descriptorA, descriptorB, NVVM::MMAShapeAttr::get(ctx, 64, n, 16),
      NVVM::WGMMATypes::bf16, NVVM::WGMMATypes::bf16, NVVM::WGMMATypes::f32,
      NVVM::WGMMAScaleOut::one, NVVM::WGMMAScaleIn::one, NVVM::WGMMAScaleIn::one,
      NVVM::MMALayout::row, NVVM::MMALayout::col, /*satfinite=*/NVVM::MMAIntOverflowAttr{});
  SmallVector<Value> sums;
  for (size_t i = 0; i < acc.size(); ++i)
    sums.push_back(LLVM::ExtractValueOp::create(l.b, d, i));
  return sums;
}

void mlir::mtgr::wgmmaFence(LoopBuilder &l) { NVVM::WgmmaFenceAlignedOp::create(l.b); }
void mlir::mtgr::wgmmaCommit(LoopBuilder &l) { NVVM::WgmmaGroupSyncAlignedOp::create(l.b); }
void mlir::mtgr::wgmmaWait(LoopBuilder &l, int64_t n) {
  NVVM::WgmmaWaitGroupSyncOp::create(l.b, n);
}
void mlir::mtgr::fenceProxyAsync(LoopBuilder &l) {
  NVVM::FenceProxyOp::create(
      l.b, NVVM::ProxyKind::async_shared,
      NVVM::SharedSpaceAttr::get(l.b.getContext(), NVVM::SharedSpace::shared_cta));
}

namespace {
Value sharedPointerAt(LoopBuilder &l, Value offset) { return sharedAddress(l, offset); }
} // namespace

void mlir::mtgr::mbarrierInit(LoopBuilder &l, Value bar, int64_t arrivals) {
  NVVM::MBarrierInitOp::create(l.b, sharedPointerAt(l, bar),
                               arith::ConstantIntOp::create(l.b, l.b.getI32Type(), arrivals),
                               /*predicate=*/Value{});
}

void mlir::mtgr::mbarrierArriveExpectTx(LoopBuilder &l, Value bar, Value bytes) {
  NVVM::MBarrierArriveExpectTxOp::create(l.b, /*res=*/Type{}, sharedPointerAt(l, bar), bytes,
                                         NVVM::MemScopeKindAttr{}, BoolAttr{},
                                         /*predicate=*/Value{});
}

void mlir::mtgr::mbarrierArrive(LoopBuilder &l, Value bar) {
  NVVM::MBarrierArriveOp::create(l.b, /*res=*/Type{}, sharedPointerAt(l, bar), /*count=*/Value{});
}

void mlir::mtgr::setMaxRegisters(LoopBuilder &l, int64_t count, bool increase) {
  NVVM::SetMaxRegisterOp::create(l.b, static_cast<int32_t>(count),
                                 increase ? NVVM::SetMaxRegisterAction::increase
                                          : NVVM::SetMaxRegisterAction::decrease);
}

void mlir::mtgr::mbarrierWaitParity(LoopBuilder &l, Value bar, Value parity) {
  // The time hint of MLIR's loop: how long one try may suspend (ns).
  Value ticks = arith::ConstantIntOp::create(l.b, l.b.getI32Type(), 1000000);
  NVVM::MBarrierTryWaitParityOp::create(l.b, sharedPointerAt(l, bar), parity, ticks);
}

void mlir::mtgr::tmaLoad2d(LoopBuilder &l, Value destination, Value map, Value bar, Value c0,
                           Value c1) {
  MLIRContext *ctx = l.b.getContext();
  Value pointer = LLVM::IntToPtrOp::create(l.b, LLVM::LLVMPointerType::get(ctx), map);
  // The shared::cluster form (the CTA's own shared memory is in the
  // cluster window): LLVM 22 selects the shared::cta form only past sm_90.
  Value cluster = LLVM::AddrSpaceCastOp::create(
      l.b,
      LLVM::LLVMPointerType::get(ctx, static_cast<unsigned>(NVVM::NVVMMemorySpace::SharedCluster)),
      sharedPointerAt(l, destination));
  NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp::create(
      l.b, cluster, pointer, ValueRange{c0, c1}, sharedPointerAt(l, bar),
      /*im2colOffsets=*/ValueRange{}, /*multicastMask=*/Value{}, /*l2CacheHint=*/Value{},
      NVVM::TMALoadMode::TILE, /*isCTAOnly=*/false, /*group=*/NVVM::CTAGroupKindAttr{},
      /*predicate=*/Value{});
}

void mlir::mtgr::prefetchL2(LoopBuilder &l, Value address) {
  MLIRContext *ctx = l.b.getContext();
  auto global =
      LLVM::LLVMPointerType::get(ctx, static_cast<unsigned>(NVVM::NVVMMemorySpace::Global));
  Value bits = arith::IndexCastOp::create(l.b, l.i64(), address);
  Value pointer = LLVM::IntToPtrOp::create(l.b, global, bits);
  NVVM::PrefetchOp::create(l.b,
                           NVVM::PrefetchCacheLevelAttr::get(ctx, NVVM::PrefetchCacheLevel::L2),
                           NVVM::CacheEvictionPriorityAttr{}, pointer, /*predicate=*/Value{});
}
