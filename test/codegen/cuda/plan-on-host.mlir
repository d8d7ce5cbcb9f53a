// RUN: mtgr-opt %s --split-input-file --mtgr-plan-on-host --verify-diagnostics | FileCheck %s

// mtgr-plan-on-host: integer buffers live in host memory and the host
// computes them; kernels read uploaded copies; host code never touches
// device memory.

// A kernel that computes an integer buffer (offsets from lengths) runs as
// host loops over its grid and block in its place; its buffer is host
// memory. The kernel that reads it (and writes floats) gets a device copy,
// uploaded before it; the host reads the total to size the next buffer
// without waiting for the device.
// CHECK-LABEL: func.func @offsets_then_gather
// CHECK-SAME: (%[[LEN:.*]]: memref<4xindex>, %[[X:.*]]: memref<?x8xf32>
// CHECK: %[[OFF:.*]] = memref.alloc() {mtgr.host_memory} : memref<5xindex>
// CHECK-NOT: gpu.launch
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for
// CHECK: memref.store %{{.*}}, %[[OFF]]
// CHECK: %[[TOTAL:.*]] = memref.load %[[OFF]][%c4] : memref<5xindex>
// CHECK: %[[Y:.*]] = memref.alloc(%[[TOTAL]]) : memref<?x8xf32>
// CHECK: %[[COPY:.*]] = memref.alloc() : memref<5xindex>
// CHECK: %[[D:.*]] = memref.cast %[[COPY]] : memref<5xindex> to memref<*xindex>
// CHECK: %[[H:.*]] = memref.cast %[[OFF]] : memref<5xindex> to memref<*xindex>
// CHECK: call @mtgr_gpu_upload_index(%[[D]], %[[H]]) {mtgr.kernel_call}
// CHECK: gpu.launch
// CHECK: memref.load %[[COPY]]
// CHECK-NOT: memref.load %[[OFF]]
// CHECK: gpu.terminator
func.func @offsets_then_gather(%len: memref<4xindex>, %x: memref<?x8xf32>) -> memref<?x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %off = memref.alloc() : memref<5xindex>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    memref.store %c0, %off[%c0] : memref<5xindex>
    scf.for %i = %c0 to %c4 step %c1 {
      %a = memref.load %off[%i] : memref<5xindex>
      %l = memref.load %len[%i] : memref<4xindex>
      %s = arith.addi %a, %l : index
      %n = arith.addi %i, %c1 : index
      memref.store %s, %off[%n] : memref<5xindex>
    }
    gpu.terminator
  }
  %total = memref.load %off[%c4] : memref<5xindex>
  %y = memref.alloc(%total) : memref<?x8xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c4, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c8, %sy = %c1, %sz = %c1) {
    %first = memref.load %off[%bx] : memref<5xindex>
    %v = memref.load %x[%bx, %tx] : memref<?x8xf32>
    memref.store %v, %y[%first, %tx] : memref<?x8xf32>
    gpu.terminator
  }
  return %y : memref<?x8xf32>
}

// -----

// A kernel writing both: the host part keeps the integer stores (the float
// loads it no longer needs go), the kernel keeps the float stores.
// CHECK-LABEL: func.func @mixed
// CHECK: %[[T:.*]] = memref.alloc() {mtgr.host_memory} : memref<16xi64>
// CHECK: scf.for
// CHECK-NOT: memref.load %{{.*}} : memref<16xf32>
// CHECK: memref.store %{{.*}}, %[[T]]
// CHECK: gpu.launch
// CHECK: memref.store %{{.*}} : memref<16xf32>
// CHECK-NOT: memref<16xi64>
// CHECK: gpu.terminator
func.func @mixed(%x: memref<16xf32>, %y: memref<16xf32>, %when: memref<16xi64>) -> memref<16xi64> {
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %t = memref.alloc() : memref<16xi64>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c16, %sy = %c1, %sz = %c1) {
    %v = memref.load %x[%tx] : memref<16xf32>
    memref.store %v, %y[%tx] : memref<16xf32>
    %w = memref.load %when[%tx] : memref<16xi64>
    memref.store %w, %t[%tx] : memref<16xi64>
    gpu.terminator
  }
  return %t : memref<16xi64>
}

// -----

