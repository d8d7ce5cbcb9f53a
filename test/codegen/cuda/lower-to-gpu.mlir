// RUN: mtgr-opt %s --mtgr-lower-to-gpu -split-input-file -verify-diagnostics | FileCheck %s

// The CUDA back end's lowering (codegen/cuda, issue 24): so far the
// elementwise family, one thread per element. Each op allocates its result
// on the host side, computes the grid there from the buffer's rows
// (ceil(rows * 8 / 256) blocks of 256 threads: no device read-back), and
// launches a kernel whose threads past the end do nothing. The math is the
// CPU lowering's: silu as x / (1 + exp(-x)). Each launch names its kernel
// after the entry point and the op, unique in the module; the module lists
// each kernel's profile family (4: elementwise) and HSTU layer (-1: none).

// CHECK-LABEL: module attributes {gpu.container_module, mtgr.gpu_kernel_profiles = {mtgr_forward__add = [4, -1], mtgr_forward__mul = [4, -1], mtgr_forward__silu = [4, -1]}}
// CHECK-LABEL: func.func @mtgr_forward
// CHECK-SAME: (%[[A:.*]]: memref<?x8xf32>, %[[B:.*]]: memref<?x8xf32>, %{{.*}}: memref<?xindex>, %[[OUT:.*]]: memref<?x8xf32>)
// CHECK: %[[ROWS:.*]] = memref.dim %[[A]], %{{.*}} : memref<?x8xf32>
// CHECK: %[[S:.*]] = memref.alloc(%[[ROWS]]) : memref<?x8xf32>
// CHECK: %[[N0:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// CHECK: %[[N:.*]] = arith.muli %[[N0]], %[[C8:.*]] : index
// CHECK: %[[GRID:.*]] = arith.ceildivui %[[N]], %[[C256:.*]] : index
// CHECK: gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[GRID]], %{{.*}} = %[[ONE:.*]], %{{.*}} = %[[ONE]]) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C256]], %{{.*}} = %[[ONE]], %{{.*}} = %[[ONE]]) function(@mtgr_forward__silu)
// CHECK:   %[[BASE:.*]] = arith.muli %[[BX]], %[[C256]] : index
// CHECK:   %[[I:.*]] = arith.addi %[[BASE]], %[[TX]] : index
// CHECK:   %[[IN:.*]] = arith.cmpi ult, %[[I]], %[[N]] : index
// CHECK:   scf.if %[[IN]] {
// CHECK:     %[[COL:.*]] = arith.remui %[[I]], %[[C8]] : index
// CHECK:     %[[ROW:.*]] = arith.divui %[[I]], %[[C8]] : index
// CHECK:     %[[X:.*]] = memref.load %[[A]][%[[ROW]], %[[COL]]]
// CHECK:     arith.negf %[[X]]
// CHECK:     math.exp
// CHECK:     arith.divf %[[X]]
// CHECK:     memref.store %{{.*}}, %[[S]][%[[ROW]], %[[COL]]]
// CHECK:   gpu.terminator
// CHECK: %[[P:.*]] = memref.alloc(%{{.*}}) : memref<?x8xf32>
// CHECK: gpu.launch
// CHECK:   memref.load %[[S]]
// CHECK:   memref.load %[[B]]
// CHECK:   arith.mulf
// CHECK:   memref.store %{{.*}}, %[[P]]
// CHECK: %[[R:.*]] = memref.alloc(%{{.*}}) : memref<?x8xf32>
// CHECK: gpu.launch
// CHECK:   memref.load %[[P]]
// CHECK:   memref.load %[[A]]
// CHECK:   arith.addf
// CHECK:   memref.store %{{.*}}, %[[R]]
// CHECK: memref.copy %[[R]], %[[OUT]]
// CHECK-NOT: {{mtgr\.[a-z_]+ %}}
func.func @mtgr_forward(%a: memref<?x8xf32>, %b: memref<?x8xf32>, %off: memref<?xindex>, %out: memref<?x8xf32>)
    attributes {mtgr.abi = []} {
  %aj = builtin.unrealized_conversion_cast %a, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %bj = builtin.unrealized_conversion_cast %b, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %s = mtgr.silu %aj : !mtgr.jagged<8xf32>
  %m = mtgr.mul %s, %bj : !mtgr.jagged<8xf32>
  %r = mtgr.add %m, %aj : !mtgr.jagged<8xf32>
  %c:2 = builtin.unrealized_conversion_cast %r : !mtgr.jagged<8xf32> to memref<?x8xf32>, memref<?xindex>
  memref.copy %c#0, %out : memref<?x8xf32> to memref<?x8xf32>
  return
}

