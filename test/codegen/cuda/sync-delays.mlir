// RUN: mtgr-opt %s --pass-pipeline='builtin.module(gpu.module(mtgr-gpu-sync-delays{max-ns=500}))' | FileCheck %s
// RUN: not mtgr-opt %s --pass-pipeline='builtin.module(gpu.module(mtgr-gpu-sync-delays{max-ns=0}))' 2>&1 | FileCheck %s --check-prefix=BAD

// The random-delay build (issue 25's device script): a nanosleep before and
// after every synchronisation point (here a block barrier, a cp.async commit
// and wait, an mbarrier wait, a wgmma wait), its length a hash of the clock,
// the thread, the block and the site, below max-ns; straight-line code (no
// branch before an .aligned operation). Other operations get none.

// CHECK-LABEL: gpu.func @kernel
// CHECK: memref.load
// CHECK-NOT: nvvm.nanosleep
// CHECK: nvvm.read.ptx.sreg.clock : i32
// CHECK: gpu.thread_id x
// CHECK: gpu.block_id x
// CHECK: gpu.block_id y
// CHECK: %[[MAX:.*]] = arith.constant 500 : i32
// CHECK: %[[NS:.*]] = arith.remui %{{.*}}, %[[MAX]] : i32
// CHECK-NEXT: nvvm.nanosleep %[[NS]]
// CHECK-NEXT: gpu.barrier
// CHECK-NEXT: nvvm.read.ptx.sreg.clock
// CHECK-COUNT-2: nvvm.nanosleep
// CHECK-NEXT: nvvm.cp.async.commit.group
// CHECK-NEXT: nvvm.read.ptx.sreg.clock
// CHECK-COUNT-2: nvvm.nanosleep
// CHECK-NEXT: nvvm.cp.async.wait.group 0
// CHECK-NEXT: nvvm.read.ptx.sreg.clock
// CHECK-COUNT-2: nvvm.nanosleep
// CHECK-NEXT: nvvm.mbarrier.try_wait.parity
// CHECK-NEXT: nvvm.read.ptx.sreg.clock
// CHECK-COUNT-2: nvvm.nanosleep
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-NEXT: nvvm.read.ptx.sreg.clock
// CHECK: nvvm.nanosleep
// CHECK-NEXT: memref.store
// CHECK-NOT: nvvm.nanosleep
// CHECK: gpu.return

// BAD: error: mtgr-gpu-sync-delays: max-ns must be 1 .. 1000000 (nanosleep sleeps at most 1 ms), not 0

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @kernel(%buffer: memref<4xf32>, %bar: !llvm.ptr<3>) kernel {
      %c0 = arith.constant 0 : index
      %x = memref.load %buffer[%c0] : memref<4xf32>
      gpu.barrier
      nvvm.cp.async.commit.group
      nvvm.cp.async.wait.group 0
      %parity = arith.constant 0 : i32
      %ticks = arith.constant 1000 : i32
      nvvm.mbarrier.try_wait.parity %bar, %parity, %ticks : !llvm.ptr<3>, i32, i32
      nvvm.wgmma.wait.group.sync.aligned 0
      memref.store %x, %buffer[%c0] : memref<4xf32>
      gpu.return
    }
  }
}
