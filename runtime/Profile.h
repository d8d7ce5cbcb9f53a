//===- Profile.h - time per op family of profiled generated code -*- C++ -*-===//
//
// Code compiled with `mtgr-compile --profile` reads the clock before every
// lowered op and adds the time since to the op's family (abi/AbiKinds.h
// ProfileFamily) through its environment table (abi/Environment.h): the time
// of each family summed over calls and threads, kept per session. GPU
// devices add each kernel's time to its op's family instead (timeKernels).
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_PROFILE_H
#define MTGR_RUNTIME_PROFILE_H

#include "abi/AbiKinds.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

namespace mtgr {

using FamilySeconds = std::array<double, kNumProfileFamilies>;

class ProfileCounters {
public:
  /// A monotonic clock in ns.
  static int64_t clock();
  /// The time since `start` to `family` and, for ops of an HSTU layer
  /// (layer >= 0), to that layer's row. Thread-safe.
  void record(int64_t family, int64_t layer, int64_t start);
  /// `nanoseconds` to `family` (and the layer's row): a GPU kernel's time.
  void add(int64_t family, int64_t layer, int64_t nanoseconds);
  /// Seconds per family since the last reset (the calling thread's time
  /// around each op, parallel regions included; train-step ranges on several
  /// threads add up).
  FamilySeconds seconds() const;
  /// The same per HSTU layer (index = layer; layers past 63 are not kept).
  std::vector<FamilySeconds> layerSeconds() const;
  void reset();
  /// Set by the runner (mtgr-run --profile): GPU devices time each kernel
  /// into its op family (launch metadata), the CUDA device with events.
  /// Compiled-in CPU profiles need no switch.
  bool timeKernels = false;

private:
  static constexpr int64_t kLayers = 64;
  using Sums = std::array<std::atomic<int64_t>, kNumProfileFamilies>;
  Sums total{};
  std::array<Sums, kLayers> layers{};
};

} // namespace mtgr

#endif
