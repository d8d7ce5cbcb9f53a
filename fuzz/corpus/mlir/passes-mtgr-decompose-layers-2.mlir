

// CHECK-LABEL: func.func @tokenizers
// CHECK-SAME: (%[[E:.*]]: tensor<?x4xf32>, %[[D:.*]]: tensor<?x1xf32>, %[[I:.*]]: !mtgr.jagged<4xf32>, %[[C:.*]]: !mtgr.jagged<1xf32>
// U: one Linear per feature, then stacked.
// CHECK:      %[[U0:.*]] = mtgr.linear %[[E]], {{.*}} -> tensor<?x8xf32>
// CHECK-NEXT: %[[U1:.*]] = mtgr.linear %[[D]], {{.*}} -> tensor<?x8xf32>
// CHECK-NEXT: %[[U:.*]] = mtgr.stack %[[U0]], %[[U1]] : tensor<?x8xf32>, tensor<?x8xf32> -> tensor<?x2x8xf32>
// S: concat, then the MLP.
// CHECK-NEXT: %[[SC:.*]] = mtgr.concat %[[I]], %[[C]] : !mtgr.jagged<4xf32>, !mtgr.jagged<1xf32> -> !mtgr.jagged<5xf32>
// CHECK-NEXT: %[[S:.*]] = mtgr.linear %[[SC]], {{.*}} -> !mtgr.jagged<8xf32>
// A single feature needs no concat.
// CHECK-NEXT: %[[R:.*]] = mtgr.linear %[[I]], {{.*}} -> !mtgr.jagged<8xf32>
// C with context: per-sample rows repeated for every candidate.
// CHECK-NEXT: %[[B0:.*]] = mtgr.broadcast_rows %[[E]], %[[I]] : tensor<?x4xf32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<4xf32>
// CHECK-NEXT: %[[B1:.*]] = mtgr.broadcast_rows %[[D]], %[[I]] : tensor<?x1xf32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<1xf32>
// CHECK-NEXT: %[[CC:.*]] = mtgr.concat %[[I]], %[[C]], %[[B0]], %[[B1]] : {{.*}} -> !mtgr.jagged<10xf32>
// CHECK-NEXT: %[[CT:.*]] = mtgr.linear %[[CC]], {{.*}} -> !mtgr.jagged<8xf32>
// CHECK-NEXT: return %[[U]], %[[S]], %[[R]], %[[CT]]
func.func @tokenizers(%e: tensor<?x4xf32>, %d: tensor<?x1xf32>, %i: !mtgr.jagged<4xf32>, %c: !mtgr.jagged<1xf32>,
                      %w4: tensor<8x4xf32>, %w1: tensor<8x1xf32>, %w5: tensor<8x5xf32>, %w10: tensor<8x10xf32>, %b: tensor<8xf32>)
    -> (tensor<?x2x8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>) {
  %u = mtgr.profile_tokens (%e, %d) weights(%w4, %w1) biases(%b, %b)
      : (tensor<?x4xf32>, tensor<?x1xf32>, tensor<8x4xf32>, tensor<8x1xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<?x2x8xf32>
  %s = mtgr.sequence_tokens (%i, %c) weights(%w5) biases(%b)
      : (!mtgr.jagged<4xf32>, !mtgr.jagged<1xf32>, tensor<8x5xf32>, tensor<8xf32>) -> !mtgr.jagged<8xf32>
  %r = mtgr.sequence_tokens (%i) weights(%w4) biases(%b)
      : (!mtgr.jagged<4xf32>, tensor<8x4xf32>, tensor<8xf32>) -> !mtgr.jagged<8xf32>
  %ct = mtgr.candidate_tokens items(%i) cross(%c) context(%e, %d) weights(%w10) biases(%b)
      : (!mtgr.jagged<4xf32>, !mtgr.jagged<1xf32>, tensor<?x4xf32>, tensor<?x1xf32>, tensor<8x10xf32>, tensor<8xf32>) -> !mtgr.jagged<8xf32>
  return %u, %s, %r, %ct : tensor<?x2x8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>
}

