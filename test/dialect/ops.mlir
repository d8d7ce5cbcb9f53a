// RUN: mtgr-opt %s | FileCheck %s
// Round trip: print, parse again, print the same.
// RUN: mtgr-opt %s | mtgr-opt | FileCheck %s
// And through the generic form.
// RUN: mtgr-opt %s -mlir-print-op-generic | mtgr-opt | FileCheck %s

// CHECK: mtgr.table @item fixed rows(1000) dim(16)
mtgr.table @item fixed rows(1000) dim(16)
// CHECK: mtgr.table @user hashed rows(4096) dim(8)
mtgr.table @user hashed rows(4096) dim(8)
// CHECK: mtgr.table @query dynamic rows(100000) dim(8) {admission_threshold = 2 : i64, eviction = #mtgr<eviction lfu>}
mtgr.table @query dynamic rows(100000) dim(8) {admission_threshold = 2 : i64, eviction = #mtgr<eviction lfu>}

// CHECK: mtgr.parameter @w : tensor<64x17xf32> init(xavier_uniform)
mtgr.parameter @w : tensor<64x17xf32> init(xavier_uniform)
// CHECK: mtgr.parameter @b : tensor<64xf32> init(zeros) {no_decay}
mtgr.parameter @b : tensor<64xf32> init(zeros) {no_decay}
// CHECK: mtgr.parameter @g : tensor<4x32xf32> init(ones) {no_decay}
mtgr.parameter @g : tensor<4x32xf32> init(ones) {no_decay}
// CHECK: mtgr.parameter @e : tensor<1000x16xf32> init(normal) {std = 1.000000e-02 : f64}
mtgr.parameter @e : tensor<1000x16xf32> init(normal) {std = 1.000000e-02 : f64}

// CHECK-LABEL: func.func @types
// CHECK-SAME: !mtgr.jagged<16xf32>, %{{.*}}: !mtgr.jagged<i64>, %{{.*}}: !mtgr.jagged<3x2xi32>, %{{.*}}: !mtgr.layout
func.func @types(%a: !mtgr.jagged<16xf32>, %b: !mtgr.jagged<i64>, %c: !mtgr.jagged<3x2xi32>, %d: !mtgr.layout) {
  return
}

// CHECK-LABEL: func.func @attributes
// CHECK: #mtgr<group candidate>, #mtgr<mask causal_targets>, #mtgr<n_norm visible>, #mtgr<norm_order norm_then_gate>, #mtgr<table_kind hashed>, #mtgr<eviction lru>, #mtgr<init ones>
func.func @attributes() attributes {all = [#mtgr<group candidate>, #mtgr<mask causal_targets>, #mtgr<n_norm visible>, #mtgr<norm_order norm_then_gate>, #mtgr<table_kind hashed>, #mtgr<eviction lru>, #mtgr<init ones>]} {
  return
}

// CHECK-LABEL: func.func @jagged_parts
func.func @jagged_parts(%v: tensor<?x16xf32>, %o: tensor<?xindex>) -> (tensor<?x16xf32>, tensor<?xindex>) {
  // CHECK: mtgr.jagged_from_parts %{{.*}}, %{{.*}} : tensor<?x16xf32>, tensor<?xindex> -> !mtgr.jagged<16xf32>
  %j = mtgr.jagged_from_parts %v, %o : tensor<?x16xf32>, tensor<?xindex> -> !mtgr.jagged<16xf32>
  // CHECK: mtgr.jagged_values %{{.*}} : !mtgr.jagged<16xf32> -> tensor<?x16xf32>
  %values = mtgr.jagged_values %j : !mtgr.jagged<16xf32> -> tensor<?x16xf32>
  // CHECK: mtgr.jagged_offsets %{{.*}} : !mtgr.jagged<16xf32> -> tensor<?xindex>
  %offsets = mtgr.jagged_offsets %j : !mtgr.jagged<16xf32> -> tensor<?xindex>
  return %values, %offsets : tensor<?x16xf32>, tensor<?xindex>
}

// CHECK-LABEL: func.func @kernel_ops
func.func @kernel_ops(%ids: !mtgr.jagged<i64>, %uid: tensor<?xi64>, %dense: !mtgr.jagged<1xf32>,
                      %x: !mtgr.jagged<32xf32>, %layout: !mtgr.layout, %ctx: tensor<?x16xf32>)
    -> (!mtgr.jagged<32xf32>, tensor<?x2x16xf32>, tensor<?x17xf32>, !mtgr.jagged<16xf32>) {
  // CHECK: mtgr.param @w : tensor<64x17xf32>
  %w = mtgr.param @w : tensor<64x17xf32>
  %b = mtgr.param @b : tensor<64xf32>
  %g = mtgr.param @g : tensor<4x32xf32>
  // CHECK: mtgr.embedding_lookup @item %{{.*}} : !mtgr.jagged<i64> -> !mtgr.jagged<16xf32>
  %e = mtgr.embedding_lookup @item %ids : !mtgr.jagged<i64> -> !mtgr.jagged<16xf32>
  // CHECK: mtgr.embedding_lookup @query %{{.*}} : tensor<?xi64> -> tensor<?x8xf32>
  %eu = mtgr.embedding_lookup @query %uid : tensor<?xi64> -> tensor<?x8xf32>
  // CHECK: mtgr.concat %{{.*}}, %{{.*}} : !mtgr.jagged<16xf32>, !mtgr.jagged<1xf32> -> !mtgr.jagged<17xf32>
  %c = mtgr.concat %e, %dense : !mtgr.jagged<16xf32>, !mtgr.jagged<1xf32> -> !mtgr.jagged<17xf32>
  // CHECK: mtgr.linear %{{.*}}, %{{.*}}, %{{.*}} : !mtgr.jagged<17xf32>, tensor<64x17xf32>, tensor<64xf32> -> !mtgr.jagged<64xf32>
  %h = mtgr.linear %c, %w, %b : !mtgr.jagged<17xf32>, tensor<64x17xf32>, tensor<64xf32> -> !mtgr.jagged<64xf32>
  // CHECK: mtgr.silu %{{.*}} : !mtgr.jagged<64xf32>
  %a = mtgr.silu %h : !mtgr.jagged<64xf32>
  // CHECK: mtgr.column_slice %{{.*}}[32, 32] : !mtgr.jagged<64xf32> -> !mtgr.jagged<32xf32>
  %s = mtgr.column_slice %a [32, 32] : !mtgr.jagged<64xf32> -> !mtgr.jagged<32xf32>
  // CHECK: mtgr.mul %{{.*}}, %{{.*}} : !mtgr.jagged<32xf32>
  %m = mtgr.mul %s, %x : !mtgr.jagged<32xf32>
  // CHECK: mtgr.add %{{.*}}, %{{.*}} : !mtgr.jagged<32xf32>
  %r = mtgr.add %m, %x : !mtgr.jagged<32xf32>
  // CHECK: mtgr.dropout %{{.*}} {rate = 1.000000e-01 : f64, stream = 3 : i64} : !mtgr.jagged<32xf32>
  %dr = mtgr.dropout %r {rate = 0.1 : f64, stream = 3 : i64} : !mtgr.jagged<32xf32>
  // CHECK: mtgr.group_layer_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : !mtgr.jagged<32xf32>, tensor<4x32xf32>, tensor<4x32xf32>
  %n = mtgr.group_layer_norm %dr, %layout, %g, %g : !mtgr.jagged<32xf32>, tensor<4x32xf32>, tensor<4x32xf32>
  // CHECK: mtgr.group_layer_norm {{.*}} {eps = 9.9999999999999995E-7 : f64}
  %n2 = mtgr.group_layer_norm %n, %layout, %g, %g {eps = 1.0e-6 : f64} : !mtgr.jagged<32xf32>, tensor<4x32xf32>, tensor<4x32xf32>
  // CHECK: mtgr.build_mask dynamic %{{.*}} : !mtgr.jagged<3x2xi32>
  %mask = mtgr.build_mask dynamic %layout : !mtgr.jagged<3x2xi32>
  // CHECK: mtgr.hstu_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {alpha = 2.500000e-01 : f64, heads = 2 : i64, n_norm = #mtgr<n_norm total>}
  %o = mtgr.hstu_attention %n2, %n2, %n2, %mask, %layout {heads = 2 : i64, alpha = 0.25 : f64, n_norm = #mtgr<n_norm total>}
      : !mtgr.jagged<32xf32>, !mtgr.jagged<32xf32>, !mtgr.jagged<32xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<32xf32>
  %p = arith.constant dense<0.0> : tensor<33xf32>
  %t = arith.constant dense<0.0> : tensor<16xf32>
  // CHECK: mtgr.hstu_attention {{.*}} rab(%{{.*}}, %{{.*}}) {{.*}}n_norm = #mtgr<n_norm constant>, n_norm_constant = 2.560000e+02 : f64} : {{.*}}, tensor<33xf32>, tensor<16xf32> -> !mtgr.jagged<32xf32>
  %o2 = mtgr.hstu_attention %o, %o, %o, %mask, %layout rab(%p, %t) {heads = 4 : i64, alpha = 0.25 : f64, n_norm = #mtgr<n_norm constant>, n_norm_constant = 256.0 : f64}
      : !mtgr.jagged<32xf32>, !mtgr.jagged<32xf32>, !mtgr.jagged<32xf32>, !mtgr.jagged<3x2xi32>, tensor<33xf32>, tensor<16xf32> -> !mtgr.jagged<32xf32>
  // CHECK: mtgr.extract_group sequence %{{.*}}, %{{.*}} : !mtgr.jagged<32xf32>
  %sg = mtgr.extract_group sequence %o2, %layout : !mtgr.jagged<32xf32>
  %u0 = mtgr.column_slice %ctx [0, 16] : tensor<?x16xf32> -> tensor<?x16xf32>
  // CHECK: mtgr.stack %{{.*}}, %{{.*}} : tensor<?x16xf32>, tensor<?x16xf32> -> tensor<?x2x16xf32>
  %st = mtgr.stack %u0, %ctx : tensor<?x16xf32>, tensor<?x16xf32> -> tensor<?x2x16xf32>
  // CHECK: mtgr.mean_pool %{{.*}} : !mtgr.jagged<17xf32> -> tensor<?x17xf32>
  %mp = mtgr.mean_pool %c : !mtgr.jagged<17xf32> -> tensor<?x17xf32>
  // CHECK: mtgr.broadcast_rows %{{.*}}, %{{.*}} : tensor<?x16xf32>, !mtgr.jagged<i64> -> !mtgr.jagged<16xf32>
  %br = mtgr.broadcast_rows %ctx, %ids : tensor<?x16xf32>, !mtgr.jagged<i64> -> !mtgr.jagged<16xf32>
  return %sg, %st, %mp, %br : !mtgr.jagged<32xf32>, tensor<?x2x16xf32>, tensor<?x17xf32>, !mtgr.jagged<16xf32>
}

// CHECK-LABEL: func.func @model_ops
func.func @model_ops(%item: !mtgr.jagged<16xf32>, %dense: !mtgr.jagged<1xf32>, %uemb: tensor<?x8xf32>, %uage: tensor<?x1xf32>,
                     %ts: !mtgr.jagged<i64>, %tr: !mtgr.jagged<i64>, %tc: !mtgr.jagged<i64>,
                     %iv: !mtgr.jagged<3x2xi32>, %labels: !mtgr.jagged<1xf32>) -> (!mtgr.jagged<1xf32>, tensor<f32>) {
  %w0 = arith.constant dense<0.0> : tensor<32x17xf32>
  %b0 = arith.constant dense<0.0> : tensor<32xf32>
  %wu0 = arith.constant dense<0.0> : tensor<32x8xf32>
  %wu1 = arith.constant dense<0.0> : tensor<32x1xf32>
  %w10 = arith.constant dense<0.0> : tensor<32x10xf32>
  %g = arith.constant dense<1.0> : tensor<4x32xf32>
  %wuvqk = arith.constant dense<0.0> : tensor<128x32xf32>
  %buvqk = arith.constant dense<0.0> : tensor<128xf32>
  %wo = arith.constant dense<0.0> : tensor<32x32xf32>
  %wh = arith.constant dense<0.0> : tensor<1x32xf32>
  %bh = arith.constant dense<0.0> : tensor<1xf32>
  %p = arith.constant dense<0.0> : tensor<9xf32>
  %t = arith.constant dense<0.0> : tensor<8xf32>
  // CHECK: mtgr.mlp %{{.*}} weights(%{{.*}}) biases(%{{.*}}) : (!mtgr.jagged<17xf32>, tensor<32x17xf32>, tensor<32xf32>) -> !mtgr.jagged<32xf32>
  %cat = mtgr.concat %item, %dense : !mtgr.jagged<16xf32>, !mtgr.jagged<1xf32> -> !mtgr.jagged<17xf32>
  %mlp = mtgr.mlp %cat weights(%w0) biases(%b0) : (!mtgr.jagged<17xf32>, tensor<32x17xf32>, tensor<32xf32>) -> !mtgr.jagged<32xf32>
  // CHECK: mtgr.profile_tokens(%{{.*}}, %{{.*}}) weights(%{{.*}}, %{{.*}}) biases(%{{.*}}, %{{.*}}) : {{.*}} -> tensor<?x2x32xf32>
  %u = mtgr.profile_tokens (%uemb, %uage) weights(%wu0, %wu1) biases(%b0, %b0)
      : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<32x8xf32>, tensor<32x1xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<?x2x32xf32>
  // CHECK: mtgr.sequence_tokens(%{{.*}}, %{{.*}}) weights(%{{.*}}) biases(%{{.*}}) : {{.*}} -> !mtgr.jagged<32xf32>
  %s = mtgr.sequence_tokens (%item, %dense) weights(%w0) biases(%b0)
      : (!mtgr.jagged<16xf32>, !mtgr.jagged<1xf32>, tensor<32x17xf32>, tensor<32xf32>) -> !mtgr.jagged<32xf32>
  // CHECK: mtgr.candidate_tokens items(%{{.*}}) cross(%{{.*}}) context() weights
  %c = mtgr.candidate_tokens items(%item) cross(%dense) context() weights(%w0) biases(%b0)
      : (!mtgr.jagged<16xf32>, !mtgr.jagged<1xf32>, tensor<32x17xf32>, tensor<32xf32>) -> !mtgr.jagged<32xf32>
  // CHECK: mtgr.candidate_tokens items(%{{.*}}) cross() context(%{{.*}}, %{{.*}}) weights
  %c2 = mtgr.candidate_tokens items(%dense) cross() context(%uemb, %uage) weights(%w10) biases(%b0)
      : (!mtgr.jagged<1xf32>, tensor<?x8xf32>, tensor<?x1xf32>, tensor<32x10xf32>, tensor<32xf32>) -> !mtgr.jagged<32xf32>
  // CHECK: mtgr.assemble_tokens %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} times(%{{.*}}, %{{.*}}, %{{.*}}) : {{.*}} -> !mtgr.jagged<32xf32>, !mtgr.layout
  %x, %layout = mtgr.assemble_tokens %u, %s, %mlp, %c times(%ts, %tr, %tc)
      : tensor<?x2x32xf32>, !mtgr.jagged<32xf32>, !mtgr.jagged<32xf32>, !mtgr.jagged<32xf32>,
        !mtgr.jagged<i64>, !mtgr.jagged<i64>, !mtgr.jagged<i64> -> !mtgr.jagged<32xf32>, !mtgr.layout
  // CHECK: mtgr.hstu_layer %{{.*}}, %{{.*}} gln1(%{{.*}}, %{{.*}}) uvqk(%{{.*}}, %{{.*}}) gln2(%{{.*}}, %{{.*}}) out(%{{.*}}, %{{.*}}) {
  // CHECK-SAME: mask = #mtgr<mask dynamic>
  %y = mtgr.hstu_layer %x, %layout gln1(%g, %g) uvqk(%wuvqk, %buvqk) gln2(%g, %g) out(%wo, %b0)
      {heads = 2 : i64, dqk = 16 : i64, dv = 16 : i64, alpha = 0.25 : f64, mask = #mtgr<mask dynamic>,
       n_norm = #mtgr<n_norm total>, norm_order = #mtgr<norm_order gate_then_norm>, dropout = 0.0 : f64, layer = 0 : i64}
      : (!mtgr.jagged<32xf32>, !mtgr.layout, tensor<4x32xf32>, tensor<4x32xf32>, tensor<128x32xf32>, tensor<128xf32>,
         tensor<4x32xf32>, tensor<4x32xf32>, tensor<32x32xf32>, tensor<32xf32>) -> !mtgr.jagged<32xf32>
  // CHECK: mtgr.hstu_layer {{.*}} rab(%{{.*}}, %{{.*}}) intervals(%{{.*}}) {
  // CHECK-SAME: mask = #mtgr<mask intervals>
  %y2 = mtgr.hstu_layer %y, %layout gln1(%g, %g) uvqk(%wuvqk, %buvqk) gln2(%g, %g) out(%wo, %b0) rab(%p, %t) intervals(%iv)
      {heads = 2 : i64, dqk = 16 : i64, dv = 16 : i64, alpha = 0.25 : f64, mask = #mtgr<mask intervals>,
       n_norm = #mtgr<n_norm visible>, norm_order = #mtgr<norm_order norm_then_gate>, dropout = 0.1 : f64, layer = 1 : i64}
      : (!mtgr.jagged<32xf32>, !mtgr.layout, tensor<4x32xf32>, tensor<4x32xf32>, tensor<128x32xf32>, tensor<128xf32>,
         tensor<4x32xf32>, tensor<4x32xf32>, tensor<32x32xf32>, tensor<32xf32>, tensor<9xf32>, tensor<8xf32>,
         !mtgr.jagged<3x2xi32>) -> !mtgr.jagged<32xf32>
  %cand = mtgr.extract_group candidate %y2, %layout : !mtgr.jagged<32xf32>
  // CHECK: mtgr.task_head "ctr" %{{.*}} weights(%{{.*}}) biases(%{{.*}}) : (!mtgr.jagged<32xf32>, tensor<1x32xf32>, tensor<1xf32>) -> !mtgr.jagged<1xf32>
  %logit = mtgr.task_head "ctr" %cand weights(%wh) biases(%bh) : (!mtgr.jagged<32xf32>, tensor<1x32xf32>, tensor<1xf32>) -> !mtgr.jagged<1xf32>
  // CHECK: mtgr.bce_loss(%{{.*}}) labels(%{{.*}}) {normalizer = 2.560000e+02 : f64, task_weights = [1.000000e+00]} : (!mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>) -> tensor<f32>
  %loss = mtgr.bce_loss (%logit) labels(%labels) {task_weights = [1.0], normalizer = 256.0 : f64}
      : (!mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>) -> tensor<f32>
  return %logit, %loss : !mtgr.jagged<1xf32>, tensor<f32>
}

// CHECK-LABEL: func.func @gradient_ops
func.func @gradient_ops(%x: !mtgr.jagged<8xf32>, %w: tensor<4x8xf32>, %dy: !mtgr.jagged<4xf32>,
                        %m: tensor<?x8xf32>, %l: !mtgr.jagged<1xf32>, %nl: !mtgr.layout,
                        %ng0: tensor<1x8xf32>)
    -> (!mtgr.jagged<8xf32>, tensor<4x8xf32>, tensor<4xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<12xf32>,
        tensor<?x8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<1xf32>) {
  // CHECK: mtgr.linear_backward %{{.*}}, %{{.*}}, %{{.*}} : !mtgr.jagged<8xf32>, tensor<4x8xf32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<8xf32>, tensor<4x8xf32>, tensor<4xf32>
  %dx, %dw, %db = mtgr.linear_backward %x, %w, %dy : !mtgr.jagged<8xf32>, tensor<4x8xf32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<8xf32>, tensor<4x8xf32>, tensor<4xf32>
  // CHECK: mtgr.linear_norm_backward %{{.*}}, %{{.*}}, %{{.*}} norm(%{{.*}}, %{{.*}}, %{{.*}}) residual(%{{.*}} : !mtgr.jagged<8xf32>) {eps = 1.000000e-03 : f64} : !mtgr.jagged<8xf32>, tensor<4x8xf32>, !mtgr.jagged<4xf32> -> tensor<4x8xf32>, tensor<4xf32>, tensor<1x8xf32>
  %nx, %nw, %nb, %ng, %nbeta = mtgr.linear_norm_backward %x, %w, %dy norm(%x, %nl, %ng0) residual(%x : !mtgr.jagged<8xf32>) {eps = 1.0e-3 : f64} : !mtgr.jagged<8xf32>, tensor<4x8xf32>, !mtgr.jagged<4xf32> -> tensor<4x8xf32>, tensor<4xf32>, tensor<1x8xf32>
  // CHECK: mtgr.silu_backward %{{.*}}, %{{.*}} : !mtgr.jagged<8xf32>
  %ds = mtgr.silu_backward %x, %dx : !mtgr.jagged<8xf32>
  // CHECK: mtgr.concat_silu_backward %{{.*}}, %{{.*}}, %{{.*}} : !mtgr.jagged<8xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>
  %cs = mtgr.concat_silu_backward %x, %dy, %dy : !mtgr.jagged<8xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>
  // CHECK: mtgr.column_pad %{{.*}}[2, 12] : !mtgr.jagged<8xf32> -> !mtgr.jagged<12xf32>
  %p = mtgr.column_pad %ds [2, 12] : !mtgr.jagged<8xf32> -> !mtgr.jagged<12xf32>
  // CHECK: mtgr.segment_sum %{{.*}} : !mtgr.jagged<8xf32> -> tensor<?x8xf32>
  %s = mtgr.segment_sum %ds : !mtgr.jagged<8xf32> -> tensor<?x8xf32>
  // CHECK: mtgr.mean_pool_backward %{{.*}}, %{{.*}} : tensor<?x8xf32>, !mtgr.jagged<8xf32>
  %mp = mtgr.mean_pool_backward %m, %x : tensor<?x8xf32>, !mtgr.jagged<8xf32>
  // CHECK: mtgr.bce_loss_backward(%{{.*}}) labels(%{{.*}}) {normalizer = 4.000000e+00 : f64, task_weights = [1.000000e+00]} : (!mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>) -> !mtgr.jagged<1xf32>
  %dl = mtgr.bce_loss_backward (%l) labels(%l) {task_weights = [1.0], normalizer = 4.0 : f64}
      : (!mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>) -> !mtgr.jagged<1xf32>
  return %dx, %dw, %db, %ds, %p, %s, %mp, %dl : !mtgr.jagged<8xf32>, tensor<4x8xf32>, tensor<4xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<12xf32>, tensor<?x8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<1xf32>
}

// CHECK-LABEL: func.func @hstu_gradient_ops
func.func @hstu_gradient_ops(%x: !mtgr.jagged<8xf32>, %l: !mtgr.layout, %g: tensor<4x8xf32>,
                             %m: !mtgr.jagged<3x2xi32>, %p: tensor<9xf32>, %t: tensor<4xf32>,
                             %u: tensor<?x2x8xf32>) {
  // CHECK: mtgr.group_layer_norm_backward %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : !mtgr.jagged<8xf32>, tensor<4x8xf32>
  %dx, %dg, %db = mtgr.group_layer_norm_backward %x, %l, %g, %x : !mtgr.jagged<8xf32>, tensor<4x8xf32>
  // CHECK: mtgr.hstu_attention_backward {{.*}} rab(%{{.*}}, %{{.*}}) {{.*}} -> !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, tensor<9xf32>, tensor<4xf32>
  %dq, %dk, %dv, %dp, %dt = mtgr.hstu_attention_backward %x, %x, %x, %m, %l, %x rab(%p, %t)
      {heads = 2 : i64, alpha = 0.5 : f64, n_norm = #mtgr<n_norm total>}
      : !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<3x2xi32>, !mtgr.jagged<8xf32>,
        tensor<9xf32>, tensor<4xf32> -> !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, tensor<9xf32>, tensor<4xf32>
  // CHECK: mtgr.hstu_attention_backward {{.*}} -> !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>{{$}}
  %dq2, %dk2, %dv2 = mtgr.hstu_attention_backward %x, %x, %x, %m, %l, %x
      {heads = 2 : i64, alpha = 0.5 : f64, n_norm = #mtgr<n_norm total>}
      : !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<3x2xi32>, !mtgr.jagged<8xf32>
        -> !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>
  // CHECK: mtgr.scatter_group realtime %{{.*}}, %{{.*}} : !mtgr.jagged<8xf32>
  %sg = mtgr.scatter_group realtime %x, %l : !mtgr.jagged<8xf32>
  // CHECK: mtgr.join_groups %{{.*}}, %{{.*}} prefix(%{{.*}} : !mtgr.jagged<8xf32>) : !mtgr.jagged<8xf32>
  %jk = mtgr.join_groups %x, %l prefix(%sg : !mtgr.jagged<8xf32>) : !mtgr.jagged<8xf32>
  // CHECK: mtgr.join_groups %{{.*}}, %{{.*}} : !mtgr.jagged<8xf32>
  %jq = mtgr.join_groups %x, %l : !mtgr.jagged<8xf32>
  // CHECK: mtgr.extract_user %{{.*}}, %{{.*}} : !mtgr.jagged<8xf32> -> tensor<?x2x8xf32>
  %eu = mtgr.extract_user %x, %l : !mtgr.jagged<8xf32> -> tensor<?x2x8xf32>
  // CHECK: mtgr.unstack %{{.*}} : tensor<?x2x8xf32> -> tensor<?x8xf32>, tensor<?x8xf32>
  %a, %b = mtgr.unstack %u : tensor<?x2x8xf32> -> tensor<?x8xf32>, tensor<?x8xf32>
  return
}

// Optimisers: the module's declaration and the in-place updates of train_step.
// CHECK: mtgr.optimizer adamw lr(1.000000e-03) betas(9.000000e-01, 0.99899999999999999) eps(1.000000e-08) weight_decay(1.000000e-02) sparse(adam lr(1.000000e-02))
mtgr.optimizer adamw lr(1.0e-3) betas(0.9, 0.999) eps(1.0e-8) weight_decay(0.01) sparse(adam lr(0.01))
// CHECK-LABEL: func.func @updates
func.func @updates(%g: tensor<64x17xf32>, %s: !mtgr.jagged<i64>, %u: tensor<?xi64>,
                   %gs: !mtgr.jagged<16xf32>, %gu: tensor<?x16xf32>) {
  // CHECK: mtgr.adam_update @w, %{{.*}} {beta1 = 9.000000e-01 : f64, {{.*}}decoupled{{.*}}} : tensor<64x17xf32>
  mtgr.adam_update @w, %g {lr = 1.0e-3 : f64, beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-8 : f64, weight_decay = 0.01 : f64, decoupled} : tensor<64x17xf32>
  // CHECK: mtgr.sparse_update @item adam ids(%{{.*}}, %{{.*}}) grads(%{{.*}}, %{{.*}})
  mtgr.sparse_update @item adam ids(%s, %u) grads(%gs, %gu) {lr = 0.01 : f64, eps = 1.0e-8 : f64, beta1 = 0.9 : f64, beta2 = 0.999 : f64}
      : (!mtgr.jagged<i64>, tensor<?xi64>), (!mtgr.jagged<16xf32>, tensor<?x16xf32>)
  return
}
