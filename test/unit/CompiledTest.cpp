//===- CompiledTest.cpp - compiled fp32 code vs the float64 reference -----===//
//
// Every compiled path is checked against runtime/reference on random models
// and batches, edge cases included, with the error of DESIGN 1.9:
// max |c - r| / max(1, |r|) <= 1e-4 over logits and every token's final
// hidden state. Then the facts of DESIGN 1.6, on compiled code.
//
//===----------------------------------------------------------------------===//
#include "CopyingDevice.h"
#include "CudaOptions.h"
#include "TestModels.h"
#include "codegen/cpu/CpuBackend.h"
#include "compiler/Compiler.h"
#include "data/Synthetic.h"
#include "runtime/Grouping.h"
#include "runtime/HostMemory.h"
#include "runtime/PrefixCache.h"
#include "runtime/Session.h"
#include "runtime/emu/EmulatorDevice.h"
#include "runtime/reference/Reference.h"

#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <thread>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace mlir::mtgr;

namespace {
std::unique_ptr<Session> compile(const std::string &yaml, unsigned threads) {
  auto artifact = compileArtifact(yaml, "test.yaml", /*trainStep=*/false);
  if (!artifact) {
    ADD_FAILURE() << llvm::toString(artifact.takeError()) << "\n" << yaml;
    return nullptr;
  }
  auto session = Session::create(std::move(*artifact), threads);
  if (!session) {
    ADD_FAILURE() << llvm::toString(session.takeError());
    return nullptr;
  }
  return std::move(*session);
}

/// `request`'s R and C tokens with the U and S of `users` (as many samples):
/// another request of the same users.
Batch withUsersOf(const Batch &users, Batch request) {
  request.user = users.user, request.userIds = users.userIds;
  request.sequence = users.sequence, request.sequenceOffsets = users.sequenceOffsets;
  request.sequenceTimes = users.sequenceTimes;
  return request;
}

double maxError(const ModelDesc &m, const ForwardResult &c, const reference::Output &r) {
  auto err = [](double a, double b) { return std::fabs(a - b) / std::max(1.0, std::fabs(b)); };
  double worst = 0;
  for (size_t t = 0; t < m.tasks.size(); ++t) {
    EXPECT_EQ(c.logits[t].size(), r.logits[t].size());
    for (size_t k = 0; k < r.logits[t].size() && k < c.logits[t].size(); ++k)
      worst = std::max(worst, err(c.logits[t][k], r.logits[t][k]));
  }
  EXPECT_EQ(c.hidden.size(), r.hidden.size());
  for (size_t k = 0; k < r.hidden.size() && k < c.hidden.size(); ++k)
    worst = std::max(worst, err(c.hidden[k], r.hidden[k]));
  return worst;
}

enum class Edge { Plain, OneUser, EmptyS, EmptyR, K1, K0, MixedK, TiedR, RAfterCandidates, Long };
const char *edgeName(Edge e) {
  const char *names[] = {"plain", "one user", "empty S", "empty R", "K = 1", "K = 0",
                         "K in [0, 3]", "tied R times", "R after every candidate", "2000+ tokens"};
  return names[static_cast<int>(e)];
}

Batch makeBatch(const ModelDesc &m, Edge edge, uint64_t seed) {
  SyntheticOptions o;
  o.users = 4;
  o.maxSequence = 24;
  o.maxRealtime = 8;
  o.maxCandidates = 5;
  o.seed = seed;
  switch (edge) {
  case Edge::OneUser: o.users = 1; break;
  case Edge::EmptyS: o.maxSequence = 0; break;
  case Edge::EmptyR: o.maxRealtime = 0; break;
  case Edge::K1: o.minCandidates = o.maxCandidates = 1; break;
  case Edge::K0: o.minCandidates = o.maxCandidates = 0; break;
  case Edge::MixedK: o.minCandidates = 0, o.maxCandidates = 3, o.users = 6; break;
  case Edge::Long: o.users = 1, o.minSequence = o.maxSequence = 2000, o.maxRealtime = 30; break;
  default: break;
  }
  Batch b = generateSynthetic(m, o);
  for (int64_t s = 0; s < b.numSamples; ++s) {
    int64_t r0 = b.realtimeOffsets[s], r1 = b.realtimeOffsets[s + 1];
    int64_t c0 = b.candidateOffsets[s], c1 = b.candidateOffsets[s + 1];
    if (edge == Edge::TiedR && c1 > c0) {
      // Every R event and one candidate at the same second: <= and < differ.
      for (int64_t r = r0; r < r1; ++r)
        b.realtimeTimes[r] = b.candidateTimes[c0];
      if (c1 - c0 > 1)
        b.candidateTimes[c0 + 1] = b.candidateTimes[c0] + 1;
    }
    if (edge == Edge::RAfterCandidates) {
      int64_t latest = 0;
      for (int64_t c = c0; c < c1; ++c)
        latest = std::max(latest, b.candidateTimes[c]);
      for (int64_t r = r0; r < r1; ++r)
        b.realtimeTimes[r] = latest + 60 * (r - r0 + 1);
    }
  }
  if (m.layers > 0 && m.mask == ModelDesc::Mask::Intervals)
    b.intervals = dynamicMaskIntervals(m, b);
  return b;
}

class CompiledVsReference : public ::testing::TestWithParam<int> {};

// 50 random configurations: layers, sizes, dqk != dv, every mask kind,
// n_norm modes, norm orders, rab, dropout (identity at inference), DLRM-style
// context, R's own MLP; 1 and 2 threads.
TEST_P(CompiledVsReference, RandomModel) {
  int index = GetParam();
  std::mt19937 rng(1000 + index);
  std::string yaml = test::randomModelYaml(rng, /*dynamicTables=*/false);
  auto session = compile(yaml, 1 + index % 2);
  ASSERT_TRUE(session);
  const ModelDesc &m = session->model();
  test::randomizeParams(session->params(), index);
  std::vector<Edge> edges = {Edge::Plain, Edge::OneUser, Edge::EmptyS, Edge::EmptyR,
                             Edge::K1, Edge::K0, Edge::MixedK, Edge::TiedR,
                             Edge::RAfterCandidates};
  if (index % 10 == 0)
    edges.push_back(Edge::Long);
  for (Edge edge : edges) {
    Batch batch = makeBatch(m, edge, index * 31 + static_cast<int>(edge));
    ASSERT_FALSE(validateBatch(m, batch)) << edgeName(edge);
    auto result = session->forward(batch, m.layers > 0);
    ASSERT_TRUE(static_cast<bool>(result)) << llvm::toString(result.takeError());
    reference::Output ref = reference::forward(m, session->params(), batch);
    EXPECT_LE(maxError(m, *result, ref), 1e-4) << edgeName(edge) << "\n" << yaml;
    // Shapes, so that an empty comparison (K = 0) still checks something:
    // one logit vector per task, one logit per candidate (none when K = 0),
    // and the hidden states of every token with HSTU layers.
    ASSERT_EQ(result->logits.size(), m.tasks.size());
    for (const std::vector<float> &l : result->logits)
      EXPECT_EQ(static_cast<int64_t>(l.size()), batch.numCandidates()) << edgeName(edge);
    if (edge == Edge::K0)
      EXPECT_EQ(batch.numCandidates(), 0);
    if (m.layers > 0)
      EXPECT_EQ(static_cast<int64_t>(result->hidden.size()), batch.totalTokens(m) * m.dModel);
  }
}
INSTANTIATE_TEST_SUITE_P(Configs, CompiledVsReference, ::testing::Range(0, 50));

// The CUDA back end's kernels on the GPU emulator (--device=cuda-emu), on
// random models and the same edge cases, under the three schedules in turn:
// every kernel-level op's kernel runs (masks, tile lists, attention, fused
// linear with its norm prologue, tokens, gathers).
class EmulatedGpuVsReference : public ::testing::TestWithParam<int> {};
/// bf16 operands in the products: the largest max|c - r| / max(1, |r|)
/// measured over EmulatedTensorCoreVsReference's models (3.0e-4 .. 1.7e-1, median
/// 1.2e-2 on 2026-12-04), with half again as margin (docs/gpu-backend.md):
/// verify's default for bf16 artifacts.
constexpr double kTensorCoreTolerance = kBf16Tolerance;

TEST_P(EmulatedGpuVsReference, RandomModel) {
  int index = GetParam();
  std::mt19937 rng(1000 + index); // CompiledVsReference's models
  std::string yaml = test::randomModelYaml(rng, /*dynamicTables=*/false);
  // The emulator runs the host object; PTX and cubins are test/tools' (ptxas).
  // Odd configurations take the products through the GEMM library
  // (--gemm=cublaslt: a host GEMM on the emulator).
  auto artifact = compileArtifact(yaml, "test.yaml", /*trainStep=*/false, "cuda",
                                  test::cudaOptions(index % 2 ? "cublaslt" : ""));
  ASSERT_TRUE(static_cast<bool>(artifact)) << llvm::toString(artifact.takeError()) << yaml;
  const emu::Schedule schedules[] = {emu::Schedule::InOrder, emu::Schedule::Reverse,
                                     emu::Schedule::WarpAhead};
  auto session = Session::create(std::move(*artifact), SessionOptions{},
                                 createEmulatorDevice(schedules[index % 3]));
  ASSERT_TRUE(static_cast<bool>(session)) << llvm::toString(session.takeError());
  const ModelDesc &m = (*session)->model();
  test::randomizeParams((*session)->params(), index);
  std::vector<Edge> edges = {Edge::Plain, Edge::OneUser, Edge::EmptyS, Edge::EmptyR,
                             Edge::K1, Edge::K0, Edge::MixedK, Edge::TiedR,
                             Edge::RAfterCandidates};
  if (index == 0)
    edges.push_back(Edge::Long);
  for (Edge edge : edges) {
    Batch batch = makeBatch(m, edge, index * 31 + static_cast<int>(edge));
    auto result = (*session)->forward(batch, m.layers > 0);
    ASSERT_TRUE(static_cast<bool>(result)) << llvm::toString(result.takeError());
    reference::Output ref = reference::forward(m, (*session)->params(), batch);
    EXPECT_LE(maxError(m, *result, ref), 1e-4) << edgeName(edge) << "\n" << yaml;
    ASSERT_EQ(result->logits.size(), m.tasks.size());
    for (const std::vector<float> &l : result->logits)
      EXPECT_EQ(static_cast<int64_t>(l.size()), batch.numCandidates()) << edgeName(edge);
  }
}
INSTANTIATE_TEST_SUITE_P(Configs, EmulatedGpuVsReference, ::testing::Range(0, 12));

/// Random model `index` (CompiledVsReference's) compiled for the CUDA back
/// end with `options`, on the emulator under `schedule`, with randomised
/// parameters: each edge's batch within `tolerance` of the float64
/// reference. Returns the largest error.
/// `yaml` compiled for the CUDA back end with `options`, on the emulator
/// under `schedule`, parameters randomised from `paramSeed`: each edge's
/// batch (seed batchSeed + edge) within `tolerance` of the float64
/// reference. Returns the largest error.
double emulatedYamlError(const std::string &yaml, const mlir::mtgr::BackendOptions &options,
                         emu::Schedule schedule, const std::vector<Edge> &edges, int paramSeed,
                         int batchSeed, double tolerance) {
  auto artifact = compileArtifact(yaml, "test.yaml", /*trainStep=*/false, "cuda", options);
  if (!artifact) {
    ADD_FAILURE() << llvm::toString(artifact.takeError()) << yaml;
    return 0;
  }
  auto session = Session::create(std::move(*artifact), SessionOptions{},
                                 createEmulatorDevice(schedule));
  if (!session) {
    ADD_FAILURE() << llvm::toString(session.takeError());
    return 0;
  }
  const ModelDesc &m = (*session)->model();
  test::randomizeParams((*session)->params(), paramSeed);
  double worst = 0;
  for (Edge edge : edges) {
    Batch batch = makeBatch(m, edge, batchSeed + static_cast<int>(edge));
    auto result = (*session)->forward(batch, m.layers > 0);
    if (!result) {
      ADD_FAILURE() << llvm::toString(result.takeError());
      return worst;
    }
    reference::Output ref = reference::forward(m, (*session)->params(), batch);
    double error = maxError(m, *result, ref);
    worst = std::max(worst, error);
    EXPECT_LE(error, tolerance) << edgeName(edge) << "\n" << yaml;
  }
  return worst;
}

/// Random model `index` (CompiledVsReference's) through emulatedYamlError.
double emulatedLargestError(int index, const mlir::mtgr::BackendOptions &options,
                            emu::Schedule schedule, const std::vector<Edge> &edges,
                            double tolerance) {
  std::mt19937 rng(1000 + index);
  return emulatedYamlError(test::randomModelYaml(rng, /*dynamicTables=*/false), options, schedule,
                           edges, index, index * 31, tolerance);
}

// --gemm=tensor-core on the emulator: the products' operands rounded to
// bf16 (f32 sums), everything else fp32, against float64 with the
// tolerance measured for it (docs/gpu-backend.md). The kernel itself is
// exact on bf16 values (GpuEmulatorTest); here the whole model, edge cases
// included.
class EmulatedTensorCoreVsReference : public ::testing::TestWithParam<int> {};

TEST_P(EmulatedTensorCoreVsReference, RandomModel) {
  int index = GetParam();
  // Every third configuration: the products on sm_90a's wgmma.
  const char *gemm = index % 3 == 2 ? "wgmma" : "tensor-core";
  double worst = emulatedLargestError(
      index, test::cudaOptions(gemm, "tensor-core"), emu::Schedule::InOrder,
      {Edge::Plain, Edge::OneUser, Edge::EmptyS, Edge::K1, Edge::K0, Edge::TiedR},
      kTensorCoreTolerance);
  std::printf("tensor-core config %d (%s): largest error %.3e\n", index, gemm, worst);
}
INSTANTIATE_TEST_SUITE_P(Configs, EmulatedTensorCoreVsReference, ::testing::Range(0, 12));

// --dtype=bf16 and f16 on the emulator: every activation and activation
// gradient stored in 16 bits (rounded to nearest even at each store, widened
// at each load), parameters f32, the entry points' buffers f32; with the
// products on each kind of kernel (SIMT, mma.sync, wgmma) and the
// attention SIMT or fused, under the three schedules in turn, against
// float64 with the bf16 tolerance (docs/gpu-backend.md has the measured
// spread per dtype).
class EmulatedStorageVsReference : public ::testing::TestWithParam<int> {};

TEST_P(EmulatedStorageVsReference, RandomModel) {
  int index = GetParam();
  const char *dtype = index % 4 == 3 ? "f16" : "bf16";
  const char *gemms[] = {"", "tensor-core", "wgmma"};
  const char *gemm = gemms[index % 3];
  const char *attention = index % 2 ? "tensor-core" : "";
  const emu::Schedule schedules[] = {emu::Schedule::InOrder, emu::Schedule::Reverse,
                                     emu::Schedule::WarpAhead};
  mlir::mtgr::BackendOptions options = test::cudaOptions(gemm, attention, dtype);
  double worst = emulatedLargestError(
      index, options, schedules[(index / 3) % 3],
      {Edge::Plain, Edge::OneUser, Edge::EmptyS, Edge::K1, Edge::K0, Edge::TiedR},
      kTensorCoreTolerance);
  std::printf("storage config %d (%s, gemm %s, attention %s): largest error %.3e\n", index, dtype,
              *gemm ? gemm : "generated", *attention ? attention : "generated", worst);
}
INSTANTIATE_TEST_SUITE_P(Configs, EmulatedStorageVsReference, ::testing::Range(0, 12));

/// --attention=tensor-core alone (fp32 products): Q, K, V and P rounded to
/// bf16, f32 sums; the largest error measured over
/// EmulatedTensorCoreAttentionVsReference's models (1.3e-8 .. 5.8e-2 on
/// 2026-12-04; a planted mask bug: 0.21 .. 4.2), with margin
/// (docs/gpu-backend.md). A pair wrongly in or out of the mask moves a
/// row by about 1 / n of its size, far above it.
constexpr double kTensorCoreAttentionTolerance = 0.1;

// The fused tensor-core attention forward on the emulator under the three
// schedules in turn: every mask kind, rab, n_norm mode, dqk != dv and head
// dimensions that are not multiples of 16 come with the random models; the
// edge cases give one-token samples, empty segments, tied timestamps, and
// long sequences (full tiles, many row blocks, jagged tails).
class EmulatedTensorCoreAttentionVsReference : public ::testing::TestWithParam<int> {};

TEST_P(EmulatedTensorCoreAttentionVsReference, RandomModel) {
  int index = GetParam();
  const emu::Schedule schedules[] = {emu::Schedule::InOrder, emu::Schedule::Reverse,
                                     emu::Schedule::WarpAhead};
  std::vector<Edge> edges = {Edge::Plain, Edge::OneUser, Edge::EmptyS, Edge::EmptyR,
                             Edge::K1, Edge::TiedR, Edge::RAfterCandidates};
  if (index % 4 == 0)
    edges.push_back(Edge::Long);
  double worst = emulatedLargestError(index, test::cudaOptions("", "tensor-core"),
                                      schedules[index % 3], edges, kTensorCoreAttentionTolerance);
  std::printf("tensor-core attention config %d: largest error %.3e\n", index, worst);
}
INSTANTIATE_TEST_SUITE_P(Configs, EmulatedTensorCoreAttentionVsReference, ::testing::Range(0, 12));

// The tensor-core attention at head widths the random models never have
// (test::wideHeadYaml): 80 x 136 (two chunks along the head, two output
// chunks of V, the bf16 copies' cp.async staging), 2 x (72 x 24) and 70 x
// 12 (two chunks; 70 is not a multiple of 8: the fp32 staging path), with
// n_norm visible or total and a relative bias, under each schedule.
TEST(EmulatedTensorCoreAttention, WideHeadsMatchTheReference) {
  struct Shape {
    int heads, dqk, dv;
    const char *nNorm;
    emu::Schedule schedule;
  };
  for (Shape s : {Shape{1, 80, 136, "visible", emu::Schedule::InOrder},
                  Shape{2, 72, 24, "total", emu::Schedule::Reverse},
                  Shape{1, 70, 12, "visible", emu::Schedule::WarpAhead}}) {
    std::string yaml = test::wideHeadYaml(s.heads, s.dqk, s.dv, s.nNorm);
    SCOPED_TRACE(yaml);
    double worst = emulatedYamlError(yaml, test::cudaOptions("", "tensor-core"), s.schedule,
                                     {Edge::Plain, Edge::OneUser, Edge::TiedR}, s.dqk, s.dv,
                                     kTensorCoreAttentionTolerance);
    std::printf("tensor-core attention, heads %d x (%d x %d): largest error %.3e\n", s.heads,
                s.dqk, s.dv, worst);
  }
}

// --attention=wgmma (sm_90a): the forward on warpgroup MMA fed by TMA at
// heads that are multiples of 16: 1 x (256 x 256) (MTGR-small's: four boxes
// of 64 columns along Q and K, N = 256 for P V), 2 x (32 x 48), 4 x (16 x
// 64) (one k-step for S), and 2 x (64 x 128) with bf16 storage and wgmma
// products; n_norm visible or total, a relative bias, the schedules in
// turn, jagged tails, and 2000-token samples at 32 x 48 (many tiles: the
// two-stage ring wraps, phases alternate).
TEST(EmulatedWgmmaAttention, HeadsOfMultiplesOf16MatchTheReference) {
  struct Shape {
    int heads, dqk, dv;
    const char *nNorm;
    emu::Schedule schedule;
    const char *gemm, *dtype;
  };
  for (Shape s : {Shape{1, 256, 256, "visible", emu::Schedule::InOrder, "", "fp32"},
                  Shape{2, 32, 48, "total", emu::Schedule::Reverse, "", "fp32"},
                  Shape{4, 16, 64, "visible", emu::Schedule::WarpAhead, "", "fp32"},
                  Shape{2, 64, 128, "total", emu::Schedule::InOrder, "wgmma", "bf16"}}) {
    std::string yaml = test::wideHeadYaml(s.heads, s.dqk, s.dv, s.nNorm);
    SCOPED_TRACE(yaml);
    // 2000-token samples on the narrow heads only (the emulator's time).
    std::vector<Edge> edges = {Edge::Plain, Edge::OneUser, Edge::TiedR};
    if (s.dqk == 32)
      edges.push_back(Edge::Long);
    double worst = emulatedYamlError(yaml, test::cudaOptions(s.gemm, "wgmma", s.dtype), s.schedule,
                                     edges, s.dqk + s.dv, s.dv, kTensorCoreAttentionTolerance);
    std::printf("wgmma attention, heads %d x (%d x %d), %s storage: largest error %.3e\n", s.heads,
                s.dqk, s.dv, s.dtype, worst);
  }
}

TEST(Compiled, BundledTinyAndThreadCountsAgree) {
  auto buffer = llvm::MemoryBuffer::getFile(test::examplePath("tiny.yaml"));
  ASSERT_TRUE(buffer);
  auto one = compile((*buffer)->getBuffer().str(), 1);
  auto two = compile((*buffer)->getBuffer().str(), 2);
  ASSERT_TRUE(one && two);
  Batch batch = makeBatch(one->model(), Edge::MixedK, 3);
  auto a = one->forward(batch, true), b = two->forward(batch, true);
  ASSERT_TRUE(a && b);
  // Row tiles of the generated Linear depend on how many rows a thread gets,
  // so thread counts agree to rounding, not bit for bit; a given thread count
  // is deterministic (static partitioning).
  for (size_t t = 0; t < a->logits.size(); ++t)
    for (size_t k = 0; k < a->logits[t].size(); ++k)
      EXPECT_NEAR(a->logits[t][k], b->logits[t][k], 1e-5);
  ASSERT_EQ(a->hidden.size(), b->hidden.size());
  for (size_t k = 0; k < a->hidden.size(); ++k)
    EXPECT_NEAR(a->hidden[k], b->hidden[k], 1e-5);
  auto again = two->forward(batch, true);
  ASSERT_TRUE(static_cast<bool>(again));
  EXPECT_EQ(again->logits, b->logits);
  EXPECT_EQ(again->hidden, b->hidden);
}

//===----------------------------------------------------------------------===//
// DESIGN 1.6 on compiled code (n_norm: visible, rab on).
//===----------------------------------------------------------------------===//

const char *kVisible = R"(name: facts
layers: 2
d_model: 8
heads: 2
n_norm: visible
rab: {positions: 6, time_buckets: 12}
tables:
  - {name: item, rows: 50, dim: 4}
features:
  user: [{name: uid, table: item}, {name: age, dense: 1}]
  sequence: [{name: item, table: item}, {name: w, dense: 1}]
  candidate:
    item: [{name: item, table: item}]
    cross: [{name: c, dense: 2}]
tokenizer: {sequence_mlp: [8], candidate_mlp: [8]}
tasks: [{name: ctr, mlp: [4]}, {name: ctcvr}]
)";

