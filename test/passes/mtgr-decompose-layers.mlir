// RUN: mtgr-opt %s -split-input-file --mtgr-decompose-layers | FileCheck %s

// CHECK-LABEL: func.func @mlp
// CHECK-SAME: (%[[X:.*]]: !mtgr.jagged<8xf32>, %[[W0:.*]]: tensor<16x8xf32>, %[[W1:.*]]: tensor<4x16xf32>, %[[B0:.*]]: tensor<16xf32>, %[[B1:.*]]: tensor<4xf32>)
// CHECK:      %[[H:.*]] = mtgr.linear %[[X]], %[[W0]], %[[B0]] : {{.*}} -> !mtgr.jagged<16xf32>
// CHECK-NEXT: %[[A:.*]] = mtgr.silu %[[H]] : !mtgr.jagged<16xf32>
// CHECK-NEXT: %[[Y:.*]] = mtgr.linear %[[A]], %[[W1]], %[[B1]] : {{.*}} -> !mtgr.jagged<4xf32>
// CHECK-NEXT: return %[[Y]]
// CHECK-NOT:  mtgr.mlp
func.func @mlp(%x: !mtgr.jagged<8xf32>, %w0: tensor<16x8xf32>, %w1: tensor<4x16xf32>, %b0: tensor<16xf32>, %b1: tensor<4xf32>) -> !mtgr.jagged<4xf32> {
  %y = mtgr.mlp %x weights(%w0, %w1) biases(%b0, %b1) : (!mtgr.jagged<8xf32>, tensor<16x8xf32>, tensor<4x16xf32>, tensor<16xf32>, tensor<4xf32>) -> !mtgr.jagged<4xf32>
  return %y : !mtgr.jagged<4xf32>
}

// -----

// A single Linear: no SiLU after the last layer.
// CHECK-LABEL: func.func @task_head
// CHECK:      %[[Y:.*]] = mtgr.linear %{{.*}}, %{{.*}}, %{{.*}} : !mtgr.jagged<8xf32>, tensor<1x8xf32>, tensor<1xf32> -> !mtgr.jagged<1xf32>
// CHECK-NEXT: return %[[Y]]
func.func @task_head(%x: !mtgr.jagged<8xf32>, %w: tensor<1x8xf32>, %b: tensor<1xf32>) -> !mtgr.jagged<1xf32> {
  %y = mtgr.task_head "ctr" %x weights(%w) biases(%b) : (!mtgr.jagged<8xf32>, tensor<1x8xf32>, tensor<1xf32>) -> !mtgr.jagged<1xf32>
  return %y : !mtgr.jagged<1xf32>
}

// -----

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

// -----

