// RUN: mtgr-opt %s -split-input-file --canonicalize | FileCheck %s

// The gradient of U, V, Q, K split out of one projection: four pads summed
// in the reverse sweep's order become the pieces side by side.
// CHECK-LABEL: func.func @covering
// CHECK-SAME: (%[[U:[a-z0-9]+]]: {{.*}}, %[[V:[a-z0-9]+]]: {{.*}}, %[[Q:[a-z0-9]+]]: {{.*}}, %[[K:[a-z0-9]+]]: {{.*}})
// CHECK-NEXT: %[[C:.*]] = mtgr.concat %[[U]], %[[V]], %[[Q]], %[[K]] : !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<16xf32>
// CHECK-NEXT: return %[[C]]
func.func @covering(%u: !mtgr.jagged<4xf32>, %v: !mtgr.jagged<4xf32>, %q: !mtgr.jagged<4xf32>,
                    %k: !mtgr.jagged<4xf32>) -> !mtgr.jagged<16xf32> {
  %pk = mtgr.column_pad %k [12, 16] : !mtgr.jagged<4xf32> -> !mtgr.jagged<16xf32>
  %pq = mtgr.column_pad %q [8, 16] : !mtgr.jagged<4xf32> -> !mtgr.jagged<16xf32>
  %s0 = mtgr.add %pk, %pq : !mtgr.jagged<16xf32>
  %pv = mtgr.column_pad %v [4, 16] : !mtgr.jagged<4xf32> -> !mtgr.jagged<16xf32>
  %s1 = mtgr.add %s0, %pv : !mtgr.jagged<16xf32>
  %pu = mtgr.column_pad %u [0, 16] : !mtgr.jagged<4xf32> -> !mtgr.jagged<16xf32>
  %s2 = mtgr.add %s1, %pu : !mtgr.jagged<16xf32>
  return %s2 : !mtgr.jagged<16xf32>
}

// -----

// Pieces of different widths, in a balanced tree, on per-sample rows.
// CHECK-LABEL: func.func @per_sample
// CHECK-NEXT: %[[C:.*]] = mtgr.concat %arg1, %arg0, %arg2 : tensor<?x2xf32>, tensor<?x3xf32>, tensor<?x1xf32> -> tensor<?x6xf32>
// CHECK-NEXT: return %[[C]]
func.func @per_sample(%a: tensor<?x3xf32>, %b: tensor<?x2xf32>, %c: tensor<?x1xf32>) -> tensor<?x6xf32> {
  %pa = mtgr.column_pad %a [2, 6] : tensor<?x3xf32> -> tensor<?x6xf32>
  %pb = mtgr.column_pad %b [0, 6] : tensor<?x2xf32> -> tensor<?x6xf32>
  %pc = mtgr.column_pad %c [5, 6] : tensor<?x1xf32> -> tensor<?x6xf32>
  %s0 = mtgr.add %pa, %pb : tensor<?x6xf32>
  %s1 = mtgr.add %pc, %s0 : tensor<?x6xf32>
  return %s1 : tensor<?x6xf32>
}

// -----

// Two runs with a gap: each run one padded concat, the runs summed.
// CHECK-LABEL: func.func @runs
// CHECK-NEXT: %[[L:.*]] = mtgr.concat %arg0, %arg1 : !mtgr.jagged<2xf32>, !mtgr.jagged<2xf32> -> !mtgr.jagged<4xf32>
// CHECK-NEXT: %[[PL:.*]] = mtgr.column_pad %[[L]][0, 10] : !mtgr.jagged<4xf32> -> !mtgr.jagged<10xf32>
// CHECK-NEXT: %[[PR:.*]] = mtgr.column_pad %arg2[6, 10] : !mtgr.jagged<2xf32> -> !mtgr.jagged<10xf32>
// CHECK-NEXT: %[[S:.*]] = mtgr.add %[[PL]], %[[PR]] : !mtgr.jagged<10xf32>
// CHECK-NEXT: return %[[S]]
func.func @runs(%a: !mtgr.jagged<2xf32>, %b: !mtgr.jagged<2xf32>, %c: !mtgr.jagged<2xf32>) -> !mtgr.jagged<10xf32> {
  %pc = mtgr.column_pad %c [6, 10] : !mtgr.jagged<2xf32> -> !mtgr.jagged<10xf32>
  %pb = mtgr.column_pad %b [2, 10] : !mtgr.jagged<2xf32> -> !mtgr.jagged<10xf32>
  %pa = mtgr.column_pad %a [0, 10] : !mtgr.jagged<2xf32> -> !mtgr.jagged<10xf32>
  %s0 = mtgr.add %pc, %pb : !mtgr.jagged<10xf32>
  %s1 = mtgr.add %s0, %pa : !mtgr.jagged<10xf32>
  return %s1 : !mtgr.jagged<10xf32>
}

