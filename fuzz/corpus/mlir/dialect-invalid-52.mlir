
func.func @f(%x: !mtgr.jagged<8xf32>, %m: !mtgr.jagged<3x2xi32>, %l: !mtgr.layout, %p: tensor<8xf32>, %t: tensor<4xf32>) {
  // expected-error @+1 {{rab position table must have 2*Pmax+1 entries (odd), got 8}}
  %0 = mtgr.hstu_attention %x, %x, %x, %m, %l rab(%p, %t) {heads = 2 : i64, alpha = 1.0 : f64, n_norm = #mtgr<n_norm total>}
      : !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<3x2xi32>, tensor<8xf32>, tensor<4xf32> -> !mtgr.jagged<8xf32>
  return
}

