//===- Pipeline.cpp - the compiler's passes, in order ----------------------===//
#include "codegen/Pipeline.h"
#include "codegen/Passes.h"
#include "codegen/host/HostCodegen.h"
#include "passes/Passes.h"

#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::mtgr;

void mlir::mtgr::addKernelPasses(OpPassManager &pm) { pm.addPass(createMTGRDecomposeLayersPass()); }

void mlir::mtgr::addGradientPasses(OpPassManager &pm) {
  pm.addPass(createMTGRGenerateTrainStepPass());
  pm.addPass(createCanonicalizerPass()); // drops gradients nothing uses
}

void mlir::mtgr::addLoopPasses(OpPassManager &pm, const TargetDescription &target,
                               bool untilBound, bool profile) {
  // Every layer decomposes with its own build_mask: CSE merges them, so one
  // mask and one tile list serve all layers (and their gradients).
  pm.addPass(createCSEPass());
  pm.addNestedPass<func::FuncOp>(createMTGRFuseLinearPass());
  MTGRPlanAttentionPassOptions tiles;
  tiles.rowBlock = target.attentionRowBlock();
  tiles.colTile = target.attentionColTile();
  pm.addPass(createMTGRPlanAttentionPass(tiles));
  pm.addPass(createMTGRBindEntryPointsPass());
  if (untilBound)
    return;
  MTGRLowerToLoopsPassOptions loops;
  loops.profile = profile;
  GemmTiles gemm = target.gemmTiles();
  loops.gemmRows = gemm.rows;
  loops.gemmVectors = gemm.vectors;
  loops.lanes = gemm.lanes;
  pm.addPass(createMTGRLowerToLoopsPass(loops));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addNestedPass<func::FuncOp>(createMTGRFreeBuffersPass());
}

void mlir::mtgr::printPipeline(llvm::raw_ostream &os, const TargetDescription &target,
                               bool trainStep) {
  auto print = [&](llvm::StringRef stage, llvm::function_ref<void(OpPassManager &)> build) {
    OpPassManager pm(ModuleOp::getOperationName(), OpPassManager::Nesting::Implicit);
    build(pm);
    os << stage << ": ";
    pm.printAsTextualPipeline(os);
    os << "\n";
  };
  os << "target: " << target.name << " (" << target.vectorFloats << " f32 lanes, "
     << target.vectorRegisters << " vector registers; attention tiles "
     << target.attentionRowBlock() << " rows x " << target.attentionColTile()
     << " columns; GEMM register tile " << target.gemmTiles().rows << " rows x "
     << target.gemmTiles().columns() << " columns)\n";
  print("kernel", addKernelPasses);
  if (trainStep)
    print("gradients", addGradientPasses);
  print("loops", [&](OpPassManager &pm) { addLoopPasses(pm, target); });
  os << "host: " << describeHostPipeline() << "\n";
}
