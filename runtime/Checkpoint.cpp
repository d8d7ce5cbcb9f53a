//===- Checkpoint.cpp - everything a training run needs to resume ---------===//
#include "runtime/Checkpoint.h"
#include "abi/Container.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>
#include <cstring>

using namespace mtgr;

namespace {
constexpr char kMagic[] = "MTGRCKP\n";
constexpr uint32_t kVersion = 2; // 2: one optimizer section

void putU64(std::string &out, uint64_t v) { out.append(reinterpret_cast<const char *>(&v), 8); }
void putString(std::string &out, llvm::StringRef s) {
  putU64(out, s.size());
  out += s.str();
}
void putFloats(std::string &out, const std::vector<float> &v) {
  putU64(out, v.size());
  out.append(reinterpret_cast<const char *>(v.data()), v.size() * 4);
}

/// Reads the little records written above; any overrun marks it failed.
struct Reader {
  llvm::StringRef bytes;
  size_t at = 0;
  bool ok = true;
  uint64_t u64() {
    if (at + 8 > bytes.size())
      return ok = false, 0;
    uint64_t v;
    std::memcpy(&v, bytes.data() + at, 8);
    at += 8;
    return v;
  }
  std::string string() {
    uint64_t n = u64();
    if (!ok || n > bytes.size() - at) // not at + n: it wraps for a crafted n
      return ok = false, "";
    std::string s = bytes.substr(at, n).str();
    at += n;
    return s;
  }
  std::vector<float> floats() {
    uint64_t n = u64();
    if (!ok || n > (bytes.size() - at) / 4)
      return ok = false, std::vector<float>();
    std::vector<float> v(n);
    if (n) // an empty vector's data() may be null, which memcpy must not get
      std::memcpy(v.data(), bytes.data() + at, n * 4);
    at += n * 4;
    return v;
  }
  bool done() const { return ok && at == bytes.size(); }
};
} // namespace

std::string mtgr::serializeCheckpoint(const TrainState &s) {
  llvm::json::Object meta{{"model_hash", s.modelHash},
                          {"step", s.step},
                          {"epoch", s.epoch},
                          {"step_in_epoch", s.stepInEpoch},
                          {"seed", std::to_string(s.seed)}};
  if (!s.shardFiles.empty()) {
    llvm::json::Array shards;
    for (size_t q = 0; q < s.shardFiles.size(); ++q)
      shards.push_back(
          llvm::json::Object{{"file", s.shardFiles[q]},
                             {"xxh3", llvm::utohexstr(s.shardDigests[q], /*LowerCase=*/true)}});
    meta["shards"] = std::move(shards);
  }
  std::string metaText;
  llvm::raw_string_ostream(metaText) << llvm::json::Value(std::move(meta));
  std::string params, optimizer, tables;
  for (const std::string &name : s.params.names()) {
    const Tensor &t = s.params.get(name);
    putString(params, name);
    putU64(params, t.shape.size());
    for (int64_t d : t.shape)
      putU64(params, d);
    putFloats(params, t.data);
  }
  for (auto &[name, v] : s.optimizer) {
    putString(optimizer, name);
    putFloats(optimizer, v);
  }
  for (auto &[name, t] : s.tables) {
    putString(tables, name);
    putString(tables, t.serialize());
  }
  return packSections(llvm::StringRef(kMagic, 8), kVersion,
                      {{"meta", metaText}, {"params", params}, {"optimizer", optimizer},
                       {"tables", tables}});
}