// -----

// Left alone: overlapping ranges (a real sum), a term that is not a pad,
// pads that are not adjacent, and an inner sum used elsewhere (its own tree).
// CHECK-LABEL: func.func @kept
// CHECK-NOT: mtgr.concat
// CHECK: %[[PA:.*]] = mtgr.column_pad %arg0[0, 8]
// CHECK-NEXT: %[[PB:.*]] = mtgr.column_pad %arg1[2, 8]
// CHECK-NEXT: mtgr.add %[[PA]], %[[PB]]
// CHECK-NEXT: mtgr.add %[[PA]], %arg2
// CHECK-NEXT: mtgr.column_slice
// CHECK-NEXT: %[[P0:.*]] = mtgr.column_pad
// CHECK-NEXT: %[[P6:.*]] = mtgr.column_pad
// CHECK-NEXT: mtgr.add %[[P0]], %[[P6]]
// CHECK-NOT: mtgr.concat
func.func @kept(%a: !mtgr.jagged<4xf32>, %b: !mtgr.jagged<4xf32>, %x: !mtgr.jagged<8xf32>)
    -> (!mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>) {
  %pa = mtgr.column_pad %a [0, 8] : !mtgr.jagged<4xf32> -> !mtgr.jagged<8xf32>
  %pb = mtgr.column_pad %b [2, 8] : !mtgr.jagged<4xf32> -> !mtgr.jagged<8xf32>
  %overlap = mtgr.add %pa, %pb : !mtgr.jagged<8xf32>
  %mixed = mtgr.add %pa, %x : !mtgr.jagged<8xf32>
  %c = mtgr.column_slice %a [0, 2] : !mtgr.jagged<4xf32> -> !mtgr.jagged<2xf32>
  %pc0 = mtgr.column_pad %c [0, 8] : !mtgr.jagged<2xf32> -> !mtgr.jagged<8xf32>
  %pc6 = mtgr.column_pad %c [6, 8] : !mtgr.jagged<2xf32> -> !mtgr.jagged<8xf32>
  %gap = mtgr.add %pc0, %pc6 : !mtgr.jagged<8xf32>
  return %overlap, %mixed, %gap : !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>
}

// -----

// An inner sum with another use is a leaf of the outer tree (not a pad): the
// outer sum stays; the inner one merges on its own.
// CHECK-LABEL: func.func @shared_inner
// CHECK-NEXT: %[[C:.*]] = mtgr.concat %arg0, %arg1 : !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<8xf32>
// CHECK-NEXT: %[[S:.*]] = mtgr.add %[[C]], %arg2 : !mtgr.jagged<8xf32>
// CHECK-NEXT: return %[[C]], %[[S]]
func.func @shared_inner(%a: !mtgr.jagged<4xf32>, %b: !mtgr.jagged<4xf32>, %x: !mtgr.jagged<8xf32>)
    -> (!mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>) {
  %pa = mtgr.column_pad %a [0, 8] : !mtgr.jagged<4xf32> -> !mtgr.jagged<8xf32>
  %pb = mtgr.column_pad %b [4, 8] : !mtgr.jagged<4xf32> -> !mtgr.jagged<8xf32>
  %inner = mtgr.add %pa, %pb : !mtgr.jagged<8xf32>
  %outer = mtgr.add %inner, %x : !mtgr.jagged<8xf32>
  return %inner, %outer : !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>
}
