//===- Reference.h - the float64 reference forward pass ---------*- C++ -*-===//
//
// DESIGN section 1 written out plainly in double precision: the oracle that
// every compiled path is checked against. It is independent of the compiler on
// purpose: it shares data structures (ModelDesc, Batch, ParamStore), never
// math, with generated code. Masks are evaluated from the table of DESIGN 1.5
// pair by pair, not from the interval lists the compiler builds.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_REFERENCE_REFERENCE_H
#define MTGR_RUNTIME_REFERENCE_REFERENCE_H

#include "runtime/Batch.h"
#include "runtime/Params.h"

namespace mlir::mtgr::reference {

struct Output {
  std::vector<std::vector<double>> logits; // [task][candidate]
  /// Final hidden state of every token of the assembled sequence,
  /// [N_total * d_model]; empty for models without HSTU layers.
  std::vector<double> hidden;
  int64_t multiplyAdds = 0; // counted as the math is done
};

/// The forward pass at inference (dropout is the identity). The batch must
/// have passed validateBatch.
Output forward(const ModelDesc &m, const ParamStore &params, const Batch &batch);

} // namespace mlir::mtgr::reference

#endif