struct Facts : ::testing::Test {
  void SetUp() override {
    session = compile(kVisible, 1);
    ASSERT_TRUE(session);
    test::randomizeParams(session->params(), 11);
  }
  std::unique_ptr<Session> session;
};

/// A batch with one user, candidates `order` (indices into `from`'s only sample).
Batch pickCandidates(const ModelDesc &m, const Batch &from, const std::vector<int64_t> &order) {
  Batch b = from;
  b.candidateOffsets = {0, static_cast<int64_t>(order.size())};
  b.candidateTimes.clear();
  b.candidateIds.clear();
  for (auto &col : b.candidate)
    col.ids.clear(), col.values.clear();
  std::vector<FeatureDesc> schema = m.candidateItem;
  schema.insert(schema.end(), m.candidateCross.begin(), m.candidateCross.end());
  for (int64_t c : order) {
    b.candidateTimes.push_back(from.candidateTimes[c]);
    b.candidateIds.push_back(from.candidateIds[c]);
    for (size_t f = 0; f < schema.size(); ++f) {
      if (schema[f].isCategorical())
        b.candidate[f].ids.push_back(from.candidate[f].ids[c]);
      else
        for (int64_t k = 0; k < schema[f].denseDim; ++k)
          b.candidate[f].values.push_back(from.candidate[f].values[c * schema[f].denseDim + k]);
    }
  }
  b.labels.clear();
  return b;
}

