
// expected-error @+1 {{result 0: "mtgr.output" must be a string}}
func.func private @f() -> (tensor<f32> {mtgr.output = ["ctr"]})

