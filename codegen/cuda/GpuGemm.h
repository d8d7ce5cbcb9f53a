//===- GpuGemm.h - the products' problem and their GPU kernels ---*- C++ -*-===//
//
// A product C[m, n] = sum_k A(m, k) B(k, n) as the linear patterns describe
// it (GpuLinear.cpp): loaders of A and B (which may compute: fused_linear's
// gate and norm prologue), a store per output element (the epilogue), and
// the operands that are buffers as they are (for a GEMM library). The
// kernels that compute it: the SIMT tiled GEMM and the GEMM library call
// (GpuLinear.cpp), the tensor-core GEMM (GpuTensorCoreGemm.cpp: the one
// translation unit with the NVVM dialect's headers).
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_CODEGEN_CUDA_GPUGEMM_H
#define MTGR_CODEGEN_CUDA_GPUGEMM_H

#include "codegen/common/LoweringSupport.h"

#include <functional>
#include <optional>

namespace mlir::mtgr {

/// A 2-D f32 buffer an operand is read from as it is: A(m, k) =
/// buffer[m, k], or buffer[k, m] when transposed.
struct PlainOperand {
  Value buffer;
  bool transposed = false;
};

/// C[m, n] = sum_k A(m, k) B(k, n), then store(row, col, C) per element.
/// plainA / plainB / plainC: the operand or result is a buffer as it is
/// (what a GEMM library can take without a copy).
struct GpuGemmProblem {
  Value m, n, k;
  std::function<Value(LoopBuilder &, Value row, Value k)> a;
  std::function<Value(LoopBuilder &, Value k, Value col)> b;
  std::function<void(LoopBuilder &, Value row, Value col, Value acc)> store;
  std::optional<PlainOperand> plainA, plainB;
  Value plainC;
};

/// An f32 value that is `load()` where `cond` holds and 0 elsewhere (no
/// access out of bounds): the kernels' operand loads at tile edges.
Value loadOrZero(LoopBuilder &l, Value cond, function_ref<Value()> load);

/// The product on tensor cores (sm_80 and later): blocks of 4 warps own
/// 64 x 64 tiles of C; per step of 16 along K the block rounds its A and B
/// tiles to bf16 in shared memory, each warp loads its fragments with
/// ldmatrix and runs 2 x 4 mma.sync m16n8k16 (bf16 operands, f32 sums);
/// the store gets each f32 result.
void launchTensorCoreGemm(LoopBuilder &l, const GpuGemmProblem &p);
/// A tensor map the runtime makes on the host (abi/Environment.h
/// gpu_tensor_map) for a 2-D bf16 `buffer` (row pitch a multiple of 16
/// bytes): boxes of `boxRows` x `boxCols` (64: one 128-byte row),
/// 128-byte swizzled as wgmma reads them; its device address (i64).
Value swizzledTensorMap(LoopBuilder &l, Value buffer, int64_t boxRows, int64_t boxCols);
/// The device's multiprocessors (the runtime's count; 0 when unknown).
Value gpuMultiprocessors(LoopBuilder &l);
/// The product on sm_90a's warpgroup MMA: two warpgroups per 128 x 128
/// tile of C, wgmma.mma_async m64n128k16 from a 4-stage ring of 128-byte-
/// swizzled stages in dynamic shared memory that TMA copies fill behind
/// mbarriers (GpuTensorCoreGemm.cpp).
void launchWgmmaGemm(LoopBuilder &l, const GpuGemmProblem &p);

} // namespace mlir::mtgr

#endif
