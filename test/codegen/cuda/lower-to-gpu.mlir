// RUN: mtgr-opt %s --mtgr-lower-to-gpu -split-input-file -verify-diagnostics | FileCheck %s

// The CUDA back end's lowering (codegen/cuda, issue 24): so far the
// elementwise family, one thread per element. Each op allocates its result
// on the host side, computes the grid there from the buffer's rows
// (ceil(rows * 8 / 256) blocks of 256 threads: no device read-back), and
// launches a kernel whose threads past the end do nothing. The math is the
// CPU lowering's: silu as x / (1 + exp(-x)).

// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK-LABEL: func.func @mtgr_forward
// CHECK-SAME: (%[[A:.*]]: memref<?x8xf32>, %[[B:.*]]: memref<?x8xf32>, %{{.*}}: memref<?xindex>, %[[OUT:.*]]: memref<?x8xf32>)
// CHECK: %[[ROWS:.*]] = memref.dim %[[A]], %{{.*}} : memref<?x8xf32>
// CHECK: %[[S:.*]] = memref.alloc(%[[ROWS]]) : memref<?x8xf32>
// CHECK: %[[N0:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// CHECK: %[[N:.*]] = arith.muli %[[N0]], %[[C8:.*]] : index
// CHECK: %[[GRID:.*]] = arith.ceildivui %[[N]], %[[C256:.*]] : index
// CHECK: gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[GRID]], %{{.*}} = %[[ONE:.*]], %{{.*}} = %[[ONE]]) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C256]], %{{.*}} = %[[ONE]], %{{.*}} = %[[ONE]])
// CHECK:   %[[BASE:.*]] = arith.muli %[[BX]], %[[C256]] : index
// CHECK:   %[[I:.*]] = arith.addi %[[BASE]], %[[TX]] : index
// CHECK:   %[[IN:.*]] = arith.cmpi ult, %[[I]], %[[N]] : index
// CHECK:   scf.if %[[IN]] {
// CHECK:     %[[COL:.*]] = arith.remui %[[I]], %[[C8]] : index
// CHECK:     %[[ROW:.*]] = arith.divui %[[I]], %[[C8]] : index
// CHECK:     %[[X:.*]] = memref.load %[[A]][%[[ROW]], %[[COL]]]
// CHECK:     arith.negf %[[X]]
// CHECK:     math.exp
// CHECK:     arith.divf %[[X]]
// CHECK:     memref.store %{{.*}}, %[[S]][%[[ROW]], %[[COL]]]
// CHECK:   gpu.terminator
// CHECK: %[[P:.*]] = memref.alloc(%{{.*}}) : memref<?x8xf32>
// CHECK: gpu.launch
// CHECK:   memref.load %[[S]]
// CHECK:   memref.load %[[B]]
// CHECK:   arith.mulf
// CHECK:   memref.store %{{.*}}, %[[P]]
// CHECK: %[[R:.*]] = memref.alloc(%{{.*}}) : memref<?x8xf32>
// CHECK: gpu.launch
// CHECK:   memref.load %[[P]]
// CHECK:   memref.load %[[A]]
// CHECK:   arith.addf
// CHECK:   memref.store %{{.*}}, %[[R]]
// CHECK: memref.copy %[[R]], %[[OUT]]
// CHECK-NOT: mtgr.
func.func @mtgr_forward(%a: memref<?x8xf32>, %b: memref<?x8xf32>, %off: memref<?xindex>, %out: memref<?x8xf32>)
    attributes {mtgr.abi = []} {
  %aj = builtin.unrealized_conversion_cast %a, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %bj = builtin.unrealized_conversion_cast %b, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %s = mtgr.silu %aj : !mtgr.jagged<8xf32>
  %m = mtgr.mul %s, %bj : !mtgr.jagged<8xf32>
  %r = mtgr.add %m, %aj : !mtgr.jagged<8xf32>
  %c:2 = builtin.unrealized_conversion_cast %r : !mtgr.jagged<8xf32> to memref<?x8xf32>, memref<?xindex>
  memref.copy %c#0, %out : memref<?x8xf32> to memref<?x8xf32>
  return
}

