
// expected-error @+1 {{argument 0: "mtgr.role" must be a #mtgr.role<...>}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = {kind = "feature", group = "user", index = 0}})

