// RUN: mtgr-opt %s --mtgr-lower-to-loops="gemm-rows=2 gemm-vectors=1 lanes=8" | FileCheck %s

// Linear family (codegen/cpu/LowerLinear.cpp, Gemm.h): y = x W^T + b as the
// packed GEMM. W^T is packed into NR-wide panels (here 2 panels of 8 columns
// x K = 8) by 8 x 8 squares of W transposed in registers (vector.shuffle
// stages), the row blocks split into mtgr_threads() parts (an scf.parallel
// marked "gemm"), and the micro-kernel keeps gemm-rows x gemm-vectors vectors
// of C in registers (2 x 1 vector<8xf32> here), one vector.fma per row and K
// step, then the bias epilogue; the second row of a tile is clamped and
// stored only when it exists (jagged row tails, no padding).

// CHECK-LABEL: func.func @mtgr_forward
// CHECK-SAME: (%[[X:.*]]: memref<?x8xf32>, %{{.*}}: memref<?xindex>, %[[W:.*]]: memref<16x8xf32>, %[[B:.*]]: memref<16xf32>, %[[OUT:.*]]: memref<?x16xf32>)
// CHECK: %[[Y:.*]] = memref.alloc(%{{.*}}) : memref<?x16xf32>
// CHECK: %[[PARTS:.*]] = call @mtgr_threads() : () -> i64
// CHECK: %[[PANELS:.*]] = memref.alloc() : memref<2x8x8xf32>
// CHECK: scf.for
// CHECK: scf.for
// CHECK-COUNT-8: vector.load %[[W]]
// CHECK: vector.shuffle
// CHECK: vector.store %{{.*}}, %[[PANELS]]
// CHECK-NOT: memref.load %[[W]]
// CHECK: scf.parallel
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for
// CHECK: %[[ACC:.*]]:2 = scf.for {{.*}} iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>)
// CHECK: vector.load %[[PANELS]]
// CHECK: memref.load %[[X]]
// CHECK: vector.broadcast
// CHECK: vector.fma
// CHECK: vector.fma
// CHECK: scf.yield
// CHECK: vector.load %[[B]]
// CHECK: arith.addf %[[ACC]]#0
// CHECK: vector.store %{{.*}}, %[[Y]]
// CHECK: scf.if
// CHECK: arith.addf %[[ACC]]#1
// CHECK: vector.store %{{.*}}, %[[Y]]
// CHECK: {mtgr.parallel = "gemm"}
// CHECK: memref.copy %[[Y]], %[[OUT]]
func.func @mtgr_forward(%x: memref<?x8xf32>, %off: memref<?xindex>, %w: memref<16x8xf32>, %b: memref<16xf32>, %out: memref<?x16xf32>)
    attributes {mtgr.abi = [#mtgr.abi<input "x">, #mtgr.abi<offsets "x">, #mtgr.abi<param "w">, #mtgr.abi<param "b">, #mtgr.abi<output "y">]} {
  %j = builtin.unrealized_conversion_cast %x, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %wt = builtin.unrealized_conversion_cast %w : memref<16x8xf32> to tensor<16x8xf32>
  %bt = builtin.unrealized_conversion_cast %b : memref<16xf32> to tensor<16xf32>
  %y = mtgr.linear %j, %wt, %bt : !mtgr.jagged<8xf32>, tensor<16x8xf32>, tensor<16xf32> -> !mtgr.jagged<16xf32>
  %c:2 = builtin.unrealized_conversion_cast %y : !mtgr.jagged<16xf32> to memref<?x16xf32>, memref<?xindex>
  memref.copy %c#0, %out : memref<?x16xf32> to memref<?x16xf32>
  return
}
