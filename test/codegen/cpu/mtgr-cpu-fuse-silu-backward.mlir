// RUN: mtgr-opt %s -split-input-file -allow-unregistered-dialect --pass-pipeline='builtin.module(func.func(mtgr-cpu-fuse-silu-backward))' | FileCheck %s

// An HSTU layer's U/V/Q/K gradients, concatenated for the projection's
// backward: the silu_backward reads the pieces, the concat goes.
// CHECK-LABEL: func.func @uvqk
// CHECK-NOT: mtgr.concat
// CHECK-NOT: mtgr.silu_backward
// CHECK: %[[DX:.+]] = mtgr.concat_silu_backward %arg0, %arg1, %arg2, %arg3 : !mtgr.jagged<10xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<2xf32>
// CHECK: return %[[DX]]
func.func @uvqk(%x: !mtgr.jagged<10xf32>, %du: !mtgr.jagged<4xf32>, %dv: !mtgr.jagged<4xf32>,
                %dq: !mtgr.jagged<2xf32>) -> !mtgr.jagged<10xf32> {
  %g = mtgr.concat %du, %dv, %dq : !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<2xf32> -> !mtgr.jagged<10xf32>
  %dx = mtgr.silu_backward %x, %g : !mtgr.jagged<10xf32>
  return %dx : !mtgr.jagged<10xf32>
}

// -----
// The concat read again: it stays, and so does the silu_backward.
// CHECK-LABEL: func.func @concat_read_twice
// CHECK: %[[G:.+]] = mtgr.concat
// CHECK: mtgr.silu_backward %arg0, %[[G]]
// CHECK-NOT: mtgr.concat_silu_backward
func.func @concat_read_twice(%x: !mtgr.jagged<8xf32>, %a: !mtgr.jagged<4xf32>,
                             %b: !mtgr.jagged<4xf32>) -> (!mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>) {
  %g = mtgr.concat %a, %b : !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<8xf32>
  %dx = mtgr.silu_backward %x, %g : !mtgr.jagged<8xf32>
  return %dx, %g : !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>
}

// -----
// A gradient that is no concat, and per-sample rows: nothing to fuse.
// CHECK-LABEL: func.func @nothing
// CHECK: mtgr.silu_backward %arg0, %arg1 : !mtgr.jagged<8xf32>
// CHECK: mtgr.concat
// CHECK: mtgr.silu_backward %arg2, %{{.+}} : tensor<?x8xf32>
// CHECK-NOT: mtgr.concat_silu_backward
func.func @nothing(%x: !mtgr.jagged<8xf32>, %g: !mtgr.jagged<8xf32>, %p: tensor<?x8xf32>,
                   %a: tensor<?x4xf32>) -> (!mtgr.jagged<8xf32>, tensor<?x8xf32>) {
  %dx = mtgr.silu_backward %x, %g : !mtgr.jagged<8xf32>
  %c = mtgr.concat %a, %a : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x8xf32>
  %dp = mtgr.silu_backward %p, %c : tensor<?x8xf32>
  return %dx, %dp : !mtgr.jagged<8xf32>, tensor<?x8xf32>
}
