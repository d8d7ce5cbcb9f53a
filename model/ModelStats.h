//===- ModelStats.h - parameters and FLOPs of a model description -*- C++ -*-===//
//
// The one list of a model's parameters (names, shapes, initialisers) that IR
// generation declares and the counters count, and the per-sample FLOP count
// of DESIGN 1.9: 2 FLOPs per multiply-add of every Linear and of attention
// (QK^T and AV over the pairs the mask keeps). Formula: docs/flops.md.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_FRONTEND_MODELSTATS_H
#define MTGR_FRONTEND_MODELSTATS_H

#include "model/ModelDesc.h"

namespace mtgr {

struct ParamSpec {
  std::string name;           // PyTorch-style: layers.0.uvqk.weight
  std::vector<int64_t> shape; // Linear weights [out, in]
  std::string init;           // xavier_uniform | zeros | ones | normal
  double std = 0.0;           // with init == normal
  bool noDecay = false;       // skipped by AdamW weight decay
  bool embedding = false;     // an embedding table (sparse updates)
  int64_t numel() const;
};

/// Every parameter of the model in a fixed order (tables, tokenizers, layers,
/// heads). For a dynamic table, `rows` is its capacity.
std::vector<ParamSpec> collectParameters(const ModelDesc &m);

struct ParamCount {
  int64_t dense = 0, embedding = 0;
  int64_t total() const { return dense + embedding; }
};
ParamCount countParameters(const ModelDesc &m);

/// Lengths of one sample. Without timestamps, R events are taken as distinct
/// and earlier than every candidate (the most attention the dynamic mask
/// allows). With them (sorted ascending), the dynamic mask is counted exactly.
struct SampleShape {
  int64_t nS = 0, nR = 0, K = 0;
  std::vector<int64_t> realtimeTimes, candidateTimes; // optional, sizes nR and K
  std::optional<int64_t> pairs; // attended pairs; required for mask: intervals
};

/// Number of (row, column) pairs the mask keeps in one sample (per head), or
/// std::nullopt for mask: intervals without SampleShape::pairs.
std::optional<int64_t> countAttentionPairs(const ModelDesc &m, const SampleShape &s);

struct FlopCount {
  int64_t tokenizer = 0;  // U, S, R, C tokenizers (DLRM: the candidate MLP)
  int64_t projections = 0; // uvqk and output Linears of every layer
  int64_t attention = 0;  // QK^T and AV over kept pairs, every layer and head
  int64_t heads = 0;      // task MLPs
  int64_t total() const { return tokenizer + projections + attention + heads; }
};
/// Forward FLOPs of one sample, or std::nullopt when the pairs are unknown.
std::optional<FlopCount> countForwardFlops(const ModelDesc &m, const SampleShape &s);

/// Multiply-adds of an MLP in -> hidden... -> out applied to one row.
int64_t mlpMultiplyAdds(int64_t in, const std::vector<int64_t> &hidden, int64_t out);

} // namespace mtgr

#endif // MTGR_FRONTEND_MODELSTATS_H
