

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

