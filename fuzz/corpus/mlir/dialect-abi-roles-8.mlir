
// expected-error @+1 {{a 'feature' role needs an 'index' >= 0}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = #mtgr.role<feature, group = user>})

