
func.func @f(%a: tensor<?x4xf32>, %w: tensor<8x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{last layer has 8 outputs but the result has width 16}}
  %0 = mtgr.profile_tokens (%a) weights(%w) biases(%b) : (tensor<?x4xf32>, tensor<8x4xf32>, tensor<8xf32>) -> tensor<?x1x16xf32>
  return
}

