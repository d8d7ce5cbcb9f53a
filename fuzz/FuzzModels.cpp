//===- FuzzModels.cpp - container resealing for the harnesses --------------===//
#include "fuzz/FuzzModels.h"

#include "llvm/Support/xxhash.h"

#include <cstring>

namespace {
// The layout of runtime/Container.h: 8-byte magic | u32 version | u32 n |
// n x {char name[16], u64 offset, u64 size, u64 xxh3} | u64 xxh3 | sections.
constexpr size_t kHeaderBytes = 16, kNameBytes = 16, kEntryBytes = kNameBytes + 24;

uint64_t load64(const char *p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
void store64(char *p, uint64_t v) { std::memcpy(p, &v, 8); }
} // namespace

bool mlir::mtgr::fuzz::resealContainer(std::string &bytes) {
  if (bytes.size() < kHeaderBytes)
    return false;
  uint32_t count;
  std::memcpy(&count, bytes.data() + 12, 4);
  if (count > 4096)
    return false;
  size_t tableEnd = kHeaderBytes + size_t(count) * kEntryBytes;
  if (bytes.size() < tableEnd + 8)
    return false;
  for (uint32_t i = 0; i < count; ++i) {
    char *e = bytes.data() + kHeaderBytes + i * kEntryBytes;
    uint64_t offset = load64(e + kNameBytes), size = load64(e + kNameBytes + 8);
    if (offset > bytes.size() || size > bytes.size() - offset)
      continue; // the reader reports it as truncated
    store64(e + kNameBytes + 16, llvm::xxh3_64bits(llvm::StringRef(bytes).substr(offset, size)));
  }
  store64(bytes.data() + tableEnd, llvm::xxh3_64bits(llvm::StringRef(bytes).take_front(tableEnd)));
  return true;
}
