
func.func @f(%w: tensor<8x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{needs at least one event feature}}
  %0 = mtgr.sequence_tokens () weights(%w) biases(%b) : (tensor<8x4xf32>, tensor<8xf32>) -> !mtgr.jagged<8xf32>
  return
}

