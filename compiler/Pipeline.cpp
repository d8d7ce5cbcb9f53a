//===- Pipeline.cpp - the compiler's passes, in order ----------------------===//
#include "compiler/Pipeline.h"
#include "codegen/common/Passes.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::mtgr;

void mlir::mtgr::addKernelPasses(OpPassManager &pm) { pm.addPass(createMTGRDecomposeLayersPass()); }

void mlir::mtgr::addGradientPasses(OpPassManager &pm) {
  pm.addPass(createMTGRGenerateTrainStepPass());
  pm.addPass(createCanonicalizerPass()); // drops gradients nothing uses
}

void mlir::mtgr::addServingPasses(OpPassManager &pm) { pm.addPass(createMTGRSplitPrefixPass()); }

void mlir::mtgr::addBindingPasses(OpPassManager &pm, const TargetBackend &backend) {
  // Every layer decomposes with its own build_mask: CSE merges them, so one
  // mask and one tile list serve all layers (and their gradients).
  pm.addPass(createCSEPass());
  pm.addNestedPass<func::FuncOp>(createMTGRFuseLinearPass());
  AttentionTiles tiles = backend.attentionTiles();
  MTGRPlanAttentionPassOptions plan;
  plan.rowBlock = tiles.rowBlock;
  plan.colTile = tiles.colTile;
  plan.suffixRowBlock = tiles.suffixRowBlock;
  pm.addPass(createMTGRPlanAttentionPass(plan));
  pm.addPass(createMTGRBindEntryPointsPass());
}

void mlir::mtgr::addLoopPasses(OpPassManager &pm, const TargetBackend &backend, bool untilBound,
                               bool profile) {
  addBindingPasses(pm, backend);
  if (!untilBound)
    backend.buildLoweringPipeline(pm, profile);
}

void mlir::mtgr::printPipeline(llvm::raw_ostream &os, const TargetBackend &backend,
                               bool trainStep) {
  auto print = [&](llvm::StringRef stage, llvm::function_ref<void(OpPassManager &)> build) {
    OpPassManager pm(ModuleOp::getOperationName(), OpPassManager::Nesting::Implicit);
    build(pm);
    os << stage << ": ";
    pm.printAsTextualPipeline(os);
    os << "\n";
  };
  os << "target: " << backend.name() << ", " << backend.describe() << "\n";
  print("kernel", addKernelPasses);
  if (trainStep)
    print("gradients", addGradientPasses);
  print("serving", addServingPasses);
  print("bind", [&](OpPassManager &pm) { addBindingPasses(pm, backend); });
  print("lower", [&](OpPassManager &pm) { backend.buildLoweringPipeline(pm, false); });
  print("codegen", [&](OpPassManager &pm) { backend.buildCodegenPipeline(pm); });
}
