// RUN: mtgr-opt %s --mtgr-lower-to-loops | FileCheck %s

// Tokens family (codegen/cpu/LowerTokens.cpp): column moves are row loops
// over a column loop. concat writes each input at its column offset (0, then
// 4) of a fresh [rows, 6] buffer; column_slice reads its columns from 3 on.

// CHECK-LABEL: func.func @mtgr_forward
// CHECK-SAME: (%[[A:.*]]: memref<?x4xf32>, %[[B:.*]]: memref<?x2xf32>, %{{.*}}: memref<?xindex>, %[[OUT:.*]]: memref<?x2xf32>)
// Rows go to the threads in blocks of 4 (scf.parallel, a loop over blocks,
// one over the block's rows), each row's columns a loop.
// CHECK: %[[CAT:.*]] = memref.alloc(%{{.*}}) : memref<?x6xf32>
// CHECK: scf.parallel
// CHECK:   scf.for
// CHECK:     scf.for
// CHECK:       scf.for
// CHECK:         memref.load %[[A]]
// CHECK:         memref.store %{{.*}}, %[[CAT]]
// CHECK: scf.parallel
// CHECK:   scf.for
// CHECK:     scf.for
// CHECK:       scf.for %[[J:[^ ]*]] =
// CHECK:         memref.load %[[B]]
// CHECK:         %[[C4:.*]] = arith.constant 4 : index
// CHECK:         %[[AT:.*]] = arith.addi %[[J]], %[[C4]] : index
// CHECK:         memref.store %{{.*}}, %[[CAT]][%{{.*}}, %[[AT]]]
// CHECK: %[[SLICE:.*]] = memref.alloc(%{{.*}}) : memref<?x2xf32>
// CHECK: scf.parallel
// CHECK:   scf.for
// CHECK:     scf.for
// CHECK:       scf.for %[[K:[^ ]*]] =
// CHECK:     %[[C3:.*]] = arith.constant 3 : index
// CHECK:     %[[FROM:.*]] = arith.addi %[[K]], %[[C3]] : index
// CHECK:     memref.load %[[CAT]][%{{.*}}, %[[FROM]]]
// CHECK:     memref.store %{{.*}}, %[[SLICE]]
// CHECK: memref.copy %[[SLICE]], %[[OUT]]
func.func @mtgr_forward(%a: memref<?x4xf32>, %b: memref<?x2xf32>, %off: memref<?xindex>, %out: memref<?x2xf32>)
    attributes {mtgr.abi = []} {
  %aj = builtin.unrealized_conversion_cast %a, %off : memref<?x4xf32>, memref<?xindex> to !mtgr.jagged<4xf32>
  %bj = builtin.unrealized_conversion_cast %b, %off : memref<?x2xf32>, memref<?xindex> to !mtgr.jagged<2xf32>
  %c = mtgr.concat %aj, %bj : !mtgr.jagged<4xf32>, !mtgr.jagged<2xf32> -> !mtgr.jagged<6xf32>
  %s = mtgr.column_slice %c [3, 2] : !mtgr.jagged<6xf32> -> !mtgr.jagged<2xf32>
  %r:2 = builtin.unrealized_conversion_cast %s : !mtgr.jagged<2xf32> to memref<?x2xf32>, memref<?xindex>
  memref.copy %r#0, %out : memref<?x2xf32> to memref<?x2xf32>
  return
}
