
func.func @f(%x: !mtgr.jagged<8xf32>, %w: tensor<2x8xf32>, %b: tensor<2xf32>) {
  // expected-error @+1 {{last layer has 2 outputs but the result has width 1}}
  %0 = mtgr.task_head "ctr" %x weights(%w) biases(%b) : (!mtgr.jagged<8xf32>, tensor<2x8xf32>, tensor<2xf32>) -> !mtgr.jagged<1xf32>
  return
}

