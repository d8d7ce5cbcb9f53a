// RUN: mtgr-opt %s --mtgr-lower-to-loops | FileCheck %s

// Elementwise family (codegen/cpu/LowerElementwise.cpp), standalone (fused
// into the GEMMs' epilogues by mtgr-fuse-linear in the pipeline): each op a
// row loop over a column loop into a fresh buffer; silu as x / (1 + exp(-x)),
// mul and add element by element.

// CHECK-LABEL: func.func @mtgr_forward
// CHECK-SAME: (%[[A:.*]]: memref<?x8xf32>, %[[B:.*]]: memref<?x8xf32>, %{{.*}}: memref<?xindex>, %[[OUT:.*]]: memref<?x8xf32>)
// CHECK: %[[S:.*]] = memref.alloc(%{{.*}}) : memref<?x8xf32>
// CHECK: scf.for
// CHECK:   scf.for
// CHECK:     %[[X:.*]] = memref.load %[[A]]
// CHECK:     arith.negf %[[X]]
// CHECK:     math.exp
// CHECK:     arith.divf %[[X]]
// CHECK:     memref.store %{{.*}}, %[[S]]
// CHECK: %[[P:.*]] = memref.alloc(%{{.*}}) : memref<?x8xf32>
// CHECK: scf.for
// CHECK:   scf.for
// CHECK:     memref.load %[[S]]
// CHECK:     memref.load %[[B]]
// CHECK:     arith.mulf
// CHECK:     memref.store %{{.*}}, %[[P]]
// CHECK: %[[R:.*]] = memref.alloc(%{{.*}}) : memref<?x8xf32>
// CHECK: scf.for
// CHECK:   scf.for
// CHECK:     memref.load %[[P]]
// CHECK:     memref.load %[[A]]
// CHECK:     arith.addf
// CHECK:     memref.store %{{.*}}, %[[R]]
// CHECK: memref.copy %[[R]], %[[OUT]]
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
