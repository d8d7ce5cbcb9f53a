//===- ModelDesc.h - a model description, as read from YAML ----*- C++ -*-===//
//
// The in-memory form of examples/models/*.yaml (format: docs/model-format.md).
// The parser fills it and checks it completely, so everything downstream
// (IR generation, parameter and FLOP counts) may assume it is consistent.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_FRONTEND_MODELDESC_H
#define MTGR_FRONTEND_MODELDESC_H

#include "model/Namespace.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mtgr {

/// Bounds on every size a description may give (docs/model-format.md lists
/// them). They keep every element count the compiler and runtime form far
/// from int64 overflow; whether a model fits in memory is checked in bytes
/// when a session is created (--max-memory).
namespace limits {
constexpr int64_t kMaxWidth = 65536;          // d_model, dqk, dv, dims, MLP sizes
constexpr int64_t kMaxRows = int64_t(1) << 32; // table rows or capacity
constexpr int64_t kMaxLayers = 1024;
constexpr int64_t kMaxHeads = 1024;
constexpr int64_t kMaxRabPositions = 1 << 20;
constexpr int64_t kMaxTimeBuckets = 4096;
constexpr int64_t kMaxPerStep = int64_t(1) << 40; // candidates_per_step, tokens_per_step
constexpr int kMaxNesting = 64;                // YAML nesting depth
} // namespace limits

/// Feature names a request file uses for its own keys (docs/requests.md):
/// a feature may not be called so.
/// Request files use time, id, labels and intervals as keys; mtgr-serve's
/// column inputs name `<group>.offsets` and `<group>.time` (docs/serving.md).
constexpr const char *kReservedFeatureNames[] = {"time", "id", "labels", "intervals", "offsets"};

/// Where a piece of the description came from (1-based; 0 = unknown).
struct SrcLoc {
  unsigned line = 0, col = 0;
};

struct TableDesc {
  enum class Kind { Fixed, Hashed, Dynamic };
  enum class Eviction { LRU, LFU };
  std::string name;
  Kind kind = Kind::Fixed;
  int64_t rows = 0; // capacity for dynamic tables
  int64_t dim = 0;
  int64_t admissionThreshold = 0;    // dynamic only
  Eviction eviction = Eviction::LRU; // dynamic only
  SrcLoc loc;
};

/// A single-valued categorical feature (an id looked up in `table`) or a dense
/// feature of `denseDim` floats.
struct FeatureDesc {
  std::string name;
  std::string table; // empty for dense features
  int64_t denseDim = 0;
  int64_t width = 0; // input width to the tokenizer: table dim or denseDim
  bool isCategorical() const { return !table.empty(); }
  SrcLoc loc;
};

struct TaskDesc {
  std::string name;
  double weight = 1.0;
  std::vector<int64_t> hidden; // hidden sizes of the head MLP; output is 1
  SrcLoc loc;
};

struct TrainingDesc {
  enum class Optimizer { Adam, AdamW };
  enum class SparseOptimizer { RowwiseAdagrad, Adam };
  Optimizer optimizer = Optimizer::Adam;
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weightDecay = 0.0; // default 0 for adam, 0.01 for adamw (PyTorch)
  SparseOptimizer sparseOptimizer = SparseOptimizer::RowwiseAdagrad;
  double sparseLr = 0.01;
  int64_t candidatesPerStep = 256; // C_expected of the loss (DESIGN 1.6)
  int64_t tokensPerStep = 16384;   // token budget of a balanced batch
  uint64_t seed = 0;
};

struct ModelDesc {
  /// n_norm(i) of DESIGN 1.3: the sample's length, the attended columns, or a
  /// constant (nNormConstant).
  enum class NNorm { Total, Visible, Constant };
  /// Where the output gate sits relative to GLN_2.
  enum class NormOrder { GateThenNorm, NormThenGate };
  /// PerGroup: GLN, a gamma and beta per token group (U, S, R, C); Shared: one
  /// for every token (plain LayerNorm, the paper's "without GLN" ablation).
  enum class NormGroups { PerGroup, Shared };
  /// The attention mask (DESIGN 1.5).
  enum class Mask { Dynamic, Causal, CausalTargets, Contextual, Intervals };

  std::string name;
  std::string path; // file it was read from, for locations
  // HSTU stack (DESIGN 1.3).
  int64_t layers = 0, dModel = 0, heads = 1, dqk = 0, dv = 0;
  double alpha = 0.0;                 // 1/sqrt(dqk) unless given
  NNorm nNorm = NNorm::Total;
  double nNormConstant = 0.0; // with NNorm::Constant
  NormOrder normOrder = NormOrder::GateThenNorm;
  NormGroups normGroups = NormGroups::PerGroup;
  Mask mask = Mask::Dynamic;
  double dropout = 0.0;
  bool rab = false;
  int64_t rabMaxPos = 0, rabTimeBuckets = 0;
  SrcLoc layersLoc;
  // Feature schema (DESIGN 1.1-1.2).
  std::vector<TableDesc> tables;
  std::vector<FeatureDesc> user, sequence, realtime, candidateItem, candidateCross;
  // Tokenizer MLP hidden sizes; every MLP ends in d_model.
  std::vector<int64_t> sequenceMlp, realtimeMlp, candidateMlp;
  bool realtimeOwnMlp = false;  // R has its own MLP instead of sharing MLP_seq
  bool candidateContext = false; // DLRM-style: U embeddings + pooled S, R
  std::vector<TaskDesc> tasks;
  TrainingDesc training;

  const TableDesc *findTable(llvm::StringRef name) const;
  /// Rows of every GLN gamma and beta: 4 token groups, or 1 when shared.
  int64_t normGroupRows() const { return normGroups == NormGroups::Shared ? 1 : 4; }
  /// Sum of the widths of a feature list (the concatenated input of an MLP).
  static int64_t totalWidth(const std::vector<FeatureDesc> &features);
  /// Width of the per-sample context rows of a DLRM-style candidate MLP.
  int64_t contextWidth() const;
};

/// The words a description spells each enum with (docs/model-format.md), in
/// enumerator order: one table per enum (ModelParser.cpp), read by the parser,
/// printed by summaries and mapped onto the dialect's enums by the IR
/// generator. Nothing downstream compares these strings.
llvm::StringRef toString(TableDesc::Kind v);
llvm::StringRef toString(TableDesc::Eviction v);
llvm::StringRef toString(TrainingDesc::Optimizer v);
llvm::StringRef toString(TrainingDesc::SparseOptimizer v);
llvm::StringRef toString(ModelDesc::NNorm v);
llvm::StringRef toString(ModelDesc::NormOrder v);
llvm::StringRef toString(ModelDesc::NormGroups v);
llvm::StringRef toString(ModelDesc::Mask v);

/// Parses and checks a model description. On error, prints
/// "file:line:col: error: ..." naming the offending key to `diag` and returns
/// std::nullopt; never aborts.
std::optional<ModelDesc> parseModelDesc(llvm::StringRef text,
                                        llvm::StringRef path,
                                        llvm::raw_ostream &diag);
std::optional<ModelDesc> loadModelDesc(llvm::StringRef path,
                                       llvm::raw_ostream &diag);

/// True if `path` names a model description (by extension: .yaml or .yml).
bool isModelDescPath(llvm::StringRef path);

} // namespace mtgr

#endif // MTGR_FRONTEND_MODELDESC_H
