// RUN: mtgr-opt %s -split-input-file -verify-diagnostics
// One case (at least) per verifier rule of the mtgr dialect.

// expected-error @+1 {{jagged rows have at most 2 dimensions, got 3}}
func.func @f(%a: !mtgr.jagged<2x2x2xf32>)

// -----
// expected-error @+1 {{jagged row dimensions must be positive, got 0}}
func.func @f(%a: !mtgr.jagged<0xf32>)

// -----
// expected-error @+1 {{jagged element type must be f32, i32 or i64, got 'f16'}}
func.func @f(%a: !mtgr.jagged<4xf16>)

// -----
// expected-error @+1 {{parameters are f32}}
mtgr.parameter @p : tensor<4xf64> init(zeros)

// -----
// expected-error @+1 {{'std' is required with init(normal) and only allowed there}}
mtgr.parameter @p : tensor<4xf32> init(normal)

// -----
// expected-error @+1 {{'std' is required with init(normal) and only allowed there}}
mtgr.parameter @p : tensor<4xf32> init(zeros) {std = 1.0 : f64}

// -----
// expected-error @+1 {{'std' must be positive}}
mtgr.parameter @p : tensor<4xf32> init(normal) {std = -1.0 : f64}

// -----
// expected-error @+1 {{'mtgr.parameter' op attribute 'type' failed to satisfy constraint}}
mtgr.parameter @p : tensor<?xf32> init(zeros)

// -----
func.func @f() {
  // expected-error @+1 {{'missing' does not name an mtgr.parameter}}
  %0 = mtgr.param @missing : tensor<4xf32>
  return
}

// -----
mtgr.parameter @p : tensor<4xf32> init(zeros)
func.func @f() {
  // expected-error @+1 {{type 'tensor<8xf32>' does not match the parameter's type 'tensor<4xf32>'}}
  %0 = mtgr.param @p : tensor<8xf32>
  return
}

// -----
// expected-error @+1 {{rows must be positive, got 0}}
mtgr.table @t fixed rows(0) dim(4)

// -----
// expected-error @+1 {{dim must be positive, got 0}}
mtgr.table @t fixed rows(4) dim(0)

// -----
// expected-error @+1 {{admission_threshold and eviction apply to dynamic tables only}}
mtgr.table @t hashed rows(4) dim(4) {eviction = #mtgr<eviction lru>}

// -----
// expected-error @+1 {{admission_threshold must be >= 0}}
mtgr.table @t dynamic rows(4) dim(4) {admission_threshold = -1 : i64}

// -----
func.func @f() {
  // expected-error @+1 {{'mtgr.table' op expects parent op 'builtin.module'}}
  mtgr.table @t fixed rows(4) dim(4)
  return
}

// -----
mtgr.table @t fixed rows(4) dim(4)
func.func @f(%ids: !mtgr.jagged<i64>) {
  // expected-error @+1 {{ids and result must both be jagged or both per-sample tensors}}
  %0 = mtgr.embedding_lookup @t %ids : !mtgr.jagged<i64> -> tensor<?x4xf32>
  return
}

// -----
mtgr.table @t fixed rows(4) dim(4)
func.func @f(%ids: !mtgr.jagged<i64>) {
  // expected-error @+1 {{result rows must be vectors}}
  %0 = mtgr.embedding_lookup @t %ids : !mtgr.jagged<i64> -> !mtgr.jagged<2x2xf32>
  return
}

// -----
func.func @f(%ids: !mtgr.jagged<i64>) {
  // expected-error @+1 {{'t' does not name an mtgr.table}}
  %0 = mtgr.embedding_lookup @t %ids : !mtgr.jagged<i64> -> !mtgr.jagged<4xf32>
  return
}

// -----
mtgr.table @t fixed rows(4) dim(4)
func.func @f(%ids: tensor<?xi64>) {
  // expected-error @+1 {{result rows have width 8 but table @t has dim 4}}
  %0 = mtgr.embedding_lookup @t %ids : tensor<?xi64> -> tensor<?x8xf32>
  return
}

// -----
mtgr.table @t fixed rows(4) dim(4)
func.func @f(%ids: !mtgr.jagged<i32>) {
  // expected-error @+1 {{operand #0 must be jagged i64 scalars (ids or timestamps) or 1D tensor of 64-bit signless integer values}}
  %0 = mtgr.embedding_lookup @t %ids : !mtgr.jagged<i32> -> !mtgr.jagged<4xf32>
  return
}

// -----
func.func @f(%v: tensor<?x8xf32>, %o: tensor<?xindex>) {
  // expected-error @+1 {{values must be 'tensor<?x16xf32>' for '!mtgr.jagged<16xf32>', got 'tensor<?x8xf32>'}}
  %0 = mtgr.jagged_from_parts %v, %o : tensor<?x8xf32>, tensor<?xindex> -> !mtgr.jagged<16xf32>
  return
}

// -----
func.func @f(%j: !mtgr.jagged<i64>) {
  // expected-error @+1 {{values must be 'tensor<?xi64>' for '!mtgr.jagged<i64>', got 'tensor<?x1xi64>'}}
  %0 = mtgr.jagged_values %j : !mtgr.jagged<i64> -> tensor<?x1xi64>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<2x4xf32>, %w: tensor<8x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{input rows must be vectors}}
  %0 = mtgr.linear %x, %w, %b : !mtgr.jagged<2x4xf32>, tensor<8x4xf32>, tensor<8xf32> -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<4xf32>, %w: tensor<8x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{input and result must both be jagged or both per-sample tensors}}
  %0 = mtgr.linear %x, %w, %b : !mtgr.jagged<4xf32>, tensor<8x4xf32>, tensor<8xf32> -> tensor<?x8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<5xf32>, %w: tensor<8x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{layer 0 weight is [8, 4] but its input has width 5}}
  %0 = mtgr.linear %x, %w, %b : !mtgr.jagged<5xf32>, tensor<8x4xf32>, tensor<8xf32> -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<4xf32>, %w: tensor<8x4xf32>, %b: tensor<7xf32>) {
  // expected-error @+1 {{layer 0 bias has size 7 but the weight has 8 outputs}}
  %0 = mtgr.linear %x, %w, %b : !mtgr.jagged<4xf32>, tensor<8x4xf32>, tensor<7xf32> -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<4xf32>, %w: tensor<8x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{last layer has 8 outputs but the result has width 9}}
  %0 = mtgr.linear %x, %w, %b : !mtgr.jagged<4xf32>, tensor<8x4xf32>, tensor<8xf32> -> !mtgr.jagged<9xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<4xi64>, %w: tensor<8x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{operand #0 must be jagged f32 tensor or per-sample f32 tensor}}
  %0 = mtgr.linear %x, %w, %b : !mtgr.jagged<4xi64>, tensor<8x4xf32>, tensor<8xf32> -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<4xf32>) {
  // expected-error @+1 {{rate must be in [0, 1), got 1}}
  %0 = mtgr.dropout %x {rate = 1.0 : f64, stream = 0 : i64} : !mtgr.jagged<4xf32>
  return
}

