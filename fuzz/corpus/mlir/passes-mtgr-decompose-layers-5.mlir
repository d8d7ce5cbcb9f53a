

// Inapplicable: kernel-level IR is left as it is.
// CHECK-LABEL: func.func @kernel_level
// CHECK-NEXT: %[[A:.*]] = mtgr.silu %{{.*}} : !mtgr.jagged<8xf32>
// CHECK-NEXT: return %[[A]]
func.func @kernel_level(%x: !mtgr.jagged<8xf32>) -> !mtgr.jagged<8xf32> {
  %a = mtgr.silu %x : !mtgr.jagged<8xf32>
  return %a : !mtgr.jagged<8xf32>
}
