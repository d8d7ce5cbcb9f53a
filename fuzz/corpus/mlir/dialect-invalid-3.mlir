
// expected-error @+1 {{parameters are f32}}
mtgr.parameter @p : tensor<4xf64> init(zeros)

