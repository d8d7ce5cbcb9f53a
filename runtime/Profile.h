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

extern "C" {
int64_t mtgr_profile_clock();
void mtgr_profile_add(int64_t family, int64_t start);
}

namespace mlir::mtgr {
/// The families, in ProfileFamily's order.
constexpr std::array<const char *, 8> kProfileFamilies = {
    "projections", "attention", "masks", "norms", "elementwise", "tokens", "loss", "optimizer"};
/// Seconds per family since the last reset (CPU time: threads add up).
std::array<double, 8> profileSeconds();
void resetProfile();
} // namespace mlir::mtgr

#endif
