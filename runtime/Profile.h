//===- Profile.h - time per op family of profiled generated code -*- C++ -*-===//
//
// Code compiled with `mtgr-compile --profile` calls these around every
// lowered op (codegen/LoweringSupport.h, ProfileFamily): the time of each op
// family summed over calls and threads. Exported by every program that links
// the runtime, like the allocation functions (runtime/CMakeLists.txt).
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_PROFILE_H
#define MTGR_RUNTIME_PROFILE_H

#include <array>
#include <cstdint>
#include <vector>

extern "C" {
int64_t mtgr_profile_clock();
/// The time since `start` to `family` and, for ops of an HSTU layer
/// (layer >= 0), to that layer's row.
void mtgr_profile_record(int64_t family, int64_t layer, int64_t start);
/// Artifacts profiled before layers were recorded call this one.
void mtgr_profile_add(int64_t family, int64_t start);
}

namespace mlir::mtgr {
/// The families, in ProfileFamily's order.
constexpr std::array<const char *, 8> kProfileFamilies = {
    "projections", "attention", "masks", "norms", "elementwise", "tokens", "loss", "optimizer"};
/// Seconds per family since the last reset (the calling thread's time around
/// each op, parallel regions included; train-step ranges on several threads
/// add up).
std::array<double, 8> profileSeconds();
/// The same per HSTU layer (index = layer; layers past 63 are not kept).
std::vector<std::array<double, 8>> profileLayerSeconds();
void resetProfile();
} // namespace mlir::mtgr

#endif