TEST_F(Facts, CandidateScoresDoNotDependOnOtherCandidates) {
  const ModelDesc &m = session->model();
  SyntheticOptions o;
  o.users = 1, o.minCandidates = o.maxCandidates = 6, o.maxRealtime = 10, o.seed = 4;
  Batch all = generateSynthetic(m, o);
  auto full = session->forward(all);
  ASSERT_TRUE(static_cast<bool>(full));
  for (std::vector<int64_t> order : {std::vector<int64_t>{5, 4, 3, 2, 1, 0}, {2}, {4, 0},
                                     {1, 3, 5, 0}}) {
    auto part = session->forward(pickCandidates(m, all, order));
    ASSERT_TRUE(static_cast<bool>(part));
    for (size_t t = 0; t < m.tasks.size(); ++t)
      for (size_t k = 0; k < order.size(); ++k)
        EXPECT_NEAR(part->logits[t][k], full->logits[t][order[k]], 1e-5);
  }
}

TEST_F(Facts, CompressedSampleEqualsSeparateRows) {
  const ModelDesc &m = session->model();
  SyntheticOptions o;
  o.users = 3, o.minCandidates = 2, o.maxCandidates = 5, o.maxRealtime = 10, o.seed = 8;
  Batch rows = splitIntoRows(m, generateSynthetic(m, o));
  auto grouped = groupRows(m, rows);
  ASSERT_TRUE(static_cast<bool>(grouped)) << llvm::toString(grouped.takeError());
  ASSERT_EQ(grouped->numSamples, 3);
  auto perRow = session->forward(rows), compressed = session->forward(*grouped);
  ASSERT_TRUE(perRow && compressed);
  ASSERT_EQ(perRow->logits[0].size(), compressed->logits[0].size());
  for (size_t t = 0; t < m.tasks.size(); ++t)
    for (size_t k = 0; k < perRow->logits[t].size(); ++k)
      EXPECT_NEAR(compressed->logits[t][k], perRow->logits[t][k], 1e-5) << "candidate " << k;
}

