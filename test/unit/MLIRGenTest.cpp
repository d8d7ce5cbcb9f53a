//===- MLIRGenTest.cpp - model description -> verified mtgr IR ------------===//
#include "TestModels.h"
#include "dialect/MTGRDialect.h"
#include "frontend/MLIRGen.h"
#include "model/ModelStats.h"
#include "passes/Passes.h"
#include "codegen/common/Passes.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <set>

using namespace mlir;

namespace {
struct Built {
  std::unique_ptr<MLIRContext> context;
  OwningOpRef<ModuleOp> module;
};

Built build(const mlir::mtgr::ModelDesc &m) {
  DialectRegistry registry;
  mlir::mtgr::registerFrontendDialects(registry);
  Built b{std::make_unique<MLIRContext>(registry), nullptr};
  b.module = mlir::mtgr::buildModule(*b.context, m);
  return b;
}

bool decompose(ModuleOp module) {
  PassManager pm(module.getContext());
  pm.addPass(mlir::mtgr::createMTGRDecomposeLayersPass());
  return succeeded(pm.run(module));
}

void checkModule(const mlir::mtgr::ModelDesc &m, ModuleOp module) {
  // Every parameter of the counter is declared, with its shape, in order.
  std::vector<mlir::mtgr::ParamSpec> specs = mlir::mtgr::collectParameters(m);
  size_t i = 0;
  int64_t elements = 0;
  module.walk([&](mlir::mtgr::ParameterOp p) {
    ASSERT_LT(i, specs.size());
    EXPECT_EQ(p.getSymName(), specs[i].name);
    auto shape = cast<RankedTensorType>(p.getType()).getShape();
    EXPECT_EQ(std::vector<int64_t>(shape.begin(), shape.end()), specs[i].shape);
    elements += cast<RankedTensorType>(p.getType()).getNumElements();
    ++i;
  });
  EXPECT_EQ(i, specs.size());
  EXPECT_EQ(elements, mlir::mtgr::countParameters(m).total());

  auto forward = module.lookupSymbol<func::FuncOp>("forward");
  ASSERT_TRUE(forward);
  EXPECT_EQ(forward.getNumResults(), m.tasks.size());
  size_t layers = 0;
  forward.walk([&](mlir::mtgr::HstuLayerOp) { ++layers; });
  EXPECT_EQ(layers, static_cast<size_t>(m.layers));
  EXPECT_TRUE(module.lookupSymbol<func::FuncOp>("loss"));
}

TEST(MLIRGen, BundledExamples) {
  for (const char *name : {"tiny.yaml", "mtgr-small.yaml", "mtgr-medium.yaml",
                           "mtgr-large.yaml", "dlrm-baseline.yaml"}) {
    std::string diag;
    llvm::raw_string_ostream os(diag);
    auto m = mlir::mtgr::loadModelDesc(mlir::mtgr::test::examplePath(name), os);
    ASSERT_TRUE(m) << name << ": " << diag;
    Built b = build(*m);
    ASSERT_TRUE(b.module) << name;
    checkModule(*m, *b.module);
    EXPECT_TRUE(decompose(*b.module)) << name;
  }
}

TEST(MLIRGen, ForwardInputsAreNamed) {
  std::string diag;
  llvm::raw_string_ostream os(diag);
  auto m = mlir::mtgr::loadModelDesc(mlir::mtgr::test::examplePath("tiny.yaml"), os);
  ASSERT_TRUE(m);
  Built b = build(*m);
  auto forward = b.module->lookupSymbol<func::FuncOp>("forward");
  std::vector<std::string> names;
  for (unsigned i = 0; i < forward.getNumArguments(); ++i)
    names.push_back(forward.getArgAttrOfType<StringAttr>(i, "mtgr.input").str());
  EXPECT_EQ(names, (std::vector<std::string>{
                       "user.user_id", "user.age", "sequence.item_id", "sequence.action",
                       "sequence.time", "realtime.item_id", "realtime.action", "realtime.time",
                       "candidate.item_id", "candidate.clicks_7d", "candidate.affinity",
                       "candidate.time"}));
}

// Random configurations (layers, sizes, masks, n_norm, norm order, rab,
// dropout, dqk != dv, DLRM context, R's own MLP) all build verified IR and
// decompose into verified kernel-level IR.
TEST(MLIRGen, RandomModelsBuildAndDecompose) {
  std::mt19937 rng(42);
  for (int i = 0; i < 60; ++i) {
    std::string y = mlir::mtgr::test::randomModelYaml(rng), diag;
    llvm::raw_string_ostream os(diag);
    auto m = mlir::mtgr::parseModelDesc(y, "random.yaml", os);
    ASSERT_TRUE(m) << y << diag;
    Built b = build(*m);
    ASSERT_TRUE(b.module) << y;
    checkModule(*m, *b.module);
    ASSERT_TRUE(decompose(*b.module)) << y;
    ASSERT_TRUE(succeeded(verify(*b.module))) << y;
    bool modelLevelLeft = false;
    b.module->walk([&](Operation *op) {
      modelLevelLeft |= op->hasTrait<mlir::mtgr::ModelLevel>();
    });
    EXPECT_FALSE(modelLevelLeft) << y;
  }
}

// Every value of each description enum reaches the IR as the dialect's enum of
// the same spelling (MLIRGen's toDialect): a value the dialect lacked would
// stop the generator.
TEST(MLIRGen, EveryDescriptionEnumReachesTheIR) {
  using mlir::mtgr::ModelDesc;
  using mlir::mtgr::TableDesc;
  using mlir::mtgr::TrainingDesc;
  ModelDesc base = mlir::mtgr::test::loadExample("tiny.yaml");
  auto layerOf = [](ModuleOp module) {
    mlir::mtgr::HstuLayerOp layer;
    module.walk([&](mlir::mtgr::HstuLayerOp op) { layer = op; });
    return layer;
  };
  for (auto mask :
       {ModelDesc::Mask::Dynamic, ModelDesc::Mask::Causal, ModelDesc::Mask::CausalTargets,
        ModelDesc::Mask::Contextual, ModelDesc::Mask::Intervals})
    for (auto order : {ModelDesc::NormOrder::GateThenNorm, ModelDesc::NormOrder::NormThenGate})
      for (auto nNorm :
           {ModelDesc::NNorm::Total, ModelDesc::NNorm::Visible, ModelDesc::NNorm::Constant}) {
        ModelDesc m = base;
        m.mask = mask, m.normOrder = order, m.nNorm = nNorm, m.nNormConstant = 4.0;
        Built b = build(m);
        ASSERT_TRUE(b.module);
        auto layer = layerOf(*b.module);
        ASSERT_TRUE(layer);
        EXPECT_EQ(mlir::mtgr::stringifyMaskKind(layer.getMask()), toString(mask));
        EXPECT_EQ(mlir::mtgr::stringifyNormOrder(layer.getNormOrder()), toString(order));
        EXPECT_EQ(mlir::mtgr::stringifyNNorm(layer.getNNorm()), toString(nNorm));
      }
  for (auto kind : {TableDesc::Kind::Fixed, TableDesc::Kind::Hashed, TableDesc::Kind::Dynamic})
    for (auto eviction : {TableDesc::Eviction::LRU, TableDesc::Eviction::LFU})
      for (auto dense : {TrainingDesc::Optimizer::Adam, TrainingDesc::Optimizer::AdamW})
        for (auto sparse :
             {TrainingDesc::SparseOptimizer::RowwiseAdagrad, TrainingDesc::SparseOptimizer::Adam}) {
          ModelDesc m = base;
          m.tables[0].kind = kind, m.tables[0].eviction = eviction;
          m.training.optimizer = dense, m.training.sparseOptimizer = sparse;
          Built b = build(m);
          ASSERT_TRUE(b.module);
          auto table = b.module->lookupSymbol<mlir::mtgr::TableOp>(m.tables[0].name);
          mlir::mtgr::OptimizerOp optimizer;
          b.module->walk([&](mlir::mtgr::OptimizerOp op) { optimizer = op; });
          ASSERT_TRUE(table && optimizer);
          EXPECT_EQ(mlir::mtgr::stringifyTableKind(table.getKind()), toString(kind));
          if (kind == TableDesc::Kind::Dynamic)
            EXPECT_EQ(mlir::mtgr::stringifyEviction(*table.getEviction()), toString(eviction));
          EXPECT_EQ(mlir::mtgr::stringifyDenseOptimizer(optimizer.getDense()), toString(dense));
          EXPECT_EQ(mlir::mtgr::stringifySparseOptimizer(optimizer.getSparse()), toString(sparse));
        }
}
} // namespace

