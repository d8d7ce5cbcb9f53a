//===- HostMemory.h - buffers of the generated host code ----------*- C++ -*-===//
//
// The generated code allocates its buffers per call (one per op result), and
// frees each right after its last use (mtgr-free-buffers). Served by malloc, every call of a large model
// page-faulted its buffers in again (glibc maps big blocks fresh and unmaps
// them at free): a fifth of a training step. The code allocates through its
// environment table (abi/Environment.h) from its session's pool instead, and
// freed blocks stay there for the next call. Each session owns one pool, so
// trimming after one session's call never touches another's blocks.
// Thread-safe: the parts of a parallel op allocate concurrently.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_HOSTMEMORY_H
#define MTGR_RUNTIME_HOSTMEMORY_H

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>

namespace mtgr {

class HostPool {
public:
  HostPool() = default;
  HostPool(const HostPool &) = delete;
  HostPool &operator=(const HostPool &) = delete;
  /// Returns every pooled block (blocks still handed out must have been freed).
  ~HostPool();

  /// A block of `size` bytes, 64-byte aligned (`alignment` <= 64; 0 = any).
  /// The generated code cannot report an error: when memory runs out, or a
  /// larger alignment is asked for, the process ends with a message (exit 3).
  void *allocate(uint64_t alignment, uint64_t size);
  /// Returns a block to the pool (nullptr is ignored).
  void free(void *ptr);

  /// Bytes the pool holds for reuse.
  int64_t pooledBytes();
  /// The most bytes handed out at once (at their capacity) since the last
  /// reset: the working memory of the calls in between.
  int64_t highWater() const { return peak.load(); }
  /// Starts a new high-water mark at what is held now.
  void resetHighWater() { peak.store(live.load()); }
  /// Returns the pooled blocks to the system.
  void releaseAll();
  /// Returns pooled blocks, largest first, until at most `keep` bytes remain
  /// (sessions call it after each call: the pool keeps what the last call
  /// used, never the high-water mark of one huge batch).
  void trim(int64_t keep);

private:
  void *handOut(void *block, size_t capacity);
  std::mutex lock;
  std::multimap<size_t, void *> blocks; // capacity -> free block (header included)
  int64_t bytes = 0;
  // Blocks handed out and not yet freed (capacity), and their peak.
  std::atomic<int64_t> live{0}, peak{0};
};

} // namespace mtgr

#endif