// -----
func.func @f() {
  // expected-error @+1 {{needs at least one input}}
  %0 = "mtgr.concat"() : () -> !mtgr.jagged<4xf32>
  return
}

// -----
func.func @f(%a: !mtgr.jagged<4xf32>, %b: tensor<?x4xf32>) {
  // expected-error @+1 {{inputs and result must all be jagged or all per-sample tensors}}
  %0 = mtgr.concat %a, %b : !mtgr.jagged<4xf32>, tensor<?x4xf32> -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%a: !mtgr.jagged<4xf32>, %b: !mtgr.jagged<4xf32>) {
  // expected-error @+1 {{result width 9 is not the sum of the input widths 8}}
  %0 = mtgr.concat %a, %b : !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<9xf32>
  return
}

// -----
func.func @f(%a: tensor<?x4xf32>, %b: tensor<?x5xf32>) {
  // expected-error @+1 {{inputs must all have type 'tensor<?x4xf32>'}}
  %0 = mtgr.stack %a, %b : tensor<?x4xf32>, tensor<?x5xf32> -> tensor<?x2x4xf32>
  return
}

// -----
func.func @f(%a: tensor<?x4xf32>) {
  // expected-error @+1 {{result must be 'tensor<?x1x4xf32>'}}
  %0 = mtgr.stack %a : tensor<?x4xf32> -> tensor<?x2x4xf32>
  return
}

// -----
func.func @f(%a: !mtgr.jagged<8xf32>) {
  // expected-error @+1 {{columns [4, 12) are not inside a row of width 8}}
  %0 = mtgr.column_slice %a [4, 8] : !mtgr.jagged<8xf32> -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%a: !mtgr.jagged<8xf32>) {
  // expected-error @+1 {{result must be '!mtgr.jagged<4xf32>'}}
  %0 = mtgr.column_slice %a [4, 4] : !mtgr.jagged<8xf32> -> !mtgr.jagged<3xf32>
  return
}

// -----
func.func @f(%a: !mtgr.jagged<8xf32>) {
  // expected-error @+1 {{result must be 'tensor<?x8xf32>'}}
  %0 = mtgr.mean_pool %a : !mtgr.jagged<8xf32> -> tensor<?x4xf32>
  return
}

// -----
func.func @f(%a: tensor<?x8xf32>, %like: !mtgr.jagged<i64>) {
  // expected-error @+1 {{result rows must have the input's row shape}}
  %0 = mtgr.broadcast_rows %a, %like : tensor<?x8xf32>, !mtgr.jagged<i64> -> !mtgr.jagged<4xf32>
  return
}

// -----
func.func @f(%u: tensor<?x32xf32>, %s: !mtgr.jagged<32xf32>, %t: !mtgr.jagged<i64>) {
  // expected-error @+1 {{user tokens must be tensor<?x nU x d_model x f32>}}
  %x, %l = mtgr.assemble_tokens %u, %s, %s, %s times(%t, %t, %t)
      : tensor<?x32xf32>, !mtgr.jagged<32xf32>, !mtgr.jagged<32xf32>, !mtgr.jagged<32xf32>,
        !mtgr.jagged<i64>, !mtgr.jagged<i64>, !mtgr.jagged<i64> -> !mtgr.jagged<32xf32>, !mtgr.layout
  return
}

