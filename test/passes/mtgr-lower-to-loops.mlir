// RUN: mtgr-opt %s -split-input-file --mtgr-lower-to-loops -verify-diagnostics | FileCheck %s

// Success: a bound entry point's mtgr ops become loops on its buffers; the
// casts from mtgr-bind-entry-points fold away and the model-level
// declarations go.
// CHECK-NOT: mtgr.parameter
// CHECK-LABEL: func.func @mtgr_forward
// CHECK-SAME: (%[[X:.*]]: memref<?x4xf32>, %[[OFF:.*]]: memref<?xindex>, %[[OUT:.*]]: memref<?x4xf32>)
// CHECK-NOT: unrealized_conversion_cast
// CHECK-NOT: = mtgr.
// CHECK: %[[Y:.*]] = memref.alloc
// The rows go to the threads (CpuParallelLoops): whole blocks of 4 rows
// per part, at most one part per thread, one copy of the body.
// CHECK: %[[BLOCKS:.*]] = arith.ceildivui %{{.*}}, %c4
// CHECK: %[[T:.*]] = call @mtgr_threads()
// CHECK: %[[PARTS:.*]] = arith.minsi
// CHECK: scf.parallel ({{.*}}) = ({{.*}}) to (%[[PARTS]])
// CHECK: math.exp
// CHECK: {mtgr.parallel = "each"}
// CHECK-NOT: math.exp
// CHECK: memref.copy %[[Y]], %[[OUT]]
mtgr.parameter @w : tensor<4x4xf32> init(xavier_uniform)
func.func @mtgr_forward(%x: memref<?x4xf32>, %off: memref<?xindex>, %out: memref<?x4xf32>)
    attributes {mtgr.abi = [#mtgr.abi<input "x">, #mtgr.abi<offsets "x">, #mtgr.abi<output "y">]} {
  %j = builtin.unrealized_conversion_cast %x, %off : memref<?x4xf32>, memref<?xindex> to !mtgr.jagged<4xf32>
  %y = mtgr.silu %j : !mtgr.jagged<4xf32>
  %b:2 = builtin.unrealized_conversion_cast %y : !mtgr.jagged<4xf32> to memref<?x4xf32>, memref<?xindex>
  memref.copy %b#0, %out : memref<?x4xf32> to memref<?x4xf32>
  return
}

// -----
// Inapplicable: nothing bound (no mtgr.abi), nothing changes.
// CHECK-LABEL: func.func @helper
// CHECK-NEXT: mtgr.silu
func.func @helper(%x: !mtgr.jagged<4xf32>) -> !mtgr.jagged<4xf32> {
  %y = mtgr.silu %x : !mtgr.jagged<4xf32>
  return %y : !mtgr.jagged<4xf32>
}

// -----
// Failure: attention needs its tile list (mtgr-plan-attention).
func.func @mtgr_forward(%q: memref<?x4xf32>, %off: memref<?xindex>, %m: memref<?x3x2xi32>,
                        %o: memref<?xindex>, %s: memref<?x4xindex>, %g: memref<?xindex>, %t: memref<?xi64>, %p: memref<?xindex>,
                        %out: memref<?x4xf32>) attributes {mtgr.abi = []} {
  %j = builtin.unrealized_conversion_cast %q, %off : memref<?x4xf32>, memref<?xindex> to !mtgr.jagged<4xf32>
  %mask = builtin.unrealized_conversion_cast %m, %off : memref<?x3x2xi32>, memref<?xindex> to !mtgr.jagged<3x2xi32>
  %l = builtin.unrealized_conversion_cast %o, %s, %g, %t, %p : memref<?xindex>, memref<?x4xindex>, memref<?xindex>, memref<?xi64>, memref<?xindex> to !mtgr.layout
  // expected-error @+2 {{attention without a tile list: run mtgr-plan-attention first}}
  // expected-error @+1 {{failed to legalize operation 'mtgr.hstu_attention'}}
  %a = mtgr.hstu_attention %j, %j, %j, %mask, %l {heads = 1 : i64, alpha = 1.0 : f64, n_norm = #mtgr<n_norm total>}
      : !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<4xf32>
  %b:2 = builtin.unrealized_conversion_cast %a : !mtgr.jagged<4xf32> to memref<?x4xf32>, memref<?xindex>
  memref.copy %b#0, %out : memref<?x4xf32> to memref<?x4xf32>
  return
}

// -----
// Failure: a model-level op is left (mtgr-decompose-layers first).
func.func @mtgr_forward(%x: memref<?x4xf32>, %off: memref<?xindex>, %w: memref<2x4xf32>, %b: memref<2xf32>, %out: memref<?x2xf32>) attributes {mtgr.abi = []} {
  %j = builtin.unrealized_conversion_cast %x, %off : memref<?x4xf32>, memref<?xindex> to !mtgr.jagged<4xf32>
  %wt = builtin.unrealized_conversion_cast %w : memref<2x4xf32> to tensor<2x4xf32>
  %bt = builtin.unrealized_conversion_cast %b : memref<2xf32> to tensor<2xf32>
  // expected-error @+1 {{model-level op: run mtgr-decompose-layers before lowering}}
  %y = mtgr.mlp %j weights(%wt) biases(%bt) : (!mtgr.jagged<4xf32>, tensor<2x4xf32>, tensor<2xf32>) -> !mtgr.jagged<2xf32>
  %c:2 = builtin.unrealized_conversion_cast %y : !mtgr.jagged<2xf32> to memref<?x2xf32>, memref<?xindex>
  memref.copy %c#0, %out : memref<?x2xf32> to memref<?x2xf32>
  return
}
