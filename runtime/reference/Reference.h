//===- Reference.h - the float64 reference: forward, loss, backward -*- C++ -*-===//
//
// DESIGN section 1 written out plainly in double precision: the oracle that
// every compiled path is checked against. It is independent of the compiler on
// purpose: it shares data structures (ModelDesc, Batch, ParamStore), never
// math, with generated code. Masks are evaluated from the table of DESIGN 1.5
// pair by pair, not from the interval lists the compiler builds. The backward
// pass is written by hand, op by op (reference/Ops.h), and checked against
// central finite differences.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_REFERENCE_REFERENCE_H
#define MTGR_RUNTIME_REFERENCE_REFERENCE_H

#include "runtime/Batch.h"
#include "runtime/DynamicTable.h"
#include "runtime/Params.h"

#include <map>

namespace mtgr::reference {

struct Output {
  std::vector<std::vector<double>> logits; // [task][candidate]
  /// Final hidden state of every token of the assembled sequence,
  /// [N_total * d_model]; empty for models without HSTU layers.
  std::vector<double> hidden;
  int64_t multiplyAdds = 0; // forward multiply-adds, counted as the math is done
  /// Pairs (i, j) of a sample's tokens where i attends j, summed over the
  /// samples (the mask evaluated pair by pair; one count for all layers).
  int64_t visiblePairs = 0;
  double loss = 0;          // DESIGN 1.6, when the batch has labels
};

struct Gradients {
  /// d loss / d parameter for every dense parameter (tables excluded).
  std::map<std::string, std::vector<double>> dense;
  /// Embedding rows touched by the batch: table -> row -> gradient, the
  /// gradients of repeated ids summed (DESIGN 1.8).
  std::map<std::string, std::map<int64_t, std::vector<double>>> rows;
};

struct TrainOptions {
  bool training = false; // dropout on (DESIGN 1.3)
  uint64_t seed = 0;     // dropout stream key
  int64_t step = 0;
};

/// The id -> row maps of dynamic tables (the runtime's); ids without a row
/// read the OOV row 0. Needed for models with dynamic tables.
using DynamicTables = std::map<std::string, DynamicTable>;

/// The forward pass at inference (dropout is the identity). The batch must
/// have passed validateBatch. With labels, `loss` is filled in.
Output forward(const ModelDesc &m, const ParamStore &params, const Batch &batch,
               const DynamicTables *dynamic = nullptr);

/// Forward, loss of DESIGN 1.6 (sum_t w_t sum_c BCE / C_expected) and the
/// gradient of that loss with respect to every parameter. Needs labels.
Output forwardBackward(const ModelDesc &m, const ParamStore &params, const Batch &batch,
                       const TrainOptions &options, Gradients &gradients,
                       const DynamicTables *dynamic = nullptr);

/// Dropout's keep decision for (seed, step, layer, token, column); token is
/// the row in the step's assembled batch. Kept values are scaled by 1/(1-p).
bool dropoutKeeps(uint64_t seed, int64_t step, int64_t layer, int64_t token, int64_t column,
                  double rate);

} // namespace mtgr::reference

#endif
