//===- Verification.cpp - compiled results against the float64 reference --===//
#include "app/Verification.h"
#include "runtime/reference/Reference.h"

#include <algorithm>
#include <cmath>

using namespace mtgr;

namespace {
/// max |c - r| / max(1, |r|); a NaN or infinite result is the largest error
/// there is (std::max would drop a NaN).
double relativeError(double c, double r) {
  double e = std::fabs(c - r) / std::max(1.0, std::fabs(r));
  return std::isfinite(e) ? e : HUGE_VAL;
}
double largestLogitError(const ModelDesc &m, const ForwardResult &result,
                         const reference::Output &ref) {
  double worst = 0;
  for (size_t t = 0; t < m.tasks.size(); ++t)
    for (size_t c = 0; c < ref.logits[t].size(); ++c)
      worst = std::max(worst, relativeError(result.logits[t][c], ref.logits[t][c]));
  return worst;
}
} // namespace

llvm::Expected<std::optional<double>>
mtgr::largestSplitErrorAgainstReference(Session &session, const ParamStore &referenceParams,
                                        const Batch &batch) {
  if (!session.canSplitPrefix())
    return std::nullopt;
  auto prefix = session.encodePrefix(batch);
  if (!prefix)
    return prefix.takeError();
  auto result = session.scoreCandidates(batch, *prefix);
  if (!result)
    return result.takeError();
  reference::Output ref =
      reference::forward(session.model(), referenceParams, batch, &session.dynamicTables());
  return largestLogitError(session.model(), *result, ref);
}

llvm::Expected<double> mtgr::largestErrorAgainstReference(Session &session,
                                                          const ParamStore &referenceParams,
                                                          const Batch &batch) {
  const ModelDesc &m = session.model();
  bool hidden = m.layers > 0;
  auto result = session.forward(batch, hidden);
  if (!result)
    return result.takeError();
  reference::Output ref = reference::forward(m, referenceParams, batch, &session.dynamicTables());
  double worst = largestLogitError(m, *result, ref);
  for (size_t k = 0; k < ref.hidden.size(); ++k)
    worst = std::max(worst, relativeError(result->hidden[k], ref.hidden[k]));
  return worst;
}

void mtgr::perturbWeights(ParamStore &params, double delta) {
  for (const std::string &name : params.names())
    if (llvm::StringRef(name).ends_with(".weight"))
      for (float &w : params.get(name).data)
        w += static_cast<float>(delta);
}
