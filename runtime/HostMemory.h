//===- HostMemory.h - buffers of the generated host code ----------*- C++ -*-===//
//
// The generated code allocates its buffers per call (one per op result), and
// frees each right after its last use (mtgr-free-buffers). Served by malloc, every call of a large model
// page-faulted its buffers in again (glibc maps big blocks fresh and unmaps
// them at free): a fifth of a training step. The code calls these two entry
// points instead (MLIR's generic allocation functions), and freed blocks stay
// in a process-wide pool for the next call. They are exported from every
// program that links the runtime (see runtime/CMakeLists.txt), which is where
// the dlopen'ed host code finds them.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_HOSTMEMORY_H
#define MTGR_RUNTIME_HOSTMEMORY_H

#include <cstddef>
#include <cstdint>

extern "C" {
void *_mlir_memref_to_llvm_alloc(size_t size);
void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t size);
void _mlir_memref_to_llvm_free(void *ptr);
}

namespace mlir::mtgr {
/// Bytes the pool holds for reuse (blocks freed by generated code).
int64_t pooledHostBytes();
/// The most bytes the generated code held at once (blocks handed out and not
/// yet freed, at their pool capacity) since the last reset: the working
/// memory of the calls in between.
int64_t hostMemoryHighWater();
/// Starts a new high-water mark at what is held now.
void resetHostMemoryHighWater();
/// Returns the pooled blocks to the system.
void releasePooledHostMemory();
/// Returns pooled blocks, largest first, until at most `keep` bytes remain
/// (sessions call it after each call: the pool keeps what the last call
/// used, never the high-water mark of one huge batch).
void trimPooledHostMemory(int64_t keep);
} // namespace mlir::mtgr

#endif
