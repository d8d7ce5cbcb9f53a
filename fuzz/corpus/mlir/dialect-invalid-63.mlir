
func.func @f(%a: !mtgr.jagged<4xf32>, %ctx: tensor<?x2xf32>, %w: tensor<8x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{layer 0 weight is [8, 4] but its input has width 6}}
  %0 = mtgr.candidate_tokens items(%a) cross() context(%ctx) weights(%w) biases(%b) : (!mtgr.jagged<4xf32>, tensor<?x2xf32>, tensor<8x4xf32>, tensor<8xf32>) -> !mtgr.jagged<8xf32>
  return
}

