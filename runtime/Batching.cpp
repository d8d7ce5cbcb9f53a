//===- Batching.cpp - token-balanced steps over a dataset -----------------===//
#include "runtime/Batching.h"

#include <numeric>
#include <random>

using namespace mtgr;

std::vector<std::vector<int64_t>>
mtgr::tokenBalancedSteps(const std::vector<int64_t> &sampleTokens, int64_t tokenBudget,
                               uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(sampleTokens.size());
  std::iota(order.begin(), order.end(), 0);
  // Fisher-Yates with a fixed generator: the same steps on every machine.
  std::mt19937_64 rng(splitmix64(seed ^ splitmix64(static_cast<uint64_t>(epoch))));
  for (size_t i = order.size(); i > 1; --i)
    std::swap(order[i - 1], order[rng() % i]);
  std::vector<std::vector<int64_t>> steps;
  int64_t tokens = 0;
  for (int64_t s : order) {
    if (steps.empty() || (tokens + sampleTokens[s] > tokenBudget && tokens > 0)) {
      steps.emplace_back();
      tokens = 0;
    }
    steps.back().push_back(s);
    tokens += sampleTokens[s];
  }
  return steps;
}

Batch mtgr::gatherSamples(const ModelDesc &m, const Batch &data,
                                const std::vector<int64_t> &indices) {
  Batch out = makeEmptyBatch(m);
  out.labels.assign(data.labels.size(), {});
  for (int64_t i : indices) {
    Batch one = sliceBatch(m, data, i, i + 1);
    out.numSamples += 1;
    out.userIds.push_back(one.userIds[0]);
    auto append = [](std::vector<FeatureColumn> &to, const std::vector<FeatureColumn> &from) {
      for (size_t f = 0; f < from.size(); ++f) {
        to[f].ids.insert(to[f].ids.end(), from[f].ids.begin(), from[f].ids.end());
        to[f].values.insert(to[f].values.end(), from[f].values.begin(), from[f].values.end());
      }
    };
    append(out.user, one.user);
    append(out.sequence, one.sequence);
    append(out.realtime, one.realtime);
    append(out.candidate, one.candidate);
    for (auto [to, offsets, times, fromTimes] :
         {std::tuple{&out.sequenceTimes, &out.sequenceOffsets, &out.sequenceTimes, &one.sequenceTimes},
          std::tuple{&out.realtimeTimes, &out.realtimeOffsets, &out.realtimeTimes, &one.realtimeTimes},
          std::tuple{&out.candidateTimes, &out.candidateOffsets, &out.candidateTimes,
                     &one.candidateTimes}}) {
      to->insert(to->end(), fromTimes->begin(), fromTimes->end());
      offsets->push_back(times->size());
    }
    out.candidateIds.insert(out.candidateIds.end(), one.candidateIds.begin(),
                            one.candidateIds.end());
    for (size_t t = 0; t < one.labels.size(); ++t)
      out.labels[t].insert(out.labels[t].end(), one.labels[t].begin(), one.labels[t].end());
    out.intervals.insert(out.intervals.end(), one.intervals.begin(), one.intervals.end());
  }
  return out;
}