// -----
// A whole static tensor (a parameter gradient's sum): its element count is a
// constant, the indices split over both dimensions; silu's gradient is
// RowMath's siluDerivative, s (1 + x (1 - s)).
// CHECK-LABEL: func.func @mtgr_train_step
// CHECK: %[[D:.*]] = memref.alloc() : memref<3x5xf32>
// CHECK: %[[N:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// CHECK: gpu.launch
// CHECK:   %[[COL:.*]] = arith.remui %{{.*}}, %[[C5:.*]] : index
// CHECK:   %[[ROW:.*]] = arith.divui %{{.*}}, %[[C5]] : index
// CHECK:   %[[X:.*]] = memref.load %{{.*}}[%[[ROW]], %[[COL]]] : memref<3x5xf32>
// CHECK:   math.exp
// CHECK:   arith.subf
// CHECK:   arith.mulf %[[X]]
// CHECK:   memref.store %{{.*}}, %[[D]][%[[ROW]], %[[COL]]]
func.func @mtgr_train_step(%x: memref<3x5xf32>, %dy: memref<3x5xf32>, %out: memref<3x5xf32>)
    attributes {mtgr.abi = []} {
  %xt = builtin.unrealized_conversion_cast %x : memref<3x5xf32> to tensor<3x5xf32>
  %dt = builtin.unrealized_conversion_cast %dy : memref<3x5xf32> to tensor<3x5xf32>
  %g = mtgr.silu_backward %xt, %dt : tensor<3x5xf32>
  %c = builtin.unrealized_conversion_cast %g : tensor<3x5xf32> to memref<3x5xf32>
  memref.copy %c, %out : memref<3x5xf32> to memref<3x5xf32>
  return
}

// -----
// Inference dropout is the identity, as on the CPU: no kernel.
// CHECK-LABEL: func.func @mtgr_forward
// CHECK-NOT: gpu.launch
// CHECK: memref.copy %arg0, %arg2
func.func @mtgr_forward(%a: memref<?x8xf32>, %off: memref<?xindex>, %out: memref<?x8xf32>)
    attributes {mtgr.abi = []} {
  %aj = builtin.unrealized_conversion_cast %a, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %d = mtgr.dropout %aj {rate = 1.000000e-01 : f64, stream = 1 : i64} : !mtgr.jagged<8xf32>
  %c:2 = builtin.unrealized_conversion_cast %d : !mtgr.jagged<8xf32> to memref<?x8xf32>, memref<?xindex>
  memref.copy %c#0, %out : memref<?x8xf32> to memref<?x8xf32>
  return
}

// -----
// An op of a family without GPU kernels yet is refused by name, before
// anything is rewritten: the pass never leaves an op behind silently.
func.func @mtgr_forward(%x: memref<?x4xf32>, %off: memref<?xindex>, %w: memref<2x4xf32>, %b: memref<2xf32>, %out: memref<?x2xf32>)
    attributes {mtgr.abi = []} {
  %xj = builtin.unrealized_conversion_cast %x, %off : memref<?x4xf32>, memref<?xindex> to !mtgr.jagged<4xf32>
  %wt = builtin.unrealized_conversion_cast %w : memref<2x4xf32> to tensor<2x4xf32>
  %bt = builtin.unrealized_conversion_cast %b : memref<2xf32> to tensor<2xf32>
  // expected-error @+1 {{'mtgr.linear' has no GPU kernel yet (mtgr-lower-to-gpu lowers the elementwise family so far; issue 24)}}
  %y = mtgr.linear %xj, %wt, %bt : !mtgr.jagged<4xf32>, tensor<2x4xf32>, tensor<2xf32> -> !mtgr.jagged<2xf32>
  %c:2 = builtin.unrealized_conversion_cast %y : !mtgr.jagged<2xf32> to memref<?x2xf32>, memref<?xindex>
  memref.copy %c#0, %out : memref<?x2xf32> to memref<?x2xf32>
  return
}
