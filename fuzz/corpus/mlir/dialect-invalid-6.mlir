
// expected-error @+1 {{'std' must be positive}}
mtgr.parameter @p : tensor<4xf32> init(normal) {std = -1.0 : f64}

