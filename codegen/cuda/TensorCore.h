//===- TensorCore.h - the tensor-core instructions mtgr's kernels use -*- C++ -*-===//
//
// bf16 rounding and packing, shared-memory addresses, ldmatrix and
// mma.sync m16n8k16 (bf16 operands, f32 accumulators), cp.async, and
// sm_90a's wgmma (descriptors, fence, commit, wait), mbarriers, TMA copies
// and proxy fences, as LoopBuilder helpers on plain Values: the GEMMs
// (GpuTensorCoreGemm.cpp) and the fused attention
// (GpuTensorCoreAttention.cpp) share them, and TensorCore.cpp is the one
// unit with the NVVM dialect's headers.
//
// Fragments (PTX ISA, mma.m16n8k16 .row.col with 16-bit operands; lane =
// 4 g + t): A (16 x 16) is 4 registers of 2 values, rows g / g + 8 x
// columns 2t, 2t + 1 / 2t + 8, 2t + 9 in the order (g, lo), (g + 8, lo),
// (g, hi), (g + 8, hi); B (16 x 8) is 2 registers, k 2t, 2t + 1 and
// 2t + 8, 2t + 9 of column g; C and D (16 x 8) are 4 f32, rows g, g, g + 8,
// g + 8 x columns 2t, 2t + 1, 2t, 2t + 1. A product's C fragments of two
// neighbouring 8-column tiles are therefore the A fragment of the next
// product (packBf16 of pairs), which fused attention uses for P.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_CODEGEN_CUDA_TENSORCORE_H
#define MTGR_CODEGEN_CUDA_TENSORCORE_H

#include "codegen/common/LoweringSupport.h"

