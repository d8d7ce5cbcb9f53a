module @fuzz_mini attributes {mtgr.training = {candidates_per_step = 8 : i64, seed = 0 : i64, tokens_per_step = 16384 : i64}} {
  mtgr.table @user hashed rows(16) dim(2)
  mtgr.table @item dynamic rows(12) dim(4) {admission_threshold = 1 : i64, eviction = #mtgr<eviction lru>}
  mtgr.table @action fixed rows(3) dim(2)
  mtgr.parameter @tables.user.weight : tensor<16x2xf32> init(normal) {no_decay, std = 1.000000e-02 : f64}
  mtgr.parameter @tables.item.weight : tensor<12x4xf32> init(normal) {no_decay, std = 1.000000e-02 : f64}
  mtgr.parameter @tables.action.weight : tensor<3x2xf32> init(normal) {no_decay, std = 1.000000e-02 : f64}
  mtgr.parameter @user_tokenizer.user_id.weight : tensor<8x2xf32> init(xavier_uniform)
  mtgr.parameter @user_tokenizer.user_id.bias : tensor<8xf32> init(zeros) {no_decay}
  mtgr.parameter @user_tokenizer.age.weight : tensor<8x1xf32> init(xavier_uniform)
  mtgr.parameter @user_tokenizer.age.bias : tensor<8xf32> init(zeros) {no_decay}
  mtgr.parameter @sequence_mlp.layers.0.weight : tensor<4x6xf32> init(xavier_uniform)
  mtgr.parameter @sequence_mlp.layers.0.bias : tensor<4xf32> init(zeros) {no_decay}
  mtgr.parameter @sequence_mlp.layers.1.weight : tensor<8x4xf32> init(xavier_uniform)
  mtgr.parameter @sequence_mlp.layers.1.bias : tensor<8xf32> init(zeros) {no_decay}
  mtgr.parameter @realtime_mlp.layers.0.weight : tensor<8x5xf32> init(xavier_uniform)
  mtgr.parameter @realtime_mlp.layers.0.bias : tensor<8xf32> init(zeros) {no_decay}
  mtgr.parameter @candidate_mlp.layers.0.weight : tensor<8x6xf32> init(xavier_uniform)
  mtgr.parameter @candidate_mlp.layers.0.bias : tensor<8xf32> init(zeros) {no_decay}
  mtgr.parameter @layers.0.gln1.gamma : tensor<4x8xf32> init(ones) {no_decay}
  mtgr.parameter @layers.0.gln1.beta : tensor<4x8xf32> init(zeros) {no_decay}
  mtgr.parameter @layers.0.uvqk.weight : tensor<32x8xf32> init(xavier_uniform)
  mtgr.parameter @layers.0.uvqk.bias : tensor<32xf32> init(zeros) {no_decay}
  mtgr.parameter @layers.0.gln2.gamma : tensor<4x8xf32> init(ones) {no_decay}
  mtgr.parameter @layers.0.gln2.beta : tensor<4x8xf32> init(zeros) {no_decay}
  mtgr.parameter @layers.0.out.weight : tensor<8x8xf32> init(xavier_uniform)
  mtgr.parameter @layers.0.out.bias : tensor<8xf32> init(zeros) {no_decay}
  mtgr.parameter @layers.0.rab.pos : tensor<9xf32> init(zeros) {no_decay}
  mtgr.parameter @layers.0.rab.time : tensor<3xf32> init(zeros) {no_decay}
  mtgr.parameter @heads.ctr.layers.0.weight : tensor<4x8xf32> init(xavier_uniform)
  mtgr.parameter @heads.ctr.layers.0.bias : tensor<4xf32> init(zeros) {no_decay}
  mtgr.parameter @heads.ctr.layers.1.weight : tensor<1x4xf32> init(xavier_uniform)
  mtgr.parameter @heads.ctr.layers.1.bias : tensor<1xf32> init(zeros) {no_decay}
  mtgr.parameter @heads.cvr.layers.0.weight : tensor<1x8xf32> init(xavier_uniform)
  mtgr.parameter @heads.cvr.layers.0.bias : tensor<1xf32> init(zeros) {no_decay}
  mtgr.optimizer adam lr(1.000000e-03) betas(9.000000e-01, 0.99899999999999999) eps(1.000000e-08) weight_decay(0.000000e+00) sparse(rowwise_adagrad lr(1.000000e-02))
  func.func @forward(%arg0: tensor<?xi64> {mtgr.input = "user.user_id", mtgr.role = #mtgr.role<feature, group = user, index = 0>}, %arg1: tensor<?x1xf32> {mtgr.input = "user.age", mtgr.role = #mtgr.role<feature, group = user, index = 1>}, %arg2: !mtgr.jagged<i64> {mtgr.input = "sequence.item_id", mtgr.role = #mtgr.role<feature, group = sequence, index = 0>}, %arg3: !mtgr.jagged<i64> {mtgr.input = "sequence.action", mtgr.role = #mtgr.role<feature, group = sequence, index = 1>}, %arg4: !mtgr.jagged<i64> {mtgr.input = "sequence.time", mtgr.role = #mtgr.role<time, group = sequence>}, %arg5: !mtgr.jagged<i64> {mtgr.input = "realtime.item_id", mtgr.role = #mtgr.role<feature, group = realtime, index = 0>}, %arg6: !mtgr.jagged<1xf32> {mtgr.input = "realtime.dwell", mtgr.role = #mtgr.role<feature, group = realtime, index = 1>}, %arg7: !mtgr.jagged<i64> {mtgr.input = "realtime.time", mtgr.role = #mtgr.role<time, group = realtime>}, %arg8: !mtgr.jagged<i64> {mtgr.input = "candidate.item_id", mtgr.role = #mtgr.role<feature, group = candidate, index = 0>}, %arg9: !mtgr.jagged<2xf32> {mtgr.input = "candidate.clicks", mtgr.role = #mtgr.role<feature, group = candidate, index = 1>}, %arg10: !mtgr.jagged<i64> {mtgr.input = "candidate.time", mtgr.role = #mtgr.role<time, group = candidate>}) -> (!mtgr.jagged<1xf32> {mtgr.output = "ctr", mtgr.role = #mtgr.role<output, group = candidate, index = 0>}, !mtgr.jagged<1xf32> {mtgr.output = "cvr", mtgr.role = #mtgr.role<output, group = candidate, index = 1>}) {
    %0 = mtgr.embedding_lookup @user %arg0 : tensor<?xi64> -> tensor<?x2xf32>
    %1 = mtgr.embedding_lookup @item %arg2 : !mtgr.jagged<i64> -> !mtgr.jagged<4xf32>
    %2 = mtgr.embedding_lookup @action %arg3 : !mtgr.jagged<i64> -> !mtgr.jagged<2xf32>
    %3 = mtgr.embedding_lookup @item %arg5 : !mtgr.jagged<i64> -> !mtgr.jagged<4xf32>
    %4 = mtgr.embedding_lookup @item %arg8 : !mtgr.jagged<i64> -> !mtgr.jagged<4xf32>
    %5 = mtgr.param @candidate_mlp.layers.0.weight : tensor<8x6xf32>
    %6 = mtgr.param @candidate_mlp.layers.0.bias : tensor<8xf32>
    %7 = mtgr.candidate_tokens items(%4) cross(%arg9) context() weights(%5) biases(%6) : (!mtgr.jagged<4xf32>, !mtgr.jagged<2xf32>, tensor<8x6xf32>, tensor<8xf32>) -> !mtgr.jagged<8xf32>
    %8 = mtgr.param @user_tokenizer.user_id.weight : tensor<8x2xf32>
    %9 = mtgr.param @user_tokenizer.user_id.bias : tensor<8xf32>
    %10 = mtgr.param @user_tokenizer.age.weight : tensor<8x1xf32>
    %11 = mtgr.param @user_tokenizer.age.bias : tensor<8xf32>
    %12 = mtgr.profile_tokens(%0, %arg1) weights(%8, %10) biases(%9, %11) : (tensor<?x2xf32>, tensor<?x1xf32>, tensor<8x2xf32>, tensor<8x1xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<?x2x8xf32>
    %13 = mtgr.param @sequence_mlp.layers.0.weight : tensor<4x6xf32>
    %14 = mtgr.param @sequence_mlp.layers.0.bias : tensor<4xf32>
    %15 = mtgr.param @sequence_mlp.layers.1.weight : tensor<8x4xf32>
    %16 = mtgr.param @sequence_mlp.layers.1.bias : tensor<8xf32>
    %17 = mtgr.sequence_tokens(%1, %2) weights(%13, %15) biases(%14, %16) : (!mtgr.jagged<4xf32>, !mtgr.jagged<2xf32>, tensor<4x6xf32>, tensor<8x4xf32>, tensor<4xf32>, tensor<8xf32>) -> !mtgr.jagged<8xf32>
    %18 = mtgr.param @realtime_mlp.layers.0.weight : tensor<8x5xf32>
    %19 = mtgr.param @realtime_mlp.layers.0.bias : tensor<8xf32>
    %20 = mtgr.sequence_tokens(%3, %arg6) weights(%18) biases(%19) : (!mtgr.jagged<4xf32>, !mtgr.jagged<1xf32>, tensor<8x5xf32>, tensor<8xf32>) -> !mtgr.jagged<8xf32>
    %tokens, %layout = mtgr.assemble_tokens %12, %17, %20, %7 times(%arg4, %arg7, %arg10) : tensor<?x2x8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<i64>, !mtgr.jagged<i64>, !mtgr.jagged<i64> -> !mtgr.jagged<8xf32>, !mtgr.layout
    %21 = mtgr.param @layers.0.rab.pos : tensor<9xf32>
    %22 = mtgr.param @layers.0.rab.time : tensor<3xf32>
    %23 = mtgr.param @layers.0.gln1.gamma : tensor<4x8xf32>
    %24 = mtgr.param @layers.0.gln1.beta : tensor<4x8xf32>
    %25 = mtgr.param @layers.0.uvqk.weight : tensor<32x8xf32>
    %26 = mtgr.param @layers.0.uvqk.bias : tensor<32xf32>
    %27 = mtgr.param @layers.0.gln2.gamma : tensor<4x8xf32>
    %28 = mtgr.param @layers.0.gln2.beta : tensor<4x8xf32>
    %29 = mtgr.param @layers.0.out.weight : tensor<8x8xf32>
    %30 = mtgr.param @layers.0.out.bias : tensor<8xf32>
    %31 = mtgr.hstu_layer %tokens, %layout gln1(%23, %24) uvqk(%25, %26) gln2(%27, %28) out(%29, %30) rab(%21, %22) {alpha = 5.000000e-01 : f64, dqk = 4 : i64, dropout = 1.000000e-01 : f64, dv = 4 : i64, heads = 2 : i64, layer = 0 : i64, mask = #mtgr<mask dynamic>, n_norm = #mtgr<n_norm total>, norm_order = #mtgr<norm_order gate_then_norm>} : (!mtgr.jagged<8xf32>, !mtgr.layout, tensor<4x8xf32>, tensor<4x8xf32>, tensor<32x8xf32>, tensor<32xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<8xf32>, tensor<9xf32>, tensor<3xf32>) -> !mtgr.jagged<8xf32>
    %32 = mtgr.extract_group candidate %31, %layout : !mtgr.jagged<8xf32>
    %33 = mtgr.param @heads.ctr.layers.0.weight : tensor<4x8xf32>
    %34 = mtgr.param @heads.ctr.layers.0.bias : tensor<4xf32>
    %35 = mtgr.param @heads.ctr.layers.1.weight : tensor<1x4xf32>
    %36 = mtgr.param @heads.ctr.layers.1.bias : tensor<1xf32>
    %37 = mtgr.task_head "ctr" %32 weights(%33, %35) biases(%34, %36) : (!mtgr.jagged<8xf32>, tensor<4x8xf32>, tensor<1x4xf32>, tensor<4xf32>, tensor<1xf32>) -> !mtgr.jagged<1xf32>
    %38 = mtgr.param @heads.cvr.layers.0.weight : tensor<1x8xf32>
    %39 = mtgr.param @heads.cvr.layers.0.bias : tensor<1xf32>
    %40 = mtgr.task_head "cvr" %32 weights(%38) biases(%39) : (!mtgr.jagged<8xf32>, tensor<1x8xf32>, tensor<1xf32>) -> !mtgr.jagged<1xf32>
    return %37, %40 : !mtgr.jagged<1xf32>, !mtgr.jagged<1xf32>
  }
  func.func @loss(%arg0: !mtgr.jagged<1xf32> {mtgr.input = "logits.ctr", mtgr.role = #mtgr.role<logits, group = candidate, index = 0>}, %arg1: !mtgr.jagged<1xf32> {mtgr.input = "logits.cvr", mtgr.role = #mtgr.role<logits, group = candidate, index = 1>}, %arg2: !mtgr.jagged<1xf32> {mtgr.input = "labels.ctr", mtgr.role = #mtgr.role<labels, group = candidate, index = 0>}, %arg3: !mtgr.jagged<1xf32> {mtgr.input = "labels.cvr", mtgr.role = #mtgr.role<labels, group = candidate, index = 1>}) -> tensor<f32> {
    %0 = mtgr.bce_loss(%arg0, %arg1) labels(%arg2, %arg3) {normalizer = 8.000000e+00 : f64, task_weights = [1.000000e+00, 1.000000e+00]} : (!mtgr.jagged<1xf32>, !mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>, !mtgr.jagged<1xf32>) -> tensor<f32>
    return %0 : tensor<f32>
  }
}

