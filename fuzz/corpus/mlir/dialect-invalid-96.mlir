
mtgr.table @item fixed rows(10) dim(4)
func.func @f(%ids: tensor<?xi64>, %g: !mtgr.jagged<4xf32>) {
  // expected-error @+1 {{differ in kind}}
  mtgr.sparse_update @item rowwise_adagrad ids(%ids) grads(%g) {lr = 0.01 : f64, eps = 1.0e-8 : f64}
      : (tensor<?xi64>), (!mtgr.jagged<4xf32>)
  return
}
