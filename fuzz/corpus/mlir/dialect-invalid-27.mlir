
func.func @f(%x: !mtgr.jagged<4xi64>, %w: tensor<8x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{operand #0 must be jagged f32 tensor or per-sample f32 tensor}}
  %0 = mtgr.linear %x, %w, %b : !mtgr.jagged<4xi64>, tensor<8x4xf32>, tensor<8xf32> -> !mtgr.jagged<8xf32>
  return
}

