// RUN: mtgr-opt %s --mtgr-lower-to-gpu="gemm=wgmma" | FileCheck %s

// gemm=wgmma (codegen/cuda/GpuTensorCoreGemm.cpp, sm_90a): y = x W^T + b.
// The kernel is persistent: each block loops over tiles block, block +
// grid, ..., numbering its K steps across them (the stages and phases
// follow that number), and its consumers release a tile's last stage before
// storing its results, while the producer fills the next tile's.
// The operands in bf16 as for gemm=tensor-core; a tensor map of each from
// the runtime (a call on the buffer, boxes of 128 (A) and 256 (B) rows x 64
// columns, 128-byte swizzle); then one warp-specialised kernel of three
// warpgroups (384 threads) per 128 x 256 tile, with 197,696 bytes of
// dynamic shared memory: thread 0 prefetches the tiles' first rows into L2
// (the kernel's use of the operands) and initialises a full mbarrier (1
// arrival) and an empty one (256: every consumer thread) per stage, a
// barrier; then the warpgroups part. Warpgroup 0, the producer, lowers its
// registers to 40, and its thread 0 per step of 64 along K waits for the
// stage's empty phase, arms the full mbarrier with 48 KB and issues the two
// TMA copies. The consumers raise theirs to 232 and carry 128 accumulators
// a thread (N / 2): per step they wait for the stage's full phase,
// wgmma.fence, four wgmma.mma_async m64n256k16 (one per 16 of K) from
// descriptors, commit, a wait that leaves this step's group in flight, and
// then (past the first step) arrive at the previous stage's empty mbarrier;
// after the loop the last group is waited for, then the epilogue (bias) per
// element of D's fragments. No block barrier after the set-up.

// CHECK-DAG: func.func private @mtgr_gpu_multiprocessors() -> i64
// CHECK-DAG: func.func private @mtgr_gpu_tensor_map_buffer(memref<?x?xbf16, strided<[?, 1], offset: ?>>, i64, i64, i64) -> i64
// CHECK-LABEL: func.func @mtgr_forward
// CHECK: memref.alloc({{.*}}) : memref<?x?xbf16>
// CHECK: gpu.launch
// CHECK: memref.alloc({{.*}}) : memref<?x?xbf16>
// CHECK: gpu.launch
// CHECK: %[[AMAP:.*]] = call @mtgr_gpu_tensor_map_buffer(%{{.*}}, %c128_i64, %c64_i64, %c3_i64) {mtgr.kernel_call}
// CHECK: %[[BMAP:.*]] = call @mtgr_gpu_tensor_map_buffer(%{{.*}}, %c256_i64, %c64_i64{{.*}}, %c3_i64{{.*}}) {mtgr.kernel_call}
// Persistent blocks: as many as the device has multiprocessors (the
// runtime's count), at most one per tile; a block per tile when the count
// is not known (0).
// CHECK: %[[SMS:.*]] = call @mtgr_gpu_multiprocessors() : () -> i64
// CHECK: %[[FEWER:.*]] = arith.minsi %{{.*}}, %[[TILES:.*]] : index
// CHECK: %[[GRID:.*]] = arith.select %{{.*}}, %[[FEWER]], %[[TILES]] : index
// CHECK: gpu.launch blocks(%{{[a-z0-9]+}}, %{{[a-z0-9]+}}, %{{[a-z0-9]+}}) in (%{{[a-z0-9]+}} = %[[GRID]], %{{[a-z0-9]+}} = %c1, %{{[a-z0-9]+}} = %c1)
// CHECK-SAME: threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c384
// CHECK-SAME: dynamic_shared_memory_size %c197696_i32
// CHECK-SAME: function(@mtgr_forward__linear_2)
// CHECK-COUNT-2: nvvm.prefetch level =  L2, %{{.*}} : !llvm.ptr<1>
// CHECK: gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK-COUNT-4: nvvm.mbarrier.init %{{.*}}, %c256_i32{{.*}} : !llvm.ptr<3>, i32
// CHECK: gpu.barrier
// CHECK-NOT: gpu.barrier
// The producer.
// CHECK: nvvm.setmaxregister  decrease 40
// CHECK: scf.for
// CHECK: nvvm.mbarrier.try_wait.parity %{{.*}}, %{{.*}}, %{{.*}} : !llvm.ptr<3>, i32, i32
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.*}}, %c49152_i32 : !llvm.ptr<3>, i32
// CHECK-COUNT-2: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %{{.*}}, %{{.*}}, box[%{{.*}}, %{{.*}}] : !llvm.ptr<7>, !llvm.ptr
// The consumers.
// CHECK: } else {
// CHECK-NEXT: nvvm.setmaxregister  increase 232
// CHECK: %{{.*}}:128 = scf.for
// CHECK: nvvm.mbarrier.try_wait.parity %{{.*}}, %{{.*}}, %{{.*}} : !llvm.ptr<3>, i32, i32
// CHECK: nvvm.wgmma.fence.aligned
// The descriptors: start >> 4 in bits 0-13, leading offset 1, stride 1024
// bytes (64 << 32), 128-byte swizzle (1 << 62): 0x4000004000010000.
// CHECK: arith.ori %{{.*}}, %c4611686293305360384_i64
// CHECK-COUNT-4: nvvm.wgmma.mma_async %{{.*}}, %{{.*}}, %{{.*}}, <m = 64, n = 256, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK: scf.if
// CHECK: nvvm.mbarrier.arrive %{{.*}} : !llvm.ptr<3>
// CHECK: scf.yield
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// The epilogue: bias added to each of the 128 results in bounds.
// CHECK-COUNT-128: arith.addf
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
