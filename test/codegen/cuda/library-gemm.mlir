// RUN: mtgr-opt %s --mtgr-lower-to-gpu=gemm=cublaslt | FileCheck %s --check-prefix=LOWERED
// RUN: mtgr-opt %s --mtgr-lower-to-gpu=gemm=cublaslt --mtgr-free-buffers --gpu-kernel-outlining --mtgr-lower-gpu-launches | FileCheck %s --check-prefix=WORDS
// RUN: not mtgr-opt %s --mtgr-lower-to-gpu=gemm=cutlass 2>&1 | FileCheck %s --check-prefix=BAD

// --gemm=cublaslt: the product of a linear is a call of the runtime's GEMM
// library on buffers (a kernel call: the buffers live until it has run),
// y = x W^T as op(A) = x, op(B) = W^T (transB = 1), into a temporary that
// the epilogue kernel (bias) reads; no tiled GEMM kernel.
// LOWERED: func.func private @mtgr_gpu_gemm_buffers(i64, i64, i64, i64, i64, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>)
// LOWERED-LABEL: func.func @mtgr_forward
// LOWERED-NOT: gpu.barrier
// LOWERED: memref.alloc(%{{.*}}) : memref<?x16xf32>
// LOWERED: %[[C:.*]] = memref.alloc(%{{.*}}) : memref<?x16xf32>
// LOWERED: call @mtgr_gpu_gemm_buffers(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) {mtgr.kernel_call}
// LOWERED: gpu.launch {{.*}} function(@mtgr_forward__linear)
// LOWERED: memref.load %[[C]]

// After mtgr-lower-gpu-launches: the call takes words (abi/GpuLaunch.h):
// transA, transB, m, n, k, then per buffer its address (aligned pointer
// plus offset bytes) and row stride; the temporary is freed after the
// epilogue, not before the GEMM.
// WORDS: func.func private @mtgr_gpu_gemm(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)
// WORDS-NOT: mtgr_gpu_gemm_buffers
// WORDS: memref.alloc(%{{.*}}) : memref<?x16xf32>
// WORDS: %[[C:.*]] = memref.alloc(%{{.*}}) : memref<?x16xf32>
// WORDS: %[[CC:.*]] = memref.cast %[[C]]
// WORDS: memref.extract_strided_metadata %[[CC]]
// WORDS: %[[P:.*]] = memref.extract_aligned_pointer_as_index %[[CC]]
// WORDS: %[[AT:.*]] = arith.addi %[[P]],
// WORDS: %[[CW:.*]] = arith.index_cast %[[AT]] : index to i64
// WORDS: call @mtgr_gpu_gemm(%c0_i64, %c1_i64, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[CW]], %{{.*}})
// WORDS-NOT: memref.dealloc %[[C]]
// WORDS: call @mtgr_gpu_launch(
// WORDS: memref.dealloc %[[C]]

// BAD: mtgr-lower-to-gpu: gemm=cutlass is not generated, tensor-core, wgmma or cublaslt
func.func @mtgr_forward(%x: memref<?x8xf32>, %off: memref<?xindex>, %w: memref<16x8xf32>,
                        %b: memref<16xf32>, %out: memref<?x16xf32>)
    attributes {mtgr.abi = []} {
  %xj = builtin.unrealized_conversion_cast %x, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %wt = builtin.unrealized_conversion_cast %w : memref<16x8xf32> to tensor<16x8xf32>
  %bt = builtin.unrealized_conversion_cast %b : memref<16xf32> to tensor<16xf32>
  %y = mtgr.linear %xj, %wt, %bt : !mtgr.jagged<8xf32>, tensor<16x8xf32>, tensor<16xf32> -> !mtgr.jagged<16xf32>
  %c:2 = builtin.unrealized_conversion_cast %y : !mtgr.jagged<16xf32> to memref<?x16xf32>, memref<?xindex>
  memref.copy %c#0, %out : memref<?x16xf32> to memref<?x16xf32>
  return
}
