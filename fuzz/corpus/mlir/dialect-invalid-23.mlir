
func.func @f(%x: !mtgr.jagged<4xf32>, %w: tensor<8x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{input and result must both be jagged or both per-sample tensors}}
  %0 = mtgr.linear %x, %w, %b : !mtgr.jagged<4xf32>, tensor<8x4xf32>, tensor<8xf32> -> tensor<?x8xf32>
  return
}