llvm::Expected<TrainState> mtgr::parseCheckpoint(llvm::StringRef bytes,
                                                       llvm::StringRef path) {
  auto fail = [&](const llvm::Twine &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), path + ": " + msg);
  };
  auto sections = unpackSections(bytes, llvm::StringRef(kMagic, 8), kVersion, path,
                                 "an mtgr checkpoint");
  if (!sections)
    return sections.takeError();
  for (const char *name : {"meta", "params", "optimizer", "tables"})
    if (!sections->count(name))
      return fail(llvm::Twine("section '") + name + "' is missing");
  TrainState s;
  auto meta = llvm::json::parse((*sections)["meta"]);
  const llvm::json::Object *o = meta ? meta->getAsObject() : nullptr;
  if (!o) {
    if (!meta)
      llvm::consumeError(meta.takeError());
    return fail("section 'meta' is not valid");
  }
  auto hash = o->getString("model_hash");
  auto step = o->getInteger("step"), epoch = o->getInteger("epoch"),
       inEpoch = o->getInteger("step_in_epoch");
  auto seed = o->getString("seed");
  if (!hash || !step || !epoch || !inEpoch || !seed)
    return fail("section 'meta' lacks model_hash, step, epoch, step_in_epoch or seed");
  s.modelHash = hash->str();
  s.step = *step, s.epoch = *epoch, s.stepInEpoch = *inEpoch;
  if (seed->getAsInteger(10, s.seed))
    return fail("section 'meta': seed '" + *seed + "' is not an unsigned integer");
  if (const llvm::json::Value *shards = o->get("shards")) {
    const llvm::json::Array *list = shards->getAsArray();
    if (!list || list->empty())
      return fail("section 'meta': shards is not a list of files");
    for (const llvm::json::Value &v : *list) {
      const llvm::json::Object *shard = v.getAsObject();
      auto file = shard ? shard->getString("file") : std::nullopt;
      auto digest = shard ? shard->getString("xxh3") : std::nullopt;
      uint64_t value = 0;
      // A bare file name: shards are next to the manifest, nowhere else.
      if (!file || !digest || file->empty() || file->contains('/') || *file == ".." ||
          digest->getAsInteger(16, value))
        return fail("section 'meta': a shard without a plain file name and xxh3 digest");
      s.shardFiles.push_back(file->str());
      s.shardDigests.push_back(value);
    }
  }
  Reader r{(*sections)["params"]};
  while (r.ok && r.at < r.bytes.size()) {
    std::string name = r.string();
    Tensor t;
    uint64_t rank = r.u64();
    if (r.ok && rank > 8)
      return fail("section 'params': '" + name + "' has rank " + llvm::Twine(rank));
    uint64_t count = 1;
    for (uint64_t i = 0; r.ok && i < rank; ++i) {
      uint64_t d = r.u64();
      if (d > (uint64_t(1) << 40) || (d && count > (uint64_t(1) << 40) / d))
        return fail("section 'params': '" + name + "' has an impossible shape");
      count *= d;
      t.shape.push_back(static_cast<int64_t>(d));
    }
    t.data = r.floats();
    if (r.ok && t.data.size() != count)
      return fail("section 'params': '" + name + "' does not match its shape");
    s.params.set(name, std::move(t));
  }
  if (!r.done())
    return fail("section 'params' is truncated");
  Reader o2{(*sections)["optimizer"]};
  while (o2.ok && o2.at < o2.bytes.size()) {
    std::string name = o2.string();
    s.optimizer[name] = o2.floats();
  }
  if (!o2.done())
    return fail("section 'optimizer' is truncated");
  Reader t{(*sections)["tables"]};
  while (t.ok && t.at < t.bytes.size()) {
    std::string name = t.string();
    auto table = DynamicTable::deserialize(t.string());
    if (!table)
      return fail("table '" + name + "': " + llvm::toString(table.takeError()));
    s.tables.emplace(name, std::move(*table));
  }
  if (!t.done())
    return fail("section 'tables' is truncated");
  return s;
}

llvm::Error mtgr::saveCheckpoint(llvm::StringRef path, const TrainState &state) {
  return writeFileAtomically(path, serializeCheckpoint(state));
}

llvm::Expected<TrainState> mtgr::loadCheckpoint(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, false, false);
  if (!buffer)
    return llvm::createStringError(buffer.getError(),
                                   path + ": cannot read: " + buffer.getError().message());
  return parseCheckpoint((*buffer)->getBuffer(), path);
}

llvm::Error mtgr::checkStateFits(const TrainState &state, const ModelDesc &m,
                                       const ParamStore &params, llvm::StringRef path) {
  auto fail = [&](const llvm::Twine &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), path + ": " + msg);
  };
  if (state.step < 0 || state.epoch < 0 || state.stepInEpoch < 0)
    return fail("negative step or epoch");
  for (const std::string &name : params.names())
    if (!state.params.has(name) ||
        state.params.get(name).shape != params.get(name).shape)
      return fail("parameter '" + name + "' is missing or has another shape");
  for (const std::string &name : state.params.names()) {
    if (!params.has(name))
      return fail("'" + name + "' is not a parameter of this model");
    for (float x : state.params.get(name).data)
      if (!std::isfinite(x))
        return fail("parameter '" + name + "' holds a non-finite value");
  }
  // Optimiser state: Adam moments (m, v) of any parameter, row accumulators
  // (acc) of a table, each of its parameter's size.
  std::map<std::string, size_t> slotSizes;
  for (const std::string &name : params.names()) {
    const Tensor &t = params.get(name);
    slotSizes[optimizerSlot(name, "m")] = slotSizes[optimizerSlot(name, "v")] = t.numel();
    if (llvm::StringRef(name).starts_with("tables."))
      slotSizes[optimizerSlot(name, "acc")] = t.shape[0];
  }
  for (auto &[name, buffer] : state.optimizer) {
    auto it = slotSizes.find(name);
    if (it == slotSizes.end())
      return fail("optimizer state '" + name + "' belongs to no parameter of this model");
    if (buffer.size() != it->second)
      return fail("optimizer state '" + name + "' has " + llvm::Twine(buffer.size()) +
                  " values, the model needs " + llvm::Twine(it->second));
  }
  for (auto &[name, table] : state.tables) {
    const TableDesc *t = m.findTable(name);
    if (!t || t->kind != TableDesc::Kind::Dynamic)
      return fail("table '" + name + "' is not a dynamic table of this model");
    std::string weight = "tables." + name + ".weight";
    if (!params.has(weight))
      return fail("dynamic table '" + name + "' has no weight in this part of the state");
    int64_t rows = params.get(weight).shape[0];
    if (table.capacity() != rows)
      return fail("dynamic table '" + name + "' has capacity " + llvm::Twine(table.capacity()) +
                  ", " + (rows == t->rows ? "the model's has " : "this shard's has ") +
                  llvm::Twine(rows));
  }
  for (const TableDesc &t : m.tables)
    if (t.kind == TableDesc::Kind::Dynamic && params.has("tables." + t.name + ".weight") &&
        !state.tables.count(t.name))
      return fail("dynamic table '" + t.name + "' is missing");
  return llvm::Error::success();
}
