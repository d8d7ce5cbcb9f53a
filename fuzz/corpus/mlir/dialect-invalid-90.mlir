
// expected-error @+1 {{beta2 must lie in [0, 1), got 1}}
mtgr.optimizer adam lr(0.001) betas(0.9, 1.0) eps(1.0e-8) weight_decay(0.0) sparse(rowwise_adagrad lr(0.01))