// The MTGR layer: gate then norm, named mask, no dropout.
// CHECK-LABEL: func.func @hstu_layer
// CHECK-SAME: (%[[X:.*]]: !mtgr.jagged<8xf32>, %[[L:.*]]: !mtgr.layout, %[[G:.*]]: tensor<4x8xf32>, %[[W:.*]]: tensor<32x8xf32>, %[[B:.*]]: tensor<32xf32>, %[[WO:.*]]: tensor<8x8xf32>, %[[BO:.*]]: tensor<8xf32>)
// CHECK:      %[[XN:.*]] = mtgr.group_layer_norm %[[X]], %[[L]], %[[G]], %[[G]] : !mtgr.jagged<8xf32>
// CHECK-NEXT: %[[H0:.*]] = mtgr.linear %[[XN]], %[[W]], %[[B]] : {{.*}} -> !mtgr.jagged<32xf32>
// CHECK-NEXT: %[[H:.*]] = mtgr.silu %[[H0]] : !mtgr.jagged<32xf32>
// CHECK-NEXT: %[[U:.*]] = mtgr.column_slice %[[H]][0, 8]
// CHECK-NEXT: %[[V:.*]] = mtgr.column_slice %[[H]][8, 8]
// CHECK-NEXT: %[[Q:.*]] = mtgr.column_slice %[[H]][16, 8]
// CHECK-NEXT: %[[K:.*]] = mtgr.column_slice %[[H]][24, 8]
// CHECK-NEXT: %[[M:.*]] = mtgr.build_mask dynamic %[[L]] : !mtgr.jagged<3x2xi32>
// CHECK-NEXT: %[[O:.*]] = mtgr.hstu_attention %[[Q]], %[[K]], %[[V]], %[[M]], %[[L]] {alpha = 5.000000e-01 : f64, heads = 2 : i64, n_norm = #mtgr<n_norm total>}
// CHECK-NEXT: %[[GATED:.*]] = mtgr.mul %[[O]], %[[U]]
// CHECK-NEXT: %[[Y:.*]] = mtgr.group_layer_norm %[[GATED]], %[[L]], %[[G]], %[[G]]
// CHECK-NEXT: %[[P:.*]] = mtgr.linear %[[Y]], %[[WO]], %[[BO]]
// CHECK-NEXT: %[[R:.*]] = mtgr.add %[[X]], %[[P]]
// CHECK-NEXT: return %[[R]]
func.func @hstu_layer(%x: !mtgr.jagged<8xf32>, %l: !mtgr.layout, %g: tensor<4x8xf32>, %w: tensor<32x8xf32>, %b: tensor<32xf32>, %wo: tensor<8x8xf32>, %bo: tensor<8xf32>) -> !mtgr.jagged<8xf32> {
  %0 = mtgr.hstu_layer %x, %l gln1(%g, %g) uvqk(%w, %b) gln2(%g, %g) out(%wo, %bo)
      {heads = 2 : i64, dqk = 4 : i64, dv = 4 : i64, alpha = 0.5 : f64, mask = #mtgr<mask dynamic>, n_norm = #mtgr<n_norm total>,
       norm_order = #mtgr<norm_order gate_then_norm>, dropout = 0.0 : f64, layer = 0 : i64}
      : (!mtgr.jagged<8xf32>, !mtgr.layout, tensor<4x8xf32>, tensor<4x8xf32>, tensor<32x8xf32>, tensor<32xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> !mtgr.jagged<8xf32>
  return %0 : !mtgr.jagged<8xf32>
}

// -----

// HSTU order (norm then gate), dropout, rab, intervals from the batch,
// dqk != dv, a constant n_norm.
// CHECK-LABEL: func.func @hstu_layer_options
// CHECK-SAME: %[[IV:[a-z0-9]+]]: !mtgr.jagged<3x2xi32>)
// CHECK:      %[[H:.*]] = mtgr.silu %{{.*}} : !mtgr.jagged<24xf32>
// CHECK-NEXT: %[[U:.*]] = mtgr.column_slice %[[H]][0, 4] : !mtgr.jagged<24xf32> -> !mtgr.jagged<4xf32>
// CHECK-NEXT: %[[V:.*]] = mtgr.column_slice %[[H]][4, 4] : !mtgr.jagged<24xf32> -> !mtgr.jagged<4xf32>
// CHECK-NEXT: %[[Q:.*]] = mtgr.column_slice %[[H]][8, 8] : !mtgr.jagged<24xf32> -> !mtgr.jagged<8xf32>
// CHECK-NEXT: %[[K:.*]] = mtgr.column_slice %[[H]][16, 8] : !mtgr.jagged<24xf32> -> !mtgr.jagged<8xf32>
// CHECK-NOT:  mtgr.build_mask
// CHECK-NEXT: %[[O:.*]] = mtgr.hstu_attention %[[Q]], %[[K]], %[[V]], %[[IV]], %{{.*}} rab(%{{.*}}, %{{.*}}) {{{.*}}n_norm = #mtgr<n_norm constant>, n_norm_constant = 6.400000e+01 : f64}
// CHECK-NEXT: %[[N:.*]] = mtgr.group_layer_norm %[[O]]
// CHECK-NEXT: %[[Y:.*]] = mtgr.mul %[[N]], %[[U]]
// CHECK-NEXT: %[[D:.*]] = mtgr.dropout %[[Y]] {rate = 1.000000e-01 : f64, stream = 7 : i64}
// CHECK-NEXT: mtgr.linear %[[D]]
func.func @hstu_layer_options(%x: !mtgr.jagged<8xf32>, %l: !mtgr.layout, %g: tensor<4x8xf32>, %g2: tensor<4x4xf32>, %w: tensor<24x8xf32>, %b: tensor<24xf32>,
                              %wo: tensor<8x4xf32>, %bo: tensor<8xf32>, %p: tensor<9xf32>, %t: tensor<4xf32>, %iv: !mtgr.jagged<3x2xi32>) -> !mtgr.jagged<8xf32> {
  %0 = mtgr.hstu_layer %x, %l gln1(%g, %g) uvqk(%w, %b) gln2(%g2, %g2) out(%wo, %bo) rab(%p, %t) intervals(%iv)
      {heads = 1 : i64, dqk = 8 : i64, dv = 4 : i64, alpha = 0.5 : f64, mask = #mtgr<mask intervals>, n_norm = #mtgr<n_norm constant>,
       n_norm_constant = 64.0 : f64, norm_order = #mtgr<norm_order norm_then_gate>, dropout = 0.1 : f64, layer = 7 : i64}
      : (!mtgr.jagged<8xf32>, !mtgr.layout, tensor<4x8xf32>, tensor<4x8xf32>, tensor<24x8xf32>, tensor<24xf32>, tensor<4x4xf32>, tensor<4x4xf32>,
         tensor<8x4xf32>, tensor<8xf32>, tensor<9xf32>, tensor<4xf32>, !mtgr.jagged<3x2xi32>) -> !mtgr.jagged<8xf32>
  return %0 : !mtgr.jagged<8xf32>
}

// -----

// Inapplicable: kernel-level IR is left as it is.
// CHECK-LABEL: func.func @kernel_level
// CHECK-NEXT: %[[A:.*]] = mtgr.silu %{{.*}} : !mtgr.jagged<8xf32>
// CHECK-NEXT: return %[[A]]
func.func @kernel_level(%x: !mtgr.jagged<8xf32>) -> !mtgr.jagged<8xf32> {
  %a = mtgr.silu %x : !mtgr.jagged<8xf32>
  return %a : !mtgr.jagged<8xf32>
}
