
mtgr.table @t fixed rows(4) dim(4)
func.func @f(%ids: !mtgr.jagged<i32>) {
  // expected-error @+1 {{operand #0 must be jagged i64 scalars (ids or timestamps) or 1D tensor of 64-bit signless integer values}}
  %0 = mtgr.embedding_lookup @t %ids : !mtgr.jagged<i32> -> !mtgr.jagged<4xf32>
  return
}

