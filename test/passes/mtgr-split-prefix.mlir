// RUN: mtgr-opt %s -split-input-file --mtgr-split-prefix -verify-diagnostics | FileCheck %s

// One layer on the tokens (q = k = v = the normalised tokens), the candidates'
// rows out. @forward stays; @score_candidates computes the R and C rows
// against the cached U and S keys and values (new arguments, role
// prefix_keys / prefix_values); @encode_prefix returns them. The U and S
// inputs leave score_candidates (only S's timestamps stay: they place the
// rows and their times), R and C leave encode_prefix.
// CHECK-LABEL: func.func @forward(
// CHECK: mtgr.assemble_tokens
// CHECK-LABEL: func.func @score_candidates(
// CHECK-SAME: %[[R:[^:]*]]: !mtgr.jagged<8xf32> {mtgr.input = "realtime.x"
// CHECK-SAME: %[[TS:[^:]*]]: !mtgr.jagged<i64> {mtgr.input = "sequence.time"
// CHECK-SAME: %[[K:[^:]*]]: !mtgr.jagged<8xf32> {mtgr.input = "prefix.layers.0.k", mtgr.role = #mtgr.role<prefix_keys, group = prefix, index = 0>}
// CHECK-SAME: %[[V:[^:]*]]: !mtgr.jagged<8xf32> {mtgr.input = "prefix.layers.0.v", mtgr.role = #mtgr.role<prefix_values, group = prefix, index = 0>}
// CHECK: %[[X:.*]], %[[ROWS:.*]], %[[FULL:.*]] = mtgr.assemble_suffix %[[R]], %{{.*}} times(%[[TS]], %{{.*}}, %{{.*}}) {users = 2 : i64}
// CHECK: %[[N:.*]] = mtgr.group_layer_norm %[[X]], %[[ROWS]]
// CHECK: %[[M:.*]] = mtgr.build_mask dynamic %[[FULL]] {suffix_rows}
// CHECK: %[[KF:.*]] = mtgr.join_groups %[[N]], %[[FULL]] prefix(%[[K]] : !mtgr.jagged<8xf32>)
// CHECK: %[[VF:.*]] = mtgr.join_groups %[[N]], %[[FULL]] prefix(%[[V]] : !mtgr.jagged<8xf32>)
// CHECK: %[[QF:.*]] = mtgr.join_groups %[[N]], %[[FULL]] : !mtgr.jagged<8xf32>
// CHECK-NOT: mtgr.scatter_group
// CHECK: %[[O:.*]] = mtgr.hstu_attention %[[QF]], %[[KF]], %[[VF]], %[[M]], %[[FULL]]
// CHECK: %[[OS:.*]] = mtgr.extract_group realtime %[[O]], %[[FULL]] {through = #mtgr<group candidate>}
// CHECK: %[[Y:.*]] = mtgr.add %[[X]], %[[OS]]
// CHECK: mtgr.extract_group candidate %[[Y]], %[[ROWS]]
// CHECK-LABEL: func.func @encode_prefix(
// CHECK-SAME: %[[U:[^:]*]]: tensor<?x2x8xf32> {mtgr.input = "user.x"
// CHECK-SAME: %[[S:[^:]*]]: !mtgr.jagged<8xf32> {mtgr.input = "sequence.x"
// CHECK-SAME: %[[TS2:[^:]*]]: !mtgr.jagged<i64> {mtgr.input = "sequence.time"
// CHECK-SAME: -> (!mtgr.jagged<8xf32> {mtgr.output = "prefix.layers.0.k", mtgr.role = #mtgr.role<prefix_keys, group = prefix, index = 0>}, !mtgr.jagged<8xf32> {mtgr.output = "prefix.layers.0.v", mtgr.role = #mtgr.role<prefix_values, group = prefix, index = 0>})
// CHECK: %[[PX:.*]], %[[PL:.*]] = mtgr.assemble_prefix %[[U]], %[[S]] times(%[[TS2]])
// CHECK: %[[PN:.*]] = mtgr.group_layer_norm %[[PX]], %[[PL]]
// CHECK-NOT: mtgr.hstu_attention
// CHECK: return %[[PN]], %[[PN]]
func.func @forward(%u: tensor<?x2x8xf32> {mtgr.input = "user.x", mtgr.role = #mtgr.role<feature, group = user, index = 0>},
                   %s: !mtgr.jagged<8xf32> {mtgr.input = "sequence.x", mtgr.role = #mtgr.role<feature, group = sequence, index = 0>},
                   %r: !mtgr.jagged<8xf32> {mtgr.input = "realtime.x", mtgr.role = #mtgr.role<feature, group = realtime, index = 0>},
                   %c: !mtgr.jagged<8xf32> {mtgr.input = "candidate.x", mtgr.role = #mtgr.role<feature, group = candidate, index = 0>},
                   %ts: !mtgr.jagged<i64> {mtgr.input = "sequence.time", mtgr.role = #mtgr.role<time, group = sequence>},
                   %tr: !mtgr.jagged<i64> {mtgr.input = "realtime.time", mtgr.role = #mtgr.role<time, group = realtime>},
                   %tc: !mtgr.jagged<i64> {mtgr.input = "candidate.time", mtgr.role = #mtgr.role<time, group = candidate>},
                   %g: tensor<4x8xf32>) -> !mtgr.jagged<8xf32> {
  %x, %layout = mtgr.assemble_tokens %u, %s, %r, %c times(%ts, %tr, %tc) : tensor<?x2x8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<i64>, !mtgr.jagged<i64>, !mtgr.jagged<i64> -> !mtgr.jagged<8xf32>, !mtgr.layout
  %n = mtgr.group_layer_norm %x, %layout, %g, %g : !mtgr.jagged<8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
  %mask = mtgr.build_mask dynamic %layout : !mtgr.jagged<3x2xi32>
  %o = mtgr.hstu_attention %n, %n, %n, %mask, %layout {heads = 2 : i64, alpha = 0.25 : f64, n_norm = #mtgr<n_norm visible>} : !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<8xf32>
  %y = mtgr.add %x, %o : !mtgr.jagged<8xf32>
  %cand = mtgr.extract_group candidate %y, %layout : !mtgr.jagged<8xf32>
  return %cand : !mtgr.jagged<8xf32>
}

// -----

// n_norm: total counts R and C in every row's normaliser: refused (DESIGN 1.6).
// expected-error @+1 {{no prefix split: n_norm 'total' divides every row by the sample's length}}
func.func @forward(%u: tensor<?x2x8xf32>, %s: !mtgr.jagged<8xf32>, %r: !mtgr.jagged<8xf32>, %c: !mtgr.jagged<8xf32>,
                   %ts: !mtgr.jagged<i64>, %tr: !mtgr.jagged<i64>, %tc: !mtgr.jagged<i64>) -> !mtgr.jagged<8xf32> {
  %x, %layout = mtgr.assemble_tokens %u, %s, %r, %c times(%ts, %tr, %tc) : tensor<?x2x8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<i64>, !mtgr.jagged<i64>, !mtgr.jagged<i64> -> !mtgr.jagged<8xf32>, !mtgr.layout
  %mask = mtgr.build_mask causal %layout : !mtgr.jagged<3x2xi32>
  %o = mtgr.hstu_attention %x, %x, %x, %mask, %layout {heads = 2 : i64, alpha = 0.25 : f64, n_norm = #mtgr<n_norm total>} : !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<8xf32>
  %cand = mtgr.extract_group candidate %o, %layout : !mtgr.jagged<8xf32>
  return %cand : !mtgr.jagged<8xf32>
}

// -----

// The contextual mask lets U rows see R: refused.
// expected-error @+1 {{no prefix split: the 'contextual' mask lets U rows see the R tokens}}
func.func @forward(%u: tensor<?x2x8xf32>, %s: !mtgr.jagged<8xf32>, %r: !mtgr.jagged<8xf32>, %c: !mtgr.jagged<8xf32>,
                   %ts: !mtgr.jagged<i64>, %tr: !mtgr.jagged<i64>, %tc: !mtgr.jagged<i64>) -> !mtgr.jagged<8xf32> {
  %x, %layout = mtgr.assemble_tokens %u, %s, %r, %c times(%ts, %tr, %tc) : tensor<?x2x8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<i64>, !mtgr.jagged<i64>, !mtgr.jagged<i64> -> !mtgr.jagged<8xf32>, !mtgr.layout
  %mask = mtgr.build_mask contextual %layout : !mtgr.jagged<3x2xi32>
  %o = mtgr.hstu_attention %x, %x, %x, %mask, %layout {heads = 2 : i64, alpha = 0.25 : f64, n_norm = #mtgr<n_norm visible>} : !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<8xf32>
  %cand = mtgr.extract_group candidate %o, %layout : !mtgr.jagged<8xf32>
  return %cand : !mtgr.jagged<8xf32>
}

// -----

// Intervals from the batch: which rows see R and C is known per request only.
// expected-error @+1 {{no prefix split: the mask comes from the batch ('intervals')}}
func.func @forward(%u: tensor<?x2x8xf32>, %s: !mtgr.jagged<8xf32>, %r: !mtgr.jagged<8xf32>, %c: !mtgr.jagged<8xf32>,
                   %ts: !mtgr.jagged<i64>, %tr: !mtgr.jagged<i64>, %tc: !mtgr.jagged<i64>, %m: !mtgr.jagged<3x2xi32>) -> !mtgr.jagged<8xf32> {
  %x, %layout = mtgr.assemble_tokens %u, %s, %r, %c times(%ts, %tr, %tc) : tensor<?x2x8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<i64>, !mtgr.jagged<i64>, !mtgr.jagged<i64> -> !mtgr.jagged<8xf32>, !mtgr.layout
  %o = mtgr.hstu_attention %x, %x, %x, %m, %layout {heads = 2 : i64, alpha = 0.25 : f64, n_norm = #mtgr<n_norm visible>} : !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<8xf32>
  %cand = mtgr.extract_group candidate %o, %layout : !mtgr.jagged<8xf32>
  return %cand : !mtgr.jagged<8xf32>
}

// -----

// An op that reads rows the split does not know how to place: refused, named.
// expected-error @+1 {{no prefix split: 'mtgr.extract_group' reads the token layout}}
func.func @forward(%u: tensor<?x2x8xf32>, %s: !mtgr.jagged<8xf32>, %r: !mtgr.jagged<8xf32>, %c: !mtgr.jagged<8xf32>,
                   %ts: !mtgr.jagged<i64>, %tr: !mtgr.jagged<i64>, %tc: !mtgr.jagged<i64>) -> !mtgr.jagged<8xf32> {
  %x, %layout = mtgr.assemble_tokens %u, %s, %r, %c times(%ts, %tr, %tc) : tensor<?x2x8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<i64>, !mtgr.jagged<i64>, !mtgr.jagged<i64> -> !mtgr.jagged<8xf32>, !mtgr.layout
  %mask = mtgr.build_mask dynamic %layout : !mtgr.jagged<3x2xi32>
  %o = mtgr.hstu_attention %x, %x, %x, %mask, %layout {heads = 2 : i64, alpha = 0.25 : f64, n_norm = #mtgr<n_norm visible>} : !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<8xf32>
  %seq = mtgr.extract_group sequence %o, %layout : !mtgr.jagged<8xf32>
  return %seq : !mtgr.jagged<8xf32>
}

// -----

// No HSTU layer: nothing per user to cache.
// expected-error @+1 {{no prefix split: the model has no HSTU layers}}
func.func @forward(%c: !mtgr.jagged<8xf32>) -> !mtgr.jagged<8xf32> {
  return %c : !mtgr.jagged<8xf32>
}
