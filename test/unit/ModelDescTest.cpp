//===- ModelDescTest.cpp - the model description parser ------------------===//
#include "TestModels.h"

#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace mlir::mtgr;

namespace {
std::optional<ModelDesc> parse(const std::string &text, std::string *diag = nullptr) {
  std::string errors;
  llvm::raw_string_ostream os(errors);
  auto m = parseModelDesc(text, "test.yaml", os);
  if (diag)
    *diag = errors;
  return m;
}

const char *kMinimal = R"(name: m
layers: 1
d_model: 8
tables:
  - {name: item, rows: 10, dim: 4}
features:
  user: [{name: a, dense: 1}]
  sequence: [{name: item, table: item}]
  candidate: {item: [{name: item, table: item}]}
tasks: [{name: ctr}]
)";

TEST(ModelDesc, ReadsTiny) {
  std::string diag;
  llvm::raw_string_ostream os(diag);
  auto m = loadModelDesc(test::examplePath("tiny.yaml"), os);
  ASSERT_TRUE(m) << diag;
  EXPECT_EQ(m->name, "tiny");
  EXPECT_EQ(m->layers, 2);
  EXPECT_EQ(m->dModel, 16);
  EXPECT_EQ(m->heads, 2);
  EXPECT_EQ(m->dqk, 8);
  EXPECT_EQ(m->dv, 8);
  EXPECT_DOUBLE_EQ(m->alpha, 1.0 / std::sqrt(8.0));
  ASSERT_EQ(m->user.size(), 2u);
  EXPECT_EQ(m->user[0].table, "user");
  EXPECT_EQ(m->user[0].width, 4);
  EXPECT_EQ(m->user[1].denseDim, 1);
  EXPECT_EQ(m->realtime.size(), m->sequence.size()); // R shares S's schema
  EXPECT_FALSE(m->realtimeOwnMlp);
  EXPECT_EQ(ModelDesc::totalWidth(m->sequence), 12);
  ASSERT_EQ(m->candidateCross.size(), 2u);
  EXPECT_EQ(m->candidateCross[1].width, 4);
  ASSERT_EQ(m->tasks.size(), 2u);
  EXPECT_EQ(m->tasks[0].hidden, std::vector<int64_t>{8});
  EXPECT_TRUE(m->tasks[1].hidden.empty());
  EXPECT_EQ(m->training.candidatesPerStep, 64);
}

TEST(ModelDesc, Defaults) {
  auto m = parse(kMinimal);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->heads, 1);
  EXPECT_EQ(m->dqk, 8);
  EXPECT_EQ(toString(m->nNorm), "total");
  EXPECT_EQ(toString(m->mask), "dynamic");
  EXPECT_EQ(toString(m->normOrder), "gate_then_norm");
  EXPECT_EQ(toString(m->normGroups), "per_group");
  EXPECT_EQ(m->normGroupRows(), 4);
  EXPECT_EQ(m->dropout, 0.0);
  EXPECT_FALSE(m->rab);
  EXPECT_EQ(toString(m->tables[0].kind), "fixed");
  EXPECT_EQ(toString(m->training.optimizer), "adam");
  EXPECT_DOUBLE_EQ(m->training.lr, 1e-3);
  EXPECT_DOUBLE_EQ(m->training.beta2, 0.999);
  EXPECT_EQ(m->training.weightDecay, 0.0);
  EXPECT_EQ(toString(m->training.sparseOptimizer), "rowwise_adagrad");
}

TEST(ModelDesc, Options) {
  std::string y = std::string(kMinimal) +
                  "n_norm: 128\nmask: contextual\nnorm_order: norm_then_gate\n"
                  "norm_groups: shared\n"
                  "rab: {positions: 16, time_buckets: 8}\ndropout: 0.2\nalpha: 0.5\n"
                  "training: {optimizer: adamw, betas: [0.8, 0.99], seed: 7}\n";
  std::string diag;
  auto m = parse(y, &diag);
  ASSERT_TRUE(m) << diag;
  EXPECT_EQ(toString(m->nNorm), "constant");
  EXPECT_EQ(m->nNormConstant, 128.0);
  EXPECT_EQ(toString(m->mask), "contextual");
  EXPECT_EQ(toString(m->normOrder), "norm_then_gate");
  EXPECT_EQ(toString(m->normGroups), "shared");
  EXPECT_EQ(m->normGroupRows(), 1);
  EXPECT_TRUE(m->rab);
  EXPECT_EQ(m->rabMaxPos, 16);
  EXPECT_EQ(m->rabTimeBuckets, 8);
  EXPECT_EQ(m->dropout, 0.2);
  EXPECT_EQ(m->alpha, 0.5);
  EXPECT_EQ(toString(m->training.optimizer), "adamw");
  EXPECT_DOUBLE_EQ(m->training.weightDecay, 0.01); // PyTorch's AdamW default
  EXPECT_DOUBLE_EQ(m->training.beta1, 0.8);
  EXPECT_EQ(m->training.seed, 7u);
}

