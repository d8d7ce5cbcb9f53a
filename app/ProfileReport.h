//===- ProfileReport.h - what a profiled artifact measured -------*- C++ -*-===//
#ifndef MTGR_APP_PROFILEREPORT_H
#define MTGR_APP_PROFILEREPORT_H

#include "runtime/Session.h"

#include "llvm/Support/raw_ostream.h"

namespace mtgr {

/// The session's time per op family (and per HSTU layer) since its counters
/// were reset; with a batch and its attention work (inference), their
/// GFLOP/s (DESIGN 1.9's FLOP counts); with the forward FLOPs of the steps
/// trained (training), the rates of forward and backward together: each
/// product's work three times (forward, and its two gradients; attention:
/// S.V forward, dV, dP, dQ and dK, the backward's recomputed S not
/// counted). Returns false when nothing was profiled (the artifact was
/// compiled without --profile).
bool printProfile(llvm::raw_ostream &os, Session &session, const Batch *batch = nullptr,
                  int64_t visiblePairs = 0, int64_t computedPairs = 0,
                  const FlopCount *trainedForward = nullptr);

} // namespace mtgr

#endif
