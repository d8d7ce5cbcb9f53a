
// expected-error @+1 {{argument 0: "mtgr.input" must be a string}}
func.func private @f(%a: tensor<4xf32> {mtgr.input = 3})

