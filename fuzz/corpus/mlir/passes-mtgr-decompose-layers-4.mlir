

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

