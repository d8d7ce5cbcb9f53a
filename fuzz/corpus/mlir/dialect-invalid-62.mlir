
func.func @f(%a: !mtgr.jagged<4xf32>, %w: tensor<8x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{needs at least one item feature}}
  %0 = mtgr.candidate_tokens items() cross(%a) context() weights(%w) biases(%b) : (!mtgr.jagged<4xf32>, tensor<8x4xf32>, tensor<8xf32>) -> !mtgr.jagged<8xf32>
  return
}

