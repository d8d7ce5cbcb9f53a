// RUN: mtgr-opt %s --mtgr-lower-to-gpu="gemm=wgmma" | FileCheck %s

// gemm=wgmma (codegen/cuda/GpuTensorCoreGemm.cpp, sm_90a): y = x W^T + b.
// The operands in bf16 as for gemm=tensor-core, then one kernel of two
// warpgroups (256 threads) per 128 x 128 tile: a ring of 4 stages of A and
// B (128 rows x 128 bytes each) in 132,096 bytes of dynamic shared memory
// (aligned at run time to the 1024-byte swizzle atom), filled by 16-byte
// cp.async (2 steps of 64 along K issued ahead: 4 copies per thread and
// operand each); per step a wait for all but the newest copy group,
// fence.proxy.async (the copies are generic-proxy writes, wgmma reads
// through the async proxy), a barrier, the copies of the step two ahead,
// then wgmma.fence, four wgmma.mma_async m64n128k16 (one per 16 of K) from
// descriptors, commit, and a wait that leaves this step's group in flight;
// after the loop the last group and copies are waited for, then the
// epilogue (bias) per element of D's fragments.

// CHECK-LABEL: func.func @mtgr_forward
// CHECK: memref.alloc({{.*}}) : memref<?x?xbf16>
// CHECK: gpu.launch
// CHECK: memref.alloc({{.*}}) : memref<?x?xbf16>
// CHECK: gpu.launch
// CHECK: gpu.launch
// CHECK-SAME: threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c256
// CHECK-SAME: dynamic_shared_memory_size %c132096_i32
// CHECK-SAME: function(@mtgr_forward__linear_2)
// CHECK: gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK-COUNT-8: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache =  cg, %{{.*}} : !llvm.ptr<3>, !llvm.ptr<1>, i32
// CHECK: nvvm.cp.async.commit.group
// CHECK-COUNT-8: nvvm.cp.async.shared.global
// CHECK: nvvm.cp.async.commit.group
// The K loop carries 64 accumulators a thread (N / 2).
// CHECK: scf.for {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK-NEXT: nvvm.cp.async.wait.group 1
// CHECK-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: gpu.barrier
// CHECK-COUNT-8: nvvm.cp.async.shared.global
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvvm.wgmma.fence.aligned
// The descriptors: start >> 4 in bits 0-13, leading offset 1, stride 1024
// bytes (64 << 32), 128-byte swizzle (1 << 62): 0x4000004000010000.
// CHECK: arith.constant 4611686293305360384 : i64
// CHECK-COUNT-4: nvvm.wgmma.mma_async %{{.*}}, %{{.*}}, %{{.*}}, <m = 64, n = 128, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK-NEXT: scf.yield
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-NEXT: nvvm.cp.async.wait.group 0
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
