// RUN: mtgr-opt %s --mtgr-lower-to-loops | FileCheck %s

// Norms family (codegen/cpu/LowerNorm.cpp): token rows to the threads
// (blocks of 4 rows per part), per row the mean, then the biased variance
// about it, in vectors of the target's lanes (8 by default; here the row's
// 8 values are one vector), 1/sqrt(var + eps), then gamma and beta of the
// row's token group (the layout's group of the row) around the normalised
// value. Three passes over the row, no buffer of statistics.

// CHECK-LABEL: func.func @mtgr_forward
// CHECK-SAME: (%[[X:[^:]*]]: memref<?x8xf32>
// CHECK-SAME: %[[GROUP:[^:]*]]: memref<?xindex>, %{{[^:]*}}: memref<?xi64>, %{{[^:]*}}: memref<?xindex>, %[[G:[^:]*]]: memref<4x8xf32>, %[[B:[^:]*]]: memref<4x8xf32>
// CHECK: %[[Y:.*]] = memref.alloc(%{{.*}}) : memref<?x8xf32>
// CHECK: scf.parallel
// CHECK: scf.for
// CHECK: scf.for %[[R:.*]] = {{.*}} {
// CHECK:   %[[SUM:.*]] = scf.for {{.*}} iter_args({{.*}}) -> (vector<8xf32>)
// CHECK:   %[[S:.*]] = vector.reduction <add>, %[[SUM]]
// CHECK:   %[[MEAN:.*]] = arith.divf %[[S]]
// CHECK:   %[[SQ:.*]] = scf.for {{.*}} iter_args({{.*}}) -> (vector<8xf32>)
// CHECK:     arith.subf
// CHECK:   %[[SQS:.*]] = vector.reduction <add>, %[[SQ]]
// CHECK:   %[[VAR:.*]] = arith.divf %[[SQS]]
// CHECK:   arith.addf %[[VAR]]
// CHECK:   math.sqrt
// CHECK:   %[[ROWG:.*]] = memref.load %[[GROUP]][%[[R]]]
// CHECK:   scf.for
// CHECK:     vector.load %[[G]][%[[ROWG]],
// CHECK:     vector.load %[[B]][%[[ROWG]],
// CHECK:     vector.store %{{.*}}, %[[Y]][%[[R]],
// CHECK: {mtgr.parallel = "each"}
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
