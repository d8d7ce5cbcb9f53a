//===- TrainingPiecesTest.cpp - metrics, batching, tables, optimisers, checkpoints -===//
#include "TestModels.h"
#include "data/Synthetic.h"
#include "runtime/Batching.h"
#include "runtime/Checkpoint.h"
#include "abi/Container.h"
#include "runtime/Metrics.h"
#include "runtime/Session.h"
#include "runtime/reference/Optimizer.h"

#include "llvm/Support/FileSystem.h"

#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

using namespace mlir::mtgr;
using namespace mlir::mtgr::reference;

namespace {
TEST(Metrics, AucByHand) {
  // Positives 0.8, 0.4; negatives 0.6, 0.2, 0.1: pairs won 3 + 2 = 5 of 6.
  EXPECT_DOUBLE_EQ(*auc({0.8, 0.6, 0.4, 0.2, 0.1}, {1, 0, 1, 0, 0}), 5.0 / 6);
  // Ties count one half: positive 0.5 vs negatives 0.5, 0.3 -> (0.5 + 1) / 2.
  EXPECT_DOUBLE_EQ(*auc({0.5, 0.5, 0.3}, {1, 0, 0}), 0.75);
  // All tied: 0.5. Perfect and reversed orders.
  EXPECT_DOUBLE_EQ(*auc({1, 1, 1, 1}, {1, 0, 1, 0}), 0.5);
  EXPECT_DOUBLE_EQ(*auc({0.9, 0.1}, {1, 0}), 1.0);
  EXPECT_DOUBLE_EQ(*auc({0.1, 0.9}, {1, 0}), 0.0);
  EXPECT_FALSE(auc({0.3, 0.4}, {1, 1}));
}

TEST(Metrics, GaucByHand) {
  // User 1: 3 impressions, AUC 1. User 2: 2 impressions, AUC 0.
  // User 3: one class only, skipped. GAUC = (3 * 1 + 2 * 0) / 5.
  std::vector<double> s{0.9, 0.1, 0.2, 0.8, 0.3, 0.5, 0.6};
  std::vector<float> y{1, 0, 0, 0, 1, 1, 1};
  std::vector<int64_t> u{1, 1, 1, 2, 2, 3, 3};
  EXPECT_DOUBLE_EQ(*gauc(s, y, u), 0.6);
  // Ties inside a user.
  EXPECT_DOUBLE_EQ(*gauc({0.5, 0.5}, {1, 0}, {7, 7}), 0.5);
  EXPECT_FALSE(gauc({0.5, 0.6}, {1, 1}, {7, 8}));
}

TEST(Batching, TokenBudgetAndEverySampleOnce) {
  std::mt19937 rng(3);
  std::vector<int64_t> tokens;
  for (int i = 0; i < 500; ++i)
    tokens.push_back(1 + rng() % (i % 50 == 0 ? 3000 : 300)); // a few larger than the budget
  int64_t budget = 1024, largest = *std::max_element(tokens.begin(), tokens.end());
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    auto steps = tokenBalancedSteps(tokens, budget, 9, epoch);
    std::vector<int> seen(tokens.size(), 0);
    for (const auto &step : steps) {
      int64_t sum = 0;
      for (int64_t s : step)
        sum += tokens[s], ++seen[s];
      EXPECT_LE(sum, budget + largest);
      // Only the last sample may push a step past the budget... and then only
      // when it is alone.
      if (sum > budget)
        EXPECT_EQ(step.size(), 1u);
    }
    for (int n : seen)
      EXPECT_EQ(n, 1);
    EXPECT_EQ(steps, tokenBalancedSteps(tokens, budget, 9, epoch)); // deterministic
    EXPECT_NE(steps, tokenBalancedSteps(tokens, budget, 9, epoch + 1));
  }
}

TEST(Batching, GatherSamplesMatchesSlices) {
  ModelDesc m = test::loadExample("tiny.yaml");
  SyntheticOptions o;
  o.users = 6;
  Batch data = generateSynthetic(m, o);
  Batch gathered = gatherSamples(m, data, {2, 3, 4});
  Batch sliced = sliceBatch(m, data, 2, 5);
  EXPECT_EQ(gathered.sequenceOffsets, sliced.sequenceOffsets);
  EXPECT_EQ(gathered.realtimeTimes, sliced.realtimeTimes);
  EXPECT_EQ(gathered.candidate[1].values, sliced.candidate[1].values);
  EXPECT_EQ(gathered.labels, sliced.labels);
  EXPECT_FALSE(validateBatch(m, gatherSamples(m, data, {5, 0, 3})));
}

