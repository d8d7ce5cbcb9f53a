
func.func @f(%x: !mtgr.jagged<8xf32>, %w: tensor<2x8xf32>, %b: tensor<2xf32>) {
  // expected-error @+1 {{logits must be !mtgr.jagged<1xf32>}}
  %0 = mtgr.task_head "ctr" %x weights(%w) biases(%b) : (!mtgr.jagged<8xf32>, tensor<2x8xf32>, tensor<2xf32>) -> !mtgr.jagged<2xf32>
  return
}

