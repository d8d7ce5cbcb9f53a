//===- RuntimeTest.cpp - batch checks, artifacts, parameters --------------===//
#include "TestModels.h"
#include "codegen/Compiler.h"
#include "frontend/Synthetic.h"
#include "runtime/HostMemory.h"
#include "runtime/Artifact.h"
#include "runtime/Session.h"

#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

using namespace mlir::mtgr;

namespace {
Batch goodBatch(const ModelDesc &m) {
  SyntheticOptions o;
  o.users = 3, o.minRealtime = 2, o.minSequence = 2, o.minCandidates = 2;
  return generateSynthetic(m, o);
}

std::string problem(const ModelDesc &m, const Batch &b) {
  llvm::Error e = validateBatch(m, b);
  return e ? llvm::toString(std::move(e)) : "";
}

TEST(Batch, ValidSyntheticBatch) {
  ModelDesc m = test::loadExample("tiny.yaml");
  EXPECT_EQ(problem(m, goodBatch(m)), "");
}

TEST(Batch, NonMonotoneOffsets) {
  ModelDesc m = test::loadExample("tiny.yaml");
  Batch b = goodBatch(m);
  std::swap(b.sequenceOffsets[1], b.sequenceOffsets[2]);
  EXPECT_NE(problem(m, b).find("sequence offsets: not monotone at sample"), std::string::npos)
      << problem(m, b);
  b = goodBatch(m);
  b.candidateOffsets[0] = 1;
  EXPECT_NE(problem(m, b).find("candidate offsets: must start at 0"), std::string::npos);
}

TEST(Batch, IdOutOfRangeForFixedTable) {
  ModelDesc m = test::loadExample("tiny.yaml");
  Batch b = goodBatch(m);
  int64_t row = b.sequenceOffsets[1]; // first event of sample 1
  b.sequence[0].ids[row] = 100;        // table item has 100 rows
  EXPECT_NE(problem(m, b).find("sequence.item_id, sample 1, row " + std::to_string(row) +
                               ": id 100 is out of range for fixed table 'item' [0, 100)"),
            std::string::npos)
      << problem(m, b);
  b = goodBatch(m);
  b.candidate[0].ids[0] = -1;
  EXPECT_NE(problem(m, b).find("candidate.item_id, sample 0, row 0: id -1 is out of range"),
            std::string::npos);
  // Hashed tables take any id.
  b = goodBatch(m);
  b.user[0].ids[0] = -123456789;
  EXPECT_EQ(problem(m, b), "");
}

TEST(Batch, NonFiniteDenseValues) {
  ModelDesc m = test::loadExample("tiny.yaml");
  Batch b = goodBatch(m);
  b.candidate[1].values[5] = NAN; // clicks_7d, width 2: row 2, value 1
  EXPECT_NE(problem(m, b).find("candidate.clicks_7d, sample"), std::string::npos) << problem(m, b);
  EXPECT_NE(problem(m, b).find("row 2: value 1 is not finite (nan)"), std::string::npos)
      << problem(m, b);
  b = goodBatch(m);
  b.user[1].values[2] = INFINITY;
  EXPECT_NE(problem(m, b).find("user.age, sample 2: value 0 is not finite (INF)"),
            std::string::npos)
      << problem(m, b);
}

TEST(Batch, LengthsThatDoNotMatch) {
  ModelDesc m = test::loadExample("tiny.yaml");
  Batch b = goodBatch(m);
  b.realtimeTimes.pop_back();
  EXPECT_NE(problem(m, b).find("realtime.time: expected"), std::string::npos);
  b = goodBatch(m);
  b.candidate[2].ids.push_back(1);
  EXPECT_NE(problem(m, b).find("candidate.affinity: expected"), std::string::npos);
  b = goodBatch(m);
  b.user[1].values.push_back(0.5f);
  EXPECT_NE(problem(m, b).find("user.age: expected 3 values (3 rows x 1), got 4"),
            std::string::npos)
      << problem(m, b);
  b = goodBatch(m);
  b.sequenceOffsets.push_back(b.sequenceOffsets.back());
  EXPECT_NE(problem(m, b).find("sequence offsets: expected 4 entries (samples + 1), got 5"),
            std::string::npos);
}

TEST(Batch, SequenceEventAfterACandidate) {
  ModelDesc m = test::loadExample("tiny.yaml");
  Batch b = goodBatch(m);
  int64_t last = b.sequenceOffsets[2] - 1; // sample 1's last S event
  b.sequenceTimes[last] = b.candidateTimes[b.candidateOffsets[1]] + 1;
  EXPECT_NE(problem(m, b).find("sample 1: sequence event at time"), std::string::npos)
      << problem(m, b);
  EXPECT_NE(problem(m, b).find("S must precede every candidate"), std::string::npos);
}

TEST(Batch, UnsortedEvents) {
  ModelDesc m = test::loadExample("tiny.yaml");
  Batch b = goodBatch(m);
  int64_t r = b.realtimeOffsets[0];
  b.realtimeTimes[r] = b.realtimeTimes[r + 1] + 5;
  EXPECT_NE(problem(m, b).find("realtime.time: sample 0, row " + std::to_string(r + 1) +
                               ": events must be sorted by time"),
            std::string::npos)
      << problem(m, b);
}

TEST(Batch, Intervals) {
  ModelDesc m = test::loadExample("tiny.yaml");
  m.mask = "intervals";
  Batch b = goodBatch(m);
  b.intervals = dynamicMaskIntervals(m, b);
  EXPECT_EQ(problem(m, b), "");
  b.intervals[7] = 10000;
  EXPECT_NE(problem(m, b).find("mask.intervals: sample 0, token 1, interval 0"),
            std::string::npos)
      << problem(m, b);
  b.intervals.pop_back();
  EXPECT_NE(problem(m, b).find("mask.intervals: expected"), std::string::npos);
}

TEST(Batch, SessionRejectsBadBatches) {
  auto buffer = llvm::MemoryBuffer::getFile(test::examplePath("tiny.yaml"));
  auto artifact = compileArtifact((*buffer)->getBuffer(), "tiny.yaml", /*trainStep=*/false);
  ASSERT_TRUE(static_cast<bool>(artifact)) << llvm::toString(artifact.takeError());
  auto session = CpuSession::create(std::move(*artifact), 1);
  ASSERT_TRUE(static_cast<bool>(session));
  Batch b = goodBatch((*session)->model());
  b.candidate[0].ids[1] = 5000;
  auto result = (*session)->forward(b);
  ASSERT_FALSE(static_cast<bool>(result));
  EXPECT_NE(llvm::toString(result.takeError()).find("out of range for fixed table 'item'"),
            std::string::npos);
}

//===----------------------------------------------------------------------===//
// Artifacts
//===----------------------------------------------------------------------===//

class ArtifactFile : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    auto buffer = llvm::MemoryBuffer::getFile(test::examplePath("tiny.yaml"));
    auto a = compileArtifact((*buffer)->getBuffer(), "tiny.yaml", /*trainStep=*/false);
    ASSERT_TRUE(static_cast<bool>(a)) << llvm::toString(a.takeError());
    bytes = new std::string(a->serialize());
  }
  static void TearDownTestSuite() { delete bytes; }
  static std::string *bytes;

  std::string error(const std::string &b) {
    auto a = Artifact::parse(b, "x.mtgr");
    return a ? "" : llvm::toString(a.takeError());
  }
};
std::string *ArtifactFile::bytes = nullptr;

