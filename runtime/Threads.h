//===- Threads.h - how many threads a call of generated code uses -*- C++ -*-===//
//
// The generated code's parallel ops (GEMM row blocks, attention row blocks by
// cost, codegen/LoweringSupport.h parallelParts) split into as many parts as
// `mtgr_threads()` says, each part on an OpenMP thread (libomp). The session
// sets the count on the calling thread around each call, so a call from a
// range worker runs serially while one call for the whole batch uses every
// core. Exported like the allocation functions (runtime/CMakeLists.txt).
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_THREADS_H
#define MTGR_RUNTIME_THREADS_H

#include <cstdint>

extern "C" int64_t mtgr_threads();

namespace mlir::mtgr {
/// Before the first parallel region: idle OpenMP threads spin 5 ms, then
/// sleep (KMP_BLOCKTIME=5, unless the environment sets it). libomp's 200 ms
/// spun on after every call and starved other processes (two test workers
/// on two cores slowed several-fold); 0 woke sleeping threads at every
/// parallel op (one request: 110-117 ms on 2 threads against 98 with 2-20).
void configureThreadPool();
/// Sets the calling thread's count for the calls it makes while in scope.
class CallThreads {
public:
  explicit CallThreads(unsigned threads);
  ~CallThreads();
  CallThreads(const CallThreads &) = delete;
  CallThreads &operator=(const CallThreads &) = delete;

private:
  int64_t previous;
};
} // namespace mlir::mtgr

#endif
