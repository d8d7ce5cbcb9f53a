// RUN: mtgr-opt %s -split-input-file --mtgr-plan-attention='row-block=8 col-tile=4' -verify-diagnostics | FileCheck %s
// RUN: not mtgr-opt %s -split-input-file --mtgr-plan-attention='row-block=0' 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: row-block and col-tile must be at least 1
// RUN: mtgr-opt %s -split-input-file --mtgr-plan-attention='row-block=8 col-tile=4 suffix-row-block=2' -verify-diagnostics | FileCheck %s --check-prefix=SUFFIX

// Success: one tile list per mask, before its first reader, shared by the
// layers' attention and the gradient.
// CHECK-LABEL: func.func @f
// CHECK: %[[T:.*]] = mtgr.attention_tiles %{{.*}}, %{{.*}} : !mtgr.jagged<3x2xi32> -> !mtgr.tile_list<8, 4>
// CHECK-NEXT: %[[A:.*]] = mtgr.hstu_attention {{.*}} tiles(%[[T]] : !mtgr.tile_list<8, 4>)
// CHECK-NEXT: mtgr.hstu_attention %[[A]], {{.*}} tiles(%[[T]] : !mtgr.tile_list<8, 4>)
// CHECK-NEXT: mtgr.hstu_attention_backward {{.*}} tiles(%[[T]] : !mtgr.tile_list<8, 4>)
// CHECK-NOT: mtgr.attention_tiles
func.func @f(%x: !mtgr.jagged<4xf32>, %m: !mtgr.jagged<3x2xi32>, %l: !mtgr.layout) {
  %a = mtgr.hstu_attention %x, %x, %x, %m, %l {heads = 1 : i64, alpha = 1.0 : f64, n_norm = #mtgr<n_norm total>}
      : !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<4xf32>
  %b = mtgr.hstu_attention %a, %x, %x, %m, %l {heads = 1 : i64, alpha = 1.0 : f64, n_norm = #mtgr<n_norm total>}
      : !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<4xf32>
  %dq, %dk, %dv = mtgr.hstu_attention_backward %x, %x, %x, %m, %l, %b {heads = 1 : i64, alpha = 1.0 : f64, n_norm = #mtgr<n_norm total>}
      : !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<3x2xi32>, !mtgr.jagged<4xf32>
        -> !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>
  return
}

// -----
// score_candidates' attention (a mask whose U and S rows see nothing) gets
// row blocks of suffix-row-block (default: row-block), the other masks not.
// CHECK-LABEL: func.func @suffix
// CHECK: mtgr.attention_tiles {{.*}} -> !mtgr.tile_list<8, 4>
// CHECK: mtgr.attention_tiles {{.*}} -> !mtgr.tile_list<8, 4>
// SUFFIX-LABEL: func.func @suffix
// SUFFIX: mtgr.attention_tiles {{.*}} -> !mtgr.tile_list<8, 4>
// SUFFIX: mtgr.attention_tiles {{.*}} -> !mtgr.tile_list<2, 4>
func.func @suffix(%x: !mtgr.jagged<4xf32>, %l: !mtgr.layout) {
  %m = mtgr.build_mask dynamic %l : !mtgr.jagged<3x2xi32>
  %s = mtgr.build_mask dynamic %l {suffix_rows} : !mtgr.jagged<3x2xi32>
  %a = mtgr.hstu_attention %x, %x, %x, %m, %l {heads = 1 : i64, alpha = 1.0 : f64, n_norm = #mtgr<n_norm visible>}
      : !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<4xf32>
  %b = mtgr.hstu_attention %x, %x, %x, %s, %l {heads = 1 : i64, alpha = 1.0 : f64, n_norm = #mtgr<n_norm visible>}
      : !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<4xf32>
  return
}

// -----
// Inapplicable: an op that has its tiles keeps them; no attention, no list.
// CHECK-LABEL: func.func @g
// CHECK-NOT: mtgr.attention_tiles
// CHECK: tiles(%{{.*}} : !mtgr.tile_list<16, 16>)
func.func @g(%x: !mtgr.jagged<4xf32>, %m: !mtgr.jagged<3x2xi32>, %l: !mtgr.layout, %t: !mtgr.tile_list<16, 16>) {
  %a = mtgr.hstu_attention %x, %x, %x, %m, %l tiles(%t : !mtgr.tile_list<16, 16>) {heads = 1 : i64, alpha = 1.0 : f64, n_norm = #mtgr<n_norm total>}
      : !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<4xf32>
  return
}

// -----
// Failure (the type): tile sizes must be positive.
// expected-error @+1 {{tile_list sizes must be positive, got 0 x 4}}
func.func private @h(%t: !mtgr.tile_list<0, 4>)
