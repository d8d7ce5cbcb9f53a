
func.func @f(%a: tensor<?x4xf32>, %w: tensor<8x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{needs one weight and one bias per feature (2 features, 1 weights, 1 biases)}}
  %0 = mtgr.profile_tokens (%a, %a) weights(%w) biases(%b) : (tensor<?x4xf32>, tensor<?x4xf32>, tensor<8x4xf32>, tensor<8xf32>) -> tensor<?x2x8xf32>
  return
}

