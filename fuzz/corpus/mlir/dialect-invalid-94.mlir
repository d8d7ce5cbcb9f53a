
mtgr.table @item fixed rows(10) dim(4)
func.func @f(%ids: !mtgr.jagged<i64>, %g: !mtgr.jagged<4xf32>) {
  // expected-error @+1 {{adam needs beta1 and beta2}}
  mtgr.sparse_update @item adam ids(%ids) grads(%g) {lr = 0.01 : f64, eps = 1.0e-8 : f64}
      : (!mtgr.jagged<i64>), (!mtgr.jagged<4xf32>)
  return
}

