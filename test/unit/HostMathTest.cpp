//===- HostMathTest.cpp - the CPU's f32 exp against libm ------------------===//
//
// mtgr-cpu-math-approximations' e^x (codegen/cpu/HostCodegen.cpp, FastExp):
// every SiLU, sigmoid and softplus of the CPU's code runs on it, so its
// error is held here, on vectors and scalars, over the whole range it is
// accurate on and at the edges it clamps.
//
//===----------------------------------------------------------------------===//
#include "BoundKernels.h"

#include <cmath>
#include <limits>
#include <random>

using namespace mtgr;

namespace {
// y[i] = e^x[i] on vectors of 8 lanes, s[i] = e^x[i] one element at a time.
const char *kExp = R"(
func.func @mtgr_forward(%x: memref<?xf32>, %y: memref<?xf32>, %s: memref<?xf32>)
    attributes {mtgr.abi = []} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %n = memref.dim %x, %c0 : memref<?xf32>
  scf.for %i = %c0 to %n step %c8 {
    %v = vector.load %x[%i] : memref<?xf32>, vector<8xf32>
    %e = math.exp %v : vector<8xf32>
    vector.store %e, %y[%i] : memref<?xf32>, vector<8xf32>
  }
  scf.for %i = %c0 to %n step %c1 {
    %v = memref.load %x[%i] : memref<?xf32>
    %e = math.exp %v : f32
    memref.store %e, %s[%i] : memref<?xf32>
  }
  return
}
)";

/// e^x of `x` (a multiple of 8 long) by the compiled code: vectors, scalars.
std::pair<std::vector<float>, std::vector<float>> compiledExp(const std::vector<float> &x) {
  static Artifact artifact = test::compileBound(kExp, "cpu", 3);
  int64_t n = static_cast<int64_t>(x.size());
  test::Buffers buffers;
  buffers.add(x, {n});
  buffers.add(std::vector<float>(n, -1.f), {n});
  buffers.add(std::vector<float>(n, -1.f), {n});
  auto cpu = createDevice("cpu");
  EXPECT_TRUE(static_cast<bool>(cpu));
  test::run(**cpu, artifact, buffers);
  return {buffers.get<float>(1), buffers.get<float>(2)};
}

TEST(HostMath, ExpIsWithin2e7OfLibmOverItsRange) {
  // A grid over [-86, 88] (steps of about 2^-12, every binade of |x|) and
  // random points in it.
  std::vector<float> x;
  for (double v = -86.0; v < 88.0; v += 1.0 / 4096)
    x.push_back(static_cast<float>(v));
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> any(-86.f, 88.f);
  for (int i = 0; i < 100000; ++i)
    x.push_back(any(rng));
  for (float tiny : {0.f, -0.f, 1e-30f, -1e-30f, 1e-7f, -1e-7f, 0.5f, -0.5f})
    x.push_back(tiny);
  while (x.size() % 8)
    x.push_back(1.f);
  auto [vectors, scalars] = compiledExp(x);
  double worst = 0;
  float worstAt = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    double want = std::exp(static_cast<double>(x[i]));
    double error = std::fabs(vectors[i] - want) / want;
    if (error > worst)
      worst = error, worstAt = x[i];
    ASSERT_EQ(vectors[i], scalars[i]) << "x = " << x[i] << ": vector and scalar code differ";
  }
  // Measured 1.63e-7 (2.7 ulp) at x = -48.228 (znver3, 2026-12-07).
  EXPECT_LE(worst, 2e-7) << "worst at x = " << worstAt;
  EXPECT_EQ(compiledExp({0, 0, 0, 0, 0, 0, 0, 0}).first[0], 1.f) << "e^0 is 1 exactly";
}

TEST(HostMath, ExpClampsOutsideItsRangeAndKeepsNan) {
  float inf = std::numeric_limits<float>::infinity();
  float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> x{-inf, -1e30f, -200.f, -87.f, 88.5f, 200.f, inf, nan};
  auto [vectors, scalars] = compiledExp(x);
  for (size_t i = 0; i < x.size(); ++i) {
    SCOPED_TRACE("x = " + std::to_string(x[i]));
    float y = vectors[i];
    if (std::isnan(x[i])) {
      EXPECT_TRUE(std::isnan(y) && std::isnan(scalars[i]));
      continue;
    }
    EXPECT_EQ(y, scalars[i]);
    if (x[i] < 0) {
      // e^-86.6: tiny, normal, never negative.
      EXPECT_GE(y, std::numeric_limits<float>::min());
      EXPECT_LE(y, 2.5e-38f);
    } else {
      // e^88: finite, so 1 / (1 + e^-x) stays a number for any x.
      EXPECT_GE(y, 1.6e38f);
      EXPECT_TRUE(std::isfinite(y));
    }
  }
}
} // namespace