// An integer buffer computed from device memory would need a read-back.
func.func @read_back(%x: memref<16xf32>) -> memref<16xi32> {
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %t = memref.alloc() : memref<16xi32>
  // expected-error @+1 {{computes an integer buffer from device memory ('memref<16xf32>'): the host would have to read it back from the device}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c16, %sy = %c1, %sz = %c1) {
    %v = memref.load %x[%tx] : memref<16xf32>
    %i = arith.fptosi %v : f32 to i32
    memref.store %i, %t[%tx] : memref<16xi32>
    gpu.terminator
  }
  return %t : memref<16xi32>
}

// -----

// Host code that reads a float buffer (device memory) outside a kernel.
func.func @host_reads_device(%x: memref<16xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{host code (memref.load) reads device memory ('memref<16xf32>') outside a kernel}}
  %v = memref.load %x[%c0] : memref<16xf32>
  return %v : f32
}

// -----

// A synchronising kernel cannot run on the host.
func.func @barrier(%t: memref<16xindex>) {
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  // expected-error @+1 {{writes an integer buffer (host memory: mtgr-plan-on-host) but synchronises its threads or uses shared memory}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c16, %sy = %c1, %sz = %c1) {
    gpu.barrier
    memref.store %tx, %t[%tx] : memref<16xindex>
    gpu.terminator
  }
  return
}

// -----

// A copy between device buffers in host code becomes a kernel.
// CHECK-LABEL: func.func @copy
// CHECK-NOT: memref.copy
// CHECK: gpu.launch
// CHECK-SAME: function(@copy__copy)
// CHECK: memref.load %{{.*}} : memref<?x4xf32>
// CHECK: memref.store %{{.*}} : memref<?x4xf32>
func.func @copy(%a: memref<?x4xf32>, %b: memref<?x4xf32>) {
  memref.copy %a, %b : memref<?x4xf32> to memref<?x4xf32>
  return
}

// -----

// A kernel that writes only its own shared memory (canonicalization erased
// the stores of a result nobody reads) goes; one whose inline assembly
// may write memory outside (side effects, a global pointer) stays.
// CHECK-LABEL: func.func @dead
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @dead(%x: memref<16xf32>) {
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c16, %sy = %c1, %sz = %c1)
             workgroup(%tile : memref<16xf32, #gpu.address_space<workgroup>>) {
    %v = memref.load %x[%tx] : memref<16xf32>
    memref.store %v, %tile[%tx] : memref<16xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    gpu.terminator
  }
  return
}

// CHECK-LABEL: func.func @global_pointer
// CHECK: gpu.launch
// CHECK: llvm.inline_asm
func.func @global_pointer(%global: !llvm.ptr<1>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    llvm.inline_asm has_side_effects "st.global.u32 [$0], 0;", "l" %global : (!llvm.ptr<1>) -> ()
    gpu.terminator
  }
  return
}

// cp.async reads its global source and writes only its shared destination:
// a kernel that only copies into its shared memory goes, and then the
// kernel that wrote the buffer only it read (a tensor-core product's bf16
// operand), the buffer's unused view and the buffer go too.
// CHECK-LABEL: func.func @copies_into_shared
// CHECK-NOT: gpu.launch
// CHECK-NOT: memref.alloc
// CHECK: return
func.func @copies_into_shared(%x: memref<16xf32>) {
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %b = memref.alloc() : memref<16xbf16>
  %view = memref.cast %b : memref<16xbf16> to memref<?xbf16>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c16, %sy = %c1, %sz = %c1) {
    %v = memref.load %x[%tx] : memref<16xf32>
    %h = arith.truncf %v : f32 to bf16
    memref.store %h, %b[%tx] : memref<16xbf16>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1)
             workgroup(%tile : memref<16xbf16, #gpu.address_space<workgroup>>) {
    %src = memref.extract_aligned_pointer_as_index %b : memref<16xbf16> -> index
    %dst = memref.extract_aligned_pointer_as_index %tile : memref<16xbf16, #gpu.address_space<workgroup>> -> index
    %s64 = arith.index_cast %src : index to i64
    %d64 = arith.index_cast %dst : index to i64
    %sp = llvm.inttoptr %s64 : i64 to !llvm.ptr<1>
    %dp = llvm.inttoptr %d64 : i64 to !llvm.ptr<3>
    nvvm.cp.async.shared.global %dp, %sp, 16, cache = cg : !llvm.ptr<3>, !llvm.ptr<1>
    nvvm.cp.async.commit.group
    nvvm.cp.async.wait.group 0
    gpu.barrier
    gpu.terminator
  }
  return
}
