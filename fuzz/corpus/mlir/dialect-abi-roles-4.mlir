
// expected-error @+1 {{unknown role kind 'weights'}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = #mtgr.role<weights>})