TEST_F(Facts, GroupingRejectsDisagreeingUsers) {
  const ModelDesc &m = session->model();
  SyntheticOptions o;
  o.users = 1, o.minCandidates = 2, o.maxCandidates = 2, o.seed = 2;
  Batch rows = splitIntoRows(m, generateSynthetic(m, o));
  rows.user[1].values[1] += 1.0f; // the second row's profile differs
  auto grouped = groupRows(m, rows);
  ASSERT_FALSE(static_cast<bool>(grouped));
  EXPECT_NE(llvm::toString(grouped.takeError()).find("row 1: user 0's profile features differ"),
            std::string::npos);
  rows = splitIntoRows(m, generateSynthetic(m, o));
  rows.sequenceTimes[rows.sequenceOffsets[1]] -= 1; // the second row's S differs
  grouped = groupRows(m, rows);
  ASSERT_FALSE(static_cast<bool>(grouped));
  EXPECT_NE(llvm::toString(grouped.takeError()).find("sequence (S) differs"), std::string::npos);
}

TEST_F(Facts, UserAndSequenceStatesIgnoreRealtimeAndCandidates) {
  const ModelDesc &m = session->model();
  SyntheticOptions o;
  o.users = 2, o.minCandidates = 1, o.maxCandidates = 4, o.minRealtime = 2, o.maxRealtime = 6;
  o.seed = 21;
  Batch a = generateSynthetic(m, o);
  Batch b = a;
  // Other R events and candidates (values and counts), same U and S.
  for (auto &col : b.realtime)
    for (auto &id : col.ids)
      id = (id + 7) % 50;
  for (auto &col : b.candidate)
    for (float &v : col.values)
      v = -v + 0.5f;
  b = pickCandidates(m, sliceBatch(m, b, 0, 1), {0}); // sample 0, one candidate
  Batch a0 = sliceBatch(m, a, 0, 1);
  auto ha = session->forward(a0, true), hb = session->forward(b, true);
  ASSERT_TRUE(ha && hb);
  int64_t prefix = static_cast<int64_t>(m.user.size()) + a0.numSequence();
  for (int64_t k = 0; k < prefix * m.dModel; ++k)
    ASSERT_EQ(ha->hidden[k], hb->hidden[k]) << "token " << k / m.dModel;
  // ...while R and C states do change.
  bool changed = false;
  for (size_t k = prefix * m.dModel; k < hb->hidden.size(); ++k)
    changed |= ha->hidden[k] != hb->hidden[k];
  EXPECT_TRUE(changed);
}

// With n_norm: total, scores do depend on the other candidates (DESIGN 1.6),
// so the facts above are not vacuous.
TEST(Compiled, TotalNormDependsOnCandidateCount) {
  std::string yaml = kVisible;
  yaml.replace(yaml.find("n_norm: visible"), 15, "n_norm: total");
  auto session = compile(yaml, 1);
  ASSERT_TRUE(session);
  SyntheticOptions o;
  o.users = 1, o.minCandidates = o.maxCandidates = 4, o.seed = 4;
  Batch all = generateSynthetic(session->model(), o);
  auto full = session->forward(all), one = session->forward(pickCandidates(session->model(), all, {0}));
  ASSERT_TRUE(full && one);
  EXPECT_GT(std::fabs(full->logits[0][0] - one->logits[0][0]), 1e-6);
}

//===----------------------------------------------------------------------===//
// The prefix split (passes/SplitPrefix.cpp): score_candidates on
// encode_prefix's rows gives forward's scores, on random models and every
// edge case, on the CPU and on the GPU emulator; refused, saying why, where
// DESIGN 1.6 does not allow it.
//===----------------------------------------------------------------------===//

/// Why the split must refuse random model `m`, as the refusal says it
/// ("" when it must split).
std::string expectedSplitRefusal(const ModelDesc &m) {
  if (m.layers == 0)
    return "no HSTU layers";
  if (m.mask == ModelDesc::Mask::Intervals)
    return "'intervals'";
  if (m.mask == ModelDesc::Mask::Contextual)
    return "'contextual'";
  if (m.nNorm == ModelDesc::NNorm::Total)
    return "n_norm 'total'";
  return "";
}

/// Random model `index` made splittable: at least one layer, a mask whose U
/// and S rows see no R or C (dynamic, causal, causal_targets), n_norm
/// visible or a constant.
std::string splittableRandomYaml(int index) {
  std::mt19937 rng(5000 + index);
  std::string y = test::randomModelYaml(rng, /*dynamicTables=*/false);
  auto replace = [&](const std::string &from, const std::string &to) {
    if (size_t at = y.find(from); at != std::string::npos)
      y.replace(at, from.size(), to);
  };
  replace("layers: 0\n", "layers: 1\n");
  replace("mask: contextual", "mask: causal_targets");
  replace("mask: intervals", "mask: dynamic");
  replace("n_norm: total", index % 2 ? "n_norm: visible" : "n_norm: 7.5");
  return y;
}

/// score_candidates(batch, encode_prefix(batch)) against forward(batch) and
/// the float64 reference; the split computes no more attention pairs.
void expectSplitMatchesForward(Session &s, const Batch &batch, const std::string &what,
                               double tolerance, double referenceTolerance = 1e-4) {
  const ModelDesc &m = s.model();
  auto full = s.forward(batch);
  ASSERT_TRUE(static_cast<bool>(full)) << llvm::toString(full.takeError());
  auto prefix = s.encodePrefix(batch);
  ASSERT_TRUE(static_cast<bool>(prefix)) << llvm::toString(prefix.takeError());
  ASSERT_EQ(prefix->rows(),
            static_cast<int64_t>(m.user.size()) * batch.numSamples + batch.numSequence());
  auto split = s.scoreCandidates(batch, *prefix);
  ASSERT_TRUE(static_cast<bool>(split)) << llvm::toString(split.takeError());
  reference::Output ref = reference::forward(m, s.params(), batch);
  ASSERT_EQ(split->logits.size(), m.tasks.size());
  for (size_t t = 0; t < m.tasks.size(); ++t) {
    ASSERT_EQ(split->logits[t].size(), full->logits[t].size()) << what;
    for (size_t k = 0; k < full->logits[t].size(); ++k) {
      double scale = std::max(1.0, std::fabs(static_cast<double>(full->logits[t][k])));
      EXPECT_LE(std::fabs(split->logits[t][k] - full->logits[t][k]) / scale, tolerance)
          << what << ", task " << t << ", candidate " << k;
      EXPECT_LE(std::fabs(split->logits[t][k] - ref.logits[t][k]) /
                    std::max(1.0, std::fabs(ref.logits[t][k])),
                referenceTolerance)
          << what << ", task " << t << ", candidate " << k;
    }
  }
  EXPECT_LE(split->attentionPairs, full->attentionPairs) << what;
}

const std::vector<Edge> kSplitEdges = {Edge::Plain,  Edge::OneUser, Edge::EmptyS,
                                       Edge::EmptyR, Edge::K1,      Edge::K0,
                                       Edge::MixedK, Edge::TiedR,   Edge::RAfterCandidates};

class PrefixSplitVsForward : public ::testing::TestWithParam<int> {};