TEST_F(ArtifactFile, RoundTrip) {
  auto a = Artifact::parse(*bytes, "x.mtgr");
  ASSERT_TRUE(static_cast<bool>(a)) << llvm::toString(a.takeError());
  EXPECT_EQ(a->model.name, "tiny");
  ASSERT_TRUE(a->entry("forward"));
  EXPECT_EQ(a->entry("forward")->symbol, "mtgr_forward_packed");
  EXPECT_EQ(a->compilerVersion, compilerVersion());
  EXPECT_EQ(a->serialize(), *bytes);
}

TEST_F(ArtifactFile, EveryTruncationIsReported) {
  for (size_t n : {size_t(0), size_t(5), size_t(12), size_t(40), size_t(100), bytes->size() / 2,
                   bytes->size() - 1}) {
    std::string e = error(bytes->substr(0, n));
    EXPECT_NE(e.find("truncated"), std::string::npos) << n << ": " << e;
  }
}

TEST_F(ArtifactFile, CorruptionIsReportedBySection) {
  std::string b = *bytes;
  b[b.size() - 10] ^= 0x40; // inside host.so
  EXPECT_NE(error(b).find("section 'host.so': checksum mismatch (corrupted)"), std::string::npos)
      << error(b);
  b = *bytes;
  b[20] ^= 1; // the section table
  EXPECT_NE(error(b).find("corrupted: header checksum mismatch"), std::string::npos) << error(b);
}

