//===- Trainer.cpp - the training loop -------------------------------------===//
#include "runtime/Trainer.h"
#include "runtime/Batching.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/xxhash.h"

#include <cmath>
#include <random>

#include <chrono>

using namespace mtgr;

Trainer::Trainer(Session &session, const Batch &data) : session(session), data(data) {
  const ModelDesc &m = session.model();
  st.modelHash = session.getArtifact().modelHash;
  st.seed = m.training.seed;
  for (int64_t b = 0; b < data.numSamples; ++b)
    sampleTokens.push_back(data.sampleTokens(m, b));
}

TrainState Trainer::snapshot() const {
  TrainState s = st;
  s.params = session.params();
  s.tables = session.dynamicTables();
  return s;
}

void Trainer::admitIds(const Batch &batch) {
  const ModelDesc &m = session.model();
  std::vector<FeatureDesc> cand = m.candidateItem;
  cand.insert(cand.end(), m.candidateCross.begin(), m.candidateCross.end());
  struct Group {
    const std::vector<FeatureDesc> &schema;
    const std::vector<FeatureColumn> &cols;
  };
  for (Group g : {Group{m.user, batch.user}, Group{m.sequence, batch.sequence},
                  Group{m.realtime, batch.realtime}, Group{cand, batch.candidate}})
    for (size_t f = 0; f < g.schema.size(); ++f) {
      if (!g.schema[f].isCategorical())
        continue;
      const TableDesc *t = m.findTable(g.schema[f].table);
      if (t->kind != TableDesc::Kind::Dynamic)
        continue;
      DynamicTable &table = session.dynamicTables().at(t->name);
      std::vector<float> &w = session.params().get("tables." + t->name + ".weight").data;
      for (int64_t id : g.cols[f].ids) {
        DynamicTable::Admission a = table.admit(id, st.step);
        if (!a.fresh)
          continue;
        std::mt19937_64 rng(splitmix64(st.seed ^ splitmix64(a.row) ^
                                       splitmix64(static_cast<uint64_t>(st.step) + 977) ^
                                       llvm::xxh3_64bits(t->name)));
        for (int64_t k = 0; k < t->dim; ++k) { // Box-Muller, N(0, 0.01^2)
          double u1 = 1.0 - (rng() >> 11) * 0x1.0p-53, u2 = (rng() >> 11) * 0x1.0p-53;
          w[a.row * t->dim + k] = static_cast<float>(0.01 * std::sqrt(-2 * std::log(u1)) *
                                                     std::cos(2 * M_PI * u2));
        }
        for (llvm::StringRef slot : {"acc", "m", "v"}) {
          auto it = st.optimizer.find(optimizerSlot("tables." + t->name + ".weight", slot));
          if (it == st.optimizer.end())
            continue;
          int64_t width = slot == "acc" ? 1 : t->dim;
          std::fill_n(it->second.begin() + a.row * width, width, 0.0f);
        }
      }
    }
}

llvm::Error Trainer::resume(llvm::StringRef path) {
  auto loaded = loadCheckpoint(path);
  if (!loaded)
    return loaded.takeError();
  auto fail = [&](const llvm::Twine &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), path + ": " + msg);
  };
  if (loaded->modelHash != st.modelHash)
    return fail("the checkpoint belongs to another model");
  // Everything is checked against the model before any of it is used: a
  // crafted file may carry the right model hash and anything else.
  if (auto e = checkStateFits(*loaded, session.model(), session.params(), path))
    return e;
  session.params() = loaded->params;
  for (auto &[name, table] : loaded->tables)
    session.dynamicTables().insert_or_assign(name, table);
  st = std::move(*loaded);
  return llvm::Error::success();
}

llvm::Error Trainer::run(const TrainLimits &limits,
                         const std::function<void(const StepReport &)> &onStep) {
  const ModelDesc &m = session.model();
  int64_t budget = limits.tokenBudget ? limits.tokenBudget : m.training.tokensPerStep;
  // Several ranks hold the same state (Session::setCollective): rank 0
  // writes the checkpoints.
  Collective *ranks = session.getCollective();
  if (ranks && ranks->size() < 2)
    ranks = nullptr;
  const bool writesCheckpoints = !ranks || ranks->rank() == 0;
  auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  while (st.epoch < limits.epochs) {
    std::vector<std::vector<int64_t>> steps =
        tokenBalancedSteps(sampleTokens, budget, st.seed, st.epoch);
    while (st.stepInEpoch < static_cast<int64_t>(steps.size())) {
      bool stop = limits.steps && st.step >= limits.steps;
      if (limits.seconds > 0) {
        bool late = elapsed() >= limits.seconds;
        // Every rank stops at the same step: the first that is late says so.
        stop = stop || (ranks ? ranks->any(late) : late);
      }
      if (stop)
        goto done;
      Batch batch = gatherSamples(m, data, steps[st.stepInEpoch]);
      admitIds(batch);
      // Forward, backward and the optimiser update, all generated code.
      auto grads = session.trainStep(batch, st.seed, st.step, st.optimizer);
      if (!grads)
        return grads.takeError();
      ++st.step;
      ++st.stepInEpoch;
      double candidates = std::max<int64_t>(1, batch.numCandidates());
      double meanLoss = grads->loss * m.training.candidatesPerStep / candidates;
      onStep({st.step, st.epoch, st.stepInEpoch, static_cast<int64_t>(steps.size()),
              batch.numSamples, batch.totalTokens(m), meanLoss, elapsed(),
              countBatchFlops(m, batch)});
      if (!limits.checkpoint.empty() && limits.checkpointEvery &&
          st.step % limits.checkpointEvery == 0 && writesCheckpoints)
        if (auto e = saveCheckpoint(limits.checkpoint, snapshot()))
          return e;
    }
    ++st.epoch;
    st.stepInEpoch = 0;
  }
done:
  if (!limits.checkpoint.empty() && writesCheckpoints)
    return saveCheckpoint(limits.checkpoint, snapshot());
  return llvm::Error::success();
}
