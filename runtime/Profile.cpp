//===- Profile.cpp - time per op family of profiled generated code --------===//
#include "runtime/Profile.h"

#include <algorithm>
#include <chrono>

using namespace mtgr;

namespace {
FamilySeconds toSeconds(const std::array<std::atomic<int64_t>, kNumProfileFamilies> &ns) {
  FamilySeconds s{};
  for (size_t i = 0; i < s.size(); ++i)
    s[i] = static_cast<double>(ns[i].load()) * 1e-9;
  return s;
}
} // namespace

int64_t ProfileCounters::clock() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void ProfileCounters::record(int64_t family, int64_t layer, int64_t start) {
  add(family, layer, clock() - start);
}

void ProfileCounters::add(int64_t family, int64_t layer, int64_t spent) {
  if (family < 0 || family >= kNumProfileFamilies)
    return;
  total[static_cast<size_t>(family)].fetch_add(spent, std::memory_order_relaxed);
  if (layer >= 0 && layer < kLayers)
    layers[static_cast<size_t>(layer)][static_cast<size_t>(family)].fetch_add(
        spent, std::memory_order_relaxed);
}

FamilySeconds ProfileCounters::seconds() const { return toSeconds(total); }

std::vector<FamilySeconds> ProfileCounters::layerSeconds() const {
  std::vector<FamilySeconds> out;
  for (const Sums &layer : layers)
    out.push_back(toSeconds(layer));
  // Only the layers that ran.
  while (!out.empty() && std::all_of(out.back().begin(), out.back().end(),
                                     [](double t) { return t == 0; }))
    out.pop_back();
  return out;
}

void ProfileCounters::reset() {
  for (auto &n : total)
    n.store(0);
  for (Sums &layer : layers)
    for (auto &n : layer)
      n.store(0);
}
