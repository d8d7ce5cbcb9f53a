//===- HostEnvironment.h - what a session's host code imports ----*- C++ -*-===//
//
// The runtime's side of abi/Environment.h: a session's buffer pool and
// profile counters, handed to its generated code as the environment table of
// each call. Nothing is process-global, so sessions are independent.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_HOSTENVIRONMENT_H
#define MTGR_RUNTIME_HOSTENVIRONMENT_H

#include "abi/Environment.h"
#include "runtime/HostMemory.h"
#include "runtime/Profile.h"

namespace mtgr {

struct HostEnvironment {
  HostPool pool;
  ProfileCounters profile;
  /// The table for one call whose parallel ops split into `threads` parts.
  mtgr_environment table(int64_t threads);
};

} // namespace mtgr

#endif
