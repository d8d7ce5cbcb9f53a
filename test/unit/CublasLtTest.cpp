//===- CublasLtTest.cpp - the GEMM library's row-major contract -----------===//
//
// Generated code's products with --gemm=cublaslt are row-major GEMMs
// (abi/GpuLaunch.h gpu_gemm); the CUDA device runs them through cuBLASLt,
// which is column-major (runtime/cuda/CublasLt.cpp maps one onto the
// other), the emulator through hostGemm. Both are checked here against a
// float64 product for every transpose and padded row strides; cuBLASLt is
// the stand-in of test/tools/fake-cuda, which computes on host memory with
// cuBLASLt's conventions.
//
//===----------------------------------------------------------------------===//
#include "runtime/cuda/CublasLt.h"

#include <gtest/gtest.h>

#include <dlfcn.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <vector>

using namespace mtgr;

namespace {
struct Operands {
  std::vector<float> a, b, c;
  GpuGemmCall call;
};

Operands operands(bool transA, bool transB, int64_t m, int64_t n, int64_t k, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  Operands o;
  GpuGemmCall &c = o.call;
  c.transA = transA;
  c.transB = transB;
  c.m = m;
  c.n = n;
  c.k = k;
  c.lda = (transA ? m : k) + 3; // padded rows
  c.ldb = (transB ? k : n) + 1;
  c.ldc = n + 2;
  o.a.resize((transA ? k : m) * c.lda);
  o.b.resize((transB ? n : k) * c.ldb);
  o.c.assign(m * c.ldc, NAN);
  for (float &x : o.a)
    x = u(rng);
  for (float &x : o.b)
    x = u(rng);
  c.a = reinterpret_cast<uint64_t>(o.a.data());
  c.b = reinterpret_cast<uint64_t>(o.b.data());
  c.c = reinterpret_cast<uint64_t>(o.c.data());
  return o;
}

/// The largest |C - A B| over C's elements, A B in float64.
double largestError(const Operands &o) {
  const GpuGemmCall &c = o.call;
  double worst = 0;
  for (int64_t i = 0; i < c.m; ++i)
    for (int64_t j = 0; j < c.n; ++j) {
      double sum = 0;
      for (int64_t p = 0; p < c.k; ++p)
        sum += double(c.transA ? o.a[p * c.lda + i] : o.a[i * c.lda + p]) *
               double(c.transB ? o.b[j * c.ldb + p] : o.b[p * c.ldb + j]);
      worst = std::max(worst, std::abs(double(o.c[i * c.ldc + j]) - sum));
    }
  return worst;
}

TEST(GpuGemm, HostGemmIsTheProductForEveryTranspose) {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Operands o = operands(ta, tb, 7, 5, 9, 1 + 2 * ta + tb);
      ASSERT_FALSE(static_cast<bool>(checkGemmCall(o.call)));
      hostGemm(o.call);
      EXPECT_LT(largestError(o), 1e-5) << "transA " << ta << " transB " << tb;
    }
  // k = 0: zeros.
  Operands empty = operands(false, false, 3, 4, 0, 9);
  hostGemm(empty.call);
  EXPECT_EQ(largestError(empty), 0.0);
}

TEST(GpuGemm, CublasLtMapsRowMajorOntoColumnMajor) {
  ::setenv("MTGR_LIBCUBLASLT", MTGR_FAKE_CUBLASLT, 1);
  auto lt = CublasLt::load();
  ASSERT_TRUE(static_cast<bool>(lt)) << llvm::toString(lt.takeError());
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Operands o = operands(ta, tb, 6, 11, 4, 20 + 2 * ta + tb);
      ASSERT_FALSE(static_cast<bool>((*lt)->gemm(o.call, nullptr, 0, 0)));
      EXPECT_LT(largestError(o), 1e-5) << "transA " << ta << " transB " << tb;
    }
  ::unsetenv("MTGR_LIBCUBLASLT");
}

