
// expected-error @+1 {{'mtgr.parameter' op attribute 'type' failed to satisfy constraint}}
mtgr.parameter @p : tensor<?xf32> init(zeros)