// -----
// A whole static tensor (a parameter gradient's sum): its element count is a
// constant, the indices split over both dimensions; silu's gradient is
// RowMath's siluDerivative, s (1 + x (1 - s)).
// CHECK-LABEL: func.func @mtgr_train_step
// CHECK: %[[D:.*]] = memref.alloc() : memref<3x5xf32>
// CHECK: %[[N:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// CHECK: gpu.launch
// CHECK:   %[[COL:.*]] = arith.remui %{{.*}}, %[[C5:.*]] : index
// CHECK:   %[[ROW:.*]] = arith.divui %{{.*}}, %[[C5]] : index
// CHECK:   %[[X:.*]] = memref.load %{{.*}}[%[[ROW]], %[[COL]]] : memref<3x5xf32>
// CHECK:   math.exp
// CHECK:   arith.subf
// CHECK:   arith.mulf %[[X]]
// CHECK:   memref.store %{{.*}}, %[[D]][%[[ROW]], %[[COL]]]
func.func @mtgr_train_step(%x: memref<3x5xf32>, %dy: memref<3x5xf32>, %out: memref<3x5xf32>)
    attributes {mtgr.abi = []} {
  %xt = builtin.unrealized_conversion_cast %x : memref<3x5xf32> to tensor<3x5xf32>
  %dt = builtin.unrealized_conversion_cast %dy : memref<3x5xf32> to tensor<3x5xf32>
  %g = mtgr.silu_backward %xt, %dt : tensor<3x5xf32>
  %c = builtin.unrealized_conversion_cast %g : tensor<3x5xf32> to memref<3x5xf32>
  memref.copy %c, %out : memref<3x5xf32> to memref<3x5xf32>
  return
}

// -----
// Inference dropout is the identity, as on the CPU: no kernel.
// CHECK-LABEL: func.func @mtgr_forward
// CHECK-NOT: gpu.launch
// CHECK: memref.copy %arg0, %arg2
func.func @mtgr_forward(%a: memref<?x8xf32>, %off: memref<?xindex>, %out: memref<?x8xf32>)
    attributes {mtgr.abi = []} {
  %aj = builtin.unrealized_conversion_cast %a, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %d = mtgr.dropout %aj {rate = 1.000000e-01 : f64, stream = 1 : i64} : !mtgr.jagged<8xf32>
  %c:2 = builtin.unrealized_conversion_cast %d : !mtgr.jagged<8xf32> to memref<?x8xf32>, memref<?xindex>
  memref.copy %c#0, %out : memref<?x8xf32> to memref<?x8xf32>
  return
}

