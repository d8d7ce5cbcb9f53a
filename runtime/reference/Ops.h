//===- Ops.h - float64 reference ops with hand-written gradients -*- C++ -*-===//
//
// Each op: a forward that records what its backward needs, and a backward
// that returns the input gradient and adds parameter gradients. Tested one by
// one against central finite differences (test/unit/GradientTest.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_REFERENCE_OPS_H
#define MTGR_RUNTIME_REFERENCE_OPS_H

#include <cstdint>
#include <vector>

namespace mtgr::reference {

using Vec = std::vector<double>;

double silu(double x);
double siluGrad(double x); // d silu / dx

/// y = W x + b, W [out, in] row-major.
Vec linear(const Vec &W, const Vec &b, int64_t out, const Vec &x);
/// dx = W^T dy; dW += dy x^T; db += dy.
Vec linearBackward(const Vec &W, int64_t out, const Vec &x, const Vec &dy, Vec &dW, Vec &db);

/// Layer norm of x with affine gamma, beta (one group's rows), eps 1e-5.
struct NormCache {
  Vec xhat;
  double rstd = 0;
};
Vec layerNorm(const Vec &x, const double *gamma, const double *beta, NormCache &cache);
Vec layerNormBackward(const Vec &dy, const double *gamma, const NormCache &cache,
                      double *dgamma, double *dbeta);

/// One sample's pointwise attention (DESIGN 1.3) for `heads` heads: Q, K
/// [n][h*dqk], V [n][h*dv]; mask(i, j); bias(i, j) (rab, shared by heads);
/// norm[i] = n_norm(i).
struct AttentionProblem {
  int64_t n = 0, heads = 1, dqk = 0, dv = 0;
  double alpha = 1;
  std::vector<Vec> Q, K, V;
  std::vector<std::vector<char>> mask; // [n][n]
  std::vector<Vec> bias;               // [n][n], 0 without rab
  Vec norm;                            // [n]
};
std::vector<Vec> attention(const AttentionProblem &p, int64_t *macs = nullptr);
/// dQ, dK, dV and d bias[i][j] (summed over heads) for upstream dO.
void attentionBackward(const AttentionProblem &p, const std::vector<Vec> &dO,
                       std::vector<Vec> &dQ, std::vector<Vec> &dK, std::vector<Vec> &dV,
                       std::vector<Vec> &dBias);

/// BCEWithLogits(l, y) and its derivative in l.
double bceWithLogits(double logit, double label);
double bceWithLogitsGrad(double logit, double label);

} // namespace mtgr::reference

#endif
