
// expected-error @+1 {{argument 0: "mtgr.role" of kind 'feature' has no field 'grosp'}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = {kind = "feature", grosp = "user", index = 0}})

