//===- Optimizer.h - reference Adam / AdamW, row-wise Adagrad, SparseAdam -===//
//
// The reference of the optimiser updates that generated train_steps apply
// (mtgr.adam_update, mtgr.sparse_update), checked by hand in the tests and
// compared with the compiled update. DESIGN 1.8 with PyTorch's definitions and defaults. Dense parameters: Adam
// (weight decay as L2 on the gradient) or AdamW (decoupled decay); weight
// decay skips the parameters marked no_decay (biases, GLN, rab) and
// embeddings. Embedding rows touched by a step, their gradients already
// summed over repeated ids: row-wise Adagrad (one accumulator per row,
// G += mean(g^2)) or Adam restricted to the touched rows (SparseAdam).
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_REFERENCE_OPTIMIZER_H
#define MTGR_RUNTIME_REFERENCE_OPTIMIZER_H

#include "model/ModelDesc.h"

#include <vector>

namespace mtgr::reference {

struct AdamState {
  std::vector<float> m, v; // first and second moments, like the parameter
};

/// One dense update at optimiser step `step` (1-based) of `param` by `grad`.
void adamUpdate(const TrainingDesc &t, bool decay, int64_t step, std::vector<float> &param,
                const std::vector<double> &grad, AdamState &state);

/// Row-wise Adagrad on one row: G += mean(g^2); w -= lr g / (sqrt(G) + eps).
void rowwiseAdagradUpdate(const TrainingDesc &t, float *row, const double *grad, int64_t dim,
                          float &accumulator);

/// SparseAdam on one touched row, at the table's step `step` (1-based).
void sparseAdamUpdate(const TrainingDesc &t, int64_t step, float *row, const double *grad,
                      int64_t dim, float *m, float *v);

} // namespace mtgr::reference

#endif
