
func.func @f(%u: tensor<?x32xf32>, %s: !mtgr.jagged<32xf32>, %t: !mtgr.jagged<i64>) {
  // expected-error @+1 {{user tokens must be tensor<?x nU x d_model x f32>}}
  %x, %l = mtgr.assemble_tokens %u, %s, %s, %s times(%t, %t, %t)
      : tensor<?x32xf32>, !mtgr.jagged<32xf32>, !mtgr.jagged<32xf32>, !mtgr.jagged<32xf32>,
        !mtgr.jagged<i64>, !mtgr.jagged<i64>, !mtgr.jagged<i64> -> !mtgr.jagged<32xf32>, !mtgr.layout
  return
}