TEST(DynamicTable, InsertAndLookup) {
  DynamicTable t(4, 0, DynamicTable::Policy::LRU);
  EXPECT_EQ(t.lookup(42), DynamicTable::kOovRow);
  auto a = t.admit(42, 1);
  EXPECT_TRUE(a.fresh);
  EXPECT_NE(a.row, DynamicTable::kOovRow);
  EXPECT_EQ(t.lookup(42), a.row);
  auto again = t.admit(42, 2);
  EXPECT_FALSE(again.fresh);
  EXPECT_EQ(again.row, a.row);
  EXPECT_EQ(t.lookup(-7), DynamicTable::kOovRow); // unknown at inference: OOV, no insert
  EXPECT_EQ(t.size(), 1);
}

TEST(DynamicTable, AdmissionThreshold) {
  DynamicTable t(8, 3, DynamicTable::Policy::LRU);
  EXPECT_EQ(t.admit(5, 1).row, DynamicTable::kOovRow);
  EXPECT_EQ(t.admit(5, 2).row, DynamicTable::kOovRow);
  auto third = t.admit(5, 3);
  EXPECT_TRUE(third.fresh);
  EXPECT_NE(third.row, DynamicTable::kOovRow);
}

TEST(DynamicTable, LruEviction) {
  DynamicTable t(4, 1, DynamicTable::Policy::LRU); // rows 1..3 for ids
  t.admit(1, 1), t.admit(2, 2), t.admit(3, 3);
  t.admit(1, 4); // 2 is now the least recently used
  auto a = t.admit(4, 5);
  EXPECT_TRUE(a.evicted);
  EXPECT_EQ(a.evictedId, 2);
  EXPECT_FALSE(t.contains(2));
  EXPECT_TRUE(t.contains(1) && t.contains(3) && t.contains(4));
}

TEST(DynamicTable, LfuEviction) {
  DynamicTable t(4, 1, DynamicTable::Policy::LFU);
  t.admit(1, 1), t.admit(2, 2), t.admit(3, 3);
  t.admit(1, 4), t.admit(1, 5), t.admit(3, 6); // uses: 1 -> 3, 2 -> 1, 3 -> 2
  auto a = t.admit(4, 7);
  EXPECT_EQ(a.evictedId, 2);
  t.admit(4, 8); // uses: 4 -> 2, 3 -> 2; 3 is older
  auto b = t.admit(5, 9);
  EXPECT_EQ(b.evictedId, 3);
}

TEST(DynamicTable, SaveAndLoad) {
  DynamicTable t(16, 2, DynamicTable::Policy::LFU);
  for (int64_t i = 0; i < 60; ++i)
    t.admit(i % 23, i);
  auto copy = DynamicTable::deserialize(t.serialize());
  ASSERT_TRUE(static_cast<bool>(copy));
  EXPECT_TRUE(*copy == t);
  // The copy evolves exactly as the original.
  for (int64_t i = 60; i < 90; ++i)
    EXPECT_EQ(copy->admit(i % 31, i).row, t.admit(i % 31, i).row);
  std::string bytes = t.serialize();
  EXPECT_FALSE(static_cast<bool>(DynamicTable::deserialize(bytes.substr(0, bytes.size() - 3))));
}

TEST(Optimizer, AdamFirstStepsByHand) {
  TrainingDesc t; // lr 1e-3, betas (0.9, 0.999), eps 1e-8
  std::vector<float> p{1.0f, -2.0f};
  AdamState s;
  adamUpdate(t, false, 1, p, {0.5, -0.25}, s);
  // Step 1: m_hat = g, v_hat = g^2, so the update is lr * g / (|g| + eps).
  EXPECT_NEAR(p[0], 1.0 - 1e-3 * 0.5 / (0.5 + 1e-8), 1e-7);
  EXPECT_NEAR(p[1], -2.0 + 1e-3 * 0.25 / (0.25 + 1e-8), 1e-7);
  // Step 2 with g = 0.1: m = 0.9*0.05 + 0.01 = 0.055, v = 0.999*0.00025 + 0.001*0.01.
  double m = 0.9 * 0.05 + 0.1 * 0.1, v = 0.999 * 0.00025 + 0.001 * 0.01;
  double expected = p[0] - 1e-3 * (m / (1 - 0.81)) / (std::sqrt(v / (1 - 0.999 * 0.999)) + 1e-8);
  adamUpdate(t, false, 2, p, {0.1, 0.0}, s);
  EXPECT_NEAR(p[0], expected, 1e-7);
}