// -----
func.func @f(%u: tensor<?x2x32xf32>, %s: !mtgr.jagged<32xf32>, %r: !mtgr.jagged<16xf32>, %t: !mtgr.jagged<i64>) {
  // expected-error @+1 {{realtime tokens have width 16 but user tokens have width 32}}
  %x, %l = mtgr.assemble_tokens %u, %s, %r, %s times(%t, %t, %t)
      : tensor<?x2x32xf32>, !mtgr.jagged<32xf32>, !mtgr.jagged<16xf32>, !mtgr.jagged<32xf32>,
        !mtgr.jagged<i64>, !mtgr.jagged<i64>, !mtgr.jagged<i64> -> !mtgr.jagged<32xf32>, !mtgr.layout
  return
}

// -----
func.func @f(%u: tensor<?x2x32xf32>, %s: !mtgr.jagged<32xf32>, %t: !mtgr.jagged<4xf32>) {
  // expected-error @+1 {{operand #4 must be jagged i64 scalars (ids or timestamps)}}
  %x, %l = mtgr.assemble_tokens %u, %s, %s, %s times(%t, %t, %t)
      : tensor<?x2x32xf32>, !mtgr.jagged<32xf32>, !mtgr.jagged<32xf32>, !mtgr.jagged<32xf32>,
        !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<32xf32>, !mtgr.layout
  return
}

// -----
func.func @f(%l: !mtgr.layout) {
  // expected-error @+1 {{the intervals mask comes from the batch; it is not built}}
  %0 = mtgr.build_mask intervals %l : !mtgr.jagged<3x2xi32>
  return
}

