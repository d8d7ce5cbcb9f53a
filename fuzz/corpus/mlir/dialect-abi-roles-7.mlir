
// expected-error @+1 {{argument 0: "mtgr.role" of kind 'embedding_grad' needs an i64 'index' >= 0}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = {kind = "embedding_grad", group = "user"}})

