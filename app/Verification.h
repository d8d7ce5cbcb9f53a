//===- Verification.h - compiled results against the float64 reference -*- C++ -*-===//
//
// What `mtgr-run verify` and any client that wants to check a compiled model
// on its own data do: score a batch with the session and with the float64
// reference (runtime/reference, independent of the compiler), and report the
// largest relative error over every task's logits and, for HSTU models, every
// token's final hidden state.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_APP_VERIFICATION_H
#define MTGR_APP_VERIFICATION_H

#include "runtime/Session.h"

#include <optional>

namespace mtgr {

/// max |c - r| / max(1, |r|) over the logits (and hidden states) of `batch`,
/// compiled with the session's parameters against the reference with
/// `referenceParams` (the session's own, unless a test perturbs one side).
/// A NaN or infinite difference counts as an infinite error.
llvm::Expected<double> largestErrorAgainstReference(Session &session,
                                                    const ParamStore &referenceParams,
                                                    const Batch &batch);

/// The prefix split's scores (score_candidates on encode_prefix's rows,
/// passes/SplitPrefix.cpp) against the reference, as above over the logits;
/// std::nullopt when the artifact has no split.
llvm::Expected<std::optional<double>>
largestSplitErrorAgainstReference(Session &session, const ParamStore &referenceParams,
                                  const Batch &batch);

/// Adds `delta` to every `.weight` parameter: a deliberately wrong model, to
/// show that a comparison can fail (mtgr-run verify --perturb).
void perturbWeights(ParamStore &params, double delta);

} // namespace mtgr

#endif
