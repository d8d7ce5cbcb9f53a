//===- RuntimeOnlyTest.cpp - runtime and app pieces without the compiler -===//
//
// Part of MTGRRuntimeTests, the test binary that links the runtime, data and
// app libraries and the float64 reference but no MLIR: what a runtime-only
// build (a server, a Python module) can test by itself.
//
//===----------------------------------------------------------------------===//
#include "TestModels.h"
#include "app/Scoring.h"
#include "app/SessionConfig.h"
#include "runtime/HostMemory.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace mlir::mtgr;

TEST(HostMemory, FailedAllocationEndsWithAMessage) {
  HostPool pool;
  EXPECT_EXIT(pool.allocate(0, uint64_t(1) << 63), ::testing::ExitedWithCode(3),
              "mtgr: out of memory: the generated code asked for 9223372036854775808 bytes");
  EXPECT_EXIT(pool.allocate(128, 64), ::testing::ExitedWithCode(3), "out of memory");
}

// The pool gives back blocks above what the last call used (it never shrank
// at 9a78b6d), largest first.
TEST(HostMemory, TrimReturnsTheLargestBlocks) {
  HostPool pool;
  void *big = pool.allocate(0, 64 << 20), *small = pool.allocate(0, 1 << 20);
  pool.free(big);
  pool.free(small);
  EXPECT_GE(pool.pooledBytes(), (64 << 20) + (1 << 20));
  pool.trim(8 << 20);
  EXPECT_GE(pool.pooledBytes(), 1 << 20);
  EXPECT_LE(pool.pooledBytes(), 8 << 20);
}

TEST(HostMemory, PoolReusesFreedBlocks) {
  HostPool pool;
  void *a = pool.allocate(0, 1 << 20);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
  static_cast<char *>(a)[(1 << 20) - 1] = 1; // usable to the last byte
  pool.free(a);
  EXPECT_GE(pool.pooledBytes(), 1 << 20);
  void *b = pool.allocate(64, (1 << 20) - 100); // fits the freed block
  EXPECT_EQ(a, b);
  EXPECT_EQ(pool.pooledBytes(), 0);
  void *small = pool.allocate(0, 100); // a 1 MB block would waste too much
  pool.free(b);
  void *c = pool.allocate(0, 100);
  EXPECT_NE(c, b);
  pool.free(small);
  pool.free(c);
  pool.free(nullptr);
  pool.releaseAll();
  EXPECT_EQ(pool.pooledBytes(), 0);
}

// Two sessions' pools are their own: one session's trim never frees the
// other's blocks, and its high-water mark counts only its own.
TEST(HostMemory, PoolsAreIndependent) {
  HostPool first, second;
  void *a = first.allocate(0, 4 << 20);
  first.free(a);
  void *b = second.allocate(0, 1 << 20);
  EXPECT_GE(first.pooledBytes(), 4 << 20);
  second.trim(0);
  EXPECT_GE(first.pooledBytes(), 4 << 20);
  EXPECT_LT(second.highWater(), 4 << 20);
  second.free(b);
}

TEST(Scoring, ProbabilitiesAndTheScoresFormat) {
  EXPECT_DOUBLE_EQ(probability(0), 0.5);
  EXPECT_NEAR(probability(2), 1 / (1 + std::exp(-2.0)), 1e-15);
  ModelDesc m = test::loadExample("tiny.yaml");
  Batch b;
  b.numSamples = 2;
  b.userIds = {7, 9};
  b.candidateOffsets = {0, 1, 3};
  b.candidateIds = {70, 90, 91};
  ForwardResult r;
  r.logits.assign(m.tasks.size(), {0.0f, 2.0f, -2.0f});
  std::string text;
  llvm::raw_string_ostream os(text);
  writeScores(os, m, b, r, /*show=*/2);
  std::string header = "# user candidate";
  for (const TaskDesc &t : m.tasks)
    header += " " + t.name;
  std::string row0 = "7 70", row1 = "9 90";
  for (size_t t = 0; t < m.tasks.size(); ++t)
    row0 += " 0.500000", row1 += " 0.880797";
  EXPECT_EQ(text, header + "\n" + row0 + "\n" + row1 + "\n");
}

TEST(SessionConfig, ByteSizes) {
  EXPECT_EQ(parseByteSize("123"), 123u);
  EXPECT_EQ(parseByteSize("64K"), 64u << 10);
  EXPECT_EQ(parseByteSize("512m"), 512ull << 20);
  EXPECT_EQ(parseByteSize("8G"), 8ull << 30);
  EXPECT_FALSE(parseByteSize("0"));
  EXPECT_FALSE(parseByteSize("12Q"));
  EXPECT_FALSE(parseByteSize(""));
  EXPECT_FALSE(parseByteSize("99999999999999999T"));
}
