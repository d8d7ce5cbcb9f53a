
// expected-error @+1 {{'std' is required with init(normal) and only allowed there}}
mtgr.parameter @p : tensor<4xf32> init(zeros) {std = 1.0 : f64}

