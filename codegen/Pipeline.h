//===- Pipeline.h - the compiler's passes, in order -------------*- C++ -*-===//
//
//   mtgr IR --kernel--> kernel ops --gradients--> + @train_step, @apply_update
//   --loops--> bound entry points, loops on buffers, buffers freed at last use
//   --host (codegen/host)--> LLVM dialect, LLVM IR, object, shared object
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_CODEGEN_PIPELINE_H
#define MTGR_CODEGEN_PIPELINE_H

#include "codegen/Target.h"

#include "mlir/Pass/PassManager.h"

namespace mlir::mtgr {

/// model-level -> kernel-level ops.
void addKernelPasses(OpPassManager &pm);
/// @train_step and @apply_update from @forward (may fail: an op without a
/// gradient rule; the compiler then keeps inference only).
void addGradientPasses(OpPassManager &pm);
/// Tile lists planned from the masks, entry points bound to buffers,
/// lowered to loops, cleaned up, buffers freed at their last use.
/// `untilBound`: stop after mtgr-bind-entry-points (--emit=bound).
/// `profile`: the code times each op family (mtgr-lower-to-loops{profile}).
void addLoopPasses(OpPassManager &pm, const TargetDescription &target, bool untilBound = false,
                   bool profile = false);

/// The whole pipeline as mtgr-opt would run it, stage by stage, followed by
/// the host's conversion to LLVM (mtgr-compile --print-pipeline).
void printPipeline(llvm::raw_ostream &os, const TargetDescription &target, bool trainStep);

} // namespace mlir::mtgr

#endif
