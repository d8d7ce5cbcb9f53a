//===- ProfileReport.cpp - what a profiled artifact measured --------------===//
#include "app/ProfileReport.h"
#include "model/ModelStats.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>

using namespace mtgr;

namespace {
/// Forward FLOPs of a batch (DESIGN 1.9): every Linear (tokenizer,
/// projections, heads), and attention over the pairs the mask kept.
struct BatchFlops {
  double linears = 0, layerProjections = 0, attention = 0;
};
BatchFlops batchFlops(const ModelDesc &m, const Batch &batch, int64_t visiblePairs) {
  BatchFlops f;
  if (auto c = countBatchFlops(m, batch)) {
    f.linears = double(c->tokenizer + c->projections + c->heads);
    f.layerProjections = double(c->projections);
  }
  f.attention = 2.0 * double(visiblePairs) * double(m.layers * m.heads * (m.dqk + m.dv));
  return f;
}

} // namespace

/// The per-family (and per-layer) times of a profiled artifact; with a batch
/// and its attention work (inference), their GFLOP/s. Returns false when
/// nothing was profiled (the artifact was compiled without --profile).
bool mtgr::printProfile(llvm::raw_ostream &os, Session &session, const Batch *batch,
                        int64_t visiblePairs, int64_t computedPairs,
                        const FlopCount *trainedForward) {
  const ModelDesc &m = session.model();
  const ProfileCounters &counters = session.environment().profile;
  FamilySeconds profile = counters.seconds();
  double profiled = 0;
  for (double t : profile)
    profiled += t;
  if (profiled <= 0)
    return false;
  BatchFlops flops;
  if (batch)
    flops = batchFlops(m, *batch, visiblePairs);
  if (trainedForward) {
    flops.linears = 3.0 * double(trainedForward->tokenizer + trainedForward->projections +
                                 trainedForward->heads);
    flops.attention = 3.0 * double(trainedForward->attention);
  }
  auto rate = [](double f, double t) {
    return f > 0 && t > 0 ? llvm::formatv("  {0,8:F1} GFLOP/s", f / t / 1e9).str() : std::string();
  };
  if (counters.timeKernels && session.getDevice().name() != "cpu")
    os << "profile (" << session.getDevice().name()
       << (session.getDevice().name() == "cuda-emu" ? ": host time emulating each kernel"
                                              : ": each kernel's time between CUDA events")
       << ", by the op it computes; host work and launch overhead left out):\n";
  else
    os << "profile (time around each op on the calling thread, parallel regions "
          "included; train-step ranges on several threads add up):\n";
  for (size_t f = 0; f < profile.size(); ++f) {
    if (profile[f] <= 0)
      continue;
    double work = f == 0 ? flops.linears : f == 1 ? flops.attention : 0;
    os << llvm::format("  %-12s %9.3f ms  %5.1f%%", toString(static_cast<ProfileFamily>(f)).str().c_str(),
                                 profile[f] * 1e3, 100 * profile[f] / profiled)
                 << rate(work, profile[f]) << "\n";
  }
  if (trainedForward)
    os << "  (training rates: forward and backward FLOPs, each product's forward work x 3; "
          "attention: forward, dV, dP, dQ, dK)\n";
  if (batch && visiblePairs > 0)
    os << llvm::format("  attention work: %lld pairs computed per layer and head for "
                                 "%lld useful (visible) ones, %.3fx\n",
                                 (long long)computedPairs, (long long)visiblePairs,
                                 double(computedPairs) / double(visiblePairs));
  std::vector<FamilySeconds> layers = counters.layerSeconds();
  if (!layers.empty()) {
    os << "  per HSTU layer:    projections ms   attention ms   other ms"
                 << (batch ? "  projections GFLOP/s  attention GFLOP/s" : "") << "\n";
    double L = std::max<int64_t>(1, m.layers);
    for (size_t l = 0; l < layers.size(); ++l) {
      double other = 0;
      for (size_t f = 2; f < layers[l].size(); ++f)
        other += layers[l][f];
      os << llvm::format("    layer %-3zu     %14.3f  %13.3f  %9.3f", l,
                                   layers[l][0] * 1e3, layers[l][1] * 1e3, other * 1e3);
      if (batch)
        os << llvm::format("  %19.1f  %17.1f",
                                     layers[l][0] > 0 ? flops.layerProjections / L / layers[l][0] / 1e9 : 0.0,
                                     layers[l][1] > 0 ? flops.attention / L / layers[l][1] / 1e9 : 0.0);
      os << "\n";
    }
  }
  return true;
}
