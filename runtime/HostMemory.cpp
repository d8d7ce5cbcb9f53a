//===- HostMemory.cpp - a pool for the generated code's buffers ----------===//
#include "runtime/HostMemory.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <iterator>
#include <map>
#include <mutex>

using namespace mtgr;

namespace {
/// Every block starts with a header holding its capacity; the caller gets
/// the bytes after it (64-byte aligned: cache lines, AVX-512 loads).
constexpr size_t kHeader = 64;

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

} // namespace

void *HostPool::handOut(void *block, size_t capacity) {
  int64_t now = live.fetch_add(static_cast<int64_t>(capacity)) + static_cast<int64_t>(capacity);
  int64_t seen = peak.load();
  while (now > seen && !peak.compare_exchange_weak(seen, now)) {
  }
  return static_cast<char *>(block) + kHeader;
}

void *HostPool::allocate(uint64_t alignment, uint64_t size) {
  // Blocks are 64-byte aligned; the generated code asks for no more.
  if (alignment > kHeader || size > (uint64_t(1) << 62))
    outOfMemory(size);
  size_t capacity = sizeClass(size + kHeader);
  {
    std::lock_guard<std::mutex> guard(lock);
    auto [first, last] = blocks.equal_range(capacity);
    // The block of this class freed last (likely still in cache), else the
    // smallest larger one up to twice the size.
    auto it = first != last ? std::prev(last) : blocks.lower_bound(capacity);
    if (it != blocks.end() && it->first <= 2 * capacity) {
      void *block = it->second;
      bytes -= static_cast<int64_t>(it->first);
      blocks.erase(it);
      return handOut(block, capacity);
    }
  }
  void *block = std::aligned_alloc(kHeader, capacity);
  if (!block) { // give the pool back to the system and try once more
    releaseAll();
    block = std::aligned_alloc(kHeader, capacity);
  }
  if (!block)
    outOfMemory(size);
  *static_cast<size_t *>(block) = capacity;
  return handOut(block, capacity);
}

void HostPool::free(void *ptr) {
  if (!ptr)
    return;
  void *block = static_cast<char *>(ptr) - kHeader;
  size_t capacity = *static_cast<size_t *>(block);
  live.fetch_sub(static_cast<int64_t>(capacity));
  std::lock_guard<std::mutex> guard(lock);
  blocks.emplace(capacity, block);
  bytes += static_cast<int64_t>(capacity);
}

HostPool::~HostPool() { releaseAll(); }

int64_t HostPool::pooledBytes() {
  std::lock_guard<std::mutex> guard(lock);
  return bytes;
}

void HostPool::releaseAll() {
  std::lock_guard<std::mutex> guard(lock);
  for (auto &[capacity, block] : blocks)
    std::free(block);
  blocks.clear();
  bytes = 0;
}

void HostPool::trim(int64_t keep) {
  std::lock_guard<std::mutex> guard(lock);
  // The largest blocks first: a batch larger than the usual ones leaves them.
  while (bytes > keep && !blocks.empty()) {
    auto last = std::prev(blocks.end());
    bytes -= static_cast<int64_t>(last->first);
    std::free(last->second);
    blocks.erase(last);
  }
}
