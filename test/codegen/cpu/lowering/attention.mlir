// RUN: mtgr-opt %s --mtgr-lower-to-loops | FileCheck %s
// RUN: mtgr-opt %s --mtgr-lower-to-loops="l1-bytes=8192" | FileCheck %s --check-prefix=SMALL-L1
// RUN: not mtgr-opt %s --mtgr-lower-to-loops="l1-bytes=100" 2>&1 | FileCheck %s --check-prefix=BAD-L1
// RUN: not mtgr-opt %s --mtgr-lower-to-loops="attention-sweep-bytes=0" 2>&1 | FileCheck %s --check-prefix=BAD-SWEEP
// RUN: not mtgr-opt %s --mtgr-lower-to-loops="vector-registers=2" 2>&1 | FileCheck %s --check-prefix=BAD-REGISTERS
// RUN: mtgr-opt %s --mtgr-lower-to-loops="l2-bytes=16384" | FileCheck %s --check-prefix=SMALL-L2
// RUN: not mtgr-opt %s --mtgr-lower-to-loops="l2-bytes=100" 2>&1 | FileCheck %s --check-prefix=BAD-L2

// Attention family (codegen/cpu/AttentionEmitter.h; LowerMasks.cpp,
// AttentionForward.cpp, LowerAttention.cpp): the mask becomes per-row
// column intervals [N, 3, 2], the tile list is built from it (count, then
// fill), and the attention runs in a kernel function of its own
// (`mtgr_attention_forward_<hash of its attributes>`, shared by every layer
// with the same shapes). Inside, the row blocks split into mtgr_threads()
// parts by cost; each part holds a row block's scores (8 rows x 16 columns
// here) and walks its listed tiles in groups (8 here: their weights fill a
// quarter of the L1), the scores of a tile kept as 8 vectors in registers:
// 16-lane vectors for a whole tile and 8-lane ones for a half tile, 4 rows
// for a sample's last block of at most 4 rows. Each tile's view (the mask's
// lanes per row, and the columns [first, end) any row sees) goes to the
// group's spans; after the group, P V walks the spans' columns with the
// block's outputs in registers across them: columns no row sees are skipped.

// An L1 of 8 KiB: groups of 2 tiles (16 x 32 floats of weights, 2 KiB).
// SMALL-L1: func.func private @mtgr_attention_forward_
// SMALL-L1: memref.alloc() : memref<16x32xf32>
// SMALL-L1: memref.alloc() : memref<2x3xindex>
// A long sample (its keys and values past half the L2) walks its row blocks
// in super blocks: with an L2 of 16 KiB, 8 blocks (each block's Q
// transposed, 16 x 8 floats, and its cursor in the tile list) once a
// sample's column tiles (16 x 2 x (8 + 8) floats each) pass 8 KiB; shorter
// samples one block at a time.
// SMALL-L2: func.func private @mtgr_attention_forward_
// SMALL-L2: memref.alloc() : memref<8x16x8xf32>
// SMALL-L2: memref.alloc() : memref<8xindex>
// SMALL-L2: %[[WIDE:.*]] = arith.cmpi ugt, %{{.*}}, %c8192 : index
// SMALL-L2: arith.select %[[WIDE]], %c8, %c1{{.*}} : index
// SMALL-L2: scf.for
// BAD-L2: mtgr-lower-to-loops: L2 of 100 bytes
// BAD-L1: mtgr-lower-to-loops: L1 of 100 bytes (at least 1024)
// BAD-SWEEP: mtgr-lower-to-loops: attention sweep of 0 bytes (at least 1)
// BAD-REGISTERS: mtgr-lower-to-loops: 2 vector registers (at least 4)