TEST(GpuGemm, CublasLtPlansEachShapeOnce) {
  // Descriptors and the heuristic's algorithm are made on a shape's first
  // call and reused after: three calls of one shape and one of another
  // make two plans, and every matmul gets the algorithm (the stand-in
  // refuses any but its own). Without one from the heuristic, cuBLASLt
  // chooses per call.
  ::setenv("MTGR_LIBCUBLASLT", MTGR_FAKE_CUBLASLT, 1);
  void *fake = dlopen(MTGR_FAKE_CUBLASLT, RTLD_NOW);
  ASSERT_TRUE(fake);
  auto counts = reinterpret_cast<void (*)(long *, long *, long *)>(
      dlsym(fake, "fake_cublaslt_counts"));
  ASSERT_TRUE(counts);
  long descriptors0, heuristics0, withAlgo0, descriptors, heuristics, withAlgo;
  counts(&descriptors0, &heuristics0, &withAlgo0);
  {
    auto lt = CublasLt::load();
    ASSERT_TRUE(static_cast<bool>(lt)) << llvm::toString(lt.takeError());
    for (int call = 0; call < 4; ++call) {
      Operands o = operands(false, true, call < 3 ? 6 : 7, 11, 4, 30 + call);
      ASSERT_FALSE(static_cast<bool>((*lt)->gemm(o.call, nullptr, 0, 1 << 20)));
      EXPECT_LT(largestError(o), 1e-5) << "call " << call;
    }
    counts(&descriptors, &heuristics, &withAlgo);
    EXPECT_EQ(descriptors - descriptors0, 2);
    EXPECT_EQ(heuristics - heuristics0, 2);
    EXPECT_EQ(withAlgo - withAlgo0, 4);
    EXPECT_EQ((*lt)->plansMade(), 2u);
    EXPECT_EQ((*lt)->plansWithAlgorithm(), 2u);
  }
  ::setenv("FAKE_CUBLASLT_NO_ALGO", "1", 1);
  {
    auto lt = CublasLt::load();
    ASSERT_TRUE(static_cast<bool>(lt));
    Operands o = operands(true, false, 5, 3, 8, 40);
    ASSERT_FALSE(static_cast<bool>((*lt)->gemm(o.call, nullptr, 0, 1 << 20)));
    EXPECT_LT(largestError(o), 1e-5);
    EXPECT_EQ((*lt)->plansMade(), 1u);
    EXPECT_EQ((*lt)->plansWithAlgorithm(), 0u);
  }
  ::unsetenv("FAKE_CUBLASLT_NO_ALGO");
  ::unsetenv("MTGR_LIBCUBLASLT");
  dlclose(fake);
}

TEST(GpuGemm, MalformedCallsAreNamed) {
  Operands o = operands(false, true, 4, 4, 4, 3);
  o.call.ldb = 2; // shorter than a row of B^T (k = 4)
  llvm::Error e = checkGemmCall(o.call);
  ASSERT_TRUE(static_cast<bool>(e));
  EXPECT_EQ(llvm::toString(std::move(e)),
            "a GEMM of 4 x 4 x 4: a row stride shorter than its row (lda 7, ldb 2, ldc 6)");
  o = operands(false, false, 4, 4, 4, 3);
  o.call.m = -1;
  EXPECT_TRUE(static_cast<bool>(llvm::errorToBool(checkGemmCall(o.call))));
  ::setenv("MTGR_LIBCUBLASLT", "/no/such/libcublasLt.so.13", 1);
  auto missing = CublasLt::load();
  ::unsetenv("MTGR_LIBCUBLASLT");
  ASSERT_FALSE(static_cast<bool>(missing));
  EXPECT_NE(llvm::toString(missing.takeError()).find("cuBLASLt (/no/such/libcublasLt.so.13) could not be opened"),
            std::string::npos);
}
} // namespace
