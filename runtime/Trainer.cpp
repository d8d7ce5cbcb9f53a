//===- Trainer.cpp - the training loop -------------------------------------===//
#include "runtime/Trainer.h"
#include "abi/Container.h"
#include "model/Error.h"
#include "model/ModelStats.h"
#include "runtime/Batching.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

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
  if (session.tablePlacement()) {
    // Sharded tables: every rank's part gathered and made whole, as one
    // process holds them (a collective call): resumable on any rank count.
    const ModelDesc &m = session.model();
    std::vector<TableShard> all =
        session.gatherTableShards(tablesOf(m, s.params, s.optimizer, s.tables));
    putTables(reshard(m, all, 1, 0), s.params, s.optimizer, s.tables);
  }
  return s;
}

void Trainer::admitIds(const Batch &batch) {
  const ModelDesc &m = session.model();
  const TablePlacement *shards = session.tablePlacement();
  forEachLookup(m, batch, [&](const TableDesc &t, const std::vector<int64_t> &ids) {
    if (t.kind != TableDesc::Kind::Dynamic)
      return;
    DynamicTable &table = session.dynamicTables().at(t.name);
    std::vector<float> &w = session.tableWeights(t);
    for (int64_t id : ids) {
      // Sharded tables: each rank admits the ids it owns, in the step's
      // order (every rank has the whole step).
      if (shards && shards->owner(t, id) != shards->rank)
        continue;
      DynamicTable::Admission a = table.admit(id, st.step);
      if (!a.fresh)
        continue;
      // Keyed by the id, not its row: the same weights on any rank count.
      std::mt19937_64 rng(splitmix64(st.seed ^ splitmix64(static_cast<uint64_t>(id)) ^
                                     splitmix64(static_cast<uint64_t>(st.step) + 977) ^
                                     llvm::xxh3_64bits(t.name)));
      for (int64_t k = 0; k < t.dim; ++k) { // Box-Muller, N(0, 0.01^2)
        double u1 = 1.0 - (rng() >> 11) * 0x1.0p-53, u2 = (rng() >> 11) * 0x1.0p-53;
        w[a.row * t.dim + k] =
            static_cast<float>(0.01 * std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2));
      }
      for (llvm::StringRef slot : {"acc", "m", "v"}) {
        auto it = st.optimizer.find(optimizerSlot("tables." + t.name + ".weight", slot));
        if (it == st.optimizer.end())
          continue;
        int64_t width = slot == "acc" ? 1 : t.dim;
        std::fill_n(it->second.begin() + a.row * width, width, 0.0f);
      }
    }
  });
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
  const ModelDesc &m = session.model();
  const TablePlacement *shards = session.tablePlacement();
  // The shapes a part of the state must have: the dense parameters, the
  // tables whole or as shard q of n.
  auto shapes = [&](bool dense, int n, int q) {
    ParamStore all = ParamStore::shapesOnly(collectParameters(m)), part;
    for (const std::string &name : all.names()) {
      bool table = llvm::StringRef(name).starts_with("tables.");
      if (table == dense)
        continue;
      Tensor t = all.get(name);
      if (table)
        t.shape[0] =
            TablePlacement::localRows(*m.findTable(name.substr(7, name.size() - 14)), n, q);
      part.set(name, std::move(t));
    }
    return part;
  };
  std::vector<TableShard> parts; // the tables as the checkpoint holds them
  if (loaded->shardFiles.empty()) {
    if (auto e = checkStateFits(*loaded, m, ParamStore::shapesOnly(collectParameters(m)), path))
      return e;
    parts.push_back(tablesOf(m, loaded->params, loaded->optimizer, loaded->tables));
  } else {
    // A manifest: its dense state, and each shard's file (next to it, with
    // the digest the manifest gives).
    if (auto e = checkStateFits(*loaded, m, shapes(true, 1, 0), path))
      return e;
    const int n = static_cast<int>(loaded->shardFiles.size());
    llvm::SmallString<256> dir(path);
    llvm::sys::path::remove_filename(dir);
    for (int q = 0; q < n; ++q) {
      llvm::SmallString<256> file(dir);
      llvm::sys::path::append(file, loaded->shardFiles[size_t(q)]);
      auto bytes = llvm::MemoryBuffer::getFile(file, false, false);
      if (!bytes)
        return fail(llvm::Twine("shard ") + llvm::Twine(q) + " of " + llvm::Twine(n) + " (" + file +
                    "): cannot read: " + bytes.getError().message());
      if (llvm::xxh3_64bits((*bytes)->getBuffer()) != loaded->shardDigests[size_t(q)])
        return fail(llvm::Twine("shard ") + llvm::Twine(q) + " of " + llvm::Twine(n) + " (" + file +
                    ") is not the one the manifest names (its digest differs)");
      auto part = parseCheckpoint((*bytes)->getBuffer(), file);
      if (!part)
        return part.takeError();
      if (part->modelHash != st.modelHash || part->step != loaded->step)
        return fail(llvm::Twine("shard ") + llvm::Twine(q) + " (" + file +
                    ") belongs to another model or step");
      if (auto e = checkStateFits(*part, m, shapes(false, n, q), file))
        return e;
      parts.push_back(tablesOf(m, part->params, part->optimizer, part->tables));
    }
    loaded->shardFiles.clear();
    loaded->shardDigests.clear();
  }
  // The tables re-sharded to this session: whole, or this rank's part.
  putTables(reshard(m, parts, shards ? shards->ranks : 1, shards ? shards->rank : 0),
            loaded->params, loaded->optimizer, loaded->tables);
  session.params() = loaded->params;
  for (auto &[name, table] : loaded->tables)
    session.dynamicTables().insert_or_assign(name, table);
  st = std::move(*loaded);
  return llvm::Error::success();
}