// The lowering binds embedding ids by their argument's feature role: ids
// whose argument has another role (a fuzzed time role crashed the train-step
// pass, and computed ids would crash the lowering) are refused on the op.
TEST(MLIRGen, LoweringRefusesEmbeddingIdsWithoutAFeatureRole) {
  Built b = build(mlir::mtgr::test::loadExample("tiny.yaml"));
  ASSERT_TRUE(b.module);
  ASSERT_TRUE(decompose(*b.module));
  auto forward = b.module->lookupSymbol<func::FuncOp>("forward");
  mlir::mtgr::EmbeddingLookupOp lookup;
  forward.walk([&](mlir::mtgr::EmbeddingLookupOp op) {
    if (!lookup)
      lookup = op;
  });
  ASSERT_TRUE(lookup);
  auto ids = cast<BlockArgument>(lookup.getIds());
  forward.setArgAttr(
      ids.getArgNumber(), mlir::mtgr::kRoleAttr,
      mlir::mtgr::abiRole(b.context.get(), ::mtgr::RoleKind::Time, ::mtgr::Group::Candidate));
  std::string diag;
  ScopedDiagnosticHandler handler(b.context.get(), [&](Diagnostic &d) {
    diag += d.str() + "\n";
    return success();
  });
  PassManager pm(b.context.get());
  pm.addPass(mlir::mtgr::createMTGRBindEntryPointsPass());
  EXPECT_TRUE(failed(pm.run(*b.module)));
  EXPECT_NE(diag.find("embedding ids must be an entry point argument with its mtgr.input name "
                      "and a 'feature' mtgr.role"),
            std::string::npos)
      << diag;
}

