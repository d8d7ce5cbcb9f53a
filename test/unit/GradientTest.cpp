//===- GradientTest.cpp - reference backward vs central finite differences -===//
//
// Every op of reference/Ops.h, then whole models (random configurations,
// dropout on) along random directions. Parameters are quantised to multiples
// of 2^-20 and the directions are +-2^-16, so theta +- eps*d is exact in the
// float32 parameter store and the central differences are computed in double.
//
//===----------------------------------------------------------------------===//
#include "TestModels.h"
#include "model/ModelStats.h"
#include "data/Synthetic.h"
#include "runtime/reference/Ops.h"
#include "runtime/reference/Reference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

using namespace mlir::mtgr;
using namespace mlir::mtgr::reference;

namespace {
Vec randomVec(std::mt19937_64 &rng, size_t n, double scale = 1.0) {
  std::uniform_real_distribution<double> u(-scale, scale);
  Vec v(n);
  for (double &x : v)
    x = u(rng);
  return v;
}

double dotv(const Vec &a, const Vec &b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i)
    s += a[i] * b[i];
  return s;
}

/// Checks the analytic gradient `grad` of f at `x` by central differences,
/// coordinate by coordinate.
void checkGradient(const char *what, Vec &x, const Vec &grad, const std::function<double()> &f) {
  const double eps = 1e-6;
  ASSERT_EQ(x.size(), grad.size()) << what;
  for (size_t i = 0; i < x.size(); ++i) {
    double keep = x[i];
    x[i] = keep + eps;
    double up = f();
    x[i] = keep - eps;
    double down = f();
    x[i] = keep;
    double fd = (up - down) / (2 * eps);
    EXPECT_NEAR(grad[i], fd, 1e-6 * std::max(1.0, std::fabs(fd))) << what << "[" << i << "]";
  }
}

TEST(OpGradients, Silu) {
  for (double x : {-5.0, -1.0, -0.1, 0.0, 0.3, 2.0, 7.0}) {
    Vec v{x};
    checkGradient("silu", v, {siluGrad(x)}, [&] { return silu(v[0]); });
  }
}

TEST(OpGradients, Linear) {
  std::mt19937_64 rng(1);
  int64_t in = 5, out = 3;
  Vec W = randomVec(rng, out * in), b = randomVec(rng, out), x = randomVec(rng, in),
      dy = randomVec(rng, out);
  Vec dW(out * in, 0.0), db(out, 0.0);
  Vec dx = linearBackward(W, out, x, dy, dW, db);
  auto f = [&] { return dotv(dy, linear(W, b, out, x)); };
  checkGradient("x", x, dx, f);
  checkGradient("W", W, dW, f);
  checkGradient("b", b, db, f);
}

TEST(OpGradients, LayerNorm) {
  std::mt19937_64 rng(2);
  size_t n = 6;
  Vec x = randomVec(rng, n, 2.0), gamma = randomVec(rng, n), beta = randomVec(rng, n),
      dy = randomVec(rng, n);
  NormCache c;
  layerNorm(x, gamma.data(), beta.data(), c);
  Vec dgamma(n, 0.0), dbeta(n, 0.0);
  Vec dx = layerNormBackward(dy, gamma.data(), c, dgamma.data(), dbeta.data());
  auto f = [&] {
    NormCache tmp;
    return dotv(dy, layerNorm(x, gamma.data(), beta.data(), tmp));
  };
  checkGradient("x", x, dx, f);
  checkGradient("gamma", gamma, dgamma, f);
  checkGradient("beta", beta, dbeta, f);
}

TEST(OpGradients, Attention) {
  std::mt19937_64 rng(3);
  AttentionProblem p;
  p.n = 5, p.heads = 2, p.dqk = 3, p.dv = 2, p.alpha = 0.7;
  for (int64_t i = 0; i < p.n; ++i) {
    p.Q.push_back(randomVec(rng, p.heads * p.dqk));
    p.K.push_back(randomVec(rng, p.heads * p.dqk));
    p.V.push_back(randomVec(rng, p.heads * p.dv));
    p.bias.push_back(randomVec(rng, p.n, 0.5));
    p.mask.emplace_back(p.n);
    for (int64_t j = 0; j < p.n; ++j)
      p.mask[i][j] = (i * 3 + j) % 4 != 1;
    p.norm.push_back(1.0 + i);
  }
  std::vector<Vec> dO;
  for (int64_t i = 0; i < p.n; ++i)
    dO.push_back(randomVec(rng, p.heads * p.dv));
  std::vector<Vec> dQ, dK, dV, dBias;
  attentionBackward(p, dO, dQ, dK, dV, dBias);
  auto f = [&] {
    double s = 0;
    std::vector<Vec> O = attention(p);
    for (int64_t i = 0; i < p.n; ++i)
      s += dotv(dO[i], O[i]);
    return s;
  };
  for (int64_t i = 0; i < p.n; ++i) {
    checkGradient("Q", p.Q[i], dQ[i], f);
    checkGradient("K", p.K[i], dK[i], f);
    checkGradient("V", p.V[i], dV[i], f);
    Vec maskedBias = dBias[i];
    checkGradient("bias", p.bias[i], maskedBias, f);
  }
}

