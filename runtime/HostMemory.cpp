//===- HostMemory.cpp - a pool for the generated code's buffers ----------===//
#include "runtime/HostMemory.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <iterator>
#include <map>
#include <mutex>

namespace {
/// Every block starts with a header holding its capacity; the caller gets
/// the bytes after it (64-byte aligned: cache lines, AVX-512 loads).
constexpr size_t kHeader = 64;

struct Pool {
  std::mutex lock;
  std::multimap<size_t, void *> free; // capacity -> block (header included)
  int64_t bytes = 0;
  // Blocks handed out and not yet freed (capacity), and their peak.
  std::atomic<int64_t> live{0}, peak{0};
};

void *handOut(Pool &p, void *block, size_t capacity) {
  int64_t now = p.live.fetch_add(static_cast<int64_t>(capacity)) + static_cast<int64_t>(capacity);
  int64_t seen = p.peak.load();
  while (now > seen && !p.peak.compare_exchange_weak(seen, now)) {
  }
  return static_cast<char *>(block) + kHeader;
}

Pool &pool() {
  static Pool *p = new Pool; // never destroyed: host code may free at exit
  return *p;
}

/// Block sizes: whole pages up to 64 KiB, then powers of two and the three
/// quarter steps between them (at most a fifth unused), so that the varying
/// sizes of successive calls (training steps of different lengths) land on
/// blocks the pool already holds.
size_t sizeClass(size_t bytes) {
  size_t pages = (bytes + 4095) & ~size_t(4095);
  size_t power = size_t(1) << (63 - __builtin_clzll(pages)); // <= pages < 2 power
  if (pages <= (64 << 10) || pages == power)
    return pages;
  for (int quarter = 1; quarter < 4; ++quarter)
    if (power + (power >> 2) * quarter >= pages)
      return power + (power >> 2) * quarter;
  return 2 * power;
}

/// The generated code cannot unwind or report an error: a failed allocation
/// ends the process with a message (sessions refuse batches whose estimated
/// working memory exceeds --max-memory before calling, so this is the last
/// line, not the usual one).
[[noreturn]] void outOfMemory(size_t size) {
  char message[160];
  int n = std::snprintf(message, sizeof(message),
                        "mtgr: out of memory: the generated code asked for %zu bytes "
                        "(lower --max-memory or split the batch)\n",
                        size);
  if (n > 0 && ::write(2, message, static_cast<size_t>(n)) < 0)
    std::_Exit(3);
  std::_Exit(3);
}

void *allocate(size_t size) {
  if (size > (size_t(1) << 62))
    outOfMemory(size);
  size_t capacity = sizeClass(size + kHeader);
  {
    Pool &p = pool();
    std::lock_guard<std::mutex> guard(p.lock);
    auto [first, last] = p.free.equal_range(capacity);
    // The block of this class freed last (likely still in cache), else the
    // smallest larger one up to twice the size.
    auto it = first != last ? std::prev(last) : p.free.lower_bound(capacity);
    if (it != p.free.end() && it->first <= 2 * capacity) {
      void *block = it->second;
      p.bytes -= static_cast<int64_t>(it->first);
      p.free.erase(it);
      return handOut(p, block, capacity);
    }
  }
  void *block = std::aligned_alloc(kHeader, capacity);
  if (!block) { // give the pool back to the system and try once more
    mlir::mtgr::releasePooledHostMemory();
    block = std::aligned_alloc(kHeader, capacity);
  }
  if (!block)
    outOfMemory(size);
  *static_cast<size_t *>(block) = capacity;
  return handOut(pool(), block, capacity);
}
} // namespace

extern "C" void *_mlir_memref_to_llvm_alloc(size_t size) { return allocate(size); }

extern "C" void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t size) {
  // Blocks are 64-byte aligned; the generated code asks for no more.
  if (alignment > kHeader)
    outOfMemory(size);
  return allocate(size);
}

extern "C" void _mlir_memref_to_llvm_free(void *ptr) {
  if (!ptr)
    return;
  void *block = static_cast<char *>(ptr) - kHeader;
  size_t capacity = *static_cast<size_t *>(block);
  Pool &p = pool();
  p.live.fetch_sub(static_cast<int64_t>(capacity));
  std::lock_guard<std::mutex> guard(p.lock);
  p.free.emplace(capacity, block);
  p.bytes += static_cast<int64_t>(capacity);
}

int64_t mlir::mtgr::pooledHostBytes() {
  Pool &p = pool();
  std::lock_guard<std::mutex> guard(p.lock);
  return p.bytes;
}

void mlir::mtgr::releasePooledHostMemory() {
  Pool &p = pool();
  std::lock_guard<std::mutex> guard(p.lock);
  for (auto &[capacity, block] : p.free)
    std::free(block);
  p.free.clear();
  p.bytes = 0;
}

void mlir::mtgr::trimPooledHostMemory(int64_t keep) {
  Pool &p = pool();
  std::lock_guard<std::mutex> guard(p.lock);
  // The largest blocks first: a batch larger than the usual ones leaves them.
  while (p.bytes > keep && !p.free.empty()) {
    auto last = std::prev(p.free.end());
    p.bytes -= static_cast<int64_t>(last->first);
    std::free(last->second);
    p.free.erase(last);
  }
}

int64_t mlir::mtgr::hostMemoryHighWater() { return pool().peak.load(); }

void mlir::mtgr::resetHostMemoryHighWater() { pool().peak.store(pool().live.load()); }
