
// expected-error @+1 {{unknown group 'items'}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = #mtgr.role<feature, group = items, index = 0>})