// The profile family is an op property (MTGR_Profiled in MTGROps.td): every
// kernel-level op declares exactly one, so that no op is filed under a family
// by default; model-level ops (decomposed before lowering) and declarations
// have none.
TEST(Dialect, EveryKernelOpHasOneProfileFamily) {
  DialectRegistry registry;
  mlir::mtgr::registerFrontendDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  std::set<std::string> declarations = {"mtgr.parameter", "mtgr.param", "mtgr.table",
                                        "mtgr.optimizer"};
  int kernelOps = 0;
  for (RegisteredOperationName name : context.getRegisteredOperations()) {
    if (name.getDialectNamespace() != "mtgr")
      continue;
    std::string op = name.getStringRef().str();
    auto family = mlir::mtgr::profileFamilyOf(name);
    if (name.hasTrait<mlir::mtgr::ModelLevel>() || declarations.count(op)) {
      EXPECT_FALSE(family) << op;
      continue;
    }
    ++kernelOps;
    EXPECT_TRUE(family) << op << " has no profile family (MTGR_Profiled<...> in MTGROps.td)";
  }
  EXPECT_GT(kernelOps, 30);
  EXPECT_EQ(mlir::mtgr::profileFamilyOf(RegisteredOperationName::lookup("mtgr.linear", &context).value()),
            ::mtgr::ProfileFamily::Projections);
  EXPECT_EQ(mlir::mtgr::profileFamilyOf(RegisteredOperationName::lookup("mtgr.silu", &context).value()),
            ::mtgr::ProfileFamily::Elementwise);
}