TEST_P(PrefixSplitVsForward, RandomModel) {
  int index = GetParam();
  std::string yaml = splittableRandomYaml(index);
  auto session = compile(yaml, 1 + index % 2);
  ASSERT_TRUE(session);
  ASSERT_TRUE(session->canSplitPrefix()) << session->getArtifact().prefixSplitMissing << "\n"
                                         << yaml;
  test::randomizeParams(session->params(), index);
  std::vector<Edge> edges = kSplitEdges;
  if (index % 8 == 0)
    edges.push_back(Edge::Long);
  for (Edge edge : edges)
    expectSplitMatchesForward(*session, makeBatch(session->model(), edge, index * 17 + int(edge)),
                              std::string(edgeName(edge)) + "\n" + yaml, 1e-5);
}
INSTANTIATE_TEST_SUITE_P(Configs, PrefixSplitVsForward, ::testing::Range(0, 24));

// The CUDA back end's kernels for the split (assemble_prefix/suffix, the
// group ranges, the suffix-rows mask) on the emulator.
TEST(PrefixSplit, EmulatedGpuMatchesForward) {
  for (int index : {0, 3, 5}) {
    std::string yaml = splittableRandomYaml(index);
    auto artifact =
        compileArtifact(yaml, "test.yaml", /*trainStep=*/false, "cuda", test::cudaOptions());
    ASSERT_TRUE(static_cast<bool>(artifact)) << llvm::toString(artifact.takeError());
    auto session = Session::create(std::move(*artifact), SessionOptions{},
                                   createEmulatorDevice(emu::Schedule::Reverse));
    ASSERT_TRUE(static_cast<bool>(session)) << llvm::toString(session.takeError());
    ASSERT_TRUE((*session)->canSplitPrefix());
    test::randomizeParams((*session)->params(), index);
    for (Edge edge : {Edge::Plain, Edge::EmptyS, Edge::MixedK, Edge::TiedR})
      expectSplitMatchesForward(**session, makeBatch((*session)->model(), edge, index + int(edge)),
                                std::string(edgeName(edge)) + "\n" + yaml, 1e-5);
  }
}

// score_candidates' attention on tensor cores walks 16-row blocks (the
// back end's suffixRowBlock) where forward walks 64: the same products on
// the same bf16 operands, so the split stays within rounding of forward.
TEST(PrefixSplit, EmulatedTensorCoreShortRowBlocksMatchForward) {
  std::string yaml = test::wideHeadYaml(2, 16, 32, "visible");
  auto artifact = compileArtifact(yaml, "test.yaml", /*trainStep=*/false, "cuda",
                                  test::cudaOptions("", "tensor-core"));
  ASSERT_TRUE(static_cast<bool>(artifact)) << llvm::toString(artifact.takeError());
  auto session = Session::create(std::move(*artifact), SessionOptions{},
                                 createEmulatorDevice(emu::Schedule::WarpAhead));
  ASSERT_TRUE(static_cast<bool>(session)) << llvm::toString(session.takeError());
  ASSERT_TRUE((*session)->canSplitPrefix());
  test::randomizeParams((*session)->params(), 4);
  for (Edge edge : {Edge::Plain, Edge::K1, Edge::MixedK})
    expectSplitMatchesForward(**session, makeBatch((*session)->model(), edge, 70 + int(edge)),
                              edgeName(edge), 1e-3, kBf16Tolerance);
}

// The cache's premise: one user's encoded rows serve other requests (other
// R events, other candidates, in other numbers) exactly.
TEST(PrefixSplit, OneEncodingServesOtherRequests) {
  auto session = compile(kVisible, 1);
  ASSERT_TRUE(session && session->canSplitPrefix());
  test::randomizeParams(session->params(), 12);
  const ModelDesc &m = session->model();
  SyntheticOptions o;
  o.users = 2, o.minCandidates = 1, o.maxCandidates = 6, o.minRealtime = 1, o.maxRealtime = 8;
  o.seed = 30;
  Batch first = generateSynthetic(m, o);
  auto prefix = session->encodePrefix(first);
  ASSERT_TRUE(static_cast<bool>(prefix));
  for (uint64_t seed : {31, 32, 33}) {
    o.seed = seed;
    Batch other = generateSynthetic(m, o);
    other = withUsersOf(first, other); // the same users' U and S, another request's R and C
    ASSERT_FALSE(validateBatch(m, other));
    auto split = session->scoreCandidates(other, *prefix);
    auto full = session->forward(other);
    ASSERT_TRUE(split && full);
    for (size_t t = 0; t < m.tasks.size(); ++t)
      for (size_t k = 0; k < full->logits[t].size(); ++k)
        EXPECT_NEAR(split->logits[t][k], full->logits[t][k], 1e-5) << "seed " << seed;
  }
  // Rows of other users (another S length) are refused, naming the counts.
  o.seed = 40, o.minSequence = 30, o.maxSequence = 30;
  auto mismatch = session->scoreCandidates(generateSynthetic(m, o), *prefix);
  ASSERT_FALSE(static_cast<bool>(mismatch));
  EXPECT_NE(llvm::toString(mismatch.takeError()).find("the prefix rows are of 2 samples"),
            std::string::npos);
}

// The per-user cache: repeat users skip encode_prefix (hits), their scores
// equal forward's; a changed S is another version (a miss); LRU eviction
// under the byte cap; bf16 storage within its measured error.
TEST(PrefixCache, RepeatUsersHitAndScoreAsForward) {
  auto session = compile(kVisible, 1);
  ASSERT_TRUE(session && session->canSplitPrefix());
  test::randomizeParams(session->params(), 13);
  const ModelDesc &m = session->model();
  SyntheticOptions o;
  o.users = 3, o.minCandidates = 1, o.maxCandidates = 5, o.minRealtime = 1, o.maxRealtime = 6;
  o.minSequence = 5, o.maxSequence = 20, o.seed = 50;
  Batch first = generateSynthetic(m, o);
  auto expectForward = [&](const ForwardResult &got, const Batch &b, double tolerance) {
    auto full = session->forward(b);
    ASSERT_TRUE(static_cast<bool>(full));
    for (size_t t = 0; t < m.tasks.size(); ++t) {
      ASSERT_EQ(got.logits[t].size(), full->logits[t].size());
      for (size_t k = 0; k < full->logits[t].size(); ++k)
        EXPECT_NEAR(got.logits[t][k], full->logits[t][k], tolerance);
    }
  };
  PrefixCache cache({uint64_t(1) << 30, false});
  auto cold = cache.score(*session, first);
  ASSERT_TRUE(static_cast<bool>(cold)) << llvm::toString(cold.takeError());
  expectForward(*cold, first, 1e-5);
  EXPECT_EQ(cache.stats().misses, 3);
  EXPECT_EQ(cache.stats().hits, 0);
  EXPECT_EQ(cache.stats().entries, 3);
  // The same users, another request each (other R and C), reordered, one
  // user twice: all hits.
  o.seed = 51;
  Batch next = generateSynthetic(m, o);
  Batch request =
      withUsersOf(selectSamples(m, first, {2, 0, 2}), selectSamples(m, next, {0, 1, 2}));
  ASSERT_FALSE(validateBatch(m, request));
  auto warm = cache.score(*session, request);
  ASSERT_TRUE(static_cast<bool>(warm)) << llvm::toString(warm.takeError());
  expectForward(*warm, request, 1e-5);
  EXPECT_EQ(cache.stats().hits, 3);
  EXPECT_EQ(cache.stats().misses, 3);
  // A user whose S grew is another version: a miss, encoded and kept.
  Batch grown = sliceBatch(m, first, 0, 1);
  grown.sequence[0].ids.back() = (grown.sequence[0].ids.back() + 1) % 50; // another S event
  auto changed = cache.score(*session, grown);
  ASSERT_TRUE(static_cast<bool>(changed));
  expectForward(*changed, grown, 1e-5);
  EXPECT_EQ(cache.stats().misses, 4);
  EXPECT_EQ(cache.stats().entries, 4);
  // One user, a hit: its f32 rows are read in place (no gather).
  auto inPlace = cache.score(*session, grown);
  ASSERT_TRUE(static_cast<bool>(inPlace));
  EXPECT_EQ(inPlace->logits, changed->logits);
  EXPECT_EQ(cache.stats().hits, 4);
  // A cap of about two users' rows: the least recently used go.
  uint64_t perUser = cache.stats().bytes / 4;
  PrefixCache small({perUser * 2 + perUser / 2, false});
  ASSERT_TRUE(static_cast<bool>(small.score(*session, first)));
  EXPECT_EQ(small.stats().entries, 2);
  EXPECT_EQ(small.stats().evictions, 1);
  // bf16 storage: half the bytes, scores within the rounding of the rows.
  PrefixCache half({uint64_t(1) << 30, true});
  auto rounded = half.score(*session, first);
  ASSERT_TRUE(static_cast<bool>(rounded));
  EXPECT_LT(half.stats().bytes, cache.stats().bytes);
  expectForward(*rounded, first, 5e-2);
  // Versions given by the caller key the entries instead of the hash.
  PrefixCache versioned({uint64_t(1) << 30, false});
  ASSERT_TRUE(static_cast<bool>(versioned.score(*session, first, {7, 7, 7})));
  ASSERT_TRUE(static_cast<bool>(versioned.score(*session, first, {7, 7, 8})));
  EXPECT_EQ(versioned.stats().hits, 2);
  EXPECT_EQ(versioned.stats().misses, 4);
  auto wrongCount = versioned.score(*session, first, {1});
  ASSERT_FALSE(static_cast<bool>(wrongCount));
  EXPECT_NE(llvm::toString(wrongCount.takeError()).find("1 versions for 3 samples"),
            std::string::npos);
}

