
func.func @f(%x: !mtgr.jagged<8xf32>, %l: !mtgr.layout, %g: tensor<4x8xf32>, %w: tensor<32x8xf32>, %b: tensor<32xf32>, %wo: tensor<8x8xf32>, %bo: tensor<8xf32>) {
  // expected-error @+1 {{heads, dqk and dv must be positive}}
  %0 = mtgr.hstu_layer %x, %l gln1(%g, %g) uvqk(%w, %b) gln2(%g, %g) out(%wo, %bo)
      {heads = 0 : i64, dqk = 4 : i64, dv = 4 : i64, alpha = 0.5 : f64, mask = #mtgr<mask dynamic>, n_norm = #mtgr<n_norm total>,
       norm_order = #mtgr<norm_order gate_then_norm>, dropout = 0.0 : f64, layer = 0 : i64}
      : (!mtgr.jagged<8xf32>, !mtgr.layout, tensor<4x8xf32>, tensor<4x8xf32>, tensor<32x8xf32>, tensor<32xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> !mtgr.jagged<8xf32>
  return
}

