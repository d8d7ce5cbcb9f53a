//===- GpuCommands.cpp - a GPU call's work, recorded for replay -----------===//
#include "runtime/GpuCommands.h"

#include <cstring>

using namespace mtgr;

void GpuCommands::launch(int64_t kernel, std::array<int64_t, 3> grid, std::array<int64_t, 3> block,
                         int64_t sharedBytes, const int64_t *params, int64_t count) {
  GpuCommand &c = commands.emplace_back();
  c.kind = GpuCommand::Kind::Launch;
  c.kernel = kernel, c.grid = grid, c.block = block, c.sharedBytes = sharedBytes;
  c.words.assign(params, params + std::max<int64_t>(count, 0)); // the host reuses its array
}

void GpuCommands::upload(uint64_t device, const void *host, uint64_t bytes, bool contentMatters) {
  GpuCommand &c = commands.emplace_back();
  c.kind = GpuCommand::Kind::Upload;
  c.device = device, c.bytes = bytes, c.contentMatters = contentMatters;
  c.from = uploads.size();
  uploads.resize(uploads.size() + (bytes + 255) / 256 * 256);
  if (bytes)
    std::memcpy(uploads.data() + c.from, host, bytes);
}

void GpuCommands::fill(uint64_t device, uint64_t bytes, uint32_t value) {
  GpuCommand &c = commands.emplace_back();
  c.kind = GpuCommand::Kind::Fill;
  c.device = device, c.bytes = bytes, c.value = value;
}

void GpuCommands::gemm(const GpuGemmCall &call) {
  GpuCommand &c = commands.emplace_back();
  c.kind = GpuCommand::Kind::Gemm;
  c.gemm = call;
}

void GpuCommands::free(uint64_t block) {
  GpuCommand &c = commands.emplace_back();
  c.kind = GpuCommand::Kind::Free;
  c.device = block;
}

bool GpuCommands::sameWork(const GpuCommands &other) const {
  if (commands.size() != other.commands.size() || uploads.size() != other.uploads.size())
    return false;
  for (size_t i = 0; i < commands.size(); ++i) {
    const GpuCommand &a = commands[i], &b = other.commands[i];
    if (a.kind != b.kind || a.device != b.device || a.bytes != b.bytes || a.from != b.from ||
        a.value != b.value || a.contentMatters != b.contentMatters)
      return false;
    switch (a.kind) {
    case GpuCommand::Kind::Launch:
      if (a.kernel != b.kernel || a.grid != b.grid || a.block != b.block ||
          a.sharedBytes != b.sharedBytes || a.words != b.words)
        return false;
      break;
    case GpuCommand::Kind::Gemm: {
      const GpuGemmCall &x = a.gemm, &y = b.gemm;
      if (x.transA != y.transA || x.transB != y.transB || x.m != y.m || x.n != y.n || x.k != y.k ||
          x.a != y.a || x.lda != y.lda || x.b != y.b || x.ldb != y.ldb || x.c != y.c ||
          x.ldc != y.ldc)
        return false;
      break;
    }
    case GpuCommand::Kind::Upload:
      if (a.contentMatters && std::memcmp(bytesOf(a), other.bytesOf(b), a.bytes) != 0)
        return false;
      break;
    case GpuCommand::Kind::Fill:
    case GpuCommand::Kind::Free:
      break;
    }
  }
  return true;
}

GpuArena::~GpuArena() {
  for (auto &[block, size] : blocks)
    drop(reinterpret_cast<void *>(block));
}

uint64_t GpuArena::rounded(uint64_t bytes) {
  uint64_t step = bytes <= (1u << 20) ? 512 : (2u << 20);
  return std::max<uint64_t>(step, (bytes + step - 1) / step * step);
}

void GpuArena::reset() {
  lastCall = std::move(thisCall);
  thisCall.clear();
  freeBlocks.clear();
  for (auto &[block, size] : blocks)
    freeBlocks[size].insert(block);
}

void *GpuArena::allocate(uint64_t bytes) {
  uint64_t size = rounded(bytes);
  auto found = freeBlocks.find(size);
  if (found != freeBlocks.end() && !found->second.empty()) {
    // The block this allocation had in the last call, when it is free and
    // of this size; else the lowest free one.
    auto it = found->second.begin();
    if (thisCall.size() < lastCall.size())
      if (auto same = found->second.find(lastCall[thisCall.size()]); same != found->second.end())
        it = same;
    uintptr_t block = *it;
    found->second.erase(it);
    thisCall.push_back(block);
    return reinterpret_cast<void *>(block);
  }
  void *block = make(size);
  blocks[reinterpret_cast<uintptr_t>(block)] = size;
  thisCall.push_back(reinterpret_cast<uintptr_t>(block));
  return block;
}

bool GpuArena::release(void *block) {
  auto found = blocks.find(reinterpret_cast<uintptr_t>(block));
  if (found == blocks.end())
    return false;
  freeBlocks[found->second].insert(found->first);
  return true;
}
