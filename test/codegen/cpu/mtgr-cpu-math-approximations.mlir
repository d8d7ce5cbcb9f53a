// RUN: mtgr-opt %s --mtgr-cpu-math-approximations | FileCheck %s

// f32 exp and log1p, scalar and vector, become polynomials (no libm call per
// attention pair); f64 (the optimisers) keeps math.exp, and other functions
// (tanh) are left alone.

// exp: x clamped (NaN kept: select on an unordered compare), k by the
// 1.5 2^23 addition, r in two Cody-Waite steps, the degree-5 polynomial, and
// k added to the exponent bits (codegen/cpu/HostCodegen.cpp, FastExp).
// CHECK-LABEL: func.func @exp
// CHECK-NOT: math.exp
// CHECK: arith.cmpf uge
// CHECK: arith.select
// CHECK: arith.cmpf ule
// CHECK: arith.select
// CHECK: math.fma %{{.*}}, %{{.*}}, %[[MAGIC:.*]] : vector<16xf32>
// CHECK: arith.subf %{{.*}}, %[[MAGIC]] : vector<16xf32>
// CHECK-COUNT-7: math.fma
// CHECK-NOT: math.fma
// CHECK: arith.fptosi %{{.*}} : vector<16xf32> to vector<16xi32>
// CHECK: arith.shli
// CHECK: arith.bitcast %{{.*}} : vector<16xf32> to vector<16xi32>
// CHECK: arith.addi
// CHECK: arith.bitcast %{{.*}} : vector<16xi32> to vector<16xf32>
// The scalar: the same steps on f32 and i32.
// CHECK: arith.fptosi %{{.*}} : f32 to i32
// CHECK: return
func.func @exp(%v: vector<16xf32>, %x: f32) -> (vector<16xf32>, f32) {
  %ev = math.exp %v : vector<16xf32>
  %e = math.exp %x : f32
  return %ev, %e : vector<16xf32>, f32
}

// CHECK-LABEL: func.func @log1p
// CHECK-NOT: math.log1p
// CHECK: arith.mulf
// CHECK: return
func.func @log1p(%x: f32) -> f32 {
  %l = math.log1p %x : f32
  return %l : f32
}

// CHECK-LABEL: func.func @f64
// CHECK: math.exp %{{.*}} : f64
// CHECK: math.tanh %{{.*}} : f32
func.func @f64(%x: f64, %y: f32) -> (f64, f32) {
  %e = math.exp %x : f64
  %t = math.tanh %y : f32
  return %e, %t : f64, f32
}
