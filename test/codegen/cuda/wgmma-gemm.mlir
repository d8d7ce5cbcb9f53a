// RUN: mtgr-opt %s --mtgr-lower-to-gpu="gemm=wgmma" | FileCheck %s

// gemm=wgmma (codegen/cuda/GpuTensorCoreGemm.cpp, sm_90a): y = x W^T + b.
// The operands in bf16 as for gemm=tensor-core; a tensor map of each from
// the runtime (a call on the buffer, boxes of 128 rows x 64 columns,
// 128-byte swizzle); then one kernel of two warpgroups (256 threads) per
// 128 x 128 tile: thread 0 prefetches the tiles' first rows into L2 (the
// kernel's use of the operands) and initialises four mbarriers, a barrier,
// thread 0 issues two steps ahead (an arrival expecting 32 KB, then two TMA
// copies into the stage); per step of 64 along K every thread waits for its
// stage's phase, a barrier, thread 0 issues the step two ahead, then
// wgmma.fence, four wgmma.mma_async m64n128k16 (one per 16 of K) from
// descriptors, commit, and a wait that leaves this step's group in flight;
// after the loop the last group is waited for, then the epilogue (bias)
// per element of D's fragments.

// CHECK: func.func private @mtgr_gpu_tensor_map_buffer(memref<?x?xbf16, strided<[?, 1], offset: ?>>, i64, i64, i64) -> i64
// CHECK-LABEL: func.func @mtgr_forward
// CHECK: memref.alloc({{.*}}) : memref<?x?xbf16>
// CHECK: gpu.launch
// CHECK: memref.alloc({{.*}}) : memref<?x?xbf16>
// CHECK: gpu.launch
// CHECK: %[[AMAP:.*]] = call @mtgr_gpu_tensor_map_buffer(%{{.*}}, %c128_i64, %c64_i64, %c3_i64) {mtgr.kernel_call}
// CHECK: %[[BMAP:.*]] = call @mtgr_gpu_tensor_map_buffer(%{{.*}}, %c128_i64{{.*}}, %c64_i64{{.*}}, %c3_i64{{.*}}) {mtgr.kernel_call}
// CHECK: gpu.launch
// CHECK-SAME: threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c256
// CHECK-SAME: dynamic_shared_memory_size %c132128_i32
// CHECK-SAME: function(@mtgr_forward__linear_2)
// CHECK-COUNT-2: nvvm.prefetch level =  L2, %{{.*}} : !llvm.ptr<1>
// CHECK: gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK-COUNT-4: nvvm.mbarrier.init %{{.*}}, %{{.*}} : !llvm.ptr<3>, i32
// CHECK: gpu.barrier
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.*}}, %c32768_i32 : !llvm.ptr<3>, i32
// CHECK-COUNT-2: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %{{.*}}, %{{.*}}, box[%{{.*}}, %{{.*}}] : !llvm.ptr<7>, !llvm.ptr
// CHECK: nvvm.mbarrier.arrive.expect_tx
// CHECK-COUNT-2: nvvm.cp.async.bulk.tensor.shared.cluster.global
// The K loop carries 64 accumulators a thread (N / 2).
// CHECK: scf.for {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK: nvvm.mbarrier.try_wait.parity %{{.*}}, %{{.*}}, %{{.*}} : !llvm.ptr<3>, i32, i32
// CHECK-NEXT: gpu.barrier
// CHECK: nvvm.mbarrier.arrive.expect_tx
// CHECK-COUNT-2: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: nvvm.wgmma.fence.aligned
// The descriptors: start >> 4 in bits 0-13, leading offset 1, stride 1024
// bytes (64 << 32), 128-byte swizzle (1 << 62): 0x4000004000010000.
// CHECK: arith.constant 4611686293305360384 : i64
// CHECK-COUNT-4: nvvm.wgmma.mma_async %{{.*}}, %{{.*}}, %{{.*}}, <m = 64, n = 128, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK-NEXT: scf.yield
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// The epilogue: bias added to each of the 64 results in bounds.
// CHECK-COUNT-64: arith.addf
// CHECK: gpu.terminator
func.func @mtgr_forward(%x: memref<?x40xf32>, %w: memref<70x40xf32>, %b: memref<70xf32>,
                        %out: memref<?x70xf32>) attributes {mtgr.abi = []} {
  %xt = builtin.unrealized_conversion_cast %x : memref<?x40xf32> to tensor<?x40xf32>
  %wt = builtin.unrealized_conversion_cast %w : memref<70x40xf32> to tensor<70x40xf32>
  %bt = builtin.unrealized_conversion_cast %b : memref<70xf32> to tensor<70xf32>
  %y = mtgr.linear %xt, %wt, %bt : tensor<?x40xf32>, tensor<70x40xf32>, tensor<70xf32> -> tensor<?x70xf32>
  %ym = builtin.unrealized_conversion_cast %y : tensor<?x70xf32> to memref<?x70xf32>
  memref.copy %ym, %out : memref<?x70xf32> to memref<?x70xf32>
  return
}
