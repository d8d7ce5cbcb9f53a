//===- Params.h - named parameter tensors ------------------------*- C++ -*-===//
#ifndef MTGR_RUNTIME_PARAMS_H
#define MTGR_RUNTIME_PARAMS_H

#include "model/ModelStats.h"

#include <map>
#include <string>
#include <vector>

namespace mtgr {

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
};

/// A model's parameters by PyTorch-style name (DESIGN 1.7), in declaration order.
class ParamStore {
public:
  /// Initialises every parameter of `specs` from `seed` (DESIGN 1.7): Xavier-
  /// uniform weights, zero biases and betas, unit gammas, N(0, std^2)
  /// embeddings. Each parameter draws from its own stream keyed by (seed,
  /// name), so adding a parameter does not change the others.
  static ParamStore initialize(const std::vector<ParamSpec> &specs, uint64_t seed);
  /// Every parameter with its shape and no values (to be loaded).
  static ParamStore shapesOnly(const std::vector<ParamSpec> &specs);

  const Tensor &get(const std::string &name) const { return tensors.at(name); }
  Tensor &get(const std::string &name) { return tensors.at(name); }
  bool has(const std::string &name) const { return tensors.count(name) != 0; }
  const std::vector<std::string> &names() const { return order; }
  void set(const std::string &name, Tensor t);

private:
  std::vector<std::string> order;
  std::map<std::string, Tensor> tensors;
};

/// Optimiser state buffers, updated in place by the generated train_step and
/// saved in checkpoints: Adam moments (slots m, v), row-wise Adagrad
/// accumulators (acc), keyed by optimizerSlot(parameter, slot). A missing or
/// mis-sized buffer starts at 0.
using OptimizerState = std::map<std::string, std::vector<float>>;
std::string optimizerSlot(llvm::StringRef param, llvm::StringRef slot);

/// Replaces the values that the default initialisation leaves trivial, so
/// that a comparison exercises their code paths: biases, betas and rab tables
/// U(-0.2, 0.2), gammas 1 + U(-0.3, 0.3), embedding tables U(-0.5, 0.5)
/// (O(0.3): at N(0, 0.01^2) a gather mistake hides). Dense weights keep
/// their values. Seeded: `mtgr-run verify --randomize-params` and the tests.
void randomizeForVerification(ParamStore &params, uint64_t seed);

} // namespace mtgr

#endif // MTGR_RUNTIME_PARAMS_H
