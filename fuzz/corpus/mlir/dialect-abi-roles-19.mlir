
// expected-error @+1 {{'func.func' op mtgr.abi must be a list of #mtgr.abi<...>}}
func.func private @f(memref<4xf32>) attributes {mtgr.abi = [{kind = "param", name = "w"}]}
