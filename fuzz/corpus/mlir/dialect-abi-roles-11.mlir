
// expected-error @+1 {{a 'embedding_grad' role needs an 'index' >= 0}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = #mtgr.role<embedding_grad, group = user>})