llvm::Error Trainer::checkpoint(llvm::StringRef path) {
  Collective *ranks = session.getCollective();
  const bool rank0 = !ranks || ranks->rank() == 0;
  const TablePlacement *shards = session.tablePlacement();
  if (!shards) // the same state on every rank: rank 0 writes it
    return rank0 ? saveCheckpoint(path, snapshot()) : llvm::Error::success();
  // Sharded tables: each rank writes its part (a file per step, so the
  // manifest in place keeps naming whole files until the new one replaces
  // it), then rank 0 the manifest with the dense state and the parts'
  // digests; then the parts of the step before go.
  TrainState part;
  part.modelHash = st.modelHash;
  part.step = st.step, part.epoch = st.epoch, part.stepInEpoch = st.stepInEpoch;
  part.seed = st.seed;
  TrainState manifest = part;
  for (const std::string &name : session.params().names())
    (llvm::StringRef(name).starts_with("tables.") ? part : manifest)
        .params.set(name, session.params().get(name));
  for (auto &[slot, buffer] : st.optimizer)
    (llvm::StringRef(slot).starts_with("tables.") ? part : manifest).optimizer[slot] = buffer;
  part.tables = session.dynamicTables();
  // Part q of n of this step's checkpoint: a file next to the manifest.
  auto partFile = [&](int q) {
    return (llvm::sys::path::filename(path) + ".step" + llvm::Twine(st.step) + ".shard" +
            llvm::Twine(q) + "of" + llvm::Twine(shards->ranks))
        .str();
  };
  std::string file = partFile(shards->rank);
  llvm::SmallString<256> where(path);
  llvm::sys::path::remove_filename(where);
  llvm::sys::path::append(where, file);
  std::string bytes = serializeCheckpoint(part);
  llvm::Error wrote = writeFileAtomically(where, bytes);
  bool failed = static_cast<bool>(wrote);
  if (ranks->any(failed))
    return failed ? std::move(wrote)
                  : fail("checkpoint " + path + ": another rank could not write its shard");
  uint64_t digest = llvm::xxh3_64bits(bytes);
  std::vector<char> all = ranks->allGather(
      llvm::ArrayRef<char>(reinterpret_cast<const char *>(&digest), sizeof digest));
  llvm::Error written = llvm::Error::success();
  if (rank0) {
    for (int q = 0; q < shards->ranks; ++q) {
      manifest.shardFiles.push_back(partFile(q));
      uint64_t d = 0;
      std::memcpy(&d, all.data() + q * sizeof d, sizeof d);
      manifest.shardDigests.push_back(d);
    }
    written = saveCheckpoint(path, manifest);
  }
  failed = static_cast<bool>(written);
  if (ranks->any(failed))
    return failed ? std::move(written)
                  : fail("checkpoint " + path + ": rank 0 could not write the manifest");
  if (!lastShardFile.empty() && lastShardFile != where.str())
    llvm::sys::fs::remove(lastShardFile);
  lastShardFile = where.str().str();
  return llvm::Error::success();
}

llvm::Error Trainer::run(const TrainLimits &limits,
                         const std::function<void(const StepReport &)> &onStep) {
  const ModelDesc &m = session.model();
  int64_t budget = limits.tokenBudget ? limits.tokenBudget : m.training.tokensPerStep;
  Collective *ranks = session.getCollective();
  if (ranks && ranks->size() < 2)
    ranks = nullptr;

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
          st.step % limits.checkpointEvery == 0)
        if (auto e = checkpoint(limits.checkpoint))
          return e;
    }
    ++st.epoch;
    st.stepInEpoch = 0;
  }
done:
  if (!limits.checkpoint.empty())
    return checkpoint(limits.checkpoint);
  return llvm::Error::success();
}
