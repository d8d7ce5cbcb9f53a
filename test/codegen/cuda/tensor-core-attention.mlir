// RUN: mtgr-opt %s --mtgr-lower-to-gpu="attention=tensor-core" --split-input-file --verify-diagnostics | FileCheck %s

// attention=tensor-core (codegen/cuda/GpuTensorCoreAttention.cpp): the
// forward as one kernel of a block per (row block, head, chunk of V's
// columns) and a warp per 16 rows. Two heads of 24 dimensions (a multiple
// of 8): Q, K and V first get bf16 copies (a thread per element), which
// the kernel stages with 16-byte cp.async. Q in one chunk of 32 along the
// head (zero-padded), staged once, rows padded by 8 bf16 (16 bytes) against
// bank conflicts; per listed tile two steps through a ring of two slots
// (5120 i16: the larger of K's 64 x 40 chunk and V's 64 x 32): step 0
// S = Q K^T by 2 k-steps x 8 column tiles of mma.sync (ldmatrix.x4 of Q,
// .x2 of K) with V's tile issued before it and K's waited for; the weights
// on S's fragments; step 1 P V by 4 k-steps x 3 column tiles
// (ldmatrix.x2.trans of V) with the next tile's K issued before it. The O
// accumulators (3 x 4 per lane) are carried over the tile list and stored
// once.

// CHECK-LABEL: func.func @mtgr_forward
// CHECK-COUNT-3: arith.bitcast %{{.*}} : i16 to bf16
// CHECK: gpu.launch
// CHECK-SAME: in (%{{.*}} = %{{.*}}, %{{.*}} = %c2, %{{.*}} = %c1{{.*}}) threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c128
// CHECK-SAME: function(@mtgr_forward__hstu_attention_3)
// CHECK-SAME: workgroup(%{{.*}} : memref<5120xi16, #gpu.address_space<workgroup>>, %{{.*}} : memref<2560xi16, #gpu.address_space<workgroup>>)
// Q staged once (one chunk holds it); the first tile's K in flight.
// CHECK: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache =  cg, %{{.*}} : !llvm.ptr<3>, !llvm.ptr<1>, i32
// CHECK: nvvm.cp.async.commit.group
// CHECK-NEXT: nvvm.cp.async.wait.group 0
// CHECK: scf.if
// CHECK: nvvm.cp.async.shared.global
// CHECK: nvvm.cp.async.commit.group
// CHECK: scf.for {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK: gpu.barrier
// CHECK: nvvm.cp.async.shared.global
// CHECK: nvvm.cp.async.commit.group
// CHECK-NEXT: nvvm.cp.async.wait.group 1
// CHECK-NEXT: gpu.barrier
// CHECK: nvvm.ldmatrix {{.*}}layout = #nvvm.mma_layout<row>, num = 4 : i32
// CHECK-COUNT-16: nvvm.mma.sync
// The weights: SiLU of alpha s, the interval test unless the tile is full.
// CHECK: math.exp
// CHECK: arith.cmpi sle
// CHECK: gpu.barrier
// CHECK: scf.if
// CHECK: nvvm.cp.async.shared.global
// CHECK: nvvm.cp.async.commit.group
// CHECK-NEXT: nvvm.cp.async.wait.group 1
// CHECK-NEXT: gpu.barrier
// CHECK: nvvm.ldmatrix {{.*}}layout = #nvvm.mma_layout<col>, num = 2 : i32
// CHECK-COUNT-12: nvvm.mma.sync
// CHECK: scf.yield
// CHECK: nvvm.cp.async.wait.group 0
// CHECK-COUNT-12: memref.store %{{.*}}, %{{.*}} : memref<?x48xf32>
// CHECK: gpu.terminator
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

