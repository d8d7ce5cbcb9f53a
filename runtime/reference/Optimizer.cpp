//===- Optimizer.cpp - Adam / AdamW, row-wise Adagrad, sparse Adam --------===//
#include "runtime/reference/Optimizer.h"

#include <cmath>

using namespace mtgr;
using namespace mtgr::reference;

void mtgr::reference::adamUpdate(const TrainingDesc &t, bool decay, int64_t step,
                            std::vector<float> &param, const std::vector<double> &grad,
                            AdamState &s) {
  if (s.m.empty()) {
    s.m.assign(param.size(), 0.0f);
    s.v.assign(param.size(), 0.0f);
  }
  double wd = decay ? t.weightDecay : 0.0;
  bool decoupled = t.optimizer == TrainingDesc::Optimizer::AdamW;
  double bc1 = 1 - std::pow(t.beta1, step), bc2 = 1 - std::pow(t.beta2, step);
  for (size_t i = 0; i < param.size(); ++i) {
    double p = param[i], g = grad[i];
    if (decoupled)
      p -= t.lr * wd * p; // AdamW
    else
      g += wd * p; // Adam: L2
    double m = t.beta1 * s.m[i] + (1 - t.beta1) * g;
    double v = t.beta2 * s.v[i] + (1 - t.beta2) * g * g;
    s.m[i] = static_cast<float>(m);
    s.v[i] = static_cast<float>(v);
    p -= t.lr * (m / bc1) / (std::sqrt(v / bc2) + t.eps);
    param[i] = static_cast<float>(p);
  }
}

void mtgr::reference::rowwiseAdagradUpdate(const TrainingDesc &t, float *row, const double *grad,
                                      int64_t dim, float &accumulator) {
  double mean = 0;
  for (int64_t k = 0; k < dim; ++k)
    mean += grad[k] * grad[k];
  double G = accumulator + mean / dim;
  accumulator = static_cast<float>(G);
  double scale = t.sparseLr / (std::sqrt(G) + t.eps);
  for (int64_t k = 0; k < dim; ++k)
    row[k] = static_cast<float>(row[k] - scale * grad[k]);
}

void mtgr::reference::sparseAdamUpdate(const TrainingDesc &t, int64_t step, float *row,
                                  const double *grad, int64_t dim, float *m, float *v) {
  double bc1 = 1 - std::pow(t.beta1, step), bc2 = 1 - std::pow(t.beta2, step);
  for (int64_t k = 0; k < dim; ++k) {
    double mk = t.beta1 * m[k] + (1 - t.beta1) * grad[k];
    double vk = t.beta2 * v[k] + (1 - t.beta2) * grad[k] * grad[k];
    m[k] = static_cast<float>(mk);
    v[k] = static_cast<float>(vk);
    row[k] = static_cast<float>(row[k] - t.sparseLr * (mk / bc1) / (std::sqrt(vk / bc2) + t.eps));
  }
}
