
func.func @f(%ids: !mtgr.jagged<i64>) {
  // expected-error @+1 {{'t' does not name an mtgr.table}}
  %0 = mtgr.embedding_lookup @t %ids : !mtgr.jagged<i64> -> !mtgr.jagged<4xf32>
  return
}

