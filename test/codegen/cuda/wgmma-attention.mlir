// RUN: mtgr-opt %s --mtgr-lower-to-gpu="attention=wgmma" --split-input-file | FileCheck %s

// attention=wgmma (codegen/cuda/GpuTensorCoreAttention.cpp), heads of 32
// (multiples of 16): Q, K and V get bf16 copies, V a transposed bf16 copy
// [heads * dv][rows rounded up to 8] (zero past the rows), the runtime makes
// three tensor maps (boxes of 64 x 64, 128-byte swizzled), and one kernel of
// a warpgroup per (row block, head) with 8192 x (1 + 2 x 2 + 1) + 24 + 1024
// bytes of dynamic shared memory: Q's box, two stages of K's and V^T's,
// P's, three mbarriers. Thread 0 arms Q's mbarrier and issues its box and
// the first tile's; per tile: a barrier, the next tile's boxes into the
// other stage, the wait for this stage's phase, S by two wgmma m64n64k16,
// the weights into P (swizzled 32-bit stores), fence.proxy.async, a
// barrier, O += P V by four wgmma m64n32k16; O stored at the end.

// CHECK-LABEL: func.func @mtgr_forward
// CHECK-COUNT-3: arith.bitcast %{{.*}} : i16 to bf16
// CHECK: %[[VT:.*]] = memref.alloc(%{{.*}}) : memref<64x?xbf16>
// CHECK: gpu.launch
// CHECK: memref.store %{{.*}}, %[[VT]]
// CHECK-COUNT-3: call @mtgr_gpu_tensor_map_buffer({{.*}}, %c64_i64{{.*}}, %c64_i64{{.*}}, %c3_i64{{.*}})
// CHECK: gpu.launch
// CHECK-SAME: threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c128
// CHECK-SAME: dynamic_shared_memory_size %c50200_i32
// CHECK: nvvm.mbarrier.init
// CHECK: gpu.barrier
// CHECK: nvvm.prefetch
// CHECK: nvvm.mbarrier.arrive.expect_tx
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: scf.for
// CHECK: gpu.barrier
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-2: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 64, k = 16>
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: math.exp
// CHECK: llvm.store %{{.*}}, %{{.*}} : i32, !llvm.ptr<3>
// CHECK: nvvm.fence.proxy
// CHECK-NEXT: gpu.barrier
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 32, k = 16>
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: scf.yield
// CHECK-COUNT-16: memref.store %{{.*}}, %{{.*}} : memref<?x64xf32>
// CHECK: gpu.terminator
func.func @mtgr_forward(%q: memref<?x64xf32>, %off: memref<?xindex>, %m: memref<?x3x2xi32>,
                        %o: memref<?xindex>, %s: memref<?x4xindex>, %g: memref<?xindex>, %t: memref<?xi64>, %p: memref<?xindex>,
                        %bs: memref<?xindex>, %ts: memref<?xindex>, %tl: memref<?xi32>, %w: memref<2xi64>,
                        %out: memref<?x64xf32>) attributes {mtgr.abi = []} {
  %j = builtin.unrealized_conversion_cast %q, %off : memref<?x64xf32>, memref<?xindex> to !mtgr.jagged<64xf32>
  %mask = builtin.unrealized_conversion_cast %m, %off : memref<?x3x2xi32>, memref<?xindex> to !mtgr.jagged<3x2xi32>
  %l = builtin.unrealized_conversion_cast %o, %s, %g, %t, %p : memref<?xindex>, memref<?x4xindex>, memref<?xindex>, memref<?xi64>, memref<?xindex> to !mtgr.layout
  %tiles = builtin.unrealized_conversion_cast %bs, %ts, %tl, %w : memref<?xindex>, memref<?xindex>, memref<?xi32>, memref<2xi64> to !mtgr.tile_list<64, 64>
  %a = mtgr.hstu_attention %j, %j, %j, %mask, %l tiles(%tiles : !mtgr.tile_list<64, 64>) {heads = 2 : i64, alpha = 0.5 : f64, n_norm = #mtgr<n_norm total>}
      : !mtgr.jagged<64xf32>, !mtgr.jagged<64xf32>, !mtgr.jagged<64xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<64xf32>
  %b:2 = builtin.unrealized_conversion_cast %a : !mtgr.jagged<64xf32> to memref<?x64xf32>, memref<?xindex>
  memref.copy %b#0, %out : memref<?x64xf32> to memref<?x64xf32>
  return
}

// -----
// Heads of 24 (not a multiple of 16): the mma.sync kernel, no wgmma, no
// tensor map.
// CHECK-LABEL: func.func @mtgr_forward
// CHECK-NOT: mtgr_gpu_tensor_map_buffer
// CHECK-NOT: wgmma
// CHECK: nvvm.mma.sync
// CHECK-NOT: wgmma
// CHECK: return
func.func @mtgr_forward(%q: memref<?x48xf32>, %off: memref<?xindex>, %m: memref<?x3x2xi32>,
                        %o: memref<?xindex>, %s: memref<?x4xindex>, %g: memref<?xindex>, %t: memref<?xi64>, %p: memref<?xindex>,
                        %bs: memref<?xindex>, %ts: memref<?xindex>, %tl: memref<?xi32>, %w: memref<2xi64>,
                        %out: memref<?x48xf32>) attributes {mtgr.abi = []} {
  %j = builtin.unrealized_conversion_cast %q, %off : memref<?x48xf32>, memref<?xindex> to !mtgr.jagged<48xf32>
  %mask = builtin.unrealized_conversion_cast %m, %off : memref<?x3x2xi32>, memref<?xindex> to !mtgr.jagged<3x2xi32>
  %l = builtin.unrealized_conversion_cast %o, %s, %g, %t, %p : memref<?xindex>, memref<?x4xindex>, memref<?xindex>, memref<?xi64>, memref<?xindex> to !mtgr.layout
  %tiles = builtin.unrealized_conversion_cast %bs, %ts, %tl, %w : memref<?xindex>, memref<?xindex>, memref<?xi32>, memref<2xi64> to !mtgr.tile_list<64, 64>
  %a = mtgr.hstu_attention %j, %j, %j, %mask, %l tiles(%tiles : !mtgr.tile_list<64, 64>) {heads = 2 : i64, alpha = 0.5 : f64, n_norm = #mtgr<n_norm total>}
      : !mtgr.jagged<48xf32>, !mtgr.jagged<48xf32>, !mtgr.jagged<48xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<48xf32>
  %b:2 = builtin.unrealized_conversion_cast %a : !mtgr.jagged<48xf32> to memref<?x48xf32>, memref<?xindex>
  memref.copy %b#0, %out : memref<?x48xf32> to memref<?x48xf32>
  return
}
