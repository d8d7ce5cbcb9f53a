
func.func @f(%m: tensor<?x4xf32>, %x: !mtgr.jagged<8xf32>) {
  // expected-error @+1 {{gradient rows must match the pooled rows}}
  %d = mtgr.mean_pool_backward %m, %x : tensor<?x4xf32>, !mtgr.jagged<8xf32>
  return
}

