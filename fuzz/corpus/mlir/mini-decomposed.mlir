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
    %7 = mtgr.concat %4, %arg9 : !mtgr.jagged<4xf32>, !mtgr.jagged<2xf32> -> !mtgr.jagged<6xf32>
    %8 = mtgr.linear %7, %5, %6 : !mtgr.jagged<6xf32>, tensor<8x6xf32>, tensor<8xf32> -> !mtgr.jagged<8xf32>
    %9 = mtgr.param @user_tokenizer.user_id.weight : tensor<8x2xf32>
    %10 = mtgr.param @user_tokenizer.user_id.bias : tensor<8xf32>
    %11 = mtgr.param @user_tokenizer.age.weight : tensor<8x1xf32>
    %12 = mtgr.param @user_tokenizer.age.bias : tensor<8xf32>
    %13 = mtgr.linear %0, %9, %10 : tensor<?x2xf32>, tensor<8x2xf32>, tensor<8xf32> -> tensor<?x8xf32>
    %14 = mtgr.linear %arg1, %11, %12 : tensor<?x1xf32>, tensor<8x1xf32>, tensor<8xf32> -> tensor<?x8xf32>
    %15 = mtgr.stack %13, %14 : tensor<?x8xf32>, tensor<?x8xf32> -> tensor<?x2x8xf32>
    %16 = mtgr.param @sequence_mlp.layers.0.weight : tensor<4x6xf32>
    %17 = mtgr.param @sequence_mlp.layers.0.bias : tensor<4xf32>
    %18 = mtgr.param @sequence_mlp.layers.1.weight : tensor<8x4xf32>
    %19 = mtgr.param @sequence_mlp.layers.1.bias : tensor<8xf32>
    %20 = mtgr.concat %1, %2 : !mtgr.jagged<4xf32>, !mtgr.jagged<2xf32> -> !mtgr.jagged<6xf32>
    %21 = mtgr.linear %20, %16, %17 : !mtgr.jagged<6xf32>, tensor<4x6xf32>, tensor<4xf32> -> !mtgr.jagged<4xf32>
    %22 = mtgr.silu %21 : !mtgr.jagged<4xf32>
    %23 = mtgr.linear %22, %18, %19 : !mtgr.jagged<4xf32>, tensor<8x4xf32>, tensor<8xf32> -> !mtgr.jagged<8xf32>
    %24 = mtgr.param @realtime_mlp.layers.0.weight : tensor<8x5xf32>
    %25 = mtgr.param @realtime_mlp.layers.0.bias : tensor<8xf32>
    %26 = mtgr.concat %3, %arg6 : !mtgr.jagged<4xf32>, !mtgr.jagged<1xf32> -> !mtgr.jagged<5xf32>
    %27 = mtgr.linear %26, %24, %25 : !mtgr.jagged<5xf32>, tensor<8x5xf32>, tensor<8xf32> -> !mtgr.jagged<8xf32>
    %tokens, %layout = mtgr.assemble_tokens %15, %23, %27, %8 times(%arg4, %arg7, %arg10) : tensor<?x2x8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<i64>, !mtgr.jagged<i64>, !mtgr.jagged<i64> -> !mtgr.jagged<8xf32>, !mtgr.layout
    %28 = mtgr.param @layers.0.rab.pos : tensor<9xf32>
    %29 = mtgr.param @layers.0.rab.time : tensor<3xf32>
    %30 = mtgr.param @layers.0.gln1.gamma : tensor<4x8xf32>
    %31 = mtgr.param @layers.0.gln1.beta : tensor<4x8xf32>
    %32 = mtgr.param @layers.0.uvqk.weight : tensor<32x8xf32>
    %33 = mtgr.param @layers.0.uvqk.bias : tensor<32xf32>
    %34 = mtgr.param @layers.0.gln2.gamma : tensor<4x8xf32>
    %35 = mtgr.param @layers.0.gln2.beta : tensor<4x8xf32>
    %36 = mtgr.param @layers.0.out.weight : tensor<8x8xf32>
    %37 = mtgr.param @layers.0.out.bias : tensor<8xf32>
    %38 = mtgr.group_layer_norm %tokens, %layout, %30, %31 : !mtgr.jagged<8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
    %39 = mtgr.linear %38, %32, %33 : !mtgr.jagged<8xf32>, tensor<32x8xf32>, tensor<32xf32> -> !mtgr.jagged<32xf32>
    %40 = mtgr.silu %39 : !mtgr.jagged<32xf32>
    %41 = mtgr.column_slice %40[0, 8] : !mtgr.jagged<32xf32> -> !mtgr.jagged<8xf32>
    %42 = mtgr.column_slice %40[8, 8] : !mtgr.jagged<32xf32> -> !mtgr.jagged<8xf32>
    %43 = mtgr.column_slice %40[16, 8] : !mtgr.jagged<32xf32> -> !mtgr.jagged<8xf32>
    %44 = mtgr.column_slice %40[24, 8] : !mtgr.jagged<32xf32> -> !mtgr.jagged<8xf32>
    %45 = mtgr.build_mask dynamic %layout : !mtgr.jagged<3x2xi32>
    %46 = mtgr.hstu_attention %43, %44, %42, %45, %layout rab(%28, %29) {alpha = 5.000000e-01 : f64, heads = 2 : i64, n_norm = #mtgr<n_norm total>} : !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<3x2xi32>, tensor<9xf32>, tensor<3xf32> -> !mtgr.jagged<8xf32>
    %47 = mtgr.mul %46, %41 : !mtgr.jagged<8xf32>
    %48 = mtgr.group_layer_norm %47, %layout, %34, %35 : !mtgr.jagged<8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
    %49 = mtgr.dropout %48 {rate = 1.000000e-01 : f64, stream = 0 : i64} : !mtgr.jagged<8xf32>
    %50 = mtgr.linear %49, %36, %37 : !mtgr.jagged<8xf32>, tensor<8x8xf32>, tensor<8xf32> -> !mtgr.jagged<8xf32>
    %51 = mtgr.add %tokens, %50 : !mtgr.jagged<8xf32>
    %52 = mtgr.extract_group candidate %51, %layout : !mtgr.jagged<8xf32>
    %53 = mtgr.param @heads.ctr.layers.0.weight : tensor<4x8xf32>
    %54 = mtgr.param @heads.ctr.layers.0.bias : tensor<4xf32>
    %55 = mtgr.param @heads.ctr.layers.1.weight : tensor<1x4xf32>
    %56 = mtgr.param @heads.ctr.layers.1.bias : tensor<1xf32>
    %57 = mtgr.linear %52, %53, %54 : !mtgr.jagged<8xf32>, tensor<4x8xf32>, tensor<4xf32> -> !mtgr.jagged<4xf32>
    %58 = mtgr.silu %57 : !mtgr.jagged<4xf32>
    %59 = mtgr.linear %58, %55, %56 : !mtgr.jagged<4xf32>, tensor<1x4xf32>, tensor<1xf32> -> !mtgr.jagged<1xf32>
    %60 = mtgr.param @heads.cvr.layers.0.weight : tensor<1x8xf32>
    %61 = mtgr.param @heads.cvr.layers.0.bias : tensor<1xf32>
    %62 = mtgr.linear %52, %60, %61 : !mtgr.jagged<8xf32>, tensor<1x8xf32>, tensor<1xf32> -> !mtgr.jagged<1xf32>
    return %59, %62 : !mtgr.jagged<1xf32>, !mtgr.jagged<1xf32>
  }
  func.func @loss(%arg0: !mtgr.jagged<1xf32> {mtgr.input = "logits.ctr", mtgr.role = #mtgr.role<logits, group = candidate, index = 0>}, %arg1: !mtgr.jagged<1xf32> {mtgr.input = "logits.cvr", mtgr.role = #mtgr.role<logits, group = candidate, index = 1>}, %arg2: !mtgr.jagged<1xf32> {mtgr.input = "labels.ctr", mtgr.role = #mtgr.role<labels, group = candidate, index = 0>}, %arg3: !mtgr.jagged<1xf32> {mtgr.input = "labels.cvr", mtgr.role = #mtgr.role<labels, group = candidate, index = 1>}) -> tensor<f32> {
    %0 = mtgr.bce_loss(%arg0, %arg1) labels(%arg2, %arg3) {normalizer = 8.000000e+00 : f64, task_weights = [1.000000e+00, 1.000000e+00]} : (!mtgr.jagged<1xf32>, !mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>, !mtgr.jagged<1xf32>) -> tensor<f32>
    return %0 : tensor<f32>
  }
}

