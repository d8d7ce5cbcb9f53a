
// expected-error @+1 {{expected string}}
func.func private @f(%a: tensor<4xf32> {mtgr.role = #mtgr.role<grad, param = 3>})