TEST(ModelDesc, ExplicitHeadDimsNeedNoDivisibility) {
  std::string y = kMinimal;
  y.replace(y.find("d_model: 8"), 10, "d_model: 10\nheads: 3\ndqk: 4\ndv: 5");
  std::string diag;
  auto m = parse(y, &diag);
  ASSERT_TRUE(m) << diag;
  EXPECT_EQ(m->dqk, 4);
  EXPECT_EQ(m->dv, 5);
  y.replace(y.find("dqk: 4\ndv: 5"), 12, "");
  EXPECT_FALSE(parse(y, &diag));
  EXPECT_NE(diag.find("d_model = 10 is not divisible by heads = 3"), std::string::npos) << diag;
}

TEST(ModelDesc, DynamicTables) {
  std::string y = kMinimal;
  y.replace(y.find("  - {name: item, rows: 10, dim: 4}"), 34,
            "  - {name: item, kind: dynamic, capacity: 1000, dim: 4, admission_threshold: 3, "
            "eviction: lfu}");
  std::string diag;
  auto m = parse(y, &diag);
  ASSERT_TRUE(m) << diag;
  EXPECT_EQ(toString(m->tables[0].kind), "dynamic");
  EXPECT_EQ(m->tables[0].rows, 1000);
  EXPECT_EQ(m->tables[0].admissionThreshold, 3);
  EXPECT_EQ(toString(m->tables[0].eviction), "lfu");
}

struct BadCase {
  const char *from, *to, *message;
};

class ModelDescErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(ModelDescErrors, ReportsLineColumnAndKey) {
  std::string y = kMinimal;
  size_t at = y.find(GetParam().from);
  ASSERT_NE(at, std::string::npos);
  y.replace(at, std::string(GetParam().from).size(), GetParam().to);
  std::string diag;
  EXPECT_FALSE(parse(y, &diag));
  EXPECT_NE(diag.find("test.yaml:"), std::string::npos) << diag;
  EXPECT_NE(diag.find(GetParam().message), std::string::npos) << diag;
}

