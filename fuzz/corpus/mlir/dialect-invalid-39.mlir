
func.func @f(%u: tensor<?x2x32xf32>, %s: !mtgr.jagged<32xf32>, %r: !mtgr.jagged<16xf32>, %t: !mtgr.jagged<i64>) {
  // expected-error @+1 {{realtime tokens have width 16 but user tokens have width 32}}
  %x, %l = mtgr.assemble_tokens %u, %s, %r, %s times(%t, %t, %t)
      : tensor<?x2x32xf32>, !mtgr.jagged<32xf32>, !mtgr.jagged<16xf32>, !mtgr.jagged<32xf32>,
        !mtgr.jagged<i64>, !mtgr.jagged<i64>, !mtgr.jagged<i64> -> !mtgr.jagged<32xf32>, !mtgr.layout
  return
}

