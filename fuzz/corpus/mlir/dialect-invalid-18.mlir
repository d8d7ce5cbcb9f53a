
mtgr.table @t fixed rows(4) dim(4)
func.func @f(%ids: tensor<?xi64>) {
  // expected-error @+1 {{result rows have width 8 but table @t has dim 4}}
  %0 = mtgr.embedding_lookup @t %ids : tensor<?xi64> -> tensor<?x8xf32>
  return
}

