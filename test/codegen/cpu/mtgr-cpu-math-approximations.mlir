// RUN: mtgr-opt %s --mtgr-cpu-math-approximations | FileCheck %s

// f32 exp and log1p, scalar and vector, become polynomials (no libm call per
// attention pair); f64 (the optimisers) keeps math.exp, and other functions
// (tanh) are left alone.

// CHECK-LABEL: func.func @f32
// CHECK-NOT: math.exp
// CHECK-NOT: math.log1p
// CHECK: arith.mulf
// CHECK: return
func.func @f32(%x: f32, %v: vector<16xf32>) -> (f32, vector<16xf32>, f32) {
  %e = math.exp %x : f32
  %ev = math.exp %v : vector<16xf32>
  %l = math.log1p %x : f32
  return %e, %ev, %l : f32, vector<16xf32>, f32
}

// CHECK-LABEL: func.func @f64
// CHECK: math.exp %{{.*}} : f64
// CHECK: math.tanh %{{.*}} : f32
func.func @f64(%x: f64, %y: f32) -> (f64, f32) {
  %e = math.exp %x : f64
  %t = math.tanh %y : f32
  return %e, %t : f64, f32
}