// -----
// Heads of 6 (not a multiple of 8): no copies; the kernel reads the fp32
// buffers and rounds to bf16 as it stages (round to nearest even, NaN
// kept) into the same ring (no copy groups), then the same products.
// CHECK-LABEL: func.func @mtgr_forward
// CHECK-NOT: bf16
// CHECK: gpu.launch
// CHECK-SAME: function(@mtgr_forward__hstu_attention)
// CHECK-SAME: workgroup(%[[RING:.*]] : memref<3072xi16, #gpu.address_space<workgroup>>, %[[Q:.*]] : memref<1536xi16, #gpu.address_space<workgroup>>)
// CHECK-NOT: cp.async
// CHECK: arith.cmpf uno
// CHECK: memref.store %{{.*}}, %[[Q]]
// CHECK: memref.store %{{.*}}, %[[RING]]
// CHECK: nvvm.mma.sync
// CHECK: gpu.terminator
func.func @mtgr_forward(%q: memref<?x12xf32>, %off: memref<?xindex>, %m: memref<?x3x2xi32>,
                        %o: memref<?xindex>, %s: memref<?x4xindex>, %g: memref<?xindex>, %t: memref<?xi64>, %p: memref<?xindex>,
                        %bs: memref<?xindex>, %ts: memref<?xindex>, %tl: memref<?xi32>, %w: memref<2xi64>,
                        %out: memref<?x12xf32>) attributes {mtgr.abi = []} {
  %j = builtin.unrealized_conversion_cast %q, %off : memref<?x12xf32>, memref<?xindex> to !mtgr.jagged<12xf32>
  %mask = builtin.unrealized_conversion_cast %m, %off : memref<?x3x2xi32>, memref<?xindex> to !mtgr.jagged<3x2xi32>
  %l = builtin.unrealized_conversion_cast %o, %s, %g, %t, %p : memref<?xindex>, memref<?x4xindex>, memref<?xindex>, memref<?xi64>, memref<?xindex> to !mtgr.layout
  %tiles = builtin.unrealized_conversion_cast %bs, %ts, %tl, %w : memref<?xindex>, memref<?xindex>, memref<?xi32>, memref<2xi64> to !mtgr.tile_list<64, 64>
  %a = mtgr.hstu_attention %j, %j, %j, %mask, %l tiles(%tiles : !mtgr.tile_list<64, 64>) {heads = 2 : i64, alpha = 0.5 : f64, n_norm = #mtgr<n_norm total>}
      : !mtgr.jagged<12xf32>, !mtgr.jagged<12xf32>, !mtgr.jagged<12xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<12xf32>
  %b:2 = builtin.unrealized_conversion_cast %a : !mtgr.jagged<12xf32> to memref<?x12xf32>, memref<?xindex>
  memref.copy %b#0, %out : memref<?x12xf32> to memref<?x12xf32>
  return
}

// -----
// Failure: tiles the kernel cannot take (the SIMT forward's 8 x 16).
func.func @mtgr_forward(%q: memref<?x48xf32>, %off: memref<?xindex>, %m: memref<?x3x2xi32>,
                        %o: memref<?xindex>, %s: memref<?x4xindex>, %g: memref<?xindex>, %t: memref<?xi64>, %p: memref<?xindex>,
                        %bs: memref<?xindex>, %ts: memref<?xindex>, %tl: memref<?xi32>, %w: memref<2xi64>,
                        %out: memref<?x48xf32>) attributes {mtgr.abi = []} {
  %j = builtin.unrealized_conversion_cast %q, %off : memref<?x48xf32>, memref<?xindex> to !mtgr.jagged<48xf32>
  %mask = builtin.unrealized_conversion_cast %m, %off : memref<?x3x2xi32>, memref<?xindex> to !mtgr.jagged<3x2xi32>
  %l = builtin.unrealized_conversion_cast %o, %s, %g, %t, %p : memref<?xindex>, memref<?x4xindex>, memref<?xindex>, memref<?xi64>, memref<?xindex> to !mtgr.layout
  %tiles = builtin.unrealized_conversion_cast %bs, %ts, %tl, %w : memref<?xindex>, memref<?xindex>, memref<?xi32>, memref<2xi64> to !mtgr.tile_list<8, 16>
  // expected-error @+2 {{attention on tensor cores: the tile list's 8 x 16 tiles are not row blocks and column tiles of 16 .. 64, multiples of 16 (mtgr-plan-attention row-block=64 col-tile=64)}}
  // expected-error @+1 {{failed to legalize operation 'mtgr.hstu_attention'}}
  %a = mtgr.hstu_attention %j, %j, %j, %mask, %l tiles(%tiles : !mtgr.tile_list<8, 16>) {heads = 2 : i64, alpha = 0.5 : f64, n_norm = #mtgr<n_norm total>}
      : !mtgr.jagged<48xf32>, !mtgr.jagged<48xf32>, !mtgr.jagged<48xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<48xf32>
  %b:2 = builtin.unrealized_conversion_cast %a : !mtgr.jagged<48xf32> to memref<?x48xf32>, memref<?xindex>
  memref.copy %b#0, %out : memref<?x48xf32> to memref<?x48xf32>
  return
}

// -----
// The backward (n_norm visible): bf16 copies of Q, K, V and dO; dQ over
// the forward list (S and dP = dO.V recomputed: 16 + 16 mma.sync, then
// dQ += dS K: 12); the transposed list built on the host (a counting sort
// of the forward list's entries by column tile); dV over it (S^T: 16,
// dV += A dO: 12) and dK (S^T and dP^T: 32, dK += dS Q: 12). With keys
// outer, the tile's query rows are staged per tile: the mask as bits over
// the block's 64 keys (2 words a row) and 1 / n_norm per row.
// CHECK-LABEL: func.func @mtgr_train_step
// CHECK-COUNT-4: arith.bitcast %{{.*}} : i16 to bf16
// CHECK: gpu.launch
// CHECK-SAME: function(@mtgr_train_step__hstu_attention_backward_4)
// CHECK-COUNT-44: nvvm.mma.sync
// CHECK: gpu.terminator
// CHECK: memref.store %{{.*}} : memref<?xi32>
// CHECK: gpu.launch
// CHECK-SAME: function(@mtgr_train_step__hstu_attention_backward_5)
// CHECK-SAME: memref<64x2xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<64xf32, #gpu.address_space<workgroup>>)
// CHECK-COUNT-28: nvvm.mma.sync
// CHECK: gpu.terminator
// CHECK: gpu.launch
// CHECK-SAME: function(@mtgr_train_step__hstu_attention_backward_6)
// CHECK-COUNT-44: nvvm.mma.sync
// CHECK: gpu.terminator
func.func @mtgr_train_step(%q: memref<?x48xf32>, %off: memref<?xindex>, %m: memref<?x3x2xi32>,
                           %o: memref<?xindex>, %s: memref<?x4xindex>, %g: memref<?xindex>, %t: memref<?xi64>, %p: memref<?xindex>,
                           %bs: memref<?xindex>, %ts: memref<?xindex>, %tl: memref<?xi32>, %w: memref<2xi64>,
                           %out: memref<?x48xf32>) attributes {mtgr.abi = []} {
  %j = builtin.unrealized_conversion_cast %q, %off : memref<?x48xf32>, memref<?xindex> to !mtgr.jagged<48xf32>
  %mask = builtin.unrealized_conversion_cast %m, %off : memref<?x3x2xi32>, memref<?xindex> to !mtgr.jagged<3x2xi32>
  %l = builtin.unrealized_conversion_cast %o, %s, %g, %t, %p : memref<?xindex>, memref<?x4xindex>, memref<?xindex>, memref<?xi64>, memref<?xindex> to !mtgr.layout
  %tiles = builtin.unrealized_conversion_cast %bs, %ts, %tl, %w : memref<?xindex>, memref<?xindex>, memref<?xi32>, memref<2xi64> to !mtgr.tile_list<64, 64>
  %dq, %dk, %dv = mtgr.hstu_attention_backward %j, %j, %j, %mask, %l, %j tiles(%tiles : !mtgr.tile_list<64, 64>)
      {heads = 2 : i64, alpha = 0.5 : f64, n_norm = #mtgr<n_norm visible>}
      : !mtgr.jagged<48xf32>, !mtgr.jagged<48xf32>, !mtgr.jagged<48xf32>, !mtgr.jagged<3x2xi32>, !mtgr.jagged<48xf32>
        -> !mtgr.jagged<48xf32>, !mtgr.jagged<48xf32>, !mtgr.jagged<48xf32>
  %b:2 = builtin.unrealized_conversion_cast %dk : !mtgr.jagged<48xf32> to memref<?x48xf32>, memref<?xindex>
  memref.copy %b#0, %out : memref<?x48xf32> to memref<?x48xf32>
  return
}
