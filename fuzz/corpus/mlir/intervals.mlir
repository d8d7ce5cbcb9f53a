module @fuzz_intervals attributes {mtgr.training = {candidates_per_step = 256 : i64, seed = 0 : i64, tokens_per_step = 16384 : i64}} {
  mtgr.table @item fixed rows(10) dim(2)
  mtgr.parameter @tables.item.weight : tensor<10x2xf32> init(normal) {no_decay, std = 1.000000e-02 : f64}
  mtgr.parameter @user_tokenizer.age.weight : tensor<4x1xf32> init(xavier_uniform)
  mtgr.parameter @user_tokenizer.age.bias : tensor<4xf32> init(zeros) {no_decay}
  mtgr.parameter @sequence_mlp.layers.0.weight : tensor<4x2xf32> init(xavier_uniform)
  mtgr.parameter @sequence_mlp.layers.0.bias : tensor<4xf32> init(zeros) {no_decay}
  mtgr.parameter @candidate_mlp.layers.0.weight : tensor<4x2xf32> init(xavier_uniform)
  mtgr.parameter @candidate_mlp.layers.0.bias : tensor<4xf32> init(zeros) {no_decay}
  mtgr.parameter @layers.0.gln1.gamma : tensor<4x4xf32> init(ones) {no_decay}
  mtgr.parameter @layers.0.gln1.beta : tensor<4x4xf32> init(zeros) {no_decay}
  mtgr.parameter @layers.0.uvqk.weight : tensor<16x4xf32> init(xavier_uniform)
  mtgr.parameter @layers.0.uvqk.bias : tensor<16xf32> init(zeros) {no_decay}
  mtgr.parameter @layers.0.gln2.gamma : tensor<4x4xf32> init(ones) {no_decay}
  mtgr.parameter @layers.0.gln2.beta : tensor<4x4xf32> init(zeros) {no_decay}
  mtgr.parameter @layers.0.out.weight : tensor<4x4xf32> init(xavier_uniform)
  mtgr.parameter @layers.0.out.bias : tensor<4xf32> init(zeros) {no_decay}
  mtgr.parameter @heads.ctr.layers.0.weight : tensor<1x4xf32> init(xavier_uniform)
  mtgr.parameter @heads.ctr.layers.0.bias : tensor<1xf32> init(zeros) {no_decay}
  mtgr.optimizer adamw lr(1.000000e-03) betas(9.000000e-01, 0.99899999999999999) eps(1.000000e-08) weight_decay(1.000000e-02) sparse(rowwise_adagrad lr(1.000000e-02))
  func.func @forward(%arg0: tensor<?x1xf32> {mtgr.input = "user.age", mtgr.role = #mtgr.role<feature, group = user, index = 0>}, %arg1: !mtgr.jagged<i64> {mtgr.input = "sequence.item_id", mtgr.role = #mtgr.role<feature, group = sequence, index = 0>}, %arg2: !mtgr.jagged<i64> {mtgr.input = "sequence.time", mtgr.role = #mtgr.role<time, group = sequence>}, %arg3: !mtgr.jagged<i64> {mtgr.input = "realtime.item_id", mtgr.role = #mtgr.role<feature, group = realtime, index = 0>}, %arg4: !mtgr.jagged<i64> {mtgr.input = "realtime.time", mtgr.role = #mtgr.role<time, group = realtime>}, %arg5: !mtgr.jagged<i64> {mtgr.input = "candidate.item_id", mtgr.role = #mtgr.role<feature, group = candidate, index = 0>}, %arg6: !mtgr.jagged<i64> {mtgr.input = "candidate.time", mtgr.role = #mtgr.role<time, group = candidate>}, %arg7: !mtgr.jagged<3x2xi32> {mtgr.input = "mask.intervals", mtgr.role = #mtgr.role<intervals, group = tokens>}) -> (!mtgr.jagged<1xf32> {mtgr.output = "ctr", mtgr.role = #mtgr.role<output, group = candidate, index = 0>}) {
    %0 = mtgr.embedding_lookup @item %arg1 : !mtgr.jagged<i64> -> !mtgr.jagged<2xf32>
    %1 = mtgr.embedding_lookup @item %arg3 : !mtgr.jagged<i64> -> !mtgr.jagged<2xf32>
    %2 = mtgr.embedding_lookup @item %arg5 : !mtgr.jagged<i64> -> !mtgr.jagged<2xf32>
    %3 = mtgr.param @candidate_mlp.layers.0.weight : tensor<4x2xf32>
    %4 = mtgr.param @candidate_mlp.layers.0.bias : tensor<4xf32>
    %5 = mtgr.candidate_tokens items(%2) cross() context() weights(%3) biases(%4) : (!mtgr.jagged<2xf32>, tensor<4x2xf32>, tensor<4xf32>) -> !mtgr.jagged<4xf32>
    %6 = mtgr.param @user_tokenizer.age.weight : tensor<4x1xf32>
    %7 = mtgr.param @user_tokenizer.age.bias : tensor<4xf32>
    %8 = mtgr.profile_tokens(%arg0) weights(%6) biases(%7) : (tensor<?x1xf32>, tensor<4x1xf32>, tensor<4xf32>) -> tensor<?x1x4xf32>
    %9 = mtgr.param @sequence_mlp.layers.0.weight : tensor<4x2xf32>
    %10 = mtgr.param @sequence_mlp.layers.0.bias : tensor<4xf32>
    %11 = mtgr.sequence_tokens(%0) weights(%9) biases(%10) : (!mtgr.jagged<2xf32>, tensor<4x2xf32>, tensor<4xf32>) -> !mtgr.jagged<4xf32>
    %12 = mtgr.sequence_tokens(%1) weights(%9) biases(%10) : (!mtgr.jagged<2xf32>, tensor<4x2xf32>, tensor<4xf32>) -> !mtgr.jagged<4xf32>
    %tokens, %layout = mtgr.assemble_tokens %8, %11, %12, %5 times(%arg2, %arg4, %arg6) : tensor<?x1x4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<i64>, !mtgr.jagged<i64>, !mtgr.jagged<i64> -> !mtgr.jagged<4xf32>, !mtgr.layout
    %13 = mtgr.param @layers.0.gln1.gamma : tensor<4x4xf32>
    %14 = mtgr.param @layers.0.gln1.beta : tensor<4x4xf32>
    %15 = mtgr.param @layers.0.uvqk.weight : tensor<16x4xf32>
    %16 = mtgr.param @layers.0.uvqk.bias : tensor<16xf32>
    %17 = mtgr.param @layers.0.gln2.gamma : tensor<4x4xf32>
    %18 = mtgr.param @layers.0.gln2.beta : tensor<4x4xf32>
    %19 = mtgr.param @layers.0.out.weight : tensor<4x4xf32>
    %20 = mtgr.param @layers.0.out.bias : tensor<4xf32>
    %21 = mtgr.hstu_layer %tokens, %layout gln1(%13, %14) uvqk(%15, %16) gln2(%17, %18) out(%19, %20) intervals(%arg7) {alpha = 5.000000e-01 : f64, dqk = 4 : i64, dropout = 0.000000e+00 : f64, dv = 4 : i64, heads = 1 : i64, layer = 0 : i64, mask = #mtgr<mask intervals>, n_norm = #mtgr<n_norm total>, norm_order = #mtgr<norm_order gate_then_norm>} : (!mtgr.jagged<4xf32>, !mtgr.layout, tensor<4x4xf32>, tensor<4x4xf32>, tensor<16x4xf32>, tensor<16xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<4xf32>, !mtgr.jagged<3x2xi32>) -> !mtgr.jagged<4xf32>
    %22 = mtgr.extract_group candidate %21, %layout : !mtgr.jagged<4xf32>
    %23 = mtgr.param @heads.ctr.layers.0.weight : tensor<1x4xf32>
    %24 = mtgr.param @heads.ctr.layers.0.bias : tensor<1xf32>
    %25 = mtgr.task_head "ctr" %22 weights(%23) biases(%24) : (!mtgr.jagged<4xf32>, tensor<1x4xf32>, tensor<1xf32>) -> !mtgr.jagged<1xf32>
    return %25 : !mtgr.jagged<1xf32>
  }
  func.func @loss(%arg0: !mtgr.jagged<1xf32> {mtgr.input = "logits.ctr", mtgr.role = #mtgr.role<logits, group = candidate, index = 0>}, %arg1: !mtgr.jagged<1xf32> {mtgr.input = "labels.ctr", mtgr.role = #mtgr.role<labels, group = candidate, index = 0>}) -> tensor<f32> {
    %0 = mtgr.bce_loss(%arg0) labels(%arg1) {normalizer = 2.560000e+02 : f64, task_weights = [1.000000e+00]} : (!mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>) -> tensor<f32>
    return %0 : tensor<f32>
  }
}

