//===- HostEnvironment.cpp - the environment table's functions -----------===//
#include "runtime/HostEnvironment.h"

#include <algorithm>

using namespace mtgr;

namespace {
HostEnvironment &of(void *context) { return *static_cast<HostEnvironment *>(context); }

void *allocate(void *context, uint64_t alignment, uint64_t size) {
  return of(context).pool.allocate(alignment, size);
}
void release(void *context, void *block) { of(context).pool.free(block); }
int64_t clock(void *) { return ProfileCounters::clock(); }
void record(void *context, int64_t family, int64_t layer, int64_t start) {
  of(context).profile.record(family, layer, start);
}
} // namespace

mtgr_environment HostEnvironment::table(int64_t threads) {
  // No GPU launcher, GEMM library, host blocks, uploads or tensor maps: GPU
  // devices fill those in.
  return mtgr_environment{this,     std::max<int64_t>(1, threads),
                          allocate, release,
                          clock,    record,
                          nullptr,  nullptr,
                          nullptr,  nullptr,
                          nullptr,  0};
}
