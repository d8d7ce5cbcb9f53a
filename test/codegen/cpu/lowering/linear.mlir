// RUN: mtgr-opt %s --mtgr-lower-to-loops="gemm-rows=2 gemm-vectors=1 lanes=8" | FileCheck %s

// Linear family (codegen/cpu/LowerLinear.cpp, Gemm.h): y = x W^T + b as the
// packed GEMM. W^T is packed into NR-wide panels (here 2 panels of 8 columns
// x K = 8) by 8 x 8 squares of W transposed in registers (vector.shuffle
// stages), the row blocks split into mtgr_threads() parts (an scf.parallel
// marked "gemm"), and the micro-kernel keeps gemm-rows x gemm-vectors vectors
// of C in registers (2 x 1 vector<8xf32> here), one vector.fma per row and K
// step, then the bias epilogue; the second row of a tile is clamped and
// stored only when it exists (jagged row tails, no padding).

// CHECK-LABEL: func.func @mtgr_forward
// CHECK-SAME: (%[[X:.*]]: memref<?x8xf32>, %{{.*}}: memref<?xindex>, %[[W:.*]]: memref<16x8xf32>, %[[B:.*]]: memref<16xf32>, %[[OUT:.*]]: memref<?x16xf32>)
// CHECK: %[[Y:.*]] = memref.alloc(%{{.*}}) : memref<?x16xf32>
// CHECK: %[[PARTS:.*]] = call @mtgr_threads() : () -> i64
// CHECK: %[[PANELS:.*]] = memref.alloc() : memref<2x8x8xf32>
// CHECK: scf.for
// CHECK: scf.for
// CHECK-COUNT-8: vector.load %[[W]]
// CHECK: vector.shuffle
// CHECK: vector.store %{{.*}}, %[[PANELS]]
// CHECK-NOT: memref.load %[[W]]
// CHECK: scf.parallel
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for
// CHECK: %[[ACC:.*]]:2 = scf.for {{.*}} iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>)
// CHECK: vector.load %[[PANELS]]
// CHECK: memref.load %[[X]]
// CHECK: vector.broadcast
// CHECK: vector.fma
// CHECK: vector.fma
// CHECK: scf.yield
// CHECK: vector.load %[[B]]
// CHECK: arith.addf %[[ACC]]#0
// CHECK: vector.store %{{.*}}, %[[Y]]
// CHECK: scf.if
// CHECK: arith.addf %[[ACC]]#1
// CHECK: vector.store %{{.*}}, %[[Y]]
// CHECK: {mtgr.parallel = "gemm"}
// CHECK: memref.copy %[[Y]], %[[OUT]]
func.func @mtgr_forward(%x: memref<?x8xf32>, %off: memref<?xindex>, %w: memref<16x8xf32>, %b: memref<16xf32>, %out: memref<?x16xf32>)
    attributes {mtgr.abi = [#mtgr.abi<input "x">, #mtgr.abi<offsets "x">, #mtgr.abi<param "w">, #mtgr.abi<param "b">, #mtgr.abi<output "y">]} {
  %j = builtin.unrealized_conversion_cast %x, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %wt = builtin.unrealized_conversion_cast %w : memref<16x8xf32> to tensor<16x8xf32>
  %bt = builtin.unrealized_conversion_cast %b : memref<16xf32> to tensor<16xf32>
  %y = mtgr.linear %j, %wt, %bt : !mtgr.jagged<8xf32>, tensor<16x8xf32>, tensor<16xf32> -> !mtgr.jagged<16xf32>
  %c:2 = builtin.unrealized_conversion_cast %y : !mtgr.jagged<16xf32> to memref<?x16xf32>, memref<?xindex>
  memref.copy %c#0, %out : memref<?x16xf32> to memref<?x16xf32>
  return
}

// linear_norm_backward (mtgr-cpu-fuse-norm-backward): the input-gradient GEMM
// writes dn; after each range of rows, inside the same parallel region, the
// norm's per-row backward: x's statistics kept per row, the two means over
// dn's row, then dx + the residual gradient stored. Then the weight gradient
// (K = rows: per block of K, the threads pack their panels of the input's
// rows, vectors copied, then the products), the bias gradient by columns
// over the threads, and dgamma/dbeta over columns. W as it lies (dn = dy W)
// is packed by vector copies of its rows too.
// CHECK-LABEL: func.func @mtgr_train_step
// CHECK-SAME: (%[[N:[^:]*]]: memref<?x8xf32>, %{{[^:]*}}: memref<?xindex>, %[[W:[^:]*]]: memref<16x8xf32>, %[[DY:[^:]*]]: memref<?x16xf32>, %[[X:[^:]*]]: memref<?x8xf32>, %[[RES:[^:]*]]: memref<?x8xf32>
// CHECK: %[[DN:.*]] = memref.alloc(%{{.*}}) : memref<?x8xf32>
// CHECK: %[[DX:.*]] = memref.alloc(%{{.*}}) : memref<?x8xf32>
// CHECK: %[[MEANS:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: %[[RSTDS:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: %[[WV:.*]] = vector.load %[[W]]
// CHECK: vector.store %[[WV]]
// CHECK: {mtgr.parallel = "pack"}
// CHECK: scf.parallel
// CHECK: vector.fma
// CHECK: vector.store %{{.*}}, %[[DN]]
// CHECK: scf.for %[[R:[^ ]*]] = {{.*}} {
// CHECK:   vector.load %[[X]][%[[R]],
// CHECK:   vector.reduction <add>
// CHECK:   memref.store %{{.*}}, %[[MEANS]][%[[R]]]
// CHECK:   memref.store %{{.*}}, %[[RSTDS]][%[[R]]]
// CHECK:   vector.load %[[DN]][%[[R]],
// CHECK:   %[[RV:.*]] = vector.load %[[RES]][%[[R]], %[[K:[a-z0-9_]+]]]
// CHECK:   %[[SUM:.*]] = arith.addf %[[RV]],
// CHECK:   vector.store %[[SUM]], %[[DX]][%[[R]], %[[K]]]
// CHECK: {mtgr.parallel = "gemm"}
// CHECK: %[[NV:.*]] = vector.load %[[N]]
// CHECK: vector.store %[[NV]]
// CHECK: {mtgr.parallel = "pack"}
// CHECK: {mtgr.parallel = "gemm"}
// CHECK: vector.load %[[DY]]
// CHECK: {mtgr.parallel = "bias_grad"}
// CHECK: {mtgr.parallel = "norm_columns"}
func.func @mtgr_train_step(%n: memref<?x8xf32>, %off: memref<?xindex>, %w: memref<16x8xf32>, %dy: memref<?x16xf32>,
                           %x: memref<?x8xf32>, %r: memref<?x8xf32>,
                           %lo: memref<?xindex>, %ls: memref<?x4xindex>, %lg: memref<?xindex>, %lt: memref<?xi64>, %lp: memref<?xindex>,
                           %g: memref<4x8xf32>, %out: memref<?x8xf32>, %dgo: memref<4x8xf32>)
    attributes {mtgr.abi = []} {
  %nj = builtin.unrealized_conversion_cast %n, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %dyj = builtin.unrealized_conversion_cast %dy, %off : memref<?x16xf32>, memref<?xindex> to !mtgr.jagged<16xf32>
  %xj = builtin.unrealized_conversion_cast %x, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %rj = builtin.unrealized_conversion_cast %r, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %l = builtin.unrealized_conversion_cast %lo, %ls, %lg, %lt, %lp : memref<?xindex>, memref<?x4xindex>, memref<?xindex>, memref<?xi64>, memref<?xindex> to !mtgr.layout
  %wt = builtin.unrealized_conversion_cast %w : memref<16x8xf32> to tensor<16x8xf32>
  %gt = builtin.unrealized_conversion_cast %g : memref<4x8xf32> to tensor<4x8xf32>
  %dx, %dw, %db, %dg, %dbeta = mtgr.linear_norm_backward %nj, %wt, %dyj norm(%xj, %l, %gt) residual(%rj : !mtgr.jagged<8xf32>) : !mtgr.jagged<8xf32>, tensor<16x8xf32>, !mtgr.jagged<16xf32> -> tensor<16x8xf32>, tensor<16xf32>, tensor<4x8xf32>
  %c:2 = builtin.unrealized_conversion_cast %dx : !mtgr.jagged<8xf32> to memref<?x8xf32>, memref<?xindex>
  memref.copy %c#0, %out : memref<?x8xf32> to memref<?x8xf32>
  %cg = builtin.unrealized_conversion_cast %dg : tensor<4x8xf32> to memref<4x8xf32>
  memref.copy %cg, %dgo : memref<4x8xf32> to memref<4x8xf32>
  return
}
