// RUN: mtgr-opt %s -split-input-file --mtgr-lower-to-loops | FileCheck %s

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

// -----
// concat_silu_backward (mtgr-cpu-fuse-silu-backward's): per row, each
// piece's columns in turn, silu'(x) at the piece's offset into x's
// columns times the piece's own column, stored at the same offset of dx.
// CHECK-LABEL: func.func @mtgr_forward
// CHECK-SAME: (%[[X:.*]]: memref<?x8xf32>, %[[U:.*]]: memref<?x6xf32>, %[[V:.*]]: memref<?x2xf32>, %{{.*}}: memref<?xindex>, %[[OUT:.*]]: memref<?x8xf32>)
// CHECK: %[[DX:.*]] = memref.alloc(%{{.*}}) : memref<?x8xf32>
// CHECK: scf.parallel
// CHECK: scf.for
// CHECK: scf.for %[[R:.*]] =
// CHECK:   scf.for %[[C:.*]] = %{{.*}} to %c6
// CHECK:     %[[COL0:.*]] = arith.addi %[[C]], %c0
// CHECK:     %[[XV:.*]] = memref.load %[[X]][%[[R]], %[[COL0]]]
// CHECK:     %[[G:.*]] = memref.load %[[U]][%[[R]], %[[C]]]
// CHECK:     arith.negf %[[XV]]
// CHECK:     math.exp
// CHECK:     %[[P:.*]] = arith.mulf %[[G]]
// CHECK:     memref.store %[[P]], %[[DX]][%[[R]], %[[COL0]]]
// CHECK:   scf.for %[[C2:.*]] = %{{.*}} to %c2
// CHECK:     %[[COL:.*]] = arith.addi %[[C2]], %c6
// CHECK:     memref.load %[[X]][%[[R]], %[[COL]]]
// CHECK:     memref.load %[[V]][%[[R]], %[[C2]]]
// CHECK:     math.exp
// CHECK:     memref.store %{{.*}}, %[[DX]][%[[R]], %[[COL]]]
// CHECK-NOT: memref.alloc
// CHECK: memref.copy %[[DX]], %[[OUT]]
func.func @mtgr_forward(%x: memref<?x8xf32>, %u: memref<?x6xf32>, %v: memref<?x2xf32>,
                        %off: memref<?xindex>, %out: memref<?x8xf32>)
    attributes {mtgr.abi = []} {
  %xj = builtin.unrealized_conversion_cast %x, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %uj = builtin.unrealized_conversion_cast %u, %off : memref<?x6xf32>, memref<?xindex> to !mtgr.jagged<6xf32>
  %vj = builtin.unrealized_conversion_cast %v, %off : memref<?x2xf32>, memref<?xindex> to !mtgr.jagged<2xf32>
  %dx = mtgr.concat_silu_backward %xj, %uj, %vj : !mtgr.jagged<8xf32>, !mtgr.jagged<6xf32>, !mtgr.jagged<2xf32>
  %c:2 = builtin.unrealized_conversion_cast %dx : !mtgr.jagged<8xf32> to memref<?x8xf32>, memref<?xindex>
  memref.copy %c#0, %out : memref<?x8xf32> to memref<?x8xf32>
  return
}
