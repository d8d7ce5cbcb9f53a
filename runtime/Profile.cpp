//===- Profile.cpp - time per op family of profiled generated code --------===//
#include "runtime/Profile.h"

#include <algorithm>
#include <atomic>
#include <chrono>

namespace {
constexpr int64_t kLayers = 64;
using Sums = std::array<std::atomic<int64_t>, 8>;
Sums &nanoseconds() {
  static Sums ns{};
  return ns;
}
std::array<Sums, kLayers> &layerNanoseconds() {
  static std::array<Sums, kLayers> ns{};
  return ns;
}
} // namespace

extern "C" int64_t mtgr_profile_clock() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

extern "C" void mtgr_profile_record(int64_t family, int64_t layer, int64_t start) {
  if (family < 0 || family >= 8)
    return;
  int64_t spent = mtgr_profile_clock() - start;
  nanoseconds()[static_cast<size_t>(family)].fetch_add(spent, std::memory_order_relaxed);
  if (layer >= 0 && layer < kLayers)
    layerNanoseconds()[static_cast<size_t>(layer)][static_cast<size_t>(family)].fetch_add(
        spent, std::memory_order_relaxed);
}

extern "C" void mtgr_profile_add(int64_t family, int64_t start) {
  mtgr_profile_record(family, -1, start);
}

std::array<double, 8> mlir::mtgr::profileSeconds() {
  std::array<double, 8> s{};
  for (size_t i = 0; i < s.size(); ++i)
    s[i] = static_cast<double>(nanoseconds()[i].load()) * 1e-9;
  return s;
}

std::vector<std::array<double, 8>> mlir::mtgr::profileLayerSeconds() {
  std::vector<std::array<double, 8>> out;
  for (const Sums &layer : layerNanoseconds()) {
    std::array<double, 8> s{};
    for (size_t i = 0; i < s.size(); ++i)
      s[i] = static_cast<double>(layer[i].load()) * 1e-9;
    out.push_back(s);
  }
  // Only the layers that ran.
  while (!out.empty() && std::all_of(out.back().begin(), out.back().end(),
                                     [](double t) { return t == 0; }))
    out.pop_back();
  return out;
}

void mlir::mtgr::resetProfile() {
  for (auto &n : nanoseconds())
    n.store(0);
  for (Sums &layer : layerNanoseconds())
    for (auto &n : layer)
      n.store(0);
}