TEST(Optimizer, WeightDecay) {
  TrainingDesc adamw;
  adamw.optimizer = TrainingDesc::Optimizer::AdamW;
  adamw.weightDecay = 0.1;
  std::vector<float> p{2.0f}, q{2.0f};
  AdamState s1, s2;
  adamUpdate(adamw, true, 1, p, {0.5}, s1);
  // Decoupled: p = p - lr*wd*p, then the Adam step (update lr * sign(g)).
  EXPECT_NEAR(p[0], 2.0 * (1 - 1e-3 * 0.1) - 1e-3, 1e-6);
  adamUpdate(adamw, false, 1, q, {0.5}, s2); // no_decay parameters skip it
  EXPECT_NEAR(q[0], 2.0 - 1e-3, 1e-6);
  TrainingDesc adam;
  adam.weightDecay = 0.1;
  std::vector<float> r{2.0f};
  AdamState s3;
  adamUpdate(adam, true, 1, r, {-0.1}, s3); // L2: g = -0.1 + 0.2 = 0.1 > 0
  EXPECT_NEAR(r[0], 2.0 - 1e-3, 1e-6);
}

TEST(Optimizer, SparseRows) {
  TrainingDesc t; // sparse_lr 0.01
  float row[2] = {1.0f, 1.0f}, acc = 0.0f;
  double g[2] = {0.3, -0.4};
  rowwiseAdagradUpdate(t, row, g, 2, acc);
  double G = (0.09 + 0.16) / 2; // mean of g^2
  EXPECT_NEAR(acc, G, 1e-7);
  EXPECT_NEAR(row[0], 1.0 - 0.01 * 0.3 / (std::sqrt(G) + 1e-8), 1e-6);
  EXPECT_NEAR(row[1], 1.0 + 0.01 * 0.4 / (std::sqrt(G) + 1e-8), 1e-6);
  float w[1] = {0.5f}, m[1] = {0.0f}, v[1] = {0.0f};
  double gw[1] = {2.0};
  sparseAdamUpdate(t, 1, w, gw, 1, m, v);
  EXPECT_NEAR(w[0], 0.5 - 0.01, 1e-6);
  EXPECT_NEAR(m[0], 0.2, 1e-7);
  EXPECT_NEAR(v[0], 0.004, 1e-7);
}

TrainState sampleState(float fill, int64_t step, size_t bigParam = 1000) {
  TrainState s;
  s.modelHash = "abc";
  s.step = step, s.epoch = 2, s.stepInEpoch = 7, s.seed = 123456789012345ULL;
  s.params.set("w", Tensor{{static_cast<int64_t>(bigParam)}, std::vector<float>(bigParam, fill)});
  s.params.set("b", Tensor{{2, 2}, {1, 2, 3, fill}});
  s.optimizer[optimizerSlot("w", "m")] = std::vector<float>(bigParam, 0.5f);
  s.optimizer[optimizerSlot("w", "v")] = std::vector<float>(bigParam, 0.25f);
  s.optimizer[optimizerSlot("tables.q.weight", "acc")] = {0.1f, 0.2f};
  DynamicTable t(8, 1, DynamicTable::Policy::LRU);
  t.admit(17, 1);
  s.tables.emplace("q", t);
  return s;
}

