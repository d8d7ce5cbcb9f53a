//===- Threads.cpp - the OpenMP threads generated code runs on ------------===//
#include "runtime/Threads.h"

#include <cstdlib>

void mtgr::configureThreadPool() {
  static bool done = [] { return setenv("KMP_BLOCKTIME", "5", /*overwrite=*/0) == 0; }();
  (void)done;
}
