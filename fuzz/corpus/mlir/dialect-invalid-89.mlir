
// expected-error @+1 {{lr must be positive, got 0}}
mtgr.optimizer adam lr(0.0) betas(0.9, 0.999) eps(1.0e-8) weight_decay(0.0) sparse(rowwise_adagrad lr(0.01))

