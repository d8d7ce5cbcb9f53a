//===- Threads.cpp - how many threads a call of generated code uses -------===//
#include "runtime/Threads.h"

#include <algorithm>
#include <cstdlib>

namespace {
thread_local int64_t callThreads = 1; // serial unless a session says otherwise
}

extern "C" int64_t mtgr_threads() { return callThreads; }

mlir::mtgr::CallThreads::CallThreads(unsigned threads) : previous(callThreads) {
  callThreads = std::max<int64_t>(1, threads);
}

mlir::mtgr::CallThreads::~CallThreads() { callThreads = previous; }

void mlir::mtgr::configureThreadPool() {
  static bool done = [] { return setenv("KMP_BLOCKTIME", "5", /*overwrite=*/0) == 0; }();
  (void)done;
}
