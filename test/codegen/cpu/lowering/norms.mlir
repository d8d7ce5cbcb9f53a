// RUN: mtgr-opt %s --mtgr-lower-to-loops | FileCheck %s

// Norms family (codegen/cpu/LowerNorm.cpp): per token row, the mean, then
// the biased variance about it, 1/sqrt(var + eps), then gamma and beta of the
// row's token group (the layout's group of the row) around the normalised
// value. Three passes over the row, no buffer of statistics.

// CHECK-LABEL: func.func @mtgr_forward
// CHECK-SAME: (%[[X:[^:]*]]: memref<?x8xf32>
// CHECK-SAME: %[[GROUP:[^:]*]]: memref<?xindex>, %{{[^:]*}}: memref<?xi64>, %{{[^:]*}}: memref<?xindex>, %[[G:[^:]*]]: memref<4x8xf32>, %[[B:[^:]*]]: memref<4x8xf32>
// CHECK: %[[Y:.*]] = memref.alloc(%{{.*}}) : memref<?x8xf32>
// CHECK: scf.for %[[R:.*]] = {{.*}} {
// CHECK:   %[[SUM:.*]] = scf.for {{.*}} iter_args({{.*}}) -> (f32)
// CHECK:   %[[MEAN:.*]] = arith.divf %[[SUM]]
// CHECK:   %[[SQ:.*]] = scf.for {{.*}} iter_args({{.*}}) -> (f32)
// CHECK:     arith.subf %{{.*}}, %[[MEAN]]
// CHECK:   %[[VAR:.*]] = arith.divf %[[SQ]]
// CHECK:   arith.addf %[[VAR]]
// CHECK:   math.sqrt
// CHECK:   %[[ROWG:.*]] = memref.load %[[GROUP]][%[[R]]]
// CHECK:   scf.for
// CHECK:     memref.load %[[G]][%[[ROWG]],
// CHECK:     memref.load %[[B]][%[[ROWG]],
// CHECK:     memref.store %{{.*}}, %[[Y]][%[[R]],
func.func @mtgr_forward(%x: memref<?x8xf32>, %off: memref<?xindex>,
                        %lo: memref<?xindex>, %ls: memref<?x4xindex>, %lg: memref<?xindex>, %lt: memref<?xi64>, %lp: memref<?xindex>,
                        %g: memref<4x8xf32>, %b: memref<4x8xf32>, %out: memref<?x8xf32>)
    attributes {mtgr.abi = []} {
  %j = builtin.unrealized_conversion_cast %x, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %l = builtin.unrealized_conversion_cast %lo, %ls, %lg, %lt, %lp : memref<?xindex>, memref<?x4xindex>, memref<?xindex>, memref<?xi64>, memref<?xindex> to !mtgr.layout
  %gt = builtin.unrealized_conversion_cast %g : memref<4x8xf32> to tensor<4x8xf32>
  %bt = builtin.unrealized_conversion_cast %b : memref<4x8xf32> to tensor<4x8xf32>
  %y = mtgr.group_layer_norm %j, %l, %gt, %bt {eps = 1.000000e-05 : f64} : !mtgr.jagged<8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
  %c:2 = builtin.unrealized_conversion_cast %y : !mtgr.jagged<8xf32> to memref<?x8xf32>, memref<?xindex>
  memref.copy %c#0, %out : memref<?x8xf32> to memref<?x8xf32>
  return
}
