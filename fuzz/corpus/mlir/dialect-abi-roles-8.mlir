
// expected-error @+1 {{argument 0: "mtgr.role" of kind 'grad' needs a string 'param'}}
func.func private @f(%a: tensor<4xf32> {mtgr.role = {kind = "grad", param = 3}})

