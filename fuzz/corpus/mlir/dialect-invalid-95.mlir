
mtgr.table @item fixed rows(10) dim(4)
func.func @f(%ids: !mtgr.jagged<i64>, %g: !mtgr.jagged<3xf32>) {
  // expected-error @+1 {{gradient rows '!mtgr.jagged<3xf32>' do not match table @item of dim 4}}
  mtgr.sparse_update @item rowwise_adagrad ids(%ids) grads(%g) {lr = 0.01 : f64, eps = 1.0e-8 : f64}
      : (!mtgr.jagged<i64>), (!mtgr.jagged<3xf32>)
  return
}

