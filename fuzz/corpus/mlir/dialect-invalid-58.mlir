
func.func @f(%a: tensor<?x4xf32>, %w: tensor<8x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{result must be tensor<?x1xDxf32> (one token per feature)}}
  %0 = mtgr.profile_tokens (%a) weights(%w) biases(%b) : (tensor<?x4xf32>, tensor<8x4xf32>, tensor<8xf32>) -> tensor<?x2x8xf32>
  return
}

