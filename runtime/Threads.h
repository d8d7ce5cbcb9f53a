//===- Threads.h - the OpenMP threads generated code runs on ------*- C++ -*-===//
//
// The generated code's parallel ops (GEMM row blocks, attention row blocks by
// cost, codegen/common/LoweringSupport.h parallelParts) split into as many
// parts as the call's environment table says (abi/Environment.h `threads`),
// each part on an OpenMP thread (libomp). A session passes 1 from a range
// worker (serial inside) and its thread count for one call of the whole batch.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_THREADS_H
#define MTGR_RUNTIME_THREADS_H

namespace mtgr {
/// Before the first parallel region: idle OpenMP threads spin 5 ms, then
/// sleep (KMP_BLOCKTIME=5, unless the environment sets it). libomp's default
/// 200 ms spun on after every call and starved other processes; 0 woke
/// sleeping threads at every parallel op (docs/cpu-backend.md, "Threads").
void configureThreadPool();
} // namespace mtgr

#endif