// CHECK-LABEL: func.func @mtgr_forward
// CHECK: %[[MASK:.*]] = memref.alloc(%{{.*}}) : memref<?x3x2xi32>
// CHECK: call @mtgr_attention_forward_[[HASH:[0-9A-F]+]](%{{.*}}, %{{.*}}, %{{.*}}, %[[MASK]],
// CHECK-SAME: {mtgr.kernel_call}
// CHECK: func.func private @mtgr_attention_forward_[[HASH]](
// CHECK-SAME: {mtgr.kernel}
// CHECK: call @mtgr_threads()
// CHECK: scf.parallel
// CHECK: memref.alloc() : memref<8x16xf32>
// CHECK: %[[WEIGHTS:.*]] = memref.alloc() : memref<16x128xf32>
// CHECK: %[[SPANS:.*]] = memref.alloc() : memref<8x3xindex>
// CHECK: %[[HALF:.*]]:10 = scf.if %{{.*}} -> (vector<8xi1>, {{.*}}, vector<8xi1>, index, index)
// CHECK: memref.store %[[HALF]]#8, %[[SPANS]][%{{.*}}, %{{.*}}]
// CHECK: memref.store %[[HALF]]#9, %[[SPANS]][%{{.*}}, %{{.*}}]
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK: vector.fma
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK: vector.fma
// CHECK: %[[WHOLE:.*]]:10 = scf.if %{{.*}} -> (vector<16xi1>, {{.*}}, vector<16xi1>, index, index)
// CHECK: memref.store %[[WHOLE]]#8, %[[SPANS]][%{{.*}}, %{{.*}}]
// CHECK: memref.store %[[WHOLE]]#9, %[[SPANS]][%{{.*}}, %{{.*}}]
// CHECK: scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: scf.for %[[S:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK: memref.load %[[SPANS]][%[[S]], %{{.*}}]
// CHECK: %[[FIRST:.*]] = memref.load %[[SPANS]][%[[S]], %{{.*}}]
// CHECK: %[[END:.*]] = memref.load %[[SPANS]][%[[S]], %{{.*}}]
// CHECK: scf.for %{{.*}} = %[[FIRST]] to %[[END]] step %{{.*}} iter_args(
// CHECK: memref.load %[[WEIGHTS]]
// CHECK: vector.fma
// CHECK: scf.for %[[S8:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK: memref.load %[[SPANS]][%[[S8]], %{{.*}}]
// CHECK: %[[FIRST8:.*]] = memref.load %[[SPANS]][%[[S8]], %{{.*}}]
// CHECK: %[[END8:.*]] = memref.load %[[SPANS]][%[[S8]], %{{.*}}]
// CHECK: scf.for %{{.*}} = %[[FIRST8]] to %[[END8]] step %{{.*}} iter_args(
// CHECK: {mtgr.parallel = "attention"}
func.func @mtgr_forward(%q: memref<?x16xf32>, %off: memref<?xindex>,
                        %lo: memref<?xindex>, %ls: memref<?x4xindex>, %lg: memref<?xindex>, %lt: memref<?xi64>, %lp: memref<?xindex>,
                        %out: memref<?x16xf32>) attributes {mtgr.abi = []} {
  %j = builtin.unrealized_conversion_cast %q, %off : memref<?x16xf32>, memref<?xindex> to !mtgr.jagged<16xf32>
  %l = builtin.unrealized_conversion_cast %lo, %ls, %lg, %lt, %lp : memref<?xindex>, memref<?x4xindex>, memref<?xindex>, memref<?xi64>, memref<?xindex> to !mtgr.layout
  %mask = mtgr.build_mask causal %l : !mtgr.jagged<3x2xi32>
  %t = mtgr.attention_tiles %mask, %l : !mtgr.jagged<3x2xi32> -> !mtgr.tile_list<8, 16>
  %a = mtgr.hstu_attention %j, %j, %j, %mask, %l tiles(%t : !mtgr.tile_list<8, 16>) {heads = 2 : i64, alpha = 1.0 : f64, n_norm = #mtgr<n_norm total>}
      : !mtgr.jagged<16xf32>, !mtgr.jagged<16xf32>, !mtgr.jagged<16xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<16xf32>
  %b:2 = builtin.unrealized_conversion_cast %a : !mtgr.jagged<16xf32> to memref<?x16xf32>, memref<?xindex>
  memref.copy %b#0, %out : memref<?x16xf32> to memref<?x16xf32>
  return
}