// -----
func.func @f(%l: !mtgr.layout) {
  // expected-error @+1 {{result #0 must be per-row attention intervals !mtgr.jagged<3x2xi32>}}
  %0 = mtgr.build_mask causal %l : !mtgr.jagged<2x2xi32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %l: !mtgr.layout, %g: tensor<4x8xf32>) {
  // expected-error @+1 {{eps must be positive}}
  %0 = mtgr.group_layer_norm %x, %l, %g, %g {eps = 0.0 : f64} : !mtgr.jagged<8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %l: !mtgr.layout, %g: tensor<3x8xf32>) {
  // expected-error @+1 {{group_layer_norm gamma and beta must both be [4, 8] (one row per token group) or [1, 8] (shared), got [3, 8] and [3, 8]}}
  %0 = mtgr.group_layer_norm %x, %l, %g, %g : !mtgr.jagged<8xf32>, tensor<3x8xf32>, tensor<3x8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %l: !mtgr.layout, %g: tensor<1x8xf32>, %b: tensor<4x8xf32>) {
  // expected-error @+1 {{group_layer_norm gamma and beta must both be [4, 8] (one row per token group) or [1, 8] (shared), got [1, 8] and [4, 8]}}
  %0 = mtgr.group_layer_norm %x, %l, %g, %b : !mtgr.jagged<8xf32>, tensor<1x8xf32>, tensor<4x8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %m: !mtgr.jagged<3x2xi32>, %l: !mtgr.layout) {
  // expected-error @+1 {{heads must be positive, got 0}}
  %0 = mtgr.hstu_attention %x, %x, %x, %m, %l {heads = 0 : i64, alpha = 1.0 : f64, n_norm = #mtgr<n_norm total>}
      : !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %k: !mtgr.jagged<4xf32>, %m: !mtgr.jagged<3x2xi32>, %l: !mtgr.layout) {
  // expected-error @+1 {{q has width 8 but k has width 4}}
  %0 = mtgr.hstu_attention %x, %k, %x, %m, %l {heads = 2 : i64, alpha = 1.0 : f64, n_norm = #mtgr<n_norm total>}
      : !mtgr.jagged<8xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %m: !mtgr.jagged<3x2xi32>, %l: !mtgr.layout) {
  // expected-error @+1 {{q/k width 8 and v width 8 must be multiples of heads = 3}}
  %0 = mtgr.hstu_attention %x, %x, %x, %m, %l {heads = 3 : i64, alpha = 1.0 : f64, n_norm = #mtgr<n_norm total>}
      : !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %m: !mtgr.jagged<3x2xi32>, %l: !mtgr.layout) {
  // expected-error @+1 {{result width must equal v width 8}}
  %0 = mtgr.hstu_attention %x, %x, %x, %m, %l {heads = 2 : i64, alpha = 1.0 : f64, n_norm = #mtgr<n_norm total>}
      : !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<4xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %m: !mtgr.jagged<3x2xi32>, %l: !mtgr.layout) {
  // expected-error @+1 {{alpha must be finite}}
  %0 = mtgr.hstu_attention %x, %x, %x, %m, %l {heads = 2 : i64, alpha = 0x7FF0000000000000 : f64, n_norm = #mtgr<n_norm total>}
      : !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %m: !mtgr.jagged<3x2xi32>, %l: !mtgr.layout) {
  // expected-error @+1 {{n_norm_constant is required with n_norm<constant> and only allowed there}}
  %0 = mtgr.hstu_attention %x, %x, %x, %m, %l {heads = 2 : i64, alpha = 1.0 : f64, n_norm = #mtgr<n_norm constant>}
      : !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %m: !mtgr.jagged<3x2xi32>, %l: !mtgr.layout) {
  // expected-error @+1 {{n_norm_constant must be positive and finite}}
  %0 = mtgr.hstu_attention %x, %x, %x, %m, %l {heads = 2 : i64, alpha = 1.0 : f64, n_norm = #mtgr<n_norm constant>, n_norm_constant = 0.0 : f64}
      : !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %m: !mtgr.jagged<3x2xi32>, %l: !mtgr.layout, %p: tensor<8xf32>, %t: tensor<4xf32>) {
  // expected-error @+1 {{rab position table must have 2*Pmax+1 entries (odd), got 8}}
  %0 = mtgr.hstu_attention %x, %x, %x, %m, %l rab(%p, %t) {heads = 2 : i64, alpha = 1.0 : f64, n_norm = #mtgr<n_norm total>}
      : !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<3x2xi32>, tensor<8xf32>, tensor<4xf32> -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>) {
  // expected-error @+1 {{needs at least one layer}}
  %0 = mtgr.mlp %x weights() biases() : (!mtgr.jagged<8xf32>) -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %w: tensor<8x8xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{has 2 weights but 1 biases}}
  %0 = mtgr.mlp %x weights(%w, %w) biases(%b) : (!mtgr.jagged<8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %w0: tensor<16x8xf32>, %w1: tensor<4x8xf32>, %b0: tensor<16xf32>, %b1: tensor<4xf32>) {
  // expected-error @+1 {{layer 1 weight is [4, 8] but its input has width 16}}
  %0 = mtgr.mlp %x weights(%w0, %w1) biases(%b0, %b1) : (!mtgr.jagged<8xf32>, tensor<16x8xf32>, tensor<4x8xf32>, tensor<16xf32>, tensor<4xf32>) -> !mtgr.jagged<4xf32>
  return
}

// -----
func.func @f() {
  // expected-error @+1 {{needs at least one user feature}}
  %0 = mtgr.profile_tokens () weights() biases() : () -> tensor<?x1x8xf32>
  return
}

// -----
func.func @f(%a: tensor<?x4xf32>, %w: tensor<8x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{needs one weight and one bias per feature (2 features, 1 weights, 1 biases)}}
  %0 = mtgr.profile_tokens (%a, %a) weights(%w) biases(%b) : (tensor<?x4xf32>, tensor<?x4xf32>, tensor<8x4xf32>, tensor<8xf32>) -> tensor<?x2x8xf32>
  return
}

// -----
func.func @f(%a: tensor<?x4xf32>, %w: tensor<8x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{result must be tensor<?x1xDxf32> (one token per feature)}}
  %0 = mtgr.profile_tokens (%a) weights(%w) biases(%b) : (tensor<?x4xf32>, tensor<8x4xf32>, tensor<8xf32>) -> tensor<?x2x8xf32>
  return
}

// -----
func.func @f(%a: tensor<?x4xf32>, %w: tensor<8x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{last layer has 8 outputs but the result has width 16}}
  %0 = mtgr.profile_tokens (%a) weights(%w) biases(%b) : (tensor<?x4xf32>, tensor<8x4xf32>, tensor<8xf32>) -> tensor<?x1x16xf32>
  return
}

// -----
func.func @f(%w: tensor<8x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{needs at least one event feature}}
  %0 = mtgr.sequence_tokens () weights(%w) biases(%b) : (tensor<8x4xf32>, tensor<8xf32>) -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%a: !mtgr.jagged<4xf32>, %c: !mtgr.jagged<1xf32>, %w: tensor<8x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{layer 0 weight is [8, 4] but its input has width 5}}
  %0 = mtgr.sequence_tokens (%a, %c) weights(%w) biases(%b) : (!mtgr.jagged<4xf32>, !mtgr.jagged<1xf32>, tensor<8x4xf32>, tensor<8xf32>) -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%a: !mtgr.jagged<4xf32>, %w: tensor<8x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{needs at least one item feature}}
  %0 = mtgr.candidate_tokens items() cross(%a) context() weights(%w) biases(%b) : (!mtgr.jagged<4xf32>, tensor<8x4xf32>, tensor<8xf32>) -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%a: !mtgr.jagged<4xf32>, %ctx: tensor<?x2xf32>, %w: tensor<8x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{layer 0 weight is [8, 4] but its input has width 6}}
  %0 = mtgr.candidate_tokens items(%a) cross() context(%ctx) weights(%w) biases(%b) : (!mtgr.jagged<4xf32>, tensor<?x2xf32>, tensor<8x4xf32>, tensor<8xf32>) -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %l: !mtgr.layout, %g: tensor<4x8xf32>, %w: tensor<32x8xf32>, %b: tensor<32xf32>, %wo: tensor<8x8xf32>, %bo: tensor<8xf32>) {
  // expected-error @+1 {{heads, dqk and dv must be positive}}
  %0 = mtgr.hstu_layer %x, %l gln1(%g, %g) uvqk(%w, %b) gln2(%g, %g) out(%wo, %bo)
      {heads = 0 : i64, dqk = 4 : i64, dv = 4 : i64, alpha = 0.5 : f64, mask = #mtgr<mask dynamic>, n_norm = #mtgr<n_norm total>,
       norm_order = #mtgr<norm_order gate_then_norm>, dropout = 0.0 : f64, layer = 0 : i64}
      : (!mtgr.jagged<8xf32>, !mtgr.layout, tensor<4x8xf32>, tensor<4x8xf32>, tensor<32x8xf32>, tensor<32xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %l: !mtgr.layout, %g: tensor<4x8xf32>, %w: tensor<32x8xf32>, %b: tensor<32xf32>, %wo: tensor<8x8xf32>, %bo: tensor<8xf32>) {
  // expected-error @+1 {{result type must equal the input type}}
  %0 = mtgr.hstu_layer %x, %l gln1(%g, %g) uvqk(%w, %b) gln2(%g, %g) out(%wo, %bo)
      {heads = 2 : i64, dqk = 4 : i64, dv = 4 : i64, alpha = 0.5 : f64, mask = #mtgr<mask dynamic>, n_norm = #mtgr<n_norm total>,
       norm_order = #mtgr<norm_order gate_then_norm>, dropout = 0.0 : f64, layer = 0 : i64}
      : (!mtgr.jagged<8xf32>, !mtgr.layout, tensor<4x8xf32>, tensor<4x8xf32>, tensor<32x8xf32>, tensor<32xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> !mtgr.jagged<16xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %l: !mtgr.layout, %g: tensor<4x8xf32>, %g2: tensor<4x16xf32>, %w: tensor<32x8xf32>, %b: tensor<32xf32>, %wo: tensor<8x8xf32>, %bo: tensor<8xf32>) {
  // expected-error @+1 {{gln1 gamma and beta must both be [4, 8] (one row per token group) or [1, 8] (shared), got [4, 16] and [4, 16]}}
  %0 = mtgr.hstu_layer %x, %l gln1(%g2, %g2) uvqk(%w, %b) gln2(%g, %g) out(%wo, %bo)
      {heads = 2 : i64, dqk = 4 : i64, dv = 4 : i64, alpha = 0.5 : f64, mask = #mtgr<mask dynamic>, n_norm = #mtgr<n_norm total>,
       norm_order = #mtgr<norm_order gate_then_norm>, dropout = 0.0 : f64, layer = 0 : i64}
      : (!mtgr.jagged<8xf32>, !mtgr.layout, tensor<4x16xf32>, tensor<4x16xf32>, tensor<32x8xf32>, tensor<32xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %l: !mtgr.layout, %g: tensor<4x8xf32>, %w: tensor<32x8xf32>, %b: tensor<32xf32>, %wo: tensor<8x8xf32>, %bo: tensor<8xf32>) {
  // expected-error @+1 {{uvqk weight must be [48, 8] and its bias [48] (2*heads*dv + 2*heads*dqk outputs)}}
  %0 = mtgr.hstu_layer %x, %l gln1(%g, %g) uvqk(%w, %b) gln2(%g, %g) out(%wo, %bo)
      {heads = 2 : i64, dqk = 8 : i64, dv = 4 : i64, alpha = 0.5 : f64, mask = #mtgr<mask dynamic>, n_norm = #mtgr<n_norm total>,
       norm_order = #mtgr<norm_order gate_then_norm>, dropout = 0.0 : f64, layer = 0 : i64}
      : (!mtgr.jagged<8xf32>, !mtgr.layout, tensor<4x8xf32>, tensor<4x8xf32>, tensor<32x8xf32>, tensor<32xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %l: !mtgr.layout, %g: tensor<4x8xf32>, %w: tensor<32x8xf32>, %b: tensor<32xf32>, %wo: tensor<8x4xf32>, %bo: tensor<8xf32>) {
  // expected-error @+1 {{out weight must be [8, 8] and its bias [8]}}
  %0 = mtgr.hstu_layer %x, %l gln1(%g, %g) uvqk(%w, %b) gln2(%g, %g) out(%wo, %bo)
      {heads = 2 : i64, dqk = 4 : i64, dv = 4 : i64, alpha = 0.5 : f64, mask = #mtgr<mask dynamic>, n_norm = #mtgr<n_norm total>,
       norm_order = #mtgr<norm_order gate_then_norm>, dropout = 0.0 : f64, layer = 0 : i64}
      : (!mtgr.jagged<8xf32>, !mtgr.layout, tensor<4x8xf32>, tensor<4x8xf32>, tensor<32x8xf32>, tensor<32xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x4xf32>, tensor<8xf32>) -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %l: !mtgr.layout, %g: tensor<4x8xf32>, %w: tensor<32x8xf32>, %b: tensor<32xf32>, %wo: tensor<8x8xf32>, %bo: tensor<8xf32>) {
  // expected-error @+1 {{the intervals(...) operand is required with mask<intervals> and only allowed there}}
  %0 = mtgr.hstu_layer %x, %l gln1(%g, %g) uvqk(%w, %b) gln2(%g, %g) out(%wo, %bo)
      {heads = 2 : i64, dqk = 4 : i64, dv = 4 : i64, alpha = 0.5 : f64, mask = #mtgr<mask intervals>, n_norm = #mtgr<n_norm total>,
       norm_order = #mtgr<norm_order gate_then_norm>, dropout = 0.0 : f64, layer = 0 : i64}
      : (!mtgr.jagged<8xf32>, !mtgr.layout, tensor<4x8xf32>, tensor<4x8xf32>, tensor<32x8xf32>, tensor<32xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %l: !mtgr.layout, %g: tensor<4x8xf32>, %w: tensor<32x8xf32>, %b: tensor<32xf32>, %wo: tensor<8x8xf32>, %bo: tensor<8xf32>) {
  // expected-error @+1 {{dropout must be in [0, 1), got -5.000000e-01}}
  %0 = mtgr.hstu_layer %x, %l gln1(%g, %g) uvqk(%w, %b) gln2(%g, %g) out(%wo, %bo)
      {heads = 2 : i64, dqk = 4 : i64, dv = 4 : i64, alpha = 0.5 : f64, mask = #mtgr<mask dynamic>, n_norm = #mtgr<n_norm total>,
       norm_order = #mtgr<norm_order gate_then_norm>, dropout = -0.5 : f64, layer = 0 : i64}
      : (!mtgr.jagged<8xf32>, !mtgr.layout, tensor<4x8xf32>, tensor<4x8xf32>, tensor<32x8xf32>, tensor<32xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %l: !mtgr.layout, %g: tensor<4x8xf32>, %w: tensor<32x8xf32>, %b: tensor<32xf32>, %wo: tensor<8x8xf32>, %bo: tensor<8xf32>) {
  // expected-error @+1 {{n_norm_constant is required with n_norm<constant> and only allowed there}}
  %0 = mtgr.hstu_layer %x, %l gln1(%g, %g) uvqk(%w, %b) gln2(%g, %g) out(%wo, %bo)
      {heads = 2 : i64, dqk = 4 : i64, dv = 4 : i64, alpha = 0.5 : f64, mask = #mtgr<mask dynamic>, n_norm = #mtgr<n_norm total>,
       n_norm_constant = 3.0 : f64, norm_order = #mtgr<norm_order gate_then_norm>, dropout = 0.0 : f64, layer = 0 : i64}
      : (!mtgr.jagged<8xf32>, !mtgr.layout, tensor<4x8xf32>, tensor<4x8xf32>, tensor<32x8xf32>, tensor<32xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %w: tensor<2x8xf32>, %b: tensor<2xf32>) {
  // expected-error @+1 {{logits must be !mtgr.jagged<1xf32>}}
  %0 = mtgr.task_head "ctr" %x weights(%w) biases(%b) : (!mtgr.jagged<8xf32>, tensor<2x8xf32>, tensor<2xf32>) -> !mtgr.jagged<2xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %w: tensor<2x8xf32>, %b: tensor<2xf32>) {
  // expected-error @+1 {{last layer has 2 outputs but the result has width 1}}
  %0 = mtgr.task_head "ctr" %x weights(%w) biases(%b) : (!mtgr.jagged<8xf32>, tensor<2x8xf32>, tensor<2xf32>) -> !mtgr.jagged<1xf32>
  return
}

// -----
func.func @f(%l: !mtgr.jagged<1xf32>) {
  // expected-error @+1 {{has 2 task weights for 1 tasks}}
  %0 = mtgr.bce_loss (%l) labels(%l) {task_weights = [1.0, 1.0], normalizer = 1.0 : f64} : (!mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>) -> tensor<f32>
  return
}

// -----
func.func @f(%l: !mtgr.jagged<1xf32>) {
  // expected-error @+1 {{normalizer (expected candidates per step) must be positive}}
  %0 = mtgr.bce_loss (%l) labels(%l) {task_weights = [1.0], normalizer = 0.0 : f64} : (!mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>) -> tensor<f32>
  return
}

// -----
func.func @f(%l: !mtgr.jagged<2xf32>) {
  // expected-error @+1 {{logits and labels must be '!mtgr.jagged<1xf32>'}}
  %0 = mtgr.bce_loss (%l) labels(%l) {task_weights = [1.0], normalizer = 1.0 : f64} : (!mtgr.jagged<2xf32>), (!mtgr.jagged<2xf32>) -> tensor<f32>
  return
}

// -----
func.func @f(%l: !mtgr.jagged<1xf32>) {
  // expected-error @+1 {{needs at least one task}}
  %0 = "mtgr.bce_loss"() <{task_weights = [], normalizer = 1.0 : f64}> : () -> tensor<f32>
  return
}

// -----
func.func @f(%a: !mtgr.jagged<4xf32>, %b: !mtgr.jagged<8xf32>) {
  // expected-error @+1 {{'mtgr.add' op requires the same type for all operands and results}}
  %0 = "mtgr.add"(%a, %b) : (!mtgr.jagged<4xf32>, !mtgr.jagged<8xf32>) -> !mtgr.jagged<4xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %w: tensor<4x6xf32>, %dy: !mtgr.jagged<4xf32>) {
  // expected-error @+1 {{weight [4, 6] does not map width 8 to width 4}}
  %dx, %dw, %db = mtgr.linear_backward %x, %w, %dy : !mtgr.jagged<8xf32>, tensor<4x6xf32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<8xf32>, tensor<4x6xf32>, tensor<4xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %w: tensor<4x8xf32>, %dy: !mtgr.jagged<4xf32>) {
  // expected-error @+1 {{weight and bias gradients must have the parameters' shapes}}
  %dx, %dw, %db = mtgr.linear_backward %x, %w, %dy : !mtgr.jagged<8xf32>, tensor<4x8xf32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<8xf32>, tensor<4x8xf32>, tensor<3xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %a: !mtgr.jagged<4xf32>) {
  // expected-error @+1 {{input width 8 is not the sum of the piece widths 12}}
  %dx = mtgr.concat_silu_backward %x, %a, %a, %a : !mtgr.jagged<8xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>) {
  // expected-error @+1 {{needs at least one piece}}
  %dx = "mtgr.concat_silu_backward"(%x) : (!mtgr.jagged<8xf32>) -> !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %a: !mtgr.jagged<4x2xf32>) {
  // expected-error @+1 {{input rows must be vectors}}
  %dx = mtgr.concat_silu_backward %x, %a : !mtgr.jagged<8xf32>, !mtgr.jagged<4x2xf32>
  return
}

// -----
func.func @f(%n: !mtgr.jagged<8xf32>, %w: tensor<4x6xf32>, %dy: !mtgr.jagged<4xf32>, %l: !mtgr.layout, %g: tensor<4x8xf32>) {
  // expected-error @+1 {{weight [4, 6] does not map width 8 to width 4}}
  %dx, %dw, %db, %dg, %dbeta = mtgr.linear_norm_backward %n, %w, %dy norm(%n, %l, %g) : !mtgr.jagged<8xf32>, tensor<4x6xf32>, !mtgr.jagged<4xf32> -> tensor<4x6xf32>, tensor<4xf32>, tensor<4x8xf32>
  return
}

// -----
func.func @f(%n: !mtgr.jagged<8xf32>, %w: tensor<4x8xf32>, %dy: !mtgr.jagged<4xf32>, %l: !mtgr.layout, %g: tensor<4x8xf32>, %r: !mtgr.jagged<4xf32>) {
  // expected-error @+1 {{residual gradient must have the input's type}}
  %dx, %dw, %db, %dg, %dbeta = mtgr.linear_norm_backward %n, %w, %dy norm(%n, %l, %g) residual(%r : !mtgr.jagged<4xf32>) : !mtgr.jagged<8xf32>, tensor<4x8xf32>, !mtgr.jagged<4xf32> -> tensor<4x8xf32>, tensor<4xf32>, tensor<4x8xf32>
  return
}

// -----
func.func @f(%n: !mtgr.jagged<8xf32>, %w: tensor<4x8xf32>, %dy: !mtgr.jagged<4xf32>, %l: !mtgr.layout, %g: tensor<4x8xf32>) {
  // expected-error @+1 {{eps must be positive}}
  %dx, %dw, %db, %dg, %dbeta = mtgr.linear_norm_backward %n, %w, %dy norm(%n, %l, %g) {eps = 0.0 : f64} : !mtgr.jagged<8xf32>, tensor<4x8xf32>, !mtgr.jagged<4xf32> -> tensor<4x8xf32>, tensor<4xf32>, tensor<4x8xf32>
  return
}

// -----
func.func @f(%n: !mtgr.jagged<8xf32>, %w: tensor<4x8xf32>, %dy: !mtgr.jagged<4xf32>, %l: !mtgr.layout, %g: tensor<2x8xf32>) {
  // expected-error @+1 {{linear_norm_backward gamma and beta must both be [4, 8]}}
  %dx, %dw, %db, %dg, %dbeta = mtgr.linear_norm_backward %n, %w, %dy norm(%n, %l, %g) : !mtgr.jagged<8xf32>, tensor<4x8xf32>, !mtgr.jagged<4xf32> -> tensor<4x8xf32>, tensor<4xf32>, tensor<2x8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %w: tensor<4x8xf32>, %dy: tensor<?x4xf32>) {
  // expected-error @+1 {{input, result gradient and input gradient must be rows of the same kind}}
  %dx, %dw, %db = mtgr.linear_backward %x, %w, %dy : !mtgr.jagged<8xf32>, tensor<4x8xf32>, tensor<?x4xf32> -> !mtgr.jagged<8xf32>, tensor<4x8xf32>, tensor<4xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>) {
  // expected-error @+1 {{cannot place rows of width 8 at column 6 of rows of width 12}}
  %p = mtgr.column_pad %x [6, 12] : !mtgr.jagged<8xf32> -> !mtgr.jagged<12xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>) {
  // expected-error @+1 {{result rows must have the input's row shape}}
  %s = mtgr.segment_sum %x : !mtgr.jagged<8xf32> -> tensor<?x4xf32>
  return
}

// -----
func.func @f(%m: tensor<?x4xf32>, %x: !mtgr.jagged<8xf32>) {
  // expected-error @+1 {{gradient rows must match the pooled rows}}
  %d = mtgr.mean_pool_backward %m, %x : tensor<?x4xf32>, !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%l: !mtgr.jagged<1xf32>) {
  // expected-error @+1 {{needs one weight and one gradient per task}}
  %d = mtgr.bce_loss_backward (%l) labels(%l) {task_weights = [1.0, 2.0], normalizer = 4.0 : f64}
      : (!mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>) -> !mtgr.jagged<1xf32>
  return
}

// -----
func.func @f(%l: !mtgr.jagged<2xf32>) {
  // expected-error @+1 {{logits and labels must be '!mtgr.jagged<1xf32>'}}
  %d = mtgr.bce_loss_backward (%l) labels(%l) {task_weights = [1.0], normalizer = 4.0 : f64}
      : (!mtgr.jagged<2xf32>), (!mtgr.jagged<2xf32>) -> !mtgr.jagged<2xf32>
  return
}

// -----
func.func @f(%u: tensor<?x2x8xf32>) {
  // expected-error @+1 {{input must be tensor<?x3xDxf32>}}
  %a, %b, %c = mtgr.unstack %u : tensor<?x2x8xf32> -> tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %l: !mtgr.layout) {
  // expected-error @+1 {{result must be tensor<?x nU x 8 x f32>}}
  %u = mtgr.extract_user %x, %l : !mtgr.jagged<8xf32> -> tensor<?x2x4xf32>
  return
}

// -----
// expected-error @+1 {{lr must be positive, got 0}}
mtgr.optimizer adam lr(0.0) betas(0.9, 0.999) eps(1.0e-8) weight_decay(0.0) sparse(rowwise_adagrad lr(0.01))

// -----
// expected-error @+1 {{beta2 must lie in [0, 1), got 1}}
mtgr.optimizer adam lr(0.001) betas(0.9, 1.0) eps(1.0e-8) weight_decay(0.0) sparse(rowwise_adagrad lr(0.01))

// -----
mtgr.optimizer adam lr(0.001) betas(0.9, 0.999) eps(1.0e-8) weight_decay(0.0) sparse(rowwise_adagrad lr(0.01))
// expected-error @+1 {{declared more than once in the module}}
mtgr.optimizer adamw lr(0.001) betas(0.9, 0.999) eps(1.0e-8) weight_decay(0.01) sparse(adam lr(0.01))

// -----
mtgr.parameter @w : tensor<2x3xf32> init(xavier_uniform)
func.func @f(%g: tensor<3x2xf32>) {
  // expected-error @+1 {{gradient type 'tensor<3x2xf32>' does not match the parameter's type 'tensor<2x3xf32>'}}
  mtgr.adam_update @w, %g {lr = 1.0e-3 : f64, beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-8 : f64, weight_decay = 0.0 : f64} : tensor<3x2xf32>
  return
}

// -----
func.func @f(%g: tensor<2xf32>) {
  // expected-error @+1 {{'missing' does not name an mtgr.parameter}}
  mtgr.adam_update @missing, %g {lr = 1.0e-3 : f64, beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-8 : f64, weight_decay = 0.0 : f64} : tensor<2xf32>
  return
}

// -----
mtgr.table @item fixed rows(10) dim(4)
func.func @f(%ids: !mtgr.jagged<i64>, %g: !mtgr.jagged<4xf32>) {
  // expected-error @+1 {{adam needs beta1 and beta2}}
  mtgr.sparse_update @item adam ids(%ids) grads(%g) {lr = 0.01 : f64, eps = 1.0e-8 : f64}
      : (!mtgr.jagged<i64>), (!mtgr.jagged<4xf32>)
  return
}

// -----
mtgr.table @item fixed rows(10) dim(4)
func.func @f(%ids: !mtgr.jagged<i64>, %g: !mtgr.jagged<3xf32>) {
  // expected-error @+1 {{gradient rows '!mtgr.jagged<3xf32>' do not match table @item of dim 4}}
  mtgr.sparse_update @item rowwise_adagrad ids(%ids) grads(%g) {lr = 0.01 : f64, eps = 1.0e-8 : f64}
      : (!mtgr.jagged<i64>), (!mtgr.jagged<3xf32>)
  return
}

// -----
mtgr.table @item fixed rows(10) dim(4)
func.func @f(%ids: tensor<?xi64>, %g: !mtgr.jagged<4xf32>) {
  // expected-error @+1 {{differ in kind}}
  mtgr.sparse_update @item rowwise_adagrad ids(%ids) grads(%g) {lr = 0.01 : f64, eps = 1.0e-8 : f64}
      : (tensor<?xi64>), (!mtgr.jagged<4xf32>)
  return
}

// -----
func.func @f(%x: !mtgr.jagged<8xf32>, %p: !mtgr.jagged<4xf32>, %l: !mtgr.layout) {
  // expected-error @+1 {{prefix rows '!mtgr.jagged<4xf32>' differ from the suffix rows '!mtgr.jagged<8xf32>'}}
  %j = mtgr.join_groups %x, %l prefix(%p : !mtgr.jagged<4xf32>) : !mtgr.jagged<8xf32>
  return
}

// -----
func.func @f(%x: !mtgr.jagged<4xf32>, %w: tensor<4x4xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{preactivation needs silu}}
  %p:2 = mtgr.fused_linear %x weight %w bias %b {preactivation}
      : (!mtgr.jagged<4xf32>, tensor<4x4xf32>, tensor<4xf32>) -> (!mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>)
  return
}

// -----
func.func @f(%x: !mtgr.jagged<4xf32>, %w: tensor<4x4xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{preactivation needs a first result of rows of width 4}}
  %p:3 = mtgr.fused_linear %x weight %w bias %b {preactivation, silu, splits = array<i64: 2, 2>}
      : (!mtgr.jagged<4xf32>, tensor<4x4xf32>, tensor<4xf32>) -> (!mtgr.jagged<2xf32>, !mtgr.jagged<2xf32>, !mtgr.jagged<4xf32>)
  return
}

// -----
func.func @f(%x: !mtgr.jagged<4xf32>, %w: tensor<4x4xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{has 1 results for 2 column pieces}}
  %p:2 = mtgr.fused_linear %x weight %w bias %b {preactivation, silu, splits = array<i64: 2, 2>}
      : (!mtgr.jagged<4xf32>, tensor<4x4xf32>, tensor<4xf32>) -> (!mtgr.jagged<4xf32>, !mtgr.jagged<2xf32>)
  return
}
