
mtgr.table @t fixed rows(4) dim(4)
func.func @f(%ids: !mtgr.jagged<i64>) {
  // expected-error @+1 {{ids and result must both be jagged or both per-sample tensors}}
  %0 = mtgr.embedding_lookup @t %ids : !mtgr.jagged<i64> -> tensor<?x4xf32>
  return
}