TEST(Checkpoint, RoundTrip) {
  TrainState s = sampleState(3.5f, 41);
  auto back = parseCheckpoint(serializeCheckpoint(s), "x.ckpt");
  ASSERT_TRUE(static_cast<bool>(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(serializeCheckpoint(*back), serializeCheckpoint(s));
  EXPECT_EQ(back->step, 41);
  EXPECT_EQ(back->seed, 123456789012345ULL);
  EXPECT_EQ(back->params.get("b").data[3], 3.5f);
  EXPECT_TRUE(back->tables.at("q").contains(17));
  std::string bytes = serializeCheckpoint(s);
  bytes[bytes.size() - 5] ^= 1;
  auto bad = parseCheckpoint(bytes, "x.ckpt");
  ASSERT_FALSE(static_cast<bool>(bad));
  EXPECT_NE(llvm::toString(bad.takeError()).find("checksum mismatch"), std::string::npos);
}

// Crafted checkpoints: at 9a78b6d a free row of 1,000,000,000 loaded and
// `train --resume` segfaulted, a non-numeric seed ended in std::terminate.
TEST(Checkpoint, CraftedFilesAreRefused) {
  TrainState s = sampleState(3.5f, 41);
  auto sections = [&](const std::string &bytes) {
    auto u = unpackSections(bytes, llvm::StringRef("MTGRCKP\n", 8), 2, "x.ckpt", "a checkpoint");
    EXPECT_TRUE(static_cast<bool>(u));
    Sections out;
    for (auto &[name, body] : *u)
      out.push_back({name, body.str()});
    return out;
  };
  auto reseal = [&](Sections sec) { return packSections(llvm::StringRef("MTGRCKP\n", 8), 2, sec); };
  auto why = [&](const std::string &bytes) {
    auto r = parseCheckpoint(bytes, "x.ckpt");
    return r ? std::string() : llvm::toString(r.takeError());
  };
  std::string good = serializeCheckpoint(s);
  // The last free row of table q (the table section ends with it).
  Sections sec = sections(good);
  for (auto &[name, body] : sec)
    if (name == "tables") {
      int64_t row = 1000000000;
      std::memcpy(&body[body.size() - 8], &row, 8);
    }
  EXPECT_NE(why(reseal(sec)).find("table 'q': dynamic table: truncated or corrupted state"),
            std::string::npos)
      << why(reseal(sec));
  sec = sections(good);
  for (auto &[name, body] : sec)
    if (name == "meta")
      body.replace(body.find("123456789012345"), 15, "twelve");
  EXPECT_NE(why(reseal(sec)).find("seed 'twelve' is not an unsigned integer"), std::string::npos)
      << why(reseal(sec));
}

// resealChecksums (the fuzz harnesses' way past the checksums): an edited
// section is refused as corrupted, and after resealing it reads with the edit.
TEST(Checkpoint, ResealedChecksumsLetAnEditThrough) {
  std::string bytes = packSections(llvm::StringRef("MAGIC42\n", 8), 7, {{"a", "hello"}, {"b", "x"}});
  bytes[bytes.size() - 3] = 'L'; // section a ("hello") is followed by b ("x"): "helLo"
  auto corrupted = unpackSections(bytes, llvm::StringRef("MAGIC42\n", 8), 7, "f", "a test file");
  ASSERT_FALSE(static_cast<bool>(corrupted));
  EXPECT_NE(llvm::toString(corrupted.takeError()).find("section 'a': checksum mismatch"),
            std::string::npos);
  ASSERT_TRUE(resealChecksums(bytes));
  auto sections = unpackSections(bytes, llvm::StringRef("MAGIC42\n", 8), 7, "f", "a test file");
  ASSERT_TRUE(static_cast<bool>(sections)) << llvm::toString(sections.takeError());
  EXPECT_EQ((*sections)["a"], "helLo");
  std::string tooShort = bytes.substr(0, 20);
  EXPECT_FALSE(resealChecksums(tooShort));
}

// A writer killed at random moments while overwriting a checkpoint never
// leaves a file that does not load: it is the old checkpoint or the new one.
TEST(Checkpoint, CrashDuringWriteLeavesALoadableCheckpoint) {
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("mtgr-ckpt", dir));
  std::string path = (dir + "/run.ckpt").str();
  TrainState old = sampleState(1.0f, 10, 4'000'000); // 16 MB of parameters
  ASSERT_FALSE(saveCheckpoint(path, old));
  std::string oldBytes = serializeCheckpoint(old);
  TrainState next = sampleState(2.0f, 11, 4'000'000);
  std::string newBytes = serializeCheckpoint(next);
  int survivedOld = 0, survivedNew = 0;
  for (int trial = 0; trial < 8; ++trial) {
    pid_t pid = fork();
    if (pid == 0) {
      for (;;) // keep rewriting until killed
        (void)!saveCheckpoint(path, trial % 2 ? next : old);
    }
    usleep(2000 + trial * trial * 10000); // mid-write, and after whole writes
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    auto loaded = loadCheckpoint(path);
    ASSERT_TRUE(static_cast<bool>(loaded)) << llvm::toString(loaded.takeError());
    std::string bytes = serializeCheckpoint(*loaded);
    EXPECT_TRUE(bytes == oldBytes || bytes == newBytes);
    (bytes == oldBytes ? survivedOld : survivedNew)++;
  }
  llvm::sys::fs::remove_directories(dir);
  std::printf("after 8 kills: %d old, %d new checkpoints, all loadable\n", survivedOld,
              survivedNew);
}
} // namespace
