// RUN: mtgr-opt %s --mtgr-lower-to-loops | FileCheck %s

// Loss family (codegen/cpu/LowerLoss.cpp): the numerically stable BCE with
// logits, max(l, 0) - l y + log1p(exp(-|l|)), summed over every candidate
// row in one loop, weighted by the task's weight and divided by the fixed
// normaliser C_expected (DESIGN 1.6), into a scalar buffer.

// CHECK-LABEL: func.func @mtgr_train_step
// CHECK-SAME: (%[[L:.*]]: memref<?x1xf32>, %{{.*}}: memref<?xindex>, %[[LAB:.*]]: memref<?x1xf32>, %[[OUT:.*]]: memref<f32>)
// CHECK: %[[LOSS:.*]] = memref.alloc() : memref<f32>
// CHECK: %[[SUM:.*]] = scf.for {{.*}} iter_args({{.*}}) -> (f32)
// CHECK:   memref.load %[[L]]
// CHECK:   memref.load %[[LAB]]
// CHECK:   arith.maximumf
// CHECK:   math.absf
// CHECK:   math.exp
// CHECK:   math.log1p
// CHECK: %[[WEIGHT:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: arith.mulf %[[WEIGHT]], %[[SUM]]
// CHECK: %[[C_EXPECTED:.*]] = arith.constant 8.000000e+00 : f32
// CHECK: %[[MEAN:.*]] = arith.divf %{{.*}}, %[[C_EXPECTED]]
// CHECK: memref.store %[[MEAN]], %[[LOSS]][]
// CHECK: memref.copy %[[LOSS]], %[[OUT]]
func.func @mtgr_train_step(%l: memref<?x1xf32>, %off: memref<?xindex>, %y: memref<?x1xf32>, %out: memref<f32>)
    attributes {mtgr.abi = []} {
  %lj = builtin.unrealized_conversion_cast %l, %off : memref<?x1xf32>, memref<?xindex> to !mtgr.jagged<1xf32>
  %yj = builtin.unrealized_conversion_cast %y, %off : memref<?x1xf32>, memref<?xindex> to !mtgr.jagged<1xf32>
  %loss = mtgr.bce_loss (%lj) labels(%yj) {task_weights = [1.0], normalizer = 8.0 : f64} : (!mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>) -> tensor<f32>
  %c = builtin.unrealized_conversion_cast %loss : tensor<f32> to memref<f32>
  memref.copy %c, %out : memref<f32> to memref<f32>
  return
}
