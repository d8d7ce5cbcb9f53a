//===- Pipeline.h - the compiler's passes, in order -------------*- C++ -*-===//
//
//   mtgr IR --kernel--> kernel ops --gradients--> + @train_step, @apply_update
//   --serving--> + @encode_prefix, @score_candidates
//   --bind--> fused projections, tile lists, bound entry points (shared by
//   every target) --lower (the back end)--> the target's loops
//   --codegen (the back end)--> LLVM dialect, LLVM IR, object, code sections
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_COMPILER_PIPELINE_H
#define MTGR_COMPILER_PIPELINE_H

#include "codegen/common/TargetBackend.h"

#include "mlir/Pass/PassManager.h"

namespace mlir::mtgr {

/// model-level -> kernel-level ops.
void addKernelPasses(OpPassManager &pm);
/// @train_step and @apply_update from @forward (may fail: an op without a
/// gradient rule; the compiler then keeps inference only).
void addGradientPasses(OpPassManager &pm);
/// @encode_prefix and @score_candidates from @forward (may fail: a model
/// whose U and S rows depend on the request; the compiler then serves
/// without a prefix cache and says why).
void addServingPasses(OpPassManager &pm);
/// The target-neutral tail: projections fused with their norms, tile lists
/// planned from the masks (tiles from the back end), entry points bound to
/// buffers. Every back end forks after it.
void addBindingPasses(OpPassManager &pm, const TargetBackend &backend);
/// Binding, then the back end's lowering to its loops.
/// `untilBound`: stop after mtgr-bind-entry-points (--emit=bound).
/// `profile`: the code times each op family.
void addLoopPasses(OpPassManager &pm, const TargetBackend &backend, bool untilBound = false,
                   bool profile = false);

/// The whole pipeline as mtgr-opt would run it, stage by stage
/// (mtgr-compile --print-pipeline).
void printPipeline(llvm::raw_ostream &os, const TargetBackend &backend, bool trainStep);

} // namespace mlir::mtgr

#endif
