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
    %5 = mtgr.linear %2, %3, %4 : !mtgr.jagged<2xf32>, tensor<4x2xf32>, tensor<4xf32> -> !mtgr.jagged<4xf32>
    %6 = mtgr.param @user_tokenizer.age.weight : tensor<4x1xf32>
    %7 = mtgr.param @user_tokenizer.age.bias : tensor<4xf32>
    %8 = mtgr.linear %arg0, %6, %7 : tensor<?x1xf32>, tensor<4x1xf32>, tensor<4xf32> -> tensor<?x4xf32>
    %9 = mtgr.stack %8 : tensor<?x4xf32> -> tensor<?x1x4xf32>
    %10 = mtgr.param @sequence_mlp.layers.0.weight : tensor<4x2xf32>
    %11 = mtgr.param @sequence_mlp.layers.0.bias : tensor<4xf32>
    %12 = mtgr.linear %0, %10, %11 : !mtgr.jagged<2xf32>, tensor<4x2xf32>, tensor<4xf32> -> !mtgr.jagged<4xf32>
    %13 = mtgr.linear %1, %10, %11 : !mtgr.jagged<2xf32>, tensor<4x2xf32>, tensor<4xf32> -> !mtgr.jagged<4xf32>
    %tokens, %layout = mtgr.assemble_tokens %9, %12, %13, %5 times(%arg2, %arg4, %arg6) : tensor<?x1x4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<i64>, !mtgr.jagged<i64>, !mtgr.jagged<i64> -> !mtgr.jagged<4xf32>, !mtgr.layout
    %14 = mtgr.param @layers.0.gln1.gamma : tensor<4x4xf32>
    %15 = mtgr.param @layers.0.gln1.beta : tensor<4x4xf32>
    %16 = mtgr.param @layers.0.uvqk.weight : tensor<16x4xf32>
    %17 = mtgr.param @layers.0.uvqk.bias : tensor<16xf32>
    %18 = mtgr.param @layers.0.gln2.gamma : tensor<4x4xf32>
    %19 = mtgr.param @layers.0.gln2.beta : tensor<4x4xf32>
    %20 = mtgr.param @layers.0.out.weight : tensor<4x4xf32>
    %21 = mtgr.param @layers.0.out.bias : tensor<4xf32>
    %22 = mtgr.group_layer_norm %tokens, %layout, %14, %15 : !mtgr.jagged<4xf32>, tensor<4x4xf32>, tensor<4x4xf32>
    %23 = mtgr.linear %22, %16, %17 : !mtgr.jagged<4xf32>, tensor<16x4xf32>, tensor<16xf32> -> !mtgr.jagged<16xf32>
    %24 = mtgr.silu %23 : !mtgr.jagged<16xf32>
    %25 = mtgr.column_slice %24[0, 4] : !mtgr.jagged<16xf32> -> !mtgr.jagged<4xf32>
    %26 = mtgr.column_slice %24[4, 4] : !mtgr.jagged<16xf32> -> !mtgr.jagged<4xf32>
    %27 = mtgr.column_slice %24[8, 4] : !mtgr.jagged<16xf32> -> !mtgr.jagged<4xf32>
    %28 = mtgr.column_slice %24[12, 4] : !mtgr.jagged<16xf32> -> !mtgr.jagged<4xf32>
    %29 = mtgr.hstu_attention %27, %28, %26, %arg7, %layout {alpha = 5.000000e-01 : f64, heads = 1 : i64, n_norm = #mtgr<n_norm total>} : !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<4xf32>
    %30 = mtgr.mul %29, %25 : !mtgr.jagged<4xf32>
    %31 = mtgr.group_layer_norm %30, %layout, %18, %19 : !mtgr.jagged<4xf32>, tensor<4x4xf32>, tensor<4x4xf32>
    %32 = mtgr.linear %31, %20, %21 : !mtgr.jagged<4xf32>, tensor<4x4xf32>, tensor<4xf32> -> !mtgr.jagged<4xf32>
    %33 = mtgr.add %tokens, %32 : !mtgr.jagged<4xf32>
    %34 = mtgr.extract_group candidate %33, %layout : !mtgr.jagged<4xf32>
    %35 = mtgr.param @heads.ctr.layers.0.weight : tensor<1x4xf32>
    %36 = mtgr.param @heads.ctr.layers.0.bias : tensor<1xf32>
    %37 = mtgr.linear %34, %35, %36 : !mtgr.jagged<4xf32>, tensor<1x4xf32>, tensor<1xf32> -> !mtgr.jagged<1xf32>
    return %37 : !mtgr.jagged<1xf32>
  }
  func.func @loss(%arg0: !mtgr.jagged<1xf32> {mtgr.input = "logits.ctr", mtgr.role = #mtgr.role<logits, group = candidate, index = 0>}, %arg1: !mtgr.jagged<1xf32> {mtgr.input = "labels.ctr", mtgr.role = #mtgr.role<labels, group = candidate, index = 0>}) -> tensor<f32> {
    %0 = mtgr.bce_loss(%arg0) labels(%arg1) {normalizer = 2.560000e+02 : f64, task_weights = [1.000000e+00]} : (!mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>) -> tensor<f32>
    return %0 : tensor<f32>
  }
  func.func @train_step(%arg0: tensor<?x1xf32> {mtgr.input = "user.age", mtgr.role = #mtgr.role<feature, group = user, index = 0>}, %arg1: !mtgr.jagged<i64> {mtgr.input = "sequence.item_id", mtgr.role = #mtgr.role<feature, group = sequence, index = 0>}, %arg2: !mtgr.jagged<i64> {mtgr.input = "sequence.time", mtgr.role = #mtgr.role<time, group = sequence>}, %arg3: !mtgr.jagged<i64> {mtgr.input = "realtime.item_id", mtgr.role = #mtgr.role<feature, group = realtime, index = 0>}, %arg4: !mtgr.jagged<i64> {mtgr.input = "realtime.time", mtgr.role = #mtgr.role<time, group = realtime>}, %arg5: !mtgr.jagged<i64> {mtgr.input = "candidate.item_id", mtgr.role = #mtgr.role<feature, group = candidate, index = 0>}, %arg6: !mtgr.jagged<i64> {mtgr.input = "candidate.time", mtgr.role = #mtgr.role<time, group = candidate>}, %arg7: !mtgr.jagged<3x2xi32> {mtgr.input = "mask.intervals", mtgr.role = #mtgr.role<intervals, group = tokens>}, %arg8: !mtgr.jagged<1xf32> {mtgr.input = "labels.ctr", mtgr.role = #mtgr.role<labels, group = candidate, index = 0>}) -> (tensor<f32> {mtgr.output = "loss", mtgr.role = #mtgr.role<loss>}, tensor<4x2xf32> {mtgr.output = "grad:candidate_mlp.layers.0.weight", mtgr.role = #mtgr.role<grad, param = "candidate_mlp.layers.0.weight">}, tensor<4xf32> {mtgr.output = "grad:candidate_mlp.layers.0.bias", mtgr.role = #mtgr.role<grad, param = "candidate_mlp.layers.0.bias">}, tensor<4x1xf32> {mtgr.output = "grad:user_tokenizer.age.weight", mtgr.role = #mtgr.role<grad, param = "user_tokenizer.age.weight">}, tensor<4xf32> {mtgr.output = "grad:user_tokenizer.age.bias", mtgr.role = #mtgr.role<grad, param = "user_tokenizer.age.bias">}, tensor<4x2xf32> {mtgr.output = "grad:sequence_mlp.layers.0.weight", mtgr.role = #mtgr.role<grad, param = "sequence_mlp.layers.0.weight">}, tensor<4xf32> {mtgr.output = "grad:sequence_mlp.layers.0.bias", mtgr.role = #mtgr.role<grad, param = "sequence_mlp.layers.0.bias">}, tensor<4x4xf32> {mtgr.output = "grad:layers.0.gln1.gamma", mtgr.role = #mtgr.role<grad, param = "layers.0.gln1.gamma">}, tensor<4x4xf32> {mtgr.output = "grad:layers.0.gln1.beta", mtgr.role = #mtgr.role<grad, param = "layers.0.gln1.beta">}, tensor<16x4xf32> {mtgr.output = "grad:layers.0.uvqk.weight", mtgr.role = #mtgr.role<grad, param = "layers.0.uvqk.weight">}, tensor<16xf32> {mtgr.output = "grad:layers.0.uvqk.bias", mtgr.role = #mtgr.role<grad, param = "layers.0.uvqk.bias">}, tensor<4x4xf32> {mtgr.output = "grad:layers.0.gln2.gamma", mtgr.role = #mtgr.role<grad, param = "layers.0.gln2.gamma">}, tensor<4x4xf32> {mtgr.output = "grad:layers.0.gln2.beta", mtgr.role = #mtgr.role<grad, param = "layers.0.gln2.beta">}, tensor<4x4xf32> {mtgr.output = "grad:layers.0.out.weight", mtgr.role = #mtgr.role<grad, param = "layers.0.out.weight">}, tensor<4xf32> {mtgr.output = "grad:layers.0.out.bias", mtgr.role = #mtgr.role<grad, param = "layers.0.out.bias">}, tensor<1x4xf32> {mtgr.output = "grad:heads.ctr.layers.0.weight", mtgr.role = #mtgr.role<grad, param = "heads.ctr.layers.0.weight">}, tensor<1xf32> {mtgr.output = "grad:heads.ctr.layers.0.bias", mtgr.role = #mtgr.role<grad, param = "heads.ctr.layers.0.bias">}, !mtgr.jagged<2xf32> {mtgr.output = "embedding_grad:sequence.item_id", mtgr.role = #mtgr.role<embedding_grad, group = sequence, index = 0>}, !mtgr.jagged<2xf32> {mtgr.output = "embedding_grad:realtime.item_id", mtgr.role = #mtgr.role<embedding_grad, group = realtime, index = 0>}, !mtgr.jagged<2xf32> {mtgr.output = "embedding_grad:candidate.item_id", mtgr.role = #mtgr.role<embedding_grad, group = candidate, index = 0>}) {
    %0 = mtgr.embedding_lookup @item %arg1 : !mtgr.jagged<i64> -> !mtgr.jagged<2xf32>
    %1 = mtgr.embedding_lookup @item %arg3 : !mtgr.jagged<i64> -> !mtgr.jagged<2xf32>
    %2 = mtgr.embedding_lookup @item %arg5 : !mtgr.jagged<i64> -> !mtgr.jagged<2xf32>
    %3 = mtgr.param @candidate_mlp.layers.0.weight : tensor<4x2xf32>
    %4 = mtgr.param @candidate_mlp.layers.0.bias : tensor<4xf32>
    %5 = mtgr.linear %2, %3, %4 : !mtgr.jagged<2xf32>, tensor<4x2xf32>, tensor<4xf32> -> !mtgr.jagged<4xf32>
    %6 = mtgr.param @user_tokenizer.age.weight : tensor<4x1xf32>
    %7 = mtgr.param @user_tokenizer.age.bias : tensor<4xf32>
    %8 = mtgr.linear %arg0, %6, %7 : tensor<?x1xf32>, tensor<4x1xf32>, tensor<4xf32> -> tensor<?x4xf32>
    %9 = mtgr.stack %8 : tensor<?x4xf32> -> tensor<?x1x4xf32>
    %10 = mtgr.param @sequence_mlp.layers.0.weight : tensor<4x2xf32>
    %11 = mtgr.param @sequence_mlp.layers.0.bias : tensor<4xf32>
    %12 = mtgr.linear %0, %10, %11 : !mtgr.jagged<2xf32>, tensor<4x2xf32>, tensor<4xf32> -> !mtgr.jagged<4xf32>
    %13 = mtgr.linear %1, %10, %11 : !mtgr.jagged<2xf32>, tensor<4x2xf32>, tensor<4xf32> -> !mtgr.jagged<4xf32>
    %tokens, %layout = mtgr.assemble_tokens %9, %12, %13, %5 times(%arg2, %arg4, %arg6) : tensor<?x1x4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<i64>, !mtgr.jagged<i64>, !mtgr.jagged<i64> -> !mtgr.jagged<4xf32>, !mtgr.layout
    %14 = mtgr.param @layers.0.gln1.gamma : tensor<4x4xf32>
    %15 = mtgr.param @layers.0.gln1.beta : tensor<4x4xf32>
    %16 = mtgr.param @layers.0.uvqk.weight : tensor<16x4xf32>
    %17 = mtgr.param @layers.0.uvqk.bias : tensor<16xf32>
    %18 = mtgr.param @layers.0.gln2.gamma : tensor<4x4xf32>
    %19 = mtgr.param @layers.0.gln2.beta : tensor<4x4xf32>
    %20 = mtgr.param @layers.0.out.weight : tensor<4x4xf32>
    %21 = mtgr.param @layers.0.out.bias : tensor<4xf32>
    %22 = mtgr.group_layer_norm %tokens, %layout, %14, %15 : !mtgr.jagged<4xf32>, tensor<4x4xf32>, tensor<4x4xf32>
    %23 = mtgr.linear %22, %16, %17 : !mtgr.jagged<4xf32>, tensor<16x4xf32>, tensor<16xf32> -> !mtgr.jagged<16xf32>
    %24 = mtgr.silu %23 : !mtgr.jagged<16xf32>
    %25 = mtgr.column_slice %24[0, 4] : !mtgr.jagged<16xf32> -> !mtgr.jagged<4xf32>
    %26 = mtgr.column_slice %24[4, 4] : !mtgr.jagged<16xf32> -> !mtgr.jagged<4xf32>
    %27 = mtgr.column_slice %24[8, 4] : !mtgr.jagged<16xf32> -> !mtgr.jagged<4xf32>
    %28 = mtgr.column_slice %24[12, 4] : !mtgr.jagged<16xf32> -> !mtgr.jagged<4xf32>
    %29 = mtgr.hstu_attention %27, %28, %26, %arg7, %layout {alpha = 5.000000e-01 : f64, heads = 1 : i64, n_norm = #mtgr<n_norm total>} : !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<4xf32>
    %30 = mtgr.mul %29, %25 : !mtgr.jagged<4xf32>
    %31 = mtgr.group_layer_norm %30, %layout, %18, %19 : !mtgr.jagged<4xf32>, tensor<4x4xf32>, tensor<4x4xf32>
    %32 = mtgr.linear %31, %20, %21 : !mtgr.jagged<4xf32>, tensor<4x4xf32>, tensor<4xf32> -> !mtgr.jagged<4xf32>
    %33 = mtgr.add %tokens, %32 : !mtgr.jagged<4xf32>
    %34 = mtgr.extract_group candidate %33, %layout : !mtgr.jagged<4xf32>
    %35 = mtgr.param @heads.ctr.layers.0.weight : tensor<1x4xf32>
    %36 = mtgr.param @heads.ctr.layers.0.bias : tensor<1xf32>
    %37 = mtgr.linear %34, %35, %36 : !mtgr.jagged<4xf32>, tensor<1x4xf32>, tensor<1xf32> -> !mtgr.jagged<1xf32>
    %38 = mtgr.bce_loss(%37) labels(%arg8) {normalizer = 2.560000e+02 : f64, task_weights = [1.000000e+00]} : (!mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>) -> tensor<f32>
    %39 = mtgr.bce_loss_backward(%37) labels(%arg8) {normalizer = 2.560000e+02 : f64, task_weights = [1.000000e+00]} : (!mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>) -> !mtgr.jagged<1xf32>
    %input_grad, %weight_grad, %bias_grad = mtgr.linear_backward %34, %35, %39 : !mtgr.jagged<4xf32>, tensor<1x4xf32>, !mtgr.jagged<1xf32> -> !mtgr.jagged<4xf32>, tensor<1x4xf32>, tensor<1xf32>
    %40 = mtgr.scatter_group candidate %input_grad, %layout : !mtgr.jagged<4xf32>
    %input_grad_0, %weight_grad_1, %bias_grad_2 = mtgr.linear_backward %31, %20, %40 : !mtgr.jagged<4xf32>, tensor<4x4xf32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<4xf32>, tensor<4x4xf32>, tensor<4xf32>
    %input_grad_3, %gamma_grad, %beta_grad = mtgr.group_layer_norm_backward %30, %layout, %18, %input_grad_0 : !mtgr.jagged<4xf32>, tensor<4x4xf32>
    %41 = mtgr.mul %input_grad_3, %25 : !mtgr.jagged<4xf32>
    %42 = mtgr.mul %input_grad_3, %29 : !mtgr.jagged<4xf32>
    %q_grad, %k_grad, %v_grad = mtgr.hstu_attention_backward %27, %28, %26, %arg7, %layout, %41 {alpha = 5.000000e-01 : f64, heads = 1 : i64, n_norm = #mtgr<n_norm total>} : !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<3x2xi32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>
    %43 = mtgr.column_pad %k_grad[12, 16] : !mtgr.jagged<4xf32> -> !mtgr.jagged<16xf32>
    %44 = mtgr.column_pad %q_grad[8, 16] : !mtgr.jagged<4xf32> -> !mtgr.jagged<16xf32>
    %45 = mtgr.add %43, %44 : !mtgr.jagged<16xf32>
    %46 = mtgr.column_pad %v_grad[4, 16] : !mtgr.jagged<4xf32> -> !mtgr.jagged<16xf32>
    %47 = mtgr.add %45, %46 : !mtgr.jagged<16xf32>
    %48 = mtgr.column_pad %42[0, 16] : !mtgr.jagged<4xf32> -> !mtgr.jagged<16xf32>
    %49 = mtgr.add %47, %48 : !mtgr.jagged<16xf32>
    %50 = mtgr.silu_backward %23, %49 : !mtgr.jagged<16xf32>
    %input_grad_4, %weight_grad_5, %bias_grad_6 = mtgr.linear_backward %22, %16, %50 : !mtgr.jagged<4xf32>, tensor<16x4xf32>, !mtgr.jagged<16xf32> -> !mtgr.jagged<4xf32>, tensor<16x4xf32>, tensor<16xf32>
    %input_grad_7, %gamma_grad_8, %beta_grad_9 = mtgr.group_layer_norm_backward %tokens, %layout, %14, %input_grad_4 : !mtgr.jagged<4xf32>, tensor<4x4xf32>
    %51 = mtgr.add %40, %input_grad_7 : !mtgr.jagged<4xf32>
    %52 = mtgr.extract_user %51, %layout : !mtgr.jagged<4xf32> -> tensor<?x1x4xf32>
    %53 = mtgr.extract_group sequence %51, %layout : !mtgr.jagged<4xf32>
    %54 = mtgr.extract_group realtime %51, %layout : !mtgr.jagged<4xf32>
    %55 = mtgr.extract_group candidate %51, %layout : !mtgr.jagged<4xf32>
    %input_grad_10, %weight_grad_11, %bias_grad_12 = mtgr.linear_backward %1, %10, %54 : !mtgr.jagged<2xf32>, tensor<4x2xf32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<2xf32>, tensor<4x2xf32>, tensor<4xf32>
    %input_grad_13, %weight_grad_14, %bias_grad_15 = mtgr.linear_backward %0, %10, %53 : !mtgr.jagged<2xf32>, tensor<4x2xf32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<2xf32>, tensor<4x2xf32>, tensor<4xf32>
    %56 = mtgr.add %weight_grad_11, %weight_grad_14 : tensor<4x2xf32>
    %57 = mtgr.add %bias_grad_12, %bias_grad_15 : tensor<4xf32>
    %58 = mtgr.unstack %52 : tensor<?x1x4xf32> -> tensor<?x4xf32>
    %input_grad_16, %weight_grad_17, %bias_grad_18 = mtgr.linear_backward %arg0, %6, %58 : tensor<?x1xf32>, tensor<4x1xf32>, tensor<?x4xf32> -> tensor<?x1xf32>, tensor<4x1xf32>, tensor<4xf32>
    %input_grad_19, %weight_grad_20, %bias_grad_21 = mtgr.linear_backward %2, %3, %55 : !mtgr.jagged<2xf32>, tensor<4x2xf32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<2xf32>, tensor<4x2xf32>, tensor<4xf32>
    return %38, %weight_grad_20, %bias_grad_21, %weight_grad_17, %bias_grad_18, %56, %57, %gamma_grad_8, %beta_grad_9, %weight_grad_5, %bias_grad_6, %gamma_grad, %beta_grad, %weight_grad_1, %bias_grad_2, %weight_grad, %bias_grad, %input_grad_13, %input_grad_10, %input_grad_19 : tensor<f32>, tensor<4x2xf32>, tensor<4xf32>, tensor<4x1xf32>, tensor<4xf32>, tensor<4x2xf32>, tensor<4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<16x4xf32>, tensor<16xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<1x4xf32>, tensor<1xf32>, !mtgr.jagged<2xf32>, !mtgr.jagged<2xf32>, !mtgr.jagged<2xf32>
  }
  func.func @apply_update(%arg0: tensor<4x2xf32> {mtgr.input = "grad:candidate_mlp.layers.0.weight", mtgr.role = #mtgr.role<grad, param = "candidate_mlp.layers.0.weight">}, %arg1: tensor<4xf32> {mtgr.input = "grad:candidate_mlp.layers.0.bias", mtgr.role = #mtgr.role<grad, param = "candidate_mlp.layers.0.bias">}, %arg2: tensor<4x1xf32> {mtgr.input = "grad:user_tokenizer.age.weight", mtgr.role = #mtgr.role<grad, param = "user_tokenizer.age.weight">}, %arg3: tensor<4xf32> {mtgr.input = "grad:user_tokenizer.age.bias", mtgr.role = #mtgr.role<grad, param = "user_tokenizer.age.bias">}, %arg4: tensor<4x2xf32> {mtgr.input = "grad:sequence_mlp.layers.0.weight", mtgr.role = #mtgr.role<grad, param = "sequence_mlp.layers.0.weight">}, %arg5: tensor<4xf32> {mtgr.input = "grad:sequence_mlp.layers.0.bias", mtgr.role = #mtgr.role<grad, param = "sequence_mlp.layers.0.bias">}, %arg6: tensor<4x4xf32> {mtgr.input = "grad:layers.0.gln1.gamma", mtgr.role = #mtgr.role<grad, param = "layers.0.gln1.gamma">}, %arg7: tensor<4x4xf32> {mtgr.input = "grad:layers.0.gln1.beta", mtgr.role = #mtgr.role<grad, param = "layers.0.gln1.beta">}, %arg8: tensor<16x4xf32> {mtgr.input = "grad:layers.0.uvqk.weight", mtgr.role = #mtgr.role<grad, param = "layers.0.uvqk.weight">}, %arg9: tensor<16xf32> {mtgr.input = "grad:layers.0.uvqk.bias", mtgr.role = #mtgr.role<grad, param = "layers.0.uvqk.bias">}, %arg10: tensor<4x4xf32> {mtgr.input = "grad:layers.0.gln2.gamma", mtgr.role = #mtgr.role<grad, param = "layers.0.gln2.gamma">}, %arg11: tensor<4x4xf32> {mtgr.input = "grad:layers.0.gln2.beta", mtgr.role = #mtgr.role<grad, param = "layers.0.gln2.beta">}, %arg12: tensor<4x4xf32> {mtgr.input = "grad:layers.0.out.weight", mtgr.role = #mtgr.role<grad, param = "layers.0.out.weight">}, %arg13: tensor<4xf32> {mtgr.input = "grad:layers.0.out.bias", mtgr.role = #mtgr.role<grad, param = "layers.0.out.bias">}, %arg14: tensor<1x4xf32> {mtgr.input = "grad:heads.ctr.layers.0.weight", mtgr.role = #mtgr.role<grad, param = "heads.ctr.layers.0.weight">}, %arg15: tensor<1xf32> {mtgr.input = "grad:heads.ctr.layers.0.bias", mtgr.role = #mtgr.role<grad, param = "heads.ctr.layers.0.bias">}, %arg16: !mtgr.jagged<i64> {mtgr.input = "sequence.item_id", mtgr.role = #mtgr.role<feature, group = sequence, index = 0>}, %arg17: !mtgr.jagged<2xf32> {mtgr.input = "embedding_grad:sequence.item_id", mtgr.role = #mtgr.role<embedding_grad, group = sequence, index = 0>}, %arg18: !mtgr.jagged<i64> {mtgr.input = "realtime.item_id", mtgr.role = #mtgr.role<feature, group = realtime, index = 0>}, %arg19: !mtgr.jagged<2xf32> {mtgr.input = "embedding_grad:realtime.item_id", mtgr.role = #mtgr.role<embedding_grad, group = realtime, index = 0>}, %arg20: !mtgr.jagged<i64> {mtgr.input = "candidate.item_id", mtgr.role = #mtgr.role<feature, group = candidate, index = 0>}, %arg21: !mtgr.jagged<2xf32> {mtgr.input = "embedding_grad:candidate.item_id", mtgr.role = #mtgr.role<embedding_grad, group = candidate, index = 0>}) {
    mtgr.adam_update @candidate_mlp.layers.0.weight, %arg0 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, decoupled, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 1.000000e-02 : f64} : tensor<4x2xf32>
    mtgr.adam_update @candidate_mlp.layers.0.bias, %arg1 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, decoupled, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<4xf32>
    mtgr.adam_update @user_tokenizer.age.weight, %arg2 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, decoupled, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 1.000000e-02 : f64} : tensor<4x1xf32>
    mtgr.adam_update @user_tokenizer.age.bias, %arg3 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, decoupled, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<4xf32>
    mtgr.adam_update @sequence_mlp.layers.0.weight, %arg4 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, decoupled, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 1.000000e-02 : f64} : tensor<4x2xf32>
    mtgr.adam_update @sequence_mlp.layers.0.bias, %arg5 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, decoupled, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<4xf32>
    mtgr.adam_update @layers.0.gln1.gamma, %arg6 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, decoupled, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<4x4xf32>
    mtgr.adam_update @layers.0.gln1.beta, %arg7 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, decoupled, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<4x4xf32>
    mtgr.adam_update @layers.0.uvqk.weight, %arg8 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, decoupled, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 1.000000e-02 : f64} : tensor<16x4xf32>
    mtgr.adam_update @layers.0.uvqk.bias, %arg9 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, decoupled, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<16xf32>
    mtgr.adam_update @layers.0.gln2.gamma, %arg10 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, decoupled, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<4x4xf32>
    mtgr.adam_update @layers.0.gln2.beta, %arg11 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, decoupled, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<4x4xf32>
    mtgr.adam_update @layers.0.out.weight, %arg12 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, decoupled, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 1.000000e-02 : f64} : tensor<4x4xf32>
    mtgr.adam_update @layers.0.out.bias, %arg13 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, decoupled, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<4xf32>
    mtgr.adam_update @heads.ctr.layers.0.weight, %arg14 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, decoupled, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 1.000000e-02 : f64} : tensor<1x4xf32>
    mtgr.adam_update @heads.ctr.layers.0.bias, %arg15 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, decoupled, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 0.000000e+00 : f64} : tensor<1xf32>
    mtgr.sparse_update @item rowwise_adagrad ids(%arg16, %arg18, %arg20) grads(%arg17, %arg19, %arg21) {eps = 1.000000e-08 : f64, lr = 1.000000e-02 : f64} : (!mtgr.jagged<i64>, !mtgr.jagged<i64>, !mtgr.jagged<i64>), (!mtgr.jagged<2xf32>, !mtgr.jagged<2xf32>, !mtgr.jagged<2xf32>)
    return
  }
}

