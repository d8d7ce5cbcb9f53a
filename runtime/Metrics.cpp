//===- Metrics.cpp - AUC, GAUC, log loss and NE ---------------------------===//
#include "runtime/Metrics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

using namespace mtgr;

std::optional<double> mtgr::auc(const std::vector<double> &scores,
                                      const std::vector<float> &labels) {
  size_t n = scores.size();
  // NaN has no rank (and would break std::sort's ordering): no AUC.
  if (std::any_of(scores.begin(), scores.end(), [](double x) { return std::isnan(x); }))
    return std::nullopt;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Sum of the positives' ranks, tied scores sharing their average rank.
  double rankSum = 0, positives = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]])
      ++j;
    double averageRank = (i + 1 + j) / 2.0; // ranks i+1 .. j
    for (size_t k = i; k < j; ++k)
      if (labels[order[k]] > 0.5) {
        rankSum += averageRank;
        positives += 1;
      }
    i = j;
  }
  double negatives = n - positives;
  if (positives == 0 || negatives == 0)
    return std::nullopt;
  return (rankSum - positives * (positives + 1) / 2) / (positives * negatives);
}

namespace {
/// (AUC, impressions) of every user with both classes.
std::vector<std::pair<double, double>> perUserAuc(const std::vector<double> &scores,
                                                  const std::vector<float> &labels,
                                                  const std::vector<int64_t> &users) {
  std::map<int64_t, std::vector<size_t>> byUser;
  for (size_t i = 0; i < scores.size(); ++i)
    byUser[users[i]].push_back(i);
  std::vector<std::pair<double, double>> out;
  for (auto &[user, idx] : byUser) {
    std::vector<double> s;
    std::vector<float> l;
    for (size_t i : idx)
      s.push_back(scores[i]), l.push_back(labels[i]);
    if (auto a = auc(s, l))
      out.emplace_back(*a, double(idx.size()));
  }
  return out;
}
} // namespace

std::optional<double> mtgr::gauc(const std::vector<double> &scores,
                                       const std::vector<float> &labels,
                                       const std::vector<int64_t> &users) {
  double weighted = 0, weight = 0;
  for (auto [a, w] : perUserAuc(scores, labels, users)) {
    weighted += a * w;
    weight += w;
  }
  if (weight == 0)
    return std::nullopt;
  return weighted / weight;
}

std::optional<double> mtgr::gaucStandardError(const std::vector<double> &scores,
                                                    const std::vector<float> &labels,
                                                    const std::vector<int64_t> &users) {
  auto g = gauc(scores, labels, users);
  if (!g)
    return std::nullopt;
  double sum = 0, weight = 0;
  for (auto [a, w] : perUserAuc(scores, labels, users)) {
    sum += w * w * (a - *g) * (a - *g);
    weight += w;
  }
  return std::sqrt(sum) / weight;
}

std::optional<double> mtgr::logLoss(const std::vector<double> &logits,
                                          const std::vector<float> &labels) {
  if (logits.empty())
    return std::nullopt;
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    double x = logits[i], y = labels[i] > 0.5 ? 1.0 : 0.0;
    if (std::isnan(x))
      return std::nullopt;
    sum += std::max(x, 0.0) - x * y + std::log1p(std::exp(-std::fabs(x)));
  }
  return sum / double(logits.size());
}

std::optional<double> mtgr::normalizedEntropy(const std::vector<double> &logits,
                                                    const std::vector<float> &labels) {
  auto loss = logLoss(logits, labels);
  double positives = 0;
  for (float y : labels)
    positives += y > 0.5 ? 1 : 0;
  double p = positives / std::max<double>(1, double(labels.size()));
  if (!loss || p <= 0 || p >= 1)
    return std::nullopt;
  return *loss / -(p * std::log(p) + (1 - p) * std::log(1 - p));
}