INSTANTIATE_TEST_SUITE_P(
    AllClasses, ModelDescErrors,
    ::testing::Values(
        BadCase{"layers: 1", "layer: 1", "test.yaml:2:1: error: unknown key 'layer' in model"},
        BadCase{"layers: 1", "layers: [1]", "key 'layers' in model: expected an integer, got a list"},
        BadCase{"layers: 1", "layers: 1.5", "expected an integer, got '1.5'"},
        BadCase{"d_model: 8\n", "", "missing required key 'd_model' in model"},
        BadCase{"tasks: [{name: ctr}]", "", "missing required key 'tasks' in model"},
        BadCase{"{name: item, table: item}]}", "{name: item, table: nope}]}",
                "refers to table 'nope', which is not declared"},
        BadCase{"d_model: 8", "d_model: 9\nheads: 2", "d_model = 9 is not divisible by heads = 2"},
        BadCase{"d_model: 8", "d_model: 0", "key 'd_model' in model: must be >= 1, got 0"},
        BadCase{"dim: 4", "dim: -4", "key 'dim' in tables[0]: must be >= 1, got -4"},
        BadCase{"layers: 1", "layers: 1\nheads: 0", "key 'heads' in model: must be >= 1, got 0"},
        BadCase{"tasks: [{name: ctr}]", "tasks: [{name: ctr}, {name: ctr}]",
                "duplicate task name 'ctr'"},
        BadCase{"tasks: [{name: ctr}]", "tasks: [{name: ctr, mlp: [0]}]",
                "sizes must be in [1, 65536], got 0"},
        BadCase{"layers: 1", "layers: 1\nn_norm: -3", "a constant must be positive"},
        BadCase{"layers: 1", "layers: 1\nn_norm: maybe", "expected total, visible or a positive"},
        BadCase{"layers: 1", "layers: 1\ndropout: 1.0", "key 'dropout' in model: must be in [0, 1)"},
        BadCase{"layers: 1", "layers: 1\nrab: {positions: 4}", "missing required key 'time_buckets' in rab"},
        BadCase{"layers: 1", "layers: 1\ntraining: {lr: 0}", "key 'lr' in training: must be positive"},
        BadCase{"layers: 1", "layers: 1\ntraining: {optimizer: sgd}", "'sgd' is not one of: adam, adamw"},
        BadCase{"layers: 1", "layers: 1\ntraining: {betas: [0.9]}", "expected [beta1, beta2]"},
        BadCase{"rows: 10", "capacity: 10", "key 'capacity' in tables[0] does not apply to fixed tables"},
        BadCase{"user: [{name: a, dense: 1}]", "user: [{name: a}]", "needs 'table: NAME' (categorical) or 'dense: WIDTH'"},
        BadCase{"user: [{name: a, dense: 1}]", "user: []", "'features.user' needs at least one feature"},
        BadCase{"user: [{name: a, dense: 1}]", "user: [{name: a, dense: 1}, {name: a, dense: 2}]",
                "duplicate feature name 'a' in features.user"},
        BadCase{"name: m", "name: m\n---\nname: n", "a model description is a single YAML document"},
        BadCase{"layers: 1", "layers: &x 1\nheads: *x", "YAML aliases are not supported"},
        BadCase{"features:", "features: 3\nfoo:", "unknown key 'foo' in model"},
        // Sizes are bounded (at 9a78b6d these wrapped int64 or aborted in LLVM).
        BadCase{"rows: 10", "rows: 4611686018427387904",
                "test.yaml:5:24: error: key 'rows' in tables[0]: must be <= 4294967296"},
        BadCase{"rows: 10", "rows: 100000000000", "must be <= 4294967296, got 100000000000"},
        BadCase{"d_model: 8", "d_model: 8\nrab: {positions: 4611686018427387904, time_buckets: 4}",
                "key 'positions' in rab: must be <= 1048576"},
        BadCase{"dim: 4", "dim: 1000000", "key 'dim' in tables[0]: must be <= 65536"},
        BadCase{"layers: 1", "layers: 100000", "key 'layers' in model: must be <= 1024"},
        // Feature names the request format uses for its own keys.
        BadCase{"{name: a, dense: 1}", "{name: time, dense: 1}",
                "test.yaml:7:17: error: feature name 'time' in features.user is reserved"},
        BadCase{"sequence: [{name: item", "sequence: [{name: id",
                "feature name 'id' in features.sequence is reserved"},
        BadCase{"candidate: {item: [{name: item", "candidate: {item: [{name: labels",
                "feature name 'labels' in features.candidate.item is reserved"},
        BadCase{"{name: a, dense: 1}", "{name: intervals, dense: 1}",
                "feature name 'intervals' in features.user is reserved"},
        BadCase{"{name: a, dense: 1}", "{name: offsets, dense: 1}",
                "feature name 'offsets' in features.user is reserved"}));

// 50,000 levels of [[[...]]] overflowed the stack at 9a78b6d.
TEST(ModelDesc, DeepNestingIsAnError) {
  std::string y = std::string(kMinimal) + "deep: " + std::string(50000, '[') +
                  std::string(50000, ']') + "\n";
  std::string diag;
  EXPECT_FALSE(parse(y, &diag));
  EXPECT_NE(diag.find("test.yaml:11:72: error: nesting deeper than 64 levels"), std::string::npos)
      << diag.substr(0, 300);
}

// A task may be called like anything the ABI has (loss, hidden): the runtime
// binds by kind and index, never by name.
TEST(ModelDesc, TaskNamedLossIsAllowed) {
  std::string y = kMinimal;
  y.replace(y.find("tasks: [{name: ctr}]"), 20, "tasks: [{name: loss}, {name: hidden}]");
  std::string diag;
  EXPECT_TRUE(parse(y, &diag)) << diag;
}

// Every prefix of a valid description either parses or fails with a
// message: never a crash (LLVM's YAML parser is fed half-written input).
TEST(ModelDesc, TruncatedInputNeverCrashes) {
  auto buffer = llvm::MemoryBuffer::getFile(test::examplePath("mtgr-small.yaml"));
  ASSERT_TRUE(buffer);
  std::string text = (*buffer)->getBuffer().str();
  for (size_t n = 0; n <= text.size(); ++n) {
    std::string diag;
    if (!parse(text.substr(0, n), &diag))
      EXPECT_NE(diag.find("error:"), std::string::npos) << "prefix " << n;
  }
}

TEST(ModelDesc, RandomDescriptionsParse) {
  std::mt19937 rng(1234);
  for (int i = 0; i < 200; ++i) {
    std::string y = test::randomModelYaml(rng), diag;
    EXPECT_TRUE(parse(y, &diag)) << y << "\n" << diag;
  }
}
} // namespace