// On a device with memory of its own (a GPU's; here a copying CPU device)
// the entries used last stay in device memory: a repeat user's rows cross
// once, then a hit copies only the request (one block) and places several
// users' rows with copies on the device; one user's rows are read where
// they are. Scores equal a CPU cache's bit for bit, through the device
// tier's evictions, the host tier's, and bf16 entries.
TEST(PrefixCache, DeviceTierKeepsRowsOnTheDevice) {
  auto cpu = compile(kVisible, 1);
  ASSERT_TRUE(cpu && cpu->canSplitPrefix());
  test::randomizeParams(cpu->params(), 14);
  auto owned = std::make_unique<test::CopyingCpuDevice>();
  test::CopyingCpuDevice &copying = *owned;
  SessionOptions so;
  so.threads = 1;
  auto created = Session::create(cpu->getArtifact(), so, std::move(owned));
  ASSERT_TRUE(static_cast<bool>(created)) << llvm::toString(created.takeError());
  Session &gpu = **created;
  for (const std::string &name : cpu->params().names())
    gpu.params().get(name).data = cpu->params().get(name).data;
  const ModelDesc &m = cpu->model();
  SyntheticOptions o;
  o.users = 3, o.minCandidates = 1, o.maxCandidates = 5, o.minRealtime = 1, o.maxRealtime = 6;
  o.minSequence = 5, o.maxSequence = 20, o.seed = 60;
  Batch first = generateSynthetic(m, o);
  o.seed = 61;
  Batch next = generateSynthetic(m, o);
  Batch request =
      withUsersOf(selectSamples(m, first, {2, 0, 1}), selectSamples(m, next, {0, 1, 2}));
  ASSERT_FALSE(validateBatch(m, request));
  Batch one = sliceBatch(m, request, 1, 2);
  auto same = [&](PrefixCache &there, PrefixCache &here, const Batch &b) {
    auto got = there.score(gpu, b), want = here.score(*cpu, b);
    ASSERT_TRUE(got && want);
    EXPECT_EQ(got->logits, want->logits);
  };
  int64_t hitIn = 0; // bytes a hit of `request` copies in with the device tier
  for (bool bf16 : {false, true}) {
    SCOPED_TRACE(bf16 ? "bf16" : "f32");
    PrefixCache there({uint64_t(1) << 30, bf16}), here({uint64_t(1) << 30, bf16});
    Session::DeviceRowStats before = gpu.deviceRowStats();
    same(there, here, first); // three misses: encoded, their rows kept on the device
    Session::DeviceRowStats d = gpu.deviceRowStats();
    EXPECT_EQ(d.uploaded - before.uploaded, 3);
    EXPECT_EQ(d.entries - before.entries, 3);
    uint64_t rowBytes = d.bytes - before.bytes;
    copying.copiesIn = copying.copiedIn = copying.copiesOnDevice = 0;
    same(there, here, request); // three hits: nothing of the rows crosses again
    EXPECT_EQ(gpu.deviceRowStats().reused - d.reused, 3);
    EXPECT_EQ(copying.copiesIn, 1);
    EXPECT_GT(rowBytes, 0u);
    if (!bf16)
      hitIn = copying.copiedIn;
    EXPECT_EQ(copying.copiesOnDevice, 2 * m.layers * 3); // K and V per layer and user
    copying.copiesIn = copying.copiesOnDevice = 0;
    same(there, here, one); // one user: read where it is
    EXPECT_EQ(copying.copiesIn, 1);
    EXPECT_EQ(copying.copiesOnDevice, 0);
  }
  // A device tier of about one user's rows: the others are dropped there
  // (and cross again when used), the scores stay the CPU's.
  uint64_t perUser = gpu.deviceRowStats().bytes / 6;
  PrefixCache::Options tight{uint64_t(1) << 30, false, perUser + perUser / 2};
  PrefixCache there(tight), here(tight);
  same(there, here, first);
  same(there, here, request);
  same(there, here, one);
  EXPECT_LE(gpu.deviceRowStats().bytes, gpu.deviceRowStats().entries * perUser * 2);
  EXPECT_GT(gpu.deviceRowStats().evicted, 0);
  // A host tier of two users: the evicted entry's device copy goes with it.
  uint64_t hostPerUser = here.stats().bytes / 3;
  PrefixCache::Options small{hostPerUser * 2 + hostPerUser / 2, false};
  PrefixCache smallThere(small), smallHere(small);
  int64_t entriesBefore = gpu.deviceRowStats().entries;
  same(smallThere, smallHere, first);
  EXPECT_EQ(smallThere.stats().evictions, 1);
  EXPECT_EQ(gpu.deviceRowStats().entries - entriesBefore, 2);
  // No device tier: every hit copies its rows in with the request.
  gpu.keepPrefixRowsOnDevice(0);
  EXPECT_EQ(gpu.deviceRowStats().entries, 0);
  PrefixCache::Options none{uint64_t(1) << 30, false, 0};
  PrefixCache noneThere(none), noneHere(none);
  same(noneThere, noneHere, first);
  copying.copiedIn = 0;
  same(noneThere, noneHere, request);
  EXPECT_EQ(gpu.deviceRowStats().entries, 0);
  int64_t rows = 0; // the three users' U and S rows
  for (int64_t b = 0; b < first.numSamples; ++b)
    rows += int64_t(m.user.size()) + first.sequenceOffsets[b + 1] - first.sequenceOffsets[b];
  EXPECT_GE(copying.copiedIn - hitIn, rows * m.layers * m.heads * (m.dqk + m.dv) * 4);
}

// The device tier on the GPU emulator: cached rows live in (emulated)
// device memory, several users' placed by copies the emulator checks
// against its allocations; scores equal forward's to rounding.
TEST(PrefixCache, EmulatedGpuDeviceTierMatchesForward) {
  std::string yaml = splittableRandomYaml(3);
  auto artifact =
      compileArtifact(yaml, "test.yaml", /*trainStep=*/false, "cuda", test::cudaOptions());
  ASSERT_TRUE(static_cast<bool>(artifact)) << llvm::toString(artifact.takeError());
  auto created = Session::create(std::move(*artifact), SessionOptions{},
                                 createEmulatorDevice(emu::Schedule::Reverse));
  ASSERT_TRUE(static_cast<bool>(created)) << llvm::toString(created.takeError());
  Session &session = **created;
  ASSERT_TRUE(session.canSplitPrefix());
  test::randomizeParams(session.params(), 3);
  const ModelDesc &m = session.model();
  Batch first = makeBatch(m, Edge::Plain, 5);
  std::vector<int64_t> order;
  for (int64_t b = first.numSamples - 1; b >= 0; --b)
    order.push_back(b);
  Batch reversed = selectSamples(m, first, order);
  PrefixCache cache({uint64_t(1) << 30, false});
  for (const Batch *b : {&first, &reversed, &first}) {
    auto cached = cache.score(session, *b);
    auto full = session.forward(*b);
    ASSERT_TRUE(cached && full);
    for (size_t t = 0; t < m.tasks.size(); ++t)
      for (size_t k = 0; k < full->logits[t].size(); ++k)
        EXPECT_NEAR(cached->logits[t][k], full->logits[t][k], 1e-5) << yaml;
  }
  Session::DeviceRowStats d = session.deviceRowStats();
  EXPECT_EQ(d.uploaded, first.numSamples);
  EXPECT_EQ(d.reused, 2 * first.numSamples);
}