// -----
// Norms family (GpuNorm.cpp), forward: one thread per token row: the mean,
// the biased variance about it, 1/sqrt(var + eps) (RowMath's statistics on
// one lane, as the CPU computes them), then gamma and beta of the row's group.
// CHECK-LABEL: func.func @mtgr_forward
// CHECK-SAME: (%[[X:[^:]*]]: memref<?x8xf32>
// CHECK-SAME: %[[GROUP:[^:]*]]: memref<?xindex>, %{{[^:]*}}: memref<?xi64>, %{{[^:]*}}: memref<?xindex>, %[[G:[^:]*]]: memref<4x8xf32>, %[[B:[^:]*]]: memref<4x8xf32>
// CHECK: %[[ROWS:.*]] = memref.dim %[[X]]
// CHECK: %[[Y:.*]] = memref.alloc(%[[ROWS]]) : memref<?x8xf32>
// CHECK: %[[GRID:.*]] = arith.ceildivui %[[ROWS]], %[[C256:.*]] : index
// CHECK: gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[GRID]],
// CHECK:   %[[R:.*]] = arith.addi
// CHECK:   scf.if
// CHECK:     %[[SUM:.*]] = scf.for {{.*}} iter_args({{.*}}) -> (f32)
// CHECK:     %[[MEAN:.*]] = arith.divf %[[SUM]]
// CHECK:     %[[SQ:.*]] = scf.for {{.*}} iter_args({{.*}}) -> (f32)
// CHECK:       arith.subf %{{.*}}, %[[MEAN]]
// CHECK:     %[[VAR:.*]] = arith.divf %[[SQ]]
// CHECK:     math.sqrt
// CHECK:     %[[ROWG:.*]] = memref.load %[[GROUP]][%[[R]]]
// CHECK:     scf.for
// CHECK:       memref.load %[[G]][%[[ROWG]],
// CHECK:       memref.load %[[B]][%[[ROWG]],
// CHECK:       memref.store %{{.*}}, %[[Y]][%[[R]],
func.func @mtgr_forward(%x: memref<?x8xf32>, %off: memref<?xindex>,
                        %lo: memref<?xindex>, %ls: memref<?x4xindex>, %lg: memref<?xindex>, %lt: memref<?xi64>, %lp: memref<?xindex>,
                        %g: memref<4x8xf32>, %b: memref<4x8xf32>, %out: memref<?x8xf32>)
    attributes {mtgr.abi = []} {
  %j = builtin.unrealized_conversion_cast %x, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %l = builtin.unrealized_conversion_cast %lo, %ls, %lg, %lt, %lp : memref<?xindex>, memref<?x4xindex>, memref<?xindex>, memref<?xi64>, memref<?xindex> to !mtgr.layout
  %gt = builtin.unrealized_conversion_cast %g : memref<4x8xf32> to tensor<4x8xf32>
  %bt = builtin.unrealized_conversion_cast %b : memref<4x8xf32> to tensor<4x8xf32>
  %y = mtgr.group_layer_norm %j, %l, %gt, %bt {eps = 1.000000e-05 : f64} : !mtgr.jagged<8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
  %c:2 = builtin.unrealized_conversion_cast %y : !mtgr.jagged<8xf32> to memref<?x8xf32>, memref<?xindex>
  memref.copy %c#0, %out : memref<?x8xf32> to memref<?x8xf32>
  return
}