namespace mlir::mtgr {

/// Two bf16 values (i16 bits) in one i32 operand register, `low` at the
/// lower index (column) as mma.sync reads it.
Value packBf16(LoopBuilder &l, Value low, Value high);

/// A memref in shared memory (a workgroup attribution) `bytes` past its
/// start, as the shared-space pointer ldmatrix takes.
Value sharedPointer(LoopBuilder &l, Value tile, Value bytes);

/// A store of `value` (e.g. two packed bf16 in an i32) at shared-window
/// offset `address` (an index).
void storeShared(LoopBuilder &l, Value address, Value value);

/// ldmatrix .x`count` .b16 (.trans when `transposed`) from this lane's row
/// address: `count` i32 registers.
SmallVector<Value> loadMatrices(LoopBuilder &l, Value pointer, int count, bool transposed = false);

/// mma.sync.m16n8k16.row.col.f32.bf16.bf16.f32: D = A B + C with A as 4
/// registers, B as 2, C as 4 f32; returns D's 4 f32.
SmallVector<Value> mmaBf16(LoopBuilder &l, ArrayRef<Value> a, ArrayRef<Value> b, ArrayRef<Value> c);

/// cp.async.cg of 16 bytes from global `source` (an i64 address) to shared
/// `destination` (an i64 address), of which the first `sourceBytes` (an
/// i32, 0 .. 16) are read and the rest zero-filled. commitCopies closes the
/// thread's group of copies issued since the last commit; waitCopies(n)
/// waits until at most its n newest groups are in flight.
void copyAsync16(LoopBuilder &l, Value destination, Value source, Value sourceBytes);
void commitCopies(LoopBuilder &l);
void waitCopies(LoopBuilder &l, int64_t newestInFlight);
inline void commitAndWaitCopies(LoopBuilder &l) {
  commitCopies(l);
  waitCopies(l, 0);
}

/// What a lane's fragments of mma.m16n8k16 and ldmatrix depend on (lane =
/// 4 g + t = 8 matrix + rowInMatrix): ldmatrix's row address of a 16-row
/// A tile (or a 16 x 8 B tile stored [k][n], .trans) is row aRow of the
/// tile at aColBytes; of an 8 x 16 B tile stored [n][k], row rowInMatrix at
/// bColBytes; accumulator register i is row g + 8 (i / 2), column
/// t2 + i % 2 of its 16 x 8 tile.
struct LaneFragments {
  Value rowInMatrix, aRow, aColBytes, bColBytes, g, t2;
  LaneFragments(LoopBuilder &l, Value lane);
};

/// cp.async of the 16 bytes (8 bf16) at column `col` of row `row` of a
/// row-major bf16 buffer at address `base` (index) with `rowLength`
/// elements a row (index), into shared `destination` (index address);
/// `bytes` (index, 0 or 16, or fewer at a row's end) are read, the rest
/// zero-filled. A copy that reads nothing still takes an address inside the
/// buffer: the caller clamps row and column.
void copyBf16Segment(LoopBuilder &l, Value destination, Value base, Value row, Value rowLength,
                     Value col, Value bytes);

/// The shared-space pointer at `address` (an index: a shared buffer's
/// aligned pointer plus bytes), as ldmatrix takes it.
Value sharedAddress(LoopBuilder &l, Value address);

/// sm_90a warpgroup MMA (wgmma), both operands in shared memory, K-major,
/// swizzled: rows of `rowBytes` (128, 64 or 32: 64, 32 or 16 bf16 of K), 8
/// rows an atom, atoms `strideBytes` apart along M / N; the 16-byte chunk c
/// of row r sits at chunk c ^ ((r * rowBytes / 128) % (rowBytes / 16))
/// (address bits 4.. XORed with bits 7..). `address` (index) is a
/// shared-window offset (what ExtractAlignedPointerAsIndex gives for a
/// shared buffer), aligned to the atom at the tile's start; a K slice of
/// 16 starts 32 bytes further.
Value wgmmaDescriptor(LoopBuilder &l, Value address, int64_t strideBytes, int64_t rowBytes);
/// The byte offset of 16-byte chunk `chunk` of row `row` in such a tile.
Value swizzledOffset(LoopBuilder &l, Value row, Value chunk, int64_t rowBytes);
/// wgmma.mma_async.sync.aligned.m64n`n`k16.f32.bf16.bf16 (D = A B + D):
/// `acc` the thread's n / 2 accumulators, returns them updated.
SmallVector<Value> wgmmaBf16(LoopBuilder &l, int64_t n, Value descriptorA, Value descriptorB,
                             ArrayRef<Value> acc);
/// wgmma.fence (before the first wgmma that touches accumulators other
/// instructions wrote), commit_group, wait_group `n`.
void wgmmaFence(LoopBuilder &l);
void wgmmaCommit(LoopBuilder &l);
void wgmmaWait(LoopBuilder &l, int64_t n);
/// fence.proxy.async.shared::cta: the thread's writes to shared memory
/// (stores and completed cp.async) become visible to wgmma and TMA.
void fenceProxyAsync(LoopBuilder &l);

/// sm_90a mbarriers and TMA. `bar` and `destination` are shared-window
/// offsets (index), `map` a tensor map's device address (i64, from the
/// runtime: abi/Environment.h gpu_tensor_map), coordinates i32 elements
/// (c0 along a row, c1 the row).
void mbarrierInit(LoopBuilder &l, Value bar, int64_t arrivals);
/// An arrival at `bar` that expects `bytes` (i32) of TMA transactions.
void mbarrierArriveExpectTx(LoopBuilder &l, Value bar, Value bytes);
/// A plain arrival at `bar` (a consumer's release of a stage).
void mbarrierArrive(LoopBuilder &l, Value bar);
/// Blocks until the phase of parity `parity` (i32) of `bar` has completed.
void mbarrierWaitParity(LoopBuilder &l, Value bar, Value parity);
/// cp.async.bulk.tensor.2d: the box at (c0, c1) of `map` into shared
/// memory at `destination`, its bytes completing transactions on `bar`.
void tmaLoad2d(LoopBuilder &l, Value destination, Value map, Value bar, Value c0, Value c1);
/// setmaxnreg (sm_90a; every thread of a warpgroup, alike): the
/// warpgroup's registers per thread raised or lowered to `count` (a
/// multiple of 8 in [24, 256]).
void setMaxRegisters(LoopBuilder &l, int64_t count, bool increase);
/// prefetch.global.L2 of the byte at `address` (index, a device address).
void prefetchL2(LoopBuilder &l, Value address);

/// A shared-memory buffer of `shape` and `element` type as a workgroup
/// attribution of `launch` (a gpu.launch).
Value addSharedBuffer(LoopBuilder &l, Operation *launch, ArrayRef<int64_t> shape, Type element);
/// A shared-memory tile of i16 (bf16 bits) `rows` x `cols`.
inline Value addSharedBf16Tile(LoopBuilder &l, Operation *launch, int64_t rows, int64_t cols) {
  return addSharedBuffer(l, launch, {rows, cols}, l.b.getI16Type());
}

} // namespace mlir::mtgr

#endif
