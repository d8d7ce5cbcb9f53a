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
  func.func @train_step(%arg0: tensor<?xi64> {mtgr.input = "user.user_id", mtgr.role = #mtgr.role<feature, group = user, index = 0>}, %arg1: tensor<?x1xf32> {mtgr.input = "user.age", mtgr.role = #mtgr.role<feature, group = user, index = 1>}, %arg2: !mtgr.jagged<i64> {mtgr.input = "sequence.item_id", mtgr.role = #mtgr.role<feature, group = sequence, index = 0>}, %arg3: !mtgr.jagged<i64> {mtgr.input = "sequence.action", mtgr.role = #mtgr.role<feature, group = sequence, index = 1>}, %arg4: !mtgr.jagged<i64> {mtgr.input = "sequence.time", mtgr.role = #mtgr.role<time, group = sequence>}, %arg5: !mtgr.jagged<i64> {mtgr.input = "realtime.item_id", mtgr.role = #mtgr.role<feature, group = realtime, index = 0>}, %arg6: !mtgr.jagged<1xf32> {mtgr.input = "realtime.dwell", mtgr.role = #mtgr.role<feature, group = realtime, index = 1>}, %arg7: !mtgr.jagged<i64> {mtgr.input = "realtime.time", mtgr.role = #mtgr.role<time, group = realtime>}, %arg8: !mtgr.jagged<i64> {mtgr.input = "candidate.item_id", mtgr.role = #mtgr.role<feature, group = candidate, index = 0>}, %arg9: !mtgr.jagged<2xf32> {mtgr.input = "candidate.clicks", mtgr.role = #mtgr.role<feature, group = candidate, index = 1>}, %arg10: !mtgr.jagged<i64> {mtgr.input = "candidate.time", mtgr.role = #mtgr.role<time, group = candidate>}, %arg11: !mtgr.jagged<1xf32> {mtgr.input = "labels.ctr", mtgr.role = #mtgr.role<labels, group = candidate, index = 0>}, %arg12: !mtgr.jagged<1xf32> {mtgr.input = "labels.cvr", mtgr.role = #mtgr.role<labels, group = candidate, index = 1>}) -> (tensor<f32> {mtgr.output = "loss", mtgr.role = #mtgr.role<loss>}, tensor<8x6xf32> {mtgr.output = "grad:candidate_mlp.layers.0.weight", mtgr.role = #mtgr.role<grad, param = "candidate_mlp.layers.0.weight">}, tensor<8xf32> {mtgr.output = "grad:candidate_mlp.layers.0.bias", mtgr.role = #mtgr.role<grad, param = "candidate_mlp.layers.0.bias">}, tensor<8x2xf32> {mtgr.output = "grad:user_tokenizer.user_id.weight", mtgr.role = #mtgr.role<grad, param = "user_tokenizer.user_id.weight">}, tensor<8xf32> {mtgr.output = "grad:user_tokenizer.user_id.bias", mtgr.role = #mtgr.role<grad, param = "user_tokenizer.user_id.bias">}, tensor<8x1xf32> {mtgr.output = "grad:user_tokenizer.age.weight", mtgr.role = #mtgr.role<grad, param = "user_tokenizer.age.weight">}, tensor<8xf32> {mtgr.output = "grad:user_tokenizer.age.bias", mtgr.role = #mtgr.role<grad, param = "user_tokenizer.age.bias">}, tensor<4x6xf32> {mtgr.output = "grad:sequence_mlp.layers.0.weight", mtgr.role = #mtgr.role<grad, param = "sequence_mlp.layers.0.weight">}, tensor<4xf32> {mtgr.output = "grad:sequence_mlp.layers.0.bias", mtgr.role = #mtgr.role<grad, param = "sequence_mlp.layers.0.bias">}, tensor<8x4xf32> {mtgr.output = "grad:sequence_mlp.layers.1.weight", mtgr.role = #mtgr.role<grad, param = "sequence_mlp.layers.1.weight">}, tensor<8xf32> {mtgr.output = "grad:sequence_mlp.layers.1.bias", mtgr.role = #mtgr.role<grad, param = "sequence_mlp.layers.1.bias">}, tensor<8x5xf32> {mtgr.output = "grad:realtime_mlp.layers.0.weight", mtgr.role = #mtgr.role<grad, param = "realtime_mlp.layers.0.weight">}, tensor<8xf32> {mtgr.output = "grad:realtime_mlp.layers.0.bias", mtgr.role = #mtgr.role<grad, param = "realtime_mlp.layers.0.bias">}, tensor<9xf32> {mtgr.output = "grad:layers.0.rab.pos", mtgr.role = #mtgr.role<grad, param = "layers.0.rab.pos">}, tensor<3xf32> {mtgr.output = "grad:layers.0.rab.time", mtgr.role = #mtgr.role<grad, param = "layers.0.rab.time">}, tensor<4x8xf32> {mtgr.output = "grad:layers.0.gln1.gamma", mtgr.role = #mtgr.role<grad, param = "layers.0.gln1.gamma">}, tensor<4x8xf32> {mtgr.output = "grad:layers.0.gln1.beta", mtgr.role = #mtgr.role<grad, param = "layers.0.gln1.beta">}, tensor<32x8xf32> {mtgr.output = "grad:layers.0.uvqk.weight", mtgr.role = #mtgr.role<grad, param = "layers.0.uvqk.weight">}, tensor<32xf32> {mtgr.output = "grad:layers.0.uvqk.bias", mtgr.role = #mtgr.role<grad, param = "layers.0.uvqk.bias">}, tensor<4x8xf32> {mtgr.output = "grad:layers.0.gln2.gamma", mtgr.role = #mtgr.role<grad, param = "layers.0.gln2.gamma">}, tensor<4x8xf32> {mtgr.output = "grad:layers.0.gln2.beta", mtgr.role = #mtgr.role<grad, param = "layers.0.gln2.beta">}, tensor<8x8xf32> {mtgr.output = "grad:layers.0.out.weight", mtgr.role = #mtgr.role<grad, param = "layers.0.out.weight">}, tensor<8xf32> {mtgr.output = "grad:layers.0.out.bias", mtgr.role = #mtgr.role<grad, param = "layers.0.out.bias">}, tensor<4x8xf32> {mtgr.output = "grad:heads.ctr.layers.0.weight", mtgr.role = #mtgr.role<grad, param = "heads.ctr.layers.0.weight">}, tensor<4xf32> {mtgr.output = "grad:heads.ctr.layers.0.bias", mtgr.role = #mtgr.role<grad, param = "heads.ctr.layers.0.bias">}, tensor<1x4xf32> {mtgr.output = "grad:heads.ctr.layers.1.weight", mtgr.role = #mtgr.role<grad, param = "heads.ctr.layers.1.weight">}, tensor<1xf32> {mtgr.output = "grad:heads.ctr.layers.1.bias", mtgr.role = #mtgr.role<grad, param = "heads.ctr.layers.1.bias">}, tensor<1x8xf32> {mtgr.output = "grad:heads.cvr.layers.0.weight", mtgr.role = #mtgr.role<grad, param = "heads.cvr.layers.0.weight">}, tensor<1xf32> {mtgr.output = "grad:heads.cvr.layers.0.bias", mtgr.role = #mtgr.role<grad, param = "heads.cvr.layers.0.bias">}, tensor<?x2xf32> {mtgr.output = "embedding_grad:user.user_id", mtgr.role = #mtgr.role<embedding_grad, group = user, index = 0>}, !mtgr.jagged<4xf32> {mtgr.output = "embedding_grad:sequence.item_id", mtgr.role = #mtgr.role<embedding_grad, group = sequence, index = 0>}, !mtgr.jagged<2xf32> {mtgr.output = "embedding_grad:sequence.action", mtgr.role = #mtgr.role<embedding_grad, group = sequence, index = 1>}, !mtgr.jagged<4xf32> {mtgr.output = "embedding_grad:realtime.item_id", mtgr.role = #mtgr.role<embedding_grad, group = realtime, index = 0>}, !mtgr.jagged<4xf32> {mtgr.output = "embedding_grad:candidate.item_id", mtgr.role = #mtgr.role<embedding_grad, group = candidate, index = 0>}) {
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
    %63 = mtgr.bce_loss(%59, %62) labels(%arg11, %arg12) {normalizer = 8.000000e+00 : f64, task_weights = [1.000000e+00, 1.000000e+00]} : (!mtgr.jagged<1xf32>, !mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>, !mtgr.jagged<1xf32>) -> tensor<f32>
    %64:2 = mtgr.bce_loss_backward(%59, %62) labels(%arg11, %arg12) {normalizer = 8.000000e+00 : f64, task_weights = [1.000000e+00, 1.000000e+00]} : (!mtgr.jagged<1xf32>, !mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>, !mtgr.jagged<1xf32>) -> !mtgr.jagged<1xf32>, !mtgr.jagged<1xf32>
    %input_grad, %weight_grad, %bias_grad = mtgr.linear_backward %52, %60, %64#1 : !mtgr.jagged<8xf32>, tensor<1x8xf32>, !mtgr.jagged<1xf32> -> !mtgr.jagged<8xf32>, tensor<1x8xf32>, tensor<1xf32>
    %input_grad_0, %weight_grad_1, %bias_grad_2 = mtgr.linear_backward %58, %55, %64#0 : !mtgr.jagged<4xf32>, tensor<1x4xf32>, !mtgr.jagged<1xf32> -> !mtgr.jagged<4xf32>, tensor<1x4xf32>, tensor<1xf32>
    %65 = mtgr.silu_backward %57, %input_grad_0 : !mtgr.jagged<4xf32>
    %input_grad_3, %weight_grad_4, %bias_grad_5 = mtgr.linear_backward %52, %53, %65 : !mtgr.jagged<8xf32>, tensor<4x8xf32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<8xf32>, tensor<4x8xf32>, tensor<4xf32>
    %66 = mtgr.add %input_grad, %input_grad_3 : !mtgr.jagged<8xf32>
    %67 = mtgr.scatter_group candidate %66, %layout : !mtgr.jagged<8xf32>
    %input_grad_6, %weight_grad_7, %bias_grad_8 = mtgr.linear_backward %49, %36, %67 : !mtgr.jagged<8xf32>, tensor<8x8xf32>, !mtgr.jagged<8xf32> -> !mtgr.jagged<8xf32>, tensor<8x8xf32>, tensor<8xf32>
    %68 = mtgr.dropout %input_grad_6 {rate = 1.000000e-01 : f64, stream = 0 : i64} : !mtgr.jagged<8xf32>
    %input_grad_9, %gamma_grad, %beta_grad = mtgr.group_layer_norm_backward %47, %layout, %34, %68 : !mtgr.jagged<8xf32>, tensor<4x8xf32>
    %69 = mtgr.mul %input_grad_9, %41 : !mtgr.jagged<8xf32>
    %70 = mtgr.mul %input_grad_9, %46 : !mtgr.jagged<8xf32>
    %q_grad, %k_grad, %v_grad, %rab_grads:2 = mtgr.hstu_attention_backward %43, %44, %42, %45, %layout, %69 rab(%28, %29) {alpha = 5.000000e-01 : f64, heads = 2 : i64, n_norm = #mtgr<n_norm total>} : !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<3x2xi32>, !mtgr.jagged<8xf32>, tensor<9xf32>, tensor<3xf32> -> !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, tensor<9xf32>, tensor<3xf32>
    %71 = mtgr.column_pad %k_grad[24, 32] : !mtgr.jagged<8xf32> -> !mtgr.jagged<32xf32>
    %72 = mtgr.column_pad %q_grad[16, 32] : !mtgr.jagged<8xf32> -> !mtgr.jagged<32xf32>
    %73 = mtgr.add %71, %72 : !mtgr.jagged<32xf32>
    %74 = mtgr.column_pad %v_grad[8, 32] : !mtgr.jagged<8xf32> -> !mtgr.jagged<32xf32>
    %75 = mtgr.add %73, %74 : !mtgr.jagged<32xf32>
    %76 = mtgr.column_pad %70[0, 32] : !mtgr.jagged<8xf32> -> !mtgr.jagged<32xf32>
    %77 = mtgr.add %75, %76 : !mtgr.jagged<32xf32>
    %78 = mtgr.silu_backward %39, %77 : !mtgr.jagged<32xf32>
    %input_grad_10, %weight_grad_11, %bias_grad_12 = mtgr.linear_backward %38, %32, %78 : !mtgr.jagged<8xf32>, tensor<32x8xf32>, !mtgr.jagged<32xf32> -> !mtgr.jagged<8xf32>, tensor<32x8xf32>, tensor<32xf32>
    %input_grad_13, %gamma_grad_14, %beta_grad_15 = mtgr.group_layer_norm_backward %tokens, %layout, %30, %input_grad_10 : !mtgr.jagged<8xf32>, tensor<4x8xf32>
    %79 = mtgr.add %67, %input_grad_13 : !mtgr.jagged<8xf32>
    %80 = mtgr.extract_user %79, %layout : !mtgr.jagged<8xf32> -> tensor<?x2x8xf32>
    %81 = mtgr.extract_group sequence %79, %layout : !mtgr.jagged<8xf32>
    %82 = mtgr.extract_group realtime %79, %layout : !mtgr.jagged<8xf32>
    %83 = mtgr.extract_group candidate %79, %layout : !mtgr.jagged<8xf32>
    %input_grad_16, %weight_grad_17, %bias_grad_18 = mtgr.linear_backward %26, %24, %82 : !mtgr.jagged<5xf32>, tensor<8x5xf32>, !mtgr.jagged<8xf32> -> !mtgr.jagged<5xf32>, tensor<8x5xf32>, tensor<8xf32>
    %84 = mtgr.column_slice %input_grad_16[0, 4] : !mtgr.jagged<5xf32> -> !mtgr.jagged<4xf32>
    %85 = mtgr.column_slice %input_grad_16[4, 1] : !mtgr.jagged<5xf32> -> !mtgr.jagged<1xf32>
    %input_grad_19, %weight_grad_20, %bias_grad_21 = mtgr.linear_backward %22, %18, %81 : !mtgr.jagged<4xf32>, tensor<8x4xf32>, !mtgr.jagged<8xf32> -> !mtgr.jagged<4xf32>, tensor<8x4xf32>, tensor<8xf32>
    %86 = mtgr.silu_backward %21, %input_grad_19 : !mtgr.jagged<4xf32>
    %input_grad_22, %weight_grad_23, %bias_grad_24 = mtgr.linear_backward %20, %16, %86 : !mtgr.jagged<6xf32>, tensor<4x6xf32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<6xf32>, tensor<4x6xf32>, tensor<4xf32>
    %87 = mtgr.column_slice %input_grad_22[0, 4] : !mtgr.jagged<6xf32> -> !mtgr.jagged<4xf32>
    %88 = mtgr.column_slice %input_grad_22[4, 2] : !mtgr.jagged<6xf32> -> !mtgr.jagged<2xf32>
    %89:2 = mtgr.unstack %80 : tensor<?x2x8xf32> -> tensor<?x8xf32>, tensor<?x8xf32>
    %input_grad_25, %weight_grad_26, %bias_grad_27 = mtgr.linear_backward %arg1, %11, %89#1 : tensor<?x1xf32>, tensor<8x1xf32>, tensor<?x8xf32> -> tensor<?x1xf32>, tensor<8x1xf32>, tensor<8xf32>
    %input_grad_28, %weight_grad_29, %bias_grad_30 = mtgr.linear_backward %0, %9, %89#0 : tensor<?x2xf32>, tensor<8x2xf32>, tensor<?x8xf32> -> tensor<?x2xf32>, tensor<8x2xf32>, tensor<8xf32>
    %input_grad_31, %weight_grad_32, %bias_grad_33 = mtgr.linear_backward %7, %5, %83 : !mtgr.jagged<6xf32>, tensor<8x6xf32>, !mtgr.jagged<8xf32> -> !mtgr.jagged<6xf32>, tensor<8x6xf32>, tensor<8xf32>
    %90 = mtgr.column_slice %input_grad_31[0, 4] : !mtgr.jagged<6xf32> -> !mtgr.jagged<4xf32>
    %91 = mtgr.column_slice %input_grad_31[4, 2] : !mtgr.jagged<6xf32> -> !mtgr.jagged<2xf32>
    return %63, %weight_grad_32, %bias_grad_33, %weight_grad_29, %bias_grad_30, %weight_grad_26, %bias_grad_27, %weight_grad_23, %bias_grad_24, %weight_grad_20, %bias_grad_21, %weight_grad_17, %bias_grad_18, %rab_grads#0, %rab_grads#1, %gamma_grad_14, %beta_grad_15, %weight_grad_11, %bias_grad_12, %gamma_grad, %beta_grad, %weight_grad_7, %bias_grad_8, %weight_grad_4, %bias_grad_5, %weight_grad_1, %bias_grad_2, %weight_grad, %bias_grad, %input_grad_28, %87, %88, %84, %90 : tensor<f32>, tensor<8x6xf32>, tensor<8xf32>, tensor<8x2xf32>, tensor<8xf32>, tensor<8x1xf32>, tensor<8xf32>, tensor<4x6xf32>, tensor<4xf32>, tensor<8x4xf32>, tensor<8xf32>, tensor<8x5xf32>, tensor<8xf32>, tensor<9xf32>, tensor<3xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<32x8xf32>, tensor<32xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<8xf32>, tensor<4x8xf32>, tensor<4xf32>, tensor<1x4xf32>, tensor<1xf32>, tensor<1x8xf32>, tensor<1xf32>, tensor<?x2xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<2xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>
  }
  func.func @apply_update(%arg0: tensor<8x6xf32> {mtgr.input = "grad:candidate_mlp.layers.0.weight", mtgr.role = #mtgr.role<grad, param = "candidate_mlp.layers.0.weight">}, %arg1: tensor<8xf32> {mtgr.input = "grad:candidate_mlp.layers.0.bias", mtgr.role = #mtgr.role<grad, param = "candidate_mlp.layers.0.bias">}, %arg2: tensor<8x2xf32> {mtgr.input = "grad:user_tokenizer.user_id.weight", mtgr.role = #mtgr.role<grad, param = "user_tokenizer.user_id.weight">}, %arg3: tensor<8xf32> {mtgr.input = "grad:user_tokenizer.user_id.bias", mtgr.role = #mtgr.role<grad, param = "user_tokenizer.user_id.bias">}, %arg4: tensor<8x1xf32> {mtgr.input = "grad:user_tokenizer.age.weight", mtgr.role = #mtgr.role<grad, param = "user_tokenizer.age.weight">}, %arg5: tensor<8xf32> {mtgr.input = "grad:user_tokenizer.age.bias", mtgr.role = #mtgr.role<grad, param = "user_tokenizer.age.bias">}, %arg6: tensor<4x6xf32> {mtgr.input = "grad:sequence_mlp.layers.0.weight", mtgr.role = #mtgr.role<grad, param = "sequence_mlp.layers.0.weight">}, %arg7: tensor<4xf32> {mtgr.input = "grad:sequence_mlp.layers.0.bias", mtgr.role = #mtgr.role<grad, param = "sequence_mlp.layers.0.bias">}, %arg8: tensor<8x4xf32> {mtgr.input = "grad:sequence_mlp.layers.1.weight", mtgr.role = #mtgr.role<grad, param = "sequence_mlp.layers.1.weight">}, %arg9: tensor<8xf32> {mtgr.input = "grad:sequence_mlp.layers.1.bias", mtgr.role = #mtgr.role<grad, param = "sequence_mlp.layers.1.bias">}, %arg10: tensor<8x5xf32> {mtgr.input = "grad:realtime_mlp.layers.0.weight", mtgr.role = #mtgr.role<grad, param = "realtime_mlp.layers.0.weight">}, %arg11: tensor<8xf32> {mtgr.input = "grad:realtime_mlp.layers.0.bias", mtgr.role = #mtgr.role<grad, param = "realtime_mlp.layers.0.bias">}, %arg12: tensor<9xf32> {mtgr.input = "grad:layers.0.rab.pos", mtgr.role = #mtgr.role<grad, param = "layers.0.rab.pos">}, %arg13: tensor<3xf32> {mtgr.input = "grad:layers.0.rab.time", mtgr.role = #mtgr.role<grad, param = "layers.0.rab.time">}, %arg14: tensor<4x8xf32> {mtgr.input = "grad:layers.0.gln1.gamma", mtgr.role = #mtgr.role<grad, param = "layers.0.gln1.gamma">}, %arg15: tensor<4x8xf32> {mtgr.input = "grad:layers.0.gln1.beta", mtgr.role = #mtgr.role<grad, param = "layers.0.gln1.beta">}, %arg16: tensor<32x8xf32> {mtgr.input = "grad:layers.0.uvqk.weight", mtgr.role = #mtgr.role<grad, param = "layers.0.uvqk.weight">}, %arg17: tensor<32xf32> {mtgr.input = "grad:layers.0.uvqk.bias", mtgr.role = #mtgr.role<grad, param = "layers.0.uvqk.bias">}, %arg18: tensor<4x8xf32> {mtgr.input = "grad:layers.0.gln2.gamma", mtgr.role = #mtgr.role<grad, param = "layers.0.gln2.gamma">}, %arg19: tensor<4x8xf32> {mtgr.input = "grad:layers.0.gln2.beta", mtgr.role = #mtgr.role<grad, param = "layers.0.gln2.beta">}, %arg20: tensor<8x8xf32> {mtgr.input = "grad:layers.0.out.weight", mtgr.role = #mtgr.role<grad, param = "layers.0.out.weight">}, %arg21: tensor<8xf32> {mtgr.input = "grad:layers.0.out.bias", mtgr.role = #mtgr.role<grad, param = "layers.0.out.bias">}, %arg22: tensor<4x8xf32> {mtgr.input = "grad:heads.ctr.layers.0.weight", mtgr.role = #mtgr.role<grad, param = "heads.ctr.layers.0.weight">}, %arg23: tensor<4xf32> {mtgr.input = "grad:heads.ctr.layers.0.bias", mtgr.role = #mtgr.role<grad, param = "heads.ctr.layers.0.bias">}, %arg24: tensor<1x4xf32> {mtgr.input = "grad:heads.ctr.layers.1.weight", mtgr.role = #mtgr.role<grad, param = "heads.ctr.layers.1.weight">}, %arg25: tensor<1xf32> {mtgr.input = "grad:heads.ctr.layers.1.bias", mtgr.role = #mtgr.role<grad, param = "heads.ctr.layers.1.bias">}, %arg26: tensor<1x8xf32> {mtgr.input = "grad:heads.cvr.layers.0.weight", mtgr.role = #mtgr.role<grad, param = "heads.cvr.layers.0.weight">}, %arg27: tensor<1xf32> {mtgr.input = "grad:heads.cvr.layers.0.bias", mtgr.role = #mtgr.role<grad, param = "heads.cvr.layers.0.bias">}, %arg28: tensor<?xi64> {mtgr.input = "user.user_id", mtgr.role = #mtgr.role<feature, group = user, index = 0>}, %arg29: tensor<?x2xf32> {mtgr.input = "embedding_grad:user.user_id", mtgr.role = #mtgr.role<embedding_grad, group = user, index = 0>}, %arg30: !mtgr.jagged<i64> {mtgr.input = "sequence.item_id", mtgr.role = #mtgr.role<feature, group = sequence, index = 0>}, %arg31: !mtgr.jagged<4xf32> {mtgr.input = "embedding_grad:sequence.item_id", mtgr.role = #mtgr.role<embedding_grad, group = sequence, index = 0>}, %arg32: !mtgr.jagged<i64> {mtgr.input = "sequence.action", mtgr.role = #mtgr.role<feature, group = sequence, index = 1>}, %arg33: !mtgr.jagged<2xf32> {mtgr.input = "embedding_grad:sequence.action", mtgr.role = #mtgr.role<embedding_grad, group = sequence, index = 1>}, %arg34: !mtgr.jagged<i64> {mtgr.input = "realtime.item_id", mtgr.role = #mtgr.role<feature, group = realtime, index = 0>}, %arg35: !mtgr.jagged<4xf32> {mtgr.input = "embedding_grad:realtime.item_id", mtgr.role = #mtgr.role<embedding_grad, group = realtime, index = 0>}, %arg36: !mtgr.jagged<i64> {mtgr.input = "candidate.item_id", mtgr.role = #mtgr.role<feature, group = candidate, index = 0>}, %arg37: !mtgr.jagged<4xf32> {mtgr.input = "embedding_grad:candidate.item_id", mtgr.role = #mtgr.role<embedding_grad, group = candidate, index = 0>}) {
    mtgr.adam_update @candidate_mlp.layers.0.weight, %arg0 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<8x6xf32>
    mtgr.adam_update @candidate_mlp.layers.0.bias, %arg1 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<8xf32>
    mtgr.adam_update @user_tokenizer.user_id.weight, %arg2 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<8x2xf32>
    mtgr.adam_update @user_tokenizer.user_id.bias, %arg3 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<8xf32>
    mtgr.adam_update @user_tokenizer.age.weight, %arg4 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<8x1xf32>
    mtgr.adam_update @user_tokenizer.age.bias, %arg5 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<8xf32>
    mtgr.adam_update @sequence_mlp.layers.0.weight, %arg6 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<4x6xf32>
    mtgr.adam_update @sequence_mlp.layers.0.bias, %arg7 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<4xf32>
    mtgr.adam_update @sequence_mlp.layers.1.weight, %arg8 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<8x4xf32>
    mtgr.adam_update @sequence_mlp.layers.1.bias, %arg9 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<8xf32>
    mtgr.adam_update @realtime_mlp.layers.0.weight, %arg10 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<8x5xf32>
    mtgr.adam_update @realtime_mlp.layers.0.bias, %arg11 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<8xf32>
    mtgr.adam_update @layers.0.rab.pos, %arg12 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<9xf32>
    mtgr.adam_update @layers.0.rab.time, %arg13 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<3xf32>
    mtgr.adam_update @layers.0.gln1.gamma, %arg14 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<4x8xf32>
    mtgr.adam_update @layers.0.gln1.beta, %arg15 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<4x8xf32>
    mtgr.adam_update @layers.0.uvqk.weight, %arg16 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<32x8xf32>
    mtgr.adam_update @layers.0.uvqk.bias, %arg17 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<32xf32>
    mtgr.adam_update @layers.0.gln2.gamma, %arg18 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<4x8xf32>
    mtgr.adam_update @layers.0.gln2.beta, %arg19 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<4x8xf32>
    mtgr.adam_update @layers.0.out.weight, %arg20 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<8x8xf32>
    mtgr.adam_update @layers.0.out.bias, %arg21 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<8xf32>
    mtgr.adam_update @heads.ctr.layers.0.weight, %arg22 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<4x8xf32>
    mtgr.adam_update @heads.ctr.layers.0.bias, %arg23 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<4xf32>
    mtgr.adam_update @heads.ctr.layers.1.weight, %arg24 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<1x4xf32>
    mtgr.adam_update @heads.ctr.layers.1.bias, %arg25 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<1xf32>
    mtgr.adam_update @heads.cvr.layers.0.weight, %arg26 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<1x8xf32>
    mtgr.adam_update @heads.cvr.layers.0.bias, %arg27 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<1xf32>
    mtgr.sparse_update @user rowwise_adagrad ids(%arg28) grads(%arg29) {eps = 1.000000e-08 : f64, lr = 1.000000e-02 : f64} : (tensor<?xi64>), (tensor<?x2xf32>)
    mtgr.sparse_update @item rowwise_adagrad ids(%arg30, %arg34, %arg36) grads(%arg31, %arg35, %arg37) {eps = 1.000000e-08 : f64, lr = 1.000000e-02 : f64} : (!mtgr.jagged<i64>, !mtgr.jagged<i64>, !mtgr.jagged<i64>), (!mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>)
    mtgr.sparse_update @action rowwise_adagrad ids(%arg32) grads(%arg33) {eps = 1.000000e-08 : f64, lr = 1.000000e-02 : f64} : (!mtgr.jagged<i64>), (!mtgr.jagged<2xf32>)
    return
  }
}

