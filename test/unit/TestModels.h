//===- TestModels.h - model descriptions for unit tests ---------*- C++ -*-===//
#ifndef MTGR_TEST_UNIT_TESTMODELS_H
#define MTGR_TEST_UNIT_TESTMODELS_H

#include "model/ModelDesc.h"
#include "runtime/Params.h"

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace mlir::mtgr::test {

inline std::string examplePath(const std::string &name) {
  return std::string(MTGR_SOURCE_DIR) + "/examples/models/" + name;
}

/// A bundled example (a failure to load fails the test and aborts it).
inline ModelDesc loadExample(const std::string &name) {
  std::string diag;
  llvm::raw_string_ostream os(diag);
  auto m = loadModelDesc(examplePath(name), os);
  if (!m) {
    llvm::errs() << diag;
    std::abort();
  }
  return *m;
}

/// tiny (examples/models/tiny.yaml) with `heads` heads of `dqk` x `dv`
/// columns, n_norm `nNorm` and a relative bias: head widths of real models
/// (MTGR-small's 256) that random models (heads of 1 .. 7 columns) never
/// reach: several chunks along a head, several output chunks, whole
/// 16-byte segments (the tensor-core passes' cp.async path) or not.
inline std::string wideHeadYaml(int heads, int dqk, int dv, const std::string &nNorm) {
  std::ifstream in(examplePath("tiny.yaml"));
  std::stringstream text;
  text << in.rdbuf();
  std::string y = text.str();
  auto replaceLine = [&](const std::string &prefix, const std::string &line) {
    size_t at = y.find("\n" + prefix);
    if (at == std::string::npos)
      std::abort();
    y.replace(at + 1, y.find('\n', at + 1) - at - 1, line);
  };
  replaceLine("heads:", "heads: " + std::to_string(heads) + "\ndqk: " + std::to_string(dqk) +
                            "\ndv: " + std::to_string(dv) +
                            "\nrab: {positions: 40, time_buckets: 12}");
  replaceLine("n_norm:", "n_norm: " + nNorm);
  return y;
}

/// A random but valid model description: sizes, masks, n_norm modes, norm
/// orders, rab, explicit dqk/dv, DLRM-style context and R's own MLP all vary.
/// `dynamicTables`: also use a dynamic table (the CPU backend serves fixed
/// and hashed tables until training brings dynamic ones).
inline std::string randomModelYaml(std::mt19937 &rng, bool dynamicTables = true) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const char *masks[] = {"dynamic", "causal", "causal_targets", "contextual", "intervals"};
  int heads = pick(1, 3);
  bool explicitHeadDims = pick(0, 1);
  int dModel = explicitHeadDims ? pick(3, 20) : heads * pick(1, 6);
  int layers = pick(0, 3);
  std::string y = "name: random\nlayers: " + std::to_string(layers) +
                  "\nd_model: " + std::to_string(dModel) + "\nheads: " + std::to_string(heads) + "\n";
  if (explicitHeadDims)
    y += "dqk: " + std::to_string(pick(1, 7)) + "\ndv: " + std::to_string(pick(1, 7)) + "\n";
  y += std::string("mask: ") + masks[pick(0, 4)] + "\n";
  switch (pick(0, 2)) {
  case 0: y += "n_norm: total\n"; break;
  case 1: y += "n_norm: visible\n"; break;
  default: y += "n_norm: " + std::to_string(pick(1, 500)) + "\n";
  }
  y += pick(0, 1) ? "norm_order: gate_then_norm\n" : "norm_order: norm_then_gate\n";
  if (pick(0, 1))
    y += "rab: {positions: " + std::to_string(pick(1, 64)) +
         ", time_buckets: " + std::to_string(pick(1, 32)) + "}\n";
  if (pick(0, 1))
    y += "dropout: 0.1\n";
  y += "tables:\n"
       "  - {name: item, kind: fixed, rows: " + std::to_string(pick(1, 50)) +
       ", dim: " + std::to_string(pick(1, 8)) + "}\n"
       "  - {name: user, kind: hashed, rows: 17, dim: " + std::to_string(pick(1, 8)) + "}\n"
       "  - {name: q, kind: dynamic, capacity: 100, dim: 3, eviction: lfu}\n";
  y += "features:\n  user:\n    - {name: uid, table: user}\n";
  if (pick(0, 1))
    y += "    - {name: age, dense: " + std::to_string(pick(1, 3)) + "}\n";
  y += "  sequence:\n    - {name: item, table: item}\n";
  if (pick(0, 1) && dynamicTables)
    y += "    - {name: q, table: q}\n";
  bool ownRealtime = pick(0, 1);
  if (ownRealtime)
    y += "  realtime:\n    - {name: item, table: item}\n    - {name: w, dense: 2}\n";
  y += "  candidate:\n    item:\n      - {name: item, table: item}\n";
  if (pick(0, 1))
    y += "    cross:\n      - {name: c, dense: " + std::to_string(pick(1, 4)) + "}\n";
  y += "tokenizer:\n  sequence_mlp: [" + std::to_string(pick(1, 9)) + "]\n";
  if (ownRealtime)
    y += "  realtime_mlp: []\n";
  y += "  candidate_mlp: [" + std::to_string(pick(1, 9)) + ", " + std::to_string(pick(1, 9)) + "]\n";
  y += pick(0, 1) ? "  candidate_context: true\n" : "";
  y += "tasks:\n  - {name: ctr, mlp: [" + std::to_string(pick(1, 5)) + "]}\n";
  if (pick(0, 1))
    y += "  - {name: ctcvr, weight: 0.5}\n";
  // Last, so that the picks above stay what they were before it existed.
  y += std::string("training: {optimizer: ") + (pick(0, 1) ? "adamw" : "adam") +
       ", weight_decay: " + (pick(0, 1) ? "0.1" : "0") +
       ", sparse_optimizer: " + (pick(0, 1) ? "adam" : "rowwise_adagrad") + "}\n";
  // After the training line for the same reason: one model in three shares
  // one norm over every token (the "without GLN" ablation).
  if (pick(0, 2) == 0)
    y += "norm_groups: shared\n";
  return y;
}

/// Parameters with every tensor non-trivial (runtime/Params.h).
inline void randomizeParams(ParamStore &p, uint64_t seed) { randomizeForVerification(p, seed); }

} // namespace mlir::mtgr::test

#endif