namespace {
/// The GPU emulator, whose recorded calls find their outputs poisoned: each
/// call's output and hidden-state buffers are filled with NaN in device
/// memory just before the executable runs (a replay that skipped a write
/// shows as NaN).
class PoisoningEmulator final : public Device {
  struct Poisoning final : Executable {
    Poisoning(std::unique_ptr<Executable> inner, Device &device)
        : inner(std::move(inner)), device(device) {}
    void call(const EntryPoint &e, llvm::ArrayRef<BufferView> args, unsigned t) override {
      inner->call(e, args, t);
    }
    HostEnvironment &environment() override { return inner->environment(); }
    bool integersOnHost() const override { return inner->integersOnHost(); }
    llvm::Error prepare(int64_t bytes) override { return inner->prepare(bytes); }
    bool canRecord() const override { return inner->canRecord(); }
    bool callRecorded(const EntryPoint &e, llvm::ArrayRef<BufferView> args, unsigned t,
                      std::unique_ptr<Recording> &recording) override {
      for (size_t i = 0; i < args.size(); ++i)
        if (e.args[i].kind == ArgKind::Output || e.args[i].kind == ArgKind::Hidden) {
          int64_t n = 1;
          for (int64_t d : args[i].shape)
            n *= d;
          std::vector<float> nan(static_cast<size_t>(n), std::nanf(""));
          device.copyToDevice(args[i].data, nan.data(), nan.size() * sizeof(float));
          ++poisoned;
        }
      return inner->callRecorded(e, args, t, recording);
    }
    std::unique_ptr<Executable> inner;
    Device &device;
  };

public:
  llvm::StringRef name() const override { return "cuda-emu-poisoning"; }
  llvm::Expected<std::unique_ptr<Executable>> load(const Artifact &a,
                                                   llvm::StringRef where) override {
    auto loaded = emu->load(a, where);
    if (!loaded)
      return loaded.takeError();
    return std::make_unique<Poisoning>(std::move(*loaded), *emu);
  }
  bool sharesHostMemory() const override { return false; }
  void *allocate(size_t bytes) override { return emu->allocate(bytes); }
  void release(void *b) override { emu->release(b); }
  void copyToDevice(void *d, const void *h, size_t n) override { emu->copyToDevice(d, h, n); }
  void copyToHost(void *h, const void *d, size_t n) override { emu->copyToHost(h, d, n); }
  void copyOnDevice(void *to, const void *from, size_t n) override {
    emu->copyOnDevice(to, from, n);
  }
  void synchronize() override { emu->synchronize(); }
  std::unique_ptr<Device> emu = createEmulatorDevice(emu::Schedule::Reverse);
  static inline std::atomic<int64_t> poisoned{0};
};
} // namespace

// Recorded calls (the emulator's launch lists; CUDA graphs on a GPU): a
// call whose host code plans the same work as the last call of its shape
// replays that recording with its own uploads, its outputs poisoned first.
// Scores, losses, gradients and updated parameters equal an unrecorded
// session's bit for bit: the same batch again, new dense values and times
// in the same shapes (replayed with the new uploads), another shape
// (recorded), training steps, the prefix cache.
TEST(Replay, EmulatedRecordingsReplayExactly) {
  auto artifact =
      compileArtifact(kVisible, "test.yaml", /*trainStep=*/true, "cuda", test::cudaOptions());
  ASSERT_TRUE(static_cast<bool>(artifact)) << llvm::toString(artifact.takeError());
  SessionOptions plainOptions;
  plainOptions.recordedShapes = 0;
  auto plainOr =
      Session::create(*artifact, plainOptions, createEmulatorDevice(emu::Schedule::Reverse));
  auto recordedOr =
      Session::create(*artifact, SessionOptions{}, std::make_unique<PoisoningEmulator>());
  ASSERT_TRUE(plainOr && recordedOr);
  Session &plain = **plainOr, &recorded = **recordedOr;
  test::randomizeParams(plain.params(), 21);
  for (const std::string &name : plain.params().names())
    recorded.params().get(name).data = plain.params().get(name).data;
  const ModelDesc &m = plain.model();
  SyntheticOptions o;
  o.users = 3, o.minCandidates = 2, o.maxCandidates = 5, o.minRealtime = 1, o.maxRealtime = 4;
  o.minSequence = 4, o.maxSequence = 12, o.seed = 80;
  Batch a = generateSynthetic(m, o);
  Batch denser = a; // the same shapes, other dense values
  for (auto *group : {&denser.user, &denser.sequence, &denser.realtime, &denser.candidate})
    for (FeatureColumn &c : *group)
      for (float &x : c.values)
        x = 1.5f * x + 0.25f;
  Batch later = a; // the same shapes, other times (gaps stretched: other buckets)
  for (auto *times : {&later.sequenceTimes, &later.realtimeTimes, &later.candidateTimes})
    for (size_t i = 0; i < times->size(); ++i)
      (*times)[i] += 5000 * static_cast<int64_t>(i);
  o.seed = 81, o.users = 2;
  Batch other = generateSynthetic(m, o);
  auto same = [&](const Batch &b, const char *what) -> std::vector<std::vector<float>> {
    SCOPED_TRACE(what);
    auto want = plain.forward(b, /*hidden=*/true), got = recorded.forward(b, true);
    EXPECT_TRUE(want && got);
    if (!want || !got)
      return {};
    EXPECT_EQ(got->logits, want->logits);
    EXPECT_EQ(got->hidden, want->hidden);
    return want->logits;
  };
  int64_t poisonedBefore = PoisoningEmulator::poisoned;
  auto first = same(a, "first");
  EXPECT_EQ(recorded.replayStats().recorded, 1);
  EXPECT_EQ(recorded.replayStats().replayed, 0);
  same(a, "again");
  EXPECT_EQ(recorded.replayStats().replayed, 1);
  EXPECT_NE(same(denser, "denser"), first);
  EXPECT_EQ(recorded.replayStats().replayed, 2); // the same plan, new uploads
  same(later, "later");
  same(other, "another shape");
  same(a, "the first shape again");
  Session::ReplayStats r = recorded.replayStats();
  EXPECT_EQ(r.shapes, 2);
  EXPECT_GE(r.replayed, 3);
  EXPECT_GT(PoisoningEmulator::poisoned - poisonedBefore, 2 * (r.recorded + r.replayed) - 1);
  // Training, recorded (each step's number is a kernel parameter of the
  // dropout and Adam kernels, so steps plan other work and record anew).
  OptimizerState sp, sr;
  for (int64_t step = 0; step < 3; ++step) {
    auto p = plain.trainStep(a, 5, step, sp, /*gradients=*/true);
    auto q = recorded.trainStep(a, 5, step, sr, true);
    ASSERT_TRUE(p && q);
    EXPECT_EQ(p->loss, q->loss);
    EXPECT_EQ(p->dense, q->dense);
  }
  EXPECT_EQ(sp, sr);
  for (const std::string &name : plain.params().names())
    EXPECT_EQ(plain.params().get(name).data, recorded.params().get(name).data) << name;
  EXPECT_GT(recorded.replayStats().recorded, r.recorded);
  // The prefix cache: repeat users' hits replay score_candidates (their
  // rows placed in the block by copies on the device).
  ASSERT_TRUE(recorded.canSplitPrefix());
  PrefixCache pc({uint64_t(1) << 30, false}), rc({uint64_t(1) << 30, false});
  int64_t before = recorded.replayStats().replayed;
  for (const Batch *b : {&a, &a, &a, &denser}) {
    auto want = pc.score(plain, *b), got = rc.score(recorded, *b);
    ASSERT_TRUE(want && got);
    EXPECT_EQ(got->logits, want->logits);
  }
  EXPECT_GE(recorded.replayStats().replayed - before, 2);
  // A session that records nothing keeps no shapes.
  EXPECT_EQ(plain.replayStats().shapes, 0);
  EXPECT_EQ(plain.replayStats().recorded, 0);
}

// Random models as they come: those DESIGN 1.6 does not allow are compiled
// without the pair, and the artifact says why.
TEST(PrefixSplit, RefusedWithTheReason) {
  int refused = 0;
  for (int index = 0; index < 16; ++index) {
    std::mt19937 rng(1000 + index);
    // The split is decided on the kernel level (the entry points' code is
    // compiled and run by PrefixSplitVsForward and the tools' tests).
    std::string yaml = test::randomModelYaml(rng, false), diag;
    llvm::raw_string_ostream ds(diag);
    auto model = parseModelDesc(yaml, "test.yaml", ds);
    ASSERT_TRUE(model) << diag;
    auto kernel = compileModel(*model, yaml, Stage::Kernel, *createCpuBackend(HostTarget::native()),
                               ds, /*trainStep=*/false);
    ASSERT_TRUE(static_cast<bool>(kernel)) << llvm::toString(kernel.takeError()) << diag;
    std::string why = expectedSplitRefusal(*model);
    bool split = kernel->text.find("func.func @encode_prefix(") != std::string::npos &&
                 kernel->text.find("func.func @score_candidates(") != std::string::npos;
    EXPECT_EQ(split, why.empty()) << kernel->prefixSplitMissing;
    EXPECT_EQ(split, kernel->prefixSplitMissing.empty()) << kernel->prefixSplitMissing;
    if (!why.empty()) {
      ++refused;
      EXPECT_NE(kernel->prefixSplitMissing.find(why), std::string::npos)
          << kernel->prefixSplitMissing << " (expected " << why << ")";
    }
  }
  EXPECT_GT(refused, 0);
}

