
func.func @f(%u: tensor<?x2x32xf32>, %s: !mtgr.jagged<32xf32>, %t: !mtgr.jagged<4xf32>) {
  // expected-error @+1 {{operand #4 must be jagged i64 scalars (ids or timestamps)}}
  %x, %l = mtgr.assemble_tokens %u, %s, %s, %s times(%t, %t, %t)
      : tensor<?x2x32xf32>, !mtgr.jagged<32xf32>, !mtgr.jagged<32xf32>, !mtgr.jagged<32xf32>,
        !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<32xf32>, !mtgr.layout
  return
}

