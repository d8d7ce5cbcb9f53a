
func.func @f(%a: !mtgr.jagged<4xf32>, %c: !mtgr.jagged<1xf32>, %w: tensor<8x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{layer 0 weight is [8, 4] but its input has width 5}}
  %0 = mtgr.sequence_tokens (%a, %c) weights(%w) biases(%b) : (!mtgr.jagged<4xf32>, !mtgr.jagged<1xf32>, tensor<8x4xf32>, tensor<8xf32>) -> !mtgr.jagged<8xf32>
  return
}

