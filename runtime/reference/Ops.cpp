//===- Ops.cpp - float64 reference ops with hand-written gradients --------===//
#include "runtime/reference/Ops.h"

#include <cmath>

using namespace mtgr::reference;

double mtgr::reference::silu(double x) { return x / (1.0 + std::exp(-x)); }

double mtgr::reference::siluGrad(double x) {
  double s = 1.0 / (1.0 + std::exp(-x));
  return s * (1.0 + x * (1.0 - s));
}

Vec mtgr::reference::linear(const Vec &W, const Vec &b, int64_t out, const Vec &x) {
  int64_t in = x.size();
  Vec y(out);
  for (int64_t o = 0; o < out; ++o) {
    double acc = b[o];
    for (int64_t i = 0; i < in; ++i)
      acc += W[o * in + i] * x[i];
    y[o] = acc;
  }
  return y;
}

Vec mtgr::reference::linearBackward(const Vec &W, int64_t out, const Vec &x, const Vec &dy,
                                         Vec &dW, Vec &db) {
  int64_t in = x.size();
  Vec dx(in, 0.0);
  for (int64_t o = 0; o < out; ++o) {
    db[o] += dy[o];
    for (int64_t i = 0; i < in; ++i) {
      dx[i] += W[o * in + i] * dy[o];
      dW[o * in + i] += dy[o] * x[i];
    }
  }
  return dx;
}

Vec mtgr::reference::layerNorm(const Vec &x, const double *gamma, const double *beta,
                                     NormCache &cache) {
  size_t n = x.size();
  double mean = 0, var = 0;
  for (double v : x)
    mean += v;
  mean /= n;
  for (double v : x)
    var += (v - mean) * (v - mean);
  var /= n; // biased (DESIGN 1.4)
  cache.rstd = 1.0 / std::sqrt(var + 1e-5);
  cache.xhat.resize(n);
  Vec y(n);
  for (size_t k = 0; k < n; ++k) {
    cache.xhat[k] = (x[k] - mean) * cache.rstd;
    y[k] = gamma[k] * cache.xhat[k] + beta[k];
  }
  return y;
}

Vec mtgr::reference::layerNormBackward(const Vec &dy, const double *gamma,
                                             const NormCache &cache, double *dgamma,
                                             double *dbeta) {
  size_t n = dy.size();
  Vec dxhat(n);
  double meanD = 0, meanDX = 0;
  for (size_t k = 0; k < n; ++k) {
    dgamma[k] += dy[k] * cache.xhat[k];
    dbeta[k] += dy[k];
    dxhat[k] = dy[k] * gamma[k];
    meanD += dxhat[k];
    meanDX += dxhat[k] * cache.xhat[k];
  }
  meanD /= n;
  meanDX /= n;
  Vec dx(n);
  for (size_t k = 0; k < n; ++k)
    dx[k] = cache.rstd * (dxhat[k] - meanD - cache.xhat[k] * meanDX);
  return dx;
}

std::vector<Vec> mtgr::reference::attention(const AttentionProblem &p, int64_t *macs) {
  std::vector<Vec> O(p.n, Vec(p.heads * p.dv, 0.0));
  for (int64_t i = 0; i < p.n; ++i)
    for (int64_t j = 0; j < p.n; ++j) {
      if (!p.mask[i][j])
        continue; // masked pairs are not computed
      for (int64_t h = 0; h < p.heads; ++h) {
        double dot = 0;
        for (int64_t k = 0; k < p.dqk; ++k)
          dot += p.Q[i][h * p.dqk + k] * p.K[j][h * p.dqk + k];
        double a = silu(p.alpha * dot + p.bias[i][j]) / p.norm[i];
        for (int64_t k = 0; k < p.dv; ++k)
          O[i][h * p.dv + k] += a * p.V[j][h * p.dv + k];
      }
      if (macs)
        *macs += p.heads * (p.dqk + p.dv);
    }
  return O;
}

void mtgr::reference::attentionBackward(const AttentionProblem &p,
                                              const std::vector<Vec> &dO, std::vector<Vec> &dQ,
                                              std::vector<Vec> &dK, std::vector<Vec> &dV,
                                              std::vector<Vec> &dBias) {
  dQ.assign(p.n, Vec(p.heads * p.dqk, 0.0));
  dK.assign(p.n, Vec(p.heads * p.dqk, 0.0));
  dV.assign(p.n, Vec(p.heads * p.dv, 0.0));
  dBias.assign(p.n, Vec(p.n, 0.0));
  for (int64_t i = 0; i < p.n; ++i)
    for (int64_t j = 0; j < p.n; ++j) {
      if (!p.mask[i][j])
        continue;
      for (int64_t h = 0; h < p.heads; ++h) {
        double dot = 0;
        for (int64_t k = 0; k < p.dqk; ++k)
          dot += p.Q[i][h * p.dqk + k] * p.K[j][h * p.dqk + k];
        double s = p.alpha * dot + p.bias[i][j];
        double a = silu(s) / p.norm[i];
        // O_i += a V_j: da = <dO_i, V_j>, dV_j += a dO_i.
        double da = 0;
        for (int64_t k = 0; k < p.dv; ++k) {
          da += dO[i][h * p.dv + k] * p.V[j][h * p.dv + k];
          dV[j][h * p.dv + k] += a * dO[i][h * p.dv + k];
        }
        double ds = da * siluGrad(s) / p.norm[i];
        dBias[i][j] += ds;
        for (int64_t k = 0; k < p.dqk; ++k) {
          dQ[i][h * p.dqk + k] += p.alpha * ds * p.K[j][h * p.dqk + k];
          dK[j][h * p.dqk + k] += p.alpha * ds * p.Q[i][h * p.dqk + k];
        }
      }
    }
}

double mtgr::reference::bceWithLogits(double l, double y) {
  return std::max(l, 0.0) - l * y + std::log1p(std::exp(-std::fabs(l)));
}

double mtgr::reference::bceWithLogitsGrad(double l, double y) {
  return 1.0 / (1.0 + std::exp(-l)) - y;
}
