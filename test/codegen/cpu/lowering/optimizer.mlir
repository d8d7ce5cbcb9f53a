// RUN: mtgr-opt %s --mtgr-lower-to-loops | FileCheck %s

// Optimizer family (codegen/cpu/LowerOptimizer.cpp): Adam on a parameter in
// place, in f64 per element. The bias corrections 1 - beta^(step + 1) come
// from the dropout counter's step (training.rng[1]) once per op; then per
// element m and v are updated and stored, and the parameter moves by
// lr * m_hat / (sqrt(v_hat) + eps). The arguments are found through
// `mtgr.bound` (param 1, m 2, v 3, rng 4).

// CHECK-LABEL: func.func @mtgr_apply_update
// CHECK-SAME: (%[[G:.*]]: memref<4xf32>, %[[W:.*]]: memref<4xf32>, %[[M:.*]]: memref<4xf32>, %[[V:.*]]: memref<4xf32>, %[[RNG:.*]]: memref<3xi64>)
// CHECK: memref.load %[[RNG]]
// CHECK: math.exp %{{.*}} : f64
// CHECK: memref.load %[[RNG]]
// CHECK: math.exp %{{.*}} : f64
// The elements to the threads in blocks of 4 (CpuParallelLoops).
// CHECK: scf.parallel
// CHECK: scf.for
// CHECK: scf.for %[[I:.*]] =
// CHECK:   memref.load %[[W]][%[[I]]]
// CHECK:   memref.load %[[G]][%[[I]]]
// CHECK:   memref.load %[[M]][%[[I]]]
// CHECK:   memref.load %[[V]][%[[I]]]
// CHECK:   memref.store %{{.*}}, %[[M]][%[[I]]]
// CHECK:   memref.store %{{.*}}, %[[V]][%[[I]]]
// CHECK:   math.sqrt %{{.*}} : f64
// CHECK:   %[[NEW:.*]] = arith.truncf %{{.*}} : f64 to f32
// CHECK:   memref.store %[[NEW]], %[[W]][%[[I]]]
// CHECK-NOT: = mtgr.
// CHECK-NOT: {{^ +mtgr\.}}
mtgr.parameter @w : tensor<4xf32> init(zeros)
func.func @mtgr_apply_update(%g: memref<4xf32>, %w: memref<4xf32>, %m: memref<4xf32>, %v: memref<4xf32>, %rng: memref<3xi64>)
    attributes {mtgr.abi = []} {
  %gt = builtin.unrealized_conversion_cast %g : memref<4xf32> to tensor<4xf32>
  mtgr.adam_update @w, %gt {beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64, lr = 1.0e-03 : f64,
      mtgr.bound = {m = 2 : i64, param = 1 : i64, rng = 4 : i64, v = 3 : i64}, weight_decay = 0.0 : f64} : tensor<4xf32>
  return
}
