
func.func @f(%x: !mtgr.jagged<4xf32>, %w: tensor<8x4xf32>, %b: tensor<7xf32>) {
  // expected-error @+1 {{layer 0 bias has size 7 but the weight has 8 outputs}}
  %0 = mtgr.linear %x, %w, %b : !mtgr.jagged<4xf32>, tensor<8x4xf32>, tensor<7xf32> -> !mtgr.jagged<8xf32>
  return
}