// One sample of 50,000 tokens: memory stays O(N * d) (an N x N float matrix
// would need 10 GB). Run in a child process so its peak RSS is its own. The
// mask is a window of 32 columns (mask: intervals) to keep the run short; the
// attention loop nest is the same for every mask.
TEST(Compiled, FiftyThousandTokensUnderOneGigabyte) {
  std::string yaml = kVisible;
  yaml.replace(yaml.find("n_norm: visible"), 15, "n_norm: visible\nmask: intervals");
  auto session = compile(yaml, 1);
  ASSERT_TRUE(session);
  const ModelDesc &m = session->model();
  SyntheticOptions o;
  o.users = 1, o.minSequence = o.maxSequence = 50000, o.maxRealtime = 4, o.minCandidates = 2;
  o.maxCandidates = 2;
  Batch batch = generateSynthetic(m, o);
  int64_t N = batch.totalTokens(m);
  ASSERT_GE(N, 50000);
  batch.intervals.clear();
  for (int64_t i = 0; i < N; ++i) {
    int32_t lo = static_cast<int32_t>(std::max<int64_t>(0, i - 31));
    batch.intervals.insert(batch.intervals.end(), {lo, static_cast<int32_t>(i + 1), 0, 0, 0, 0});
  }
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    auto result = session->forward(batch, true);
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    long kb = result && result->hidden.size() == static_cast<size_t>(N * m.dModel) ? usage.ru_maxrss : -1;
    ssize_t ignored = write(fds[1], &kb, sizeof kb);
    (void)ignored;
    _exit(0);
  }
  long kb = 0;
  ASSERT_EQ(read(fds[0], &kb, sizeof kb), static_cast<ssize_t>(sizeof kb));
  waitpid(pid, nullptr, 0);
  ASSERT_GT(kb, 0) << "the forward pass failed";
  EXPECT_LT(kb, 1024 * 1024) << "peak RSS " << kb / 1024 << " MB";
  std::printf("50,000+ token sample: peak RSS %ld MB\n", kb / 1024);
}
} // namespace

// Buffers die at their last use (mtgr-free-buffers): MTGR-small (d_model
// 512) holds at most a quarter of the ~119 KB per token that keeping every
// buffer to the end of the call needed, measured as the pool's high-water
// mark over one forward call on one thread.
TEST(Compiled, MtgrSmallWorkingMemoryPerToken) {
  auto text = llvm::MemoryBuffer::getFile(std::string(MTGR_SOURCE_DIR) +
                                          "/examples/models/mtgr-small.yaml");
  ASSERT_TRUE(static_cast<bool>(text));
  auto artifact = compileArtifact((*text)->getBuffer(), "mtgr-small.yaml", /*trainStep=*/false);
  ASSERT_TRUE(static_cast<bool>(artifact)) << llvm::toString(artifact.takeError());
  auto session = Session::create(std::move(*artifact), 1);
  ASSERT_TRUE(static_cast<bool>(session)) << llvm::toString(session.takeError());
  const ModelDesc &m = (*session)->model();
  SyntheticOptions o;
  o.users = 8, o.maxSequence = 512, o.minSequence = 128, o.maxRealtime = 64, o.maxCandidates = 32;
  o.minCandidates = 16, o.seed = 5;
  Batch batch = generateSynthetic(m, o);
  HostPool &pool = (*session)->environment().pool;
  pool.resetHighWater();
  int64_t before = pool.highWater();
  auto result = (*session)->forward(batch);
  ASSERT_TRUE(static_cast<bool>(result)) << llvm::toString(result.takeError());
  double perToken = double(pool.highWater() - before) / double(batch.totalTokens(m));
  EXPECT_GT(perToken, 0.0);
  EXPECT_LE(perToken, 119.0 * 1024 / 4) << perToken / 1024 << " KiB per token";
}

// Two sessions of different models in one process, called at the same time
// from two threads: each one's scores are what it gives alone, its buffers
// come from its own pool and its profile counts only its own code (the
// generated code imports everything through the environment table of each
// call, abi/Environment.h; nothing is exported by the program or kept per
// process).
TEST(Compiled, TwoModelsInOneProcessFromTwoThreads) {
  auto read = [](const char *name) {
    auto text = llvm::MemoryBuffer::getFile(test::examplePath(name));
    return text ? (*text)->getBuffer().str() : std::string();
  };
  std::string tinyText = read("tiny.yaml"), dlrmText = read("tiny-dlrm.yaml");
  ASSERT_FALSE(tinyText.empty() || dlrmText.empty());
  // tiny compiled with --profile: its code reports to its session's counters.
  std::string diag;
  llvm::raw_string_ostream ds(diag);
  auto tinyDesc = parseModelDesc(tinyText, "tiny.yaml", ds);
  ASSERT_TRUE(tinyDesc) << diag;
  auto profiled = compileModel(*tinyDesc, tinyText, Stage::Artifact,
                               *createCpuBackend(HostTarget::native()), ds,
                               /*trainStep=*/false, /*profile=*/true);
  ASSERT_TRUE(static_cast<bool>(profiled)) << llvm::toString(profiled.takeError()) << diag;
  auto dlrmArtifact = compileArtifact(dlrmText, "tiny-dlrm.yaml", /*trainStep=*/false);
  ASSERT_TRUE(static_cast<bool>(dlrmArtifact)) << llvm::toString(dlrmArtifact.takeError());
  auto tiny = Session::create(profiled->artifact, 2);
  auto dlrm = Session::create(*dlrmArtifact, 2);
  ASSERT_TRUE(static_cast<bool>(tiny)) << llvm::toString(tiny.takeError());
  ASSERT_TRUE(static_cast<bool>(dlrm)) << llvm::toString(dlrm.takeError());
  SyntheticOptions o;
  o.users = 6, o.maxSequence = 300, o.seed = 11;
  Batch tinyBatch = generateSynthetic((*tiny)->model(), o);
  o.seed = 12;
  Batch dlrmBatch = generateSynthetic((*dlrm)->model(), o);
  // Alone first.
  auto tinyAlone = (*tiny)->forward(tinyBatch);
  auto dlrmAlone = (*dlrm)->forward(dlrmBatch);
  ASSERT_TRUE(static_cast<bool>(tinyAlone) && static_cast<bool>(dlrmAlone));
  EXPECT_GT((*tiny)->environment().profile.seconds()[0], 0.0);
  for (double t : (*dlrm)->environment().profile.seconds())
    EXPECT_EQ(t, 0.0); // compiled without --profile: nothing reported to it
  EXPECT_GT((*tiny)->environment().pool.highWater(), 0);
  EXPECT_GT((*dlrm)->environment().pool.highWater(), 0);
  // Then at the same time, many calls each.
  std::atomic<int> mismatches{0};
  auto run = [&](Session &s, const Batch &batch, const ForwardResult &expected) {
    for (int i = 0; i < 20; ++i) {
      auto r = s.forward(batch);
      if (!r || r->logits != expected.logits)
        ++mismatches;
      if (!r)
        llvm::consumeError(r.takeError());
    }
  };
  std::thread first(run, std::ref(**tiny), std::cref(tinyBatch), std::cref(*tinyAlone));
  std::thread second(run, std::ref(**dlrm), std::cref(dlrmBatch), std::cref(*dlrmAlone));
  first.join();
  second.join();
  EXPECT_EQ(mismatches.load(), 0);
  // And against the reference, once more after the concurrent calls.
  for (auto [session, batch] : {std::pair{tiny->get(), &tinyBatch}, {dlrm->get(), &dlrmBatch}}) {
    const ModelDesc &m = session->model();
    auto compiled = session->forward(*batch, m.layers > 0);
    ASSERT_TRUE(static_cast<bool>(compiled));
    reference::Output ref = reference::forward(m, session->params(), *batch);
    EXPECT_LE(maxError(m, *compiled, ref), 1e-4) << m.name;
  }
}
