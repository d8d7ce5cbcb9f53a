
mtgr.optimizer adam lr(0.001) betas(0.9, 0.999) eps(1.0e-8) weight_decay(0.0) sparse(rowwise_adagrad lr(0.01))
// expected-error @+1 {{declared more than once in the module}}
mtgr.optimizer adamw lr(0.001) betas(0.9, 0.999) eps(1.0e-8) weight_decay(0.01) sparse(adam lr(0.01))