TEST(OpGradients, BceWithLogits) {
  for (double y : {0.0, 1.0})
    for (double l : {-30.0, -2.0, 0.0, 0.5, 40.0}) {
      Vec v{l};
      checkGradient("bce", v, {bceWithLogitsGrad(l, y)}, [&] { return bceWithLogits(v[0], y); });
      EXPECT_TRUE(std::isfinite(bceWithLogits(l, y)));
    }
}

/// Whole models: d loss along a random direction.
class ModelGradients : public ::testing::TestWithParam<int> {};

TEST_P(ModelGradients, MatchFiniteDifferences) {
  int index = GetParam();
  std::mt19937 rng(500 + index);
  std::string yaml = test::randomModelYaml(rng, /*dynamicTables=*/false);
  std::string diag;
  llvm::raw_string_ostream os(diag);
  auto m = parseModelDesc(yaml, "random.yaml", os);
  ASSERT_TRUE(m) << diag;
  ParamStore params = ParamStore::initialize(collectParameters(*m), index);
  std::mt19937_64 r(index);
  std::uniform_real_distribution<double> u(-0.5, 0.5);
  for (const std::string &name : params.names())
    for (float &x : params.get(name).data) {
      double v = llvm::StringRef(name).ends_with(".gamma") ? 1.0 + u(r) : x + 0.2 * u(r);
      x = static_cast<float>(std::round(v * 1048576.0) / 1048576.0); // multiple of 2^-20
    }
  SyntheticOptions o;
  o.users = 2, o.maxSequence = 5, o.maxRealtime = 4, o.maxCandidates = 3, o.seed = index;
  Batch batch = generateSynthetic(*m, o);
  ASSERT_FALSE(validateBatch(*m, batch));
  TrainOptions train{true, 77, index};
  Gradients g;
  Output out = forwardBackward(*m, params, batch, train, g);
  Output check = forward(*m, params, batch);
  if (m->dropout == 0)
    EXPECT_DOUBLE_EQ(out.loss, check.loss); // training == inference without dropout
  // A direction of +-1 over every parameter (table rows included).
  const double eps = 1.0 / 65536; // 2^-16: theta +- eps, eps/2 stay exact in float
  double predicted = 0;
  std::map<std::string, std::vector<int>> direction;
  for (const std::string &name : params.names()) {
    std::vector<int> &d = direction[name];
    for (size_t i = 0; i < params.get(name).data.size(); ++i)
      d.push_back(r() % 2 ? 1 : -1);
  }
  for (auto &[name, grad] : g.dense)
    for (size_t i = 0; i < grad.size(); ++i)
      predicted += grad[i] * direction[name][i];
  for (auto &[table, rows] : g.rows) {
    int64_t dim = params.get("tables." + table + ".weight").shape[1];
    for (auto &[row, grad] : rows)
      for (int64_t k = 0; k < dim; ++k)
        predicted += grad[k] * direction["tables." + table + ".weight"][row * dim + k];
  }
  auto lossAt = [&](double step) {
    ParamStore q = params;
    for (const std::string &name : q.names())
      for (size_t i = 0; i < q.get(name).data.size(); ++i)
        q.get(name).data[i] += static_cast<float>(step * direction[name][i]);
    Gradients unused;
    return forwardBackward(*m, q, batch, train, unused).loss;
  };
  // Central differences at eps and eps/2, Richardson-extrapolated: the
  // truncation error falls from O(eps^2) to O(eps^4) (deep models curve).
  auto central = [&](double e) { return (lossAt(e) - lossAt(-e)) / (2 * e); };
  auto derivative = [&] { return (4 * central(eps / 2) - central(eps)) / 3; };
  double fd = derivative();
  EXPECT_NEAR(predicted, fd, 1e-6 * std::max(1.0, std::fabs(fd))) << yaml;
  if (std::fabs(predicted - fd) <= 1e-6 * std::max(1.0, std::fabs(fd)))
    return;
  // Name the parameters whose gradient is off: one at a time.
  for (const std::string &only : params.names()) {
    auto saved = direction;
    for (auto &[name, d] : direction)
      if (name != only)
        std::fill(d.begin(), d.end(), 0);
    double part = 0;
    if (g.dense.count(only))
      for (size_t i = 0; i < g.dense[only].size(); ++i)
        part += g.dense[only][i] * direction[only][i];
    llvm::StringRef n(only);
    if (n.consume_front("tables.") && n.consume_back(".weight"))
      for (auto &[row, grad] : g.rows[n.str()])
        for (size_t k = 0; k < grad.size(); ++k)
          part += grad[k] * direction[only][row * grad.size() + k];
    double partFd = derivative();
    if (std::fabs(part - partFd) > 1e-6 * std::max(1.0, std::fabs(partFd)))
      ADD_FAILURE() << only << ": backward " << part << ", finite differences " << partFd;
    direction = saved;
  }
}
INSTANTIATE_TEST_SUITE_P(Random, ModelGradients, ::testing::Range(0, 40));
} // namespace
