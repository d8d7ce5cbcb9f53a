
mtgr.table @t fixed rows(4) dim(4)
func.func @f(%ids: !mtgr.jagged<i64>) {
  // expected-error @+1 {{result rows must be vectors}}
  %0 = mtgr.embedding_lookup @t %ids : !mtgr.jagged<i64> -> !mtgr.jagged<2x2xf32>
  return
}