TEST_F(ArtifactFile, WrongVersion) {
  std::string b = *bytes;
  b[8] = 9;
  EXPECT_NE(error(b).find("format version 9, this runtime reads version 2"), std::string::npos)
      << error(b);
}

TEST_F(ArtifactFile, WrongTarget) {
  EXPECT_EQ(checkHostTarget(HostTarget::native().str()), "");
  EXPECT_NE(checkHostTarget("aarch64-unknown-linux-gnu;neoverse-v2;+neon").find("built for "
                                                                                "aarch64"),
            std::string::npos);
  EXPECT_NE(checkHostTarget("x86_64-pc-linux-gnu;future;+avx512f,+amx-tile,+notafeature")
                .find("which this CPU lacks"),
            std::string::npos);
  // A whole artifact for another target: rewrite the manifest and re-seal.
  auto a = Artifact::parse(*bytes, "x.mtgr");
  ASSERT_TRUE(static_cast<bool>(a));
  a->target = "aarch64-unknown-linux-gnu;neoverse-v2;+neon";
  EXPECT_NE(error(a->serialize()).find("wrong target: built for aarch64"), std::string::npos)
      << error(a->serialize());
}

TEST(Params, InitialisationIsSeededAndPerParameter) {
  ModelDesc m = test::loadExample("tiny.yaml");
  std::vector<ParamSpec> specs = collectParameters(m);
  ParamStore a = ParamStore::initialize(specs, 1), b = ParamStore::initialize(specs, 1),
             c = ParamStore::initialize(specs, 2);
  EXPECT_EQ(a.get("layers.0.uvqk.weight").data, b.get("layers.0.uvqk.weight").data);
  EXPECT_NE(a.get("layers.0.uvqk.weight").data, c.get("layers.0.uvqk.weight").data);
  // Xavier-uniform bound sqrt(6 / (in + out)) for [64, 16].
  double bound = std::sqrt(6.0 / 80), maxAbs = 0;
  for (float x : a.get("layers.0.uvqk.weight").data)
    maxAbs = std::max(maxAbs, std::fabs(static_cast<double>(x)));
  EXPECT_LE(maxAbs, bound);
  EXPECT_GT(maxAbs, 0.8 * bound);
  for (float x : a.get("layers.0.gln1.gamma").data)
    EXPECT_EQ(x, 1.0f);
  for (float x : a.get("layers.0.uvqk.bias").data)
    EXPECT_EQ(x, 0.0f);
  double sum2 = 0;
  const auto &table = a.get("tables.item.weight").data;
  for (float x : table)
    sum2 += x * x;
  EXPECT_NEAR(std::sqrt(sum2 / table.size()), 0.01, 0.002); // N(0, 0.01^2)
}
} // namespace

// The generated code's buffers: freed blocks are reused, aligned, and can be
// returned to the system.
TEST(HostMemory, PoolReusesFreedBlocks) {
  mlir::mtgr::releasePooledHostMemory();
  void *a = _mlir_memref_to_llvm_alloc(1 << 20);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
  static_cast<char *>(a)[(1 << 20) - 1] = 1; // usable to the last byte
  _mlir_memref_to_llvm_free(a);
  EXPECT_GE(mlir::mtgr::pooledHostBytes(), 1 << 20);
  void *b = _mlir_memref_to_llvm_alloc((1 << 20) - 100); // fits the freed block
  EXPECT_EQ(a, b);
  EXPECT_EQ(mlir::mtgr::pooledHostBytes(), 0);
  void *small = _mlir_memref_to_llvm_alloc(100); // a 1 MB block would waste too much
  _mlir_memref_to_llvm_free(b);
  void *c = _mlir_memref_to_llvm_alloc(100);
  EXPECT_NE(c, b);
  EXPECT_EQ(_mlir_memref_to_llvm_aligned_alloc(128, 64), nullptr); // more than 64 is not served
  _mlir_memref_to_llvm_free(small);
  _mlir_memref_to_llvm_free(c);
  _mlir_memref_to_llvm_free(nullptr);
  mlir::mtgr::releasePooledHostMemory();
  EXPECT_EQ(mlir::mtgr::pooledHostBytes(), 0);
}
