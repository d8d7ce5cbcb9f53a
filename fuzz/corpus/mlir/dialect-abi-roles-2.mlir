
// expected-error @+1 {{argument 0: "mtgr.role" needs a string 'kind'}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = {group = "user", index = 0}})

