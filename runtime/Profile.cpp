//===- Profile.cpp - time per op family of profiled generated code --------===//
#include "runtime/Profile.h"

#include <atomic>
#include <chrono>

namespace {
std::array<std::atomic<int64_t>, 8> &nanoseconds() {
  static std::array<std::atomic<int64_t>, 8> ns{};
  return ns;
}
} // namespace

extern "C" int64_t mtgr_profile_clock() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

extern "C" void mtgr_profile_add(int64_t family, int64_t start) {
  if (family < 0 || family >= 8)
    return;
  nanoseconds()[static_cast<size_t>(family)].fetch_add(mtgr_profile_clock() - start,
                                                       std::memory_order_relaxed);
}

std::array<double, 8> mlir::mtgr::profileSeconds() {
  std::array<double, 8> s{};
  for (size_t i = 0; i < s.size(); ++i)
    s[i] = static_cast<double>(nanoseconds()[i].load()) * 1e-9;
  return s;
}

void mlir::mtgr::resetProfile() {
  for (auto &n : nanoseconds())
    n.store(0);
}
