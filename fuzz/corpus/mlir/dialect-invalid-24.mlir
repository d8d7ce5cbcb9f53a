
func.func @f(%x: !mtgr.jagged<5xf32>, %w: tensor<8x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{layer 0 weight is [8, 4] but its input has width 5}}
  %0 = mtgr.linear %x, %w, %b : !mtgr.jagged<5xf32>, tensor<8x4xf32>, tensor<8xf32> -> !mtgr.jagged<8xf32>
  return
}