// -----
// Backward: a kernel per row for dx that keeps each row's mean and rstd, then
// a kernel of 4 x 8 threads, one per (group, column), summing dgamma and dbeta
// over the rows of its group in row order: deterministic, no atomics.
// CHECK-LABEL: func.func @mtgr_train_step
// CHECK: %[[DX:.*]] = memref.alloc(%{{.*}}) : memref<?x8xf32>
// CHECK: %[[MEANS:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: %[[RSTDS:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: %[[DG:.*]] = memref.alloc() : memref<4x8xf32>
// CHECK: %[[DB:.*]] = memref.alloc() : memref<4x8xf32>
// CHECK: gpu.launch
// CHECK:   memref.store %{{.*}}, %[[MEANS]]
// CHECK:   memref.store %{{.*}}, %[[RSTDS]]
// CHECK:   memref.store %{{.*}}, %[[DX]]
// CHECK:   gpu.terminator
// CHECK: %[[C32:.*]] = arith.constant 32 : index
// CHECK: %[[GRID:.*]] = arith.ceildivui %[[C32]]
// CHECK: gpu.launch
// CHECK:   %[[SUMS:.*]]:2 = scf.for %[[R:.*]] = {{.*}} iter_args(%[[SG:.*]] = %{{.*}}, %[[SB:.*]] = %{{.*}}) -> (f32, f32)
// CHECK:     %[[MINE:.*]] = arith.cmpi eq
// CHECK:     memref.load %[[MEANS]][%[[R]]]
// CHECK:     memref.load %[[RSTDS]][%[[R]]]
// CHECK:     arith.select %[[MINE]]
// CHECK:     arith.select %[[MINE]]
// CHECK:   memref.store %[[SUMS]]#0, %[[DG]]
// CHECK:   memref.store %[[SUMS]]#1, %[[DB]]
func.func @mtgr_train_step(%x: memref<?x8xf32>, %off: memref<?xindex>,
                           %lo: memref<?xindex>, %ls: memref<?x4xindex>, %lg: memref<?xindex>, %lt: memref<?xi64>, %lp: memref<?xindex>,
                           %g: memref<4x8xf32>, %dy: memref<?x8xf32>, %out: memref<?x8xf32>, %og: memref<4x8xf32>, %ob: memref<4x8xf32>)
    attributes {mtgr.abi = []} {
  %j = builtin.unrealized_conversion_cast %x, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %dj = builtin.unrealized_conversion_cast %dy, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %l = builtin.unrealized_conversion_cast %lo, %ls, %lg, %lt, %lp : memref<?xindex>, memref<?x4xindex>, memref<?xindex>, memref<?xi64>, memref<?xindex> to !mtgr.layout
  %gt = builtin.unrealized_conversion_cast %g : memref<4x8xf32> to tensor<4x8xf32>
  %dx, %dg, %db = mtgr.group_layer_norm_backward %j, %l, %gt, %dj {eps = 1.000000e-05 : f64} : !mtgr.jagged<8xf32>, tensor<4x8xf32>
  %c:2 = builtin.unrealized_conversion_cast %dx : !mtgr.jagged<8xf32> to memref<?x8xf32>, memref<?xindex>
  %cg = builtin.unrealized_conversion_cast %dg : tensor<4x8xf32> to memref<4x8xf32>
  %cb = builtin.unrealized_conversion_cast %db : tensor<4x8xf32> to memref<4x8xf32>
  memref.copy %c#0, %out : memref<?x8xf32> to memref<?x8xf32>
  memref.copy %cg, %og : memref<4x8xf32> to memref<4x8xf32>
  memref.copy %cb, %ob : memref<4x8xf32> to memref<4x8xf32>
  return
}

// -----
// An op no GPU kernel lowers (here one that decomposition and binding never
// leave in an entry point) is refused by name with its uses, before anything
// is rewritten: the pass never leaves an op behind silently.
func.func @mtgr_forward(%x: memref<?x4xf32>, %off: memref<?xindex>, %out: memref<?xindex>)
    attributes {mtgr.abi = []} {
  %xj = builtin.unrealized_conversion_cast %x, %off : memref<?x4xf32>, memref<?xindex> to !mtgr.jagged<4xf32>
  // expected-error @+1 {{'mtgr.jagged_offsets' has no GPU kernel (mtgr-lower-to-gpu lowers the kernel-level ops that decomposition and binding leave: docs/gpu-backend.md); 2 uses, this is the first}}
  %o = mtgr.jagged_offsets %xj : !mtgr.jagged<4xf32> -> tensor<?xindex>
  %o2 = mtgr.jagged_offsets %xj : !mtgr.jagged<4xf32> -> tensor<?xindex>
  %c = builtin.unrealized_conversion_cast %o : tensor<?xindex> to memref<?xindex>
  memref.copy %c, %out : memref<?xindex> to memref<?xindex>
  return
}
