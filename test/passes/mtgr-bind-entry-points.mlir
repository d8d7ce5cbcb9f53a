// RUN: mtgr-opt %s -split-input-file --mtgr-bind-entry-points -verify-diagnostics | FileCheck %s

// Success: @forward becomes @mtgr_forward on buffers. Ids read only by the
// lookup are not passed (the runtime gathers the rows: one "embedding"
// argument), the parameters and the output are arguments, the body reaches
// them through casts and copies the result out.
mtgr.table @item fixed rows(10) dim(4)
mtgr.parameter @w : tensor<1x5xf32> init(xavier_uniform)
mtgr.parameter @b : tensor<1xf32> init(zeros)

// CHECK-LABEL: func.func @mtgr_forward
// CHECK-SAME: (%[[OFF:.*]]: memref<?xindex>, %[[X:.*]]: memref<?x1xf32>, %[[XOFF:.*]]: memref<?xindex>, %[[ROWS:.*]]: memref<?x4xf32>, %[[W:.*]]: memref<1x5xf32>, %[[B:.*]]: memref<1xf32>, %[[OUT:.*]]: memref<?x1xf32>)
// CHECK-SAME: mtgr.abi = [#mtgr.abi<offsets "candidate.item", group = candidate>, #mtgr.abi<input "candidate.c", group = candidate, index = 1>, #mtgr.abi<offsets "candidate.c", group = candidate>, #mtgr.abi<embedding "candidate.item", group = candidate, index = 0, table = "item">, #mtgr.abi<param "w">, #mtgr.abi<param "b">, #mtgr.abi<output "ctr", index = 0>]
// CHECK: ub.poison : memref<?xi64>
// CHECK: builtin.unrealized_conversion_cast %[[ROWS]], %[[OFF]] : memref<?x4xf32>, memref<?xindex> to !mtgr.jagged<4xf32>
// CHECK: %[[Y:.*]] = mtgr.linear
// CHECK: %[[YB:.*]]:2 = builtin.unrealized_conversion_cast %[[Y]] : !mtgr.jagged<1xf32> to memref<?x1xf32>, memref<?xindex>
// CHECK: memref.copy %[[YB]]#0, %[[OUT]]
// CHECK: return
// CHECK-NOT: func.func @forward
func.func @forward(%ids: !mtgr.jagged<i64> {mtgr.input = "candidate.item", mtgr.role = #mtgr.role<feature, group = candidate, index = 0>},
                   %x: !mtgr.jagged<1xf32> {mtgr.input = "candidate.c", mtgr.role = #mtgr.role<feature, group = candidate, index = 1>})
    -> (!mtgr.jagged<1xf32> {mtgr.output = "ctr", mtgr.role = #mtgr.role<output, index = 0>}) {
  %e = mtgr.embedding_lookup @item %ids : !mtgr.jagged<i64> -> !mtgr.jagged<4xf32>
  %c = mtgr.concat %e, %x : !mtgr.jagged<4xf32>, !mtgr.jagged<1xf32> -> !mtgr.jagged<5xf32>
  %w = mtgr.param @w : tensor<1x5xf32>
  %b = mtgr.param @b : tensor<1xf32>
  %y = mtgr.linear %c, %w, %b : !mtgr.jagged<5xf32>, tensor<1x5xf32>, tensor<1xf32> -> !mtgr.jagged<1xf32>
  return %y : !mtgr.jagged<1xf32>
}

// -----
// Inapplicable: no entry point, nothing changes.
// CHECK-LABEL: func.func @helper
// CHECK-NEXT: mtgr.silu
func.func @helper(%x: !mtgr.jagged<4xf32>) -> !mtgr.jagged<4xf32> {
  %y = mtgr.silu %x : !mtgr.jagged<4xf32>
  return %y : !mtgr.jagged<4xf32>
}

// -----
// Failure: an argument without its name and role cannot be bound.
// expected-error @+1 {{argument 0 lacks its mtgr.input name or typed mtgr.role}}
func.func @forward(%x: !mtgr.jagged<4xf32>) -> (!mtgr.jagged<4xf32> {mtgr.output = "y", mtgr.role = #mtgr.role<output, index = 0>}) {
  %y = mtgr.silu %x : !mtgr.jagged<4xf32>
  return %y : !mtgr.jagged<4xf32>
}

// -----
// Failure: a result without its role.
// expected-error @+1 {{result 0 lacks its mtgr.output name or typed mtgr.role}}
func.func @forward(%x: !mtgr.jagged<4xf32> {mtgr.input = "candidate.c", mtgr.role = #mtgr.role<feature, group = candidate, index = 0>}) -> !mtgr.jagged<4xf32> {
  %y = mtgr.silu %x : !mtgr.jagged<4xf32>
  return %y : !mtgr.jagged<4xf32>
}
