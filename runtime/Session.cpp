//===- Session.cpp - run a compiled artifact on a device ------------------===//
#include "runtime/Session.h"
#include "model/Error.h"
#include "runtime/Checkpoint.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/FormatVariadic.h"

#include <cstring>
#include <deque>
#include <numeric>
#include <set>
#include <thread>
#include <type_traits>
#include <unistd.h>
#include <unordered_map>

using namespace mtgr;

namespace {
int64_t numel(llvm::ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// One token group of a batch.
struct GroupView {
  const std::vector<FeatureColumn> *columns;
  const std::vector<int64_t> *offsets, *times;
  int64_t rows;
};

GroupView groupView(const Batch &batch, Group g) {
  switch (g) {
  case Group::User:
    return {&batch.user, nullptr, nullptr, batch.numSamples};
  case Group::Sequence:
    return {&batch.sequence, &batch.sequenceOffsets, &batch.sequenceTimes, batch.numSequence()};
  case Group::Realtime:
    return {&batch.realtime, &batch.realtimeOffsets, &batch.realtimeTimes, batch.numRealtime()};
  default: // candidate features and labels
    return {&batch.candidate, &batch.candidateOffsets, &batch.candidateTimes,
            batch.numCandidates()};
  }
}

/// Runs fn(p) for every p < parts, each on a thread of its own when there
/// are several.
void onThreads(size_t parts, llvm::function_ref<void(size_t)> fn) {
  if (parts == 1)
    return fn(0);
  std::vector<std::thread> workers;
  for (size_t p = 0; p < parts; ++p)
    workers.emplace_back(fn, p);
  for (std::thread &t : workers)
    t.join();
}
} // namespace

uint64_t mtgr::physicalMemoryBytes() {
  long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && size > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(size)
                               : uint64_t(1) << 34;
}

namespace {
std::string bytesText(double bytes) {
  return llvm::formatv("{0:F1} MiB", bytes / (1 << 20)).str();
}
/// Bytes of the model's parameters (sizes are bounded by the parser).
double parameterBytes(const ModelDesc &m) {
  double total = 0;
  for (const ParamSpec &p : collectParameters(m)) {
    double n = 4;
    for (int64_t d : p.shape)
      n *= static_cast<double>(d);
    total += n;
  }
  return total;
}
} // namespace

llvm::Expected<std::unique_ptr<Session>> Session::create(Artifact artifact,
                                                          const SessionOptions &options) {
  auto device = createDevice(options.device);
  if (!device)
    return device.takeError();
  return create(std::move(artifact), options, std::move(*device));
}

llvm::Expected<std::unique_ptr<Session>> Session::create(Artifact artifact,
                                                          const SessionOptions &options,
                                                          std::unique_ptr<Device> device) {
  // An artifact is code: trust is decided before any of it is mapped.
  if (auto e = artifact.checkTrust(options.trust))
    return std::move(e);
  if (artifact.kernelsOnly())
    return fail((artifact.path.empty() ? std::string("artifact") : artifact.path) +
                ": kernels without a model (their entry points take raw buffers: mtgr-run call "
                "runs them)");
  std::unique_ptr<Session> s(new Session(std::move(artifact)));
  s->maxMemory = options.maxMemory ? options.maxMemory : physicalMemoryBytes();
  s->recordedShapes = options.recordedShapes;
  s->paramBytes = parameterBytes(s->artifact.model); // once: calls check against it
  if (s->paramBytes > static_cast<double>(s->maxMemory))
    return fail("model '" + s->artifact.model.name + "' has " + bytesText(s->paramBytes) +
                " of parameters, more than the memory limit of " +
                bytesText(static_cast<double>(s->maxMemory)) + " (--max-memory)");
  std::string where = s->artifact.path.empty() ? "artifact" : s->artifact.path;
  s->entryPoint = s->artifact.entry("forward");
  if (!s->entryPoint)
    return fail("artifact has no 'forward' entry point");
  s->trainEntry = s->artifact.entry("train_step");
  s->encodeEntry = s->artifact.entry("encode_prefix");
  s->scoreEntry = s->artifact.entry("score_candidates");
  if (!s->encodeEntry != !s->scoreEntry)
    return fail("artifact has one of encode_prefix and score_candidates but not the other");
  s->updateEntry = s->artifact.entry("apply_update");
  if (s->trainEntry && !s->updateEntry)
    return fail("artifact has a train_step but no apply_update entry point");
  s->device = std::move(device);
  auto executable = s->device->load(s->artifact, where);
  if (!executable)
    return executable.takeError();
  s->executable = std::move(*executable);
  for (auto [entry, bindings] :
       {std::pair{s->entryPoint, &s->forwardBindings}, std::pair{s->trainEntry, &s->trainBindings},
        std::pair{s->updateEntry, &s->updateBindings},
        std::pair{s->encodeEntry, &s->encodeBindings},
        std::pair{s->scoreEntry, &s->scoreBindings}}) {
    if (!entry)
      continue;
    auto bound = bindEntryPoint(s->artifact.model, *entry, where);
    if (!bound)
      return bound.takeError();
    *bindings = std::move(*bound);
  }
  // apply_update's gradient inputs, each resolved once to the train_step
  // output that computes it (gradients travel as buffers by binding).
  if (s->updateEntry) {
    std::map<std::string, size_t> computed;
    for (auto [index, arg] : llvm::enumerate(s->trainBindings))
      if (arg.kind == ArgKind::ParamGrad || arg.kind == ArgKind::EmbeddingGrad)
        computed[arg.gradientKey()] = index;
      else if (arg.kind == ArgKind::Loss)
        s->lossIndex = index;
    s->gradientFrom.assign(s->updateBindings.size(), SIZE_MAX);
    for (auto [index, arg] : llvm::enumerate(s->updateBindings)) {
      if (arg.kind != ArgKind::GradInput && arg.kind != ArgKind::EmbeddingGradInput)
        continue;
      auto found = computed.find(arg.gradientKey());
      if (found == computed.end())
        return fail(where + ": apply_update reads the gradient '" + arg.gradientKey() +
                    "', which train_step does not compute");
      s->gradientFrom[index] = found->second;
    }
    if (s->lossIndex == SIZE_MAX)
      return fail(where + ": train_step has no loss output");
  }
  s->threads = options.threads ? options.threads
                               : std::max(1u, std::thread::hardware_concurrency());
  for (const TableDesc &t : s->artifact.model.tables)
    if (t.kind == TableDesc::Kind::Dynamic)
      s->tables.emplace(t.name, DynamicTable(t.rows, t.admissionThreshold,
                                             t.eviction == TableDesc::Eviction::LFU
                                                 ? DynamicTable::Policy::LFU
                                                 : DynamicTable::Policy::LRU));
  if (options.initializeParams)
    s->initParams(s->artifact.model.training.seed);
  else
    s->parameters = ParamStore::shapesOnly(collectParameters(s->artifact.model));
  return std::move(s);
}

double Session::workingMemory(const EntryPoint &entry, const Batch &batch) const {
  const ModelDesc &m = artifact.model;
  double rows = static_cast<double>(batch.totalTokens(m));
  double parts = static_cast<double>(std::min<int64_t>(threads, std::max<int64_t>(1, batch.numSamples)));
  // The runtime's buffers for the call: gathered rows, outputs, gradients.
  double runtimePerRow = 0;
  for (const AbiArg &arg : entry.args)
    if (arg.shape.size() >= 2 && arg.shape[0] == -1) {
      double width = 4;
      for (size_t d = 1; d < arg.shape.size(); ++d)
        width *= static_cast<double>(std::max<int64_t>(arg.shape[d], 1));
      runtimePerRow += width;
    }
  return static_cast<double>(entry.fixedBytes) * parts +
         (static_cast<double>(entry.bytesPerRow) + runtimePerRow) * rows;
}

llvm::Error Session::checkMemory(llvm::StringRef what, const Batch &batch, double extra,
                                    std::initializer_list<const EntryPoint *> entries) const {
  double need = paramBytes + extra, working = 0;
  for (const EntryPoint *e : entries)
    if (e)
      working += workingMemory(*e, batch);
  need += working;
  if (need <= static_cast<double>(maxMemory))
    // A device with memory of its own sizes its pool from the same figure.
    return executable->prepare(static_cast<int64_t>(working));
  return fail(what + ": a batch of " + llvm::Twine(batch.numSamples) + " samples and " +
              llvm::Twine(batch.totalTokens(artifact.model)) + " tokens needs about " +
              bytesText(need) + " (parameters and working memory, estimated from the "
              "compiled code), more than the memory limit of " +
              bytesText(static_cast<double>(maxMemory)) + " (--max-memory)" +
              (what == "train_step" ? ": lower the token budget of a step (--token-budget)"
                                    : ""));
}

void Session::trimPool(const Batch &batch,
                          std::initializer_list<const EntryPoint *> entries) const {
  double used = 0;
  for (const EntryPoint *e : entries)
    if (e)
      used += workingMemory(*e, batch);
  executable->environment().pool.trim(static_cast<int64_t>(std::max(used * 1.25, double(64 << 20))));
}

int64_t Session::rowOf(const TableDesc &t, int64_t id) const {
  if (t.kind == TableDesc::Kind::Dynamic)
    return tables.at(t.name).lookup(id);
  return tableRow(t, id);
}

Session::~Session() {
  {
    std::lock_guard<std::mutex> guard(replayLock);
    for (auto &[key, slot] : replaySlots)
      dropReplaySlot(std::move(slot));
    replaySlots.clear();
  }
  for (void *block : {gradientBlock, reduceBlock})
    if (block)
      device->release(block);
  std::lock_guard<std::mutex> guard(residentLock);
  dropResident();
  while (!deviceRowAge.empty())
    dropDeviceRows(deviceRowAge.back());
}

void Session::dropResident() const {
  for (auto &[host, onDevice] : resident)
    device->release(onDevice);
  resident.clear();
  residentStale = false;
}

void Session::keepPrefixRowsOnDevice(uint64_t bytes) {
  std::lock_guard<std::mutex> guard(residentLock);
  deviceRowLimit = device->sharesHostMemory() ? 0 : bytes;
  while (deviceRowCounts.bytes > deviceRowLimit && !deviceRowAge.empty()) {
    dropDeviceRows(deviceRowAge.back());
    ++deviceRowCounts.evicted;
  }
}

bool Session::holdsOnDevice(uint64_t id) const {
  std::lock_guard<std::mutex> guard(residentLock);
  return deviceRows.count(id) != 0;
}

void Session::forgetOnDevice(uint64_t id) {
  std::lock_guard<std::mutex> guard(residentLock);
  dropDeviceRows(id);
}

Session::DeviceRowStats Session::deviceRowStats() const {
  std::lock_guard<std::mutex> guard(residentLock);
  DeviceRowStats s = deviceRowCounts;
  s.entries = static_cast<int64_t>(deviceRows.size());
  return s;
}

void Session::dropDeviceRows(uint64_t id) const {
  auto found = deviceRows.find(id);
  if (found == deviceRows.end())
    return;
  device->release(found->second.block);
  deviceRowCounts.bytes -= found->second.bytes;
  deviceRowAge.erase(found->second.age);
  deviceRows.erase(found);
}

std::vector<const void *> Session::deviceRowsOf(const PrefixRows::Piece &piece,
                                                const std::set<uint64_t> &inUse) const {
  auto addresses = [](const DeviceRows &rows) {
    std::vector<const void *> out;
    for (size_t at : rows.at)
      out.push_back(static_cast<const char *>(rows.block) + at);
    return out;
  };
  if (!piece.id)
    return {};
  if (auto found = deviceRows.find(piece.id); found != deviceRows.end()) {
    deviceRowAge.splice(deviceRowAge.begin(), deviceRowAge, found->second.age);
    ++deviceRowCounts.reused;
    return addresses(found->second);
  }
  // Not there: kept if it fits beside the rows this call uses.
  constexpr size_t kAlign = 256;
  DeviceRows rows;
  for (size_t l = 0; l < piece.keys.size(); ++l)
    for (llvm::ArrayRef<float> part : {piece.keys[l], piece.values[l]}) {
      rows.at.push_back(rows.bytes);
      rows.bytes += (part.size() * sizeof(float) + kAlign - 1) / kAlign * kAlign;
    }
  if (piece.keys.empty() || rows.bytes > deviceRowLimit)
    return {};
  while (deviceRowCounts.bytes + rows.bytes > deviceRowLimit) {
    auto oldest = std::find_if(deviceRowAge.rbegin(), deviceRowAge.rend(),
                               [&](uint64_t id) { return !inUse.count(id); });
    if (oldest == deviceRowAge.rend())
      return {}; // the rest are this call's
    dropDeviceRows(*oldest);
    ++deviceRowCounts.evicted;
  }
  rows.block = device->allocate(static_cast<size_t>(rows.bytes));
  for (size_t l = 0, i = 0; l < piece.keys.size(); ++l)
    for (llvm::ArrayRef<float> part : {piece.keys[l], piece.values[l]})
      device->copyToDevice(static_cast<char *>(rows.block) + rows.at[i++], part.data(),
                           part.size() * sizeof(float));
  deviceRowAge.push_front(piece.id);
  rows.age = deviceRowAge.begin();
  deviceRowCounts.bytes += rows.bytes;
  ++deviceRowCounts.uploaded;
  return addresses(deviceRows[piece.id] = std::move(rows));
}

std::unique_ptr<Session::ReplaySlot> Session::takeReplaySlot(const std::string &key) const {
  std::lock_guard<std::mutex> guard(replayLock);
  auto found = replaySlots.find(key);
  if (found == replaySlots.end() || !found->second)
    return std::make_unique<ReplaySlot>();
  return std::move(found->second); // the entry stays, empty, while the call has it
}

void Session::putReplaySlot(const std::string &key, std::unique_ptr<ReplaySlot> slot,
                            bool replayed) const {
  std::lock_guard<std::mutex> guard(replayLock);
  ++(replayed ? replayCounts.replayed : replayCounts.recorded);
  std::unique_ptr<ReplaySlot> &held = replaySlots[key];
  if (held) { // another call of this shape put its slot back first
    dropReplaySlot(std::move(slot));
    return;
  }
  held = std::move(slot);
  replayAge.remove(key);
  replayAge.push_front(key);
  while (replayAge.size() > recordedShapes) {
    auto oldest = replaySlots.find(replayAge.back());
    replayAge.pop_back();
    if (oldest == replaySlots.end() || !oldest->second)
      continue; // in use: its call puts it back
    dropReplaySlot(std::move(oldest->second));
    replaySlots.erase(oldest);
  }
}

void Session::dropReplaySlot(std::unique_ptr<ReplaySlot> slot) const {
  if (!slot)
    return;
  slot->recording.reset();
  if (slot->block)
    device->release(slot->block);
}

Session::ReplayStats Session::replayStats() const {
  std::lock_guard<std::mutex> guard(replayLock);
  ReplayStats s = replayCounts;
  s.shapes = static_cast<int64_t>(replaySlots.size());
  return s;
}

void Session::initParams(uint64_t seed) {
  parameters = ParamStore::initialize(collectParameters(artifact.model), seed);
  residentStale = true;
}

std::map<size_t, std::vector<float>>
Session::call(const std::vector<Binding> &bindings, const EntryPoint &entry, unsigned callThreads,
              const Batch &batch, std::array<int64_t, 3> rng, OptimizerState *state,
              const StepGradients *gradients, std::array<int64_t, 2> *work,
              const PrefixRows *prefix, const SparseArgs *sparse) const {
  const ModelDesc &m = artifact.model;
  int64_t B = batch.numSamples, K = batch.numCandidates(), N = batch.totalTokens(m);
  std::vector<int64_t> tokenOffsets = batch.tokenOffsets(m);
  std::vector<int64_t> prefixRowOffsets = prefixOffsets(batch);
  int64_t prefixRows = prefixRowOffsets.back();
  std::deque<std::vector<float>> floatBuffers; // stable addresses
  std::vector<BufferView> views;
  std::vector<size_t> elementBytes; // per view: 4 (f32), 8 (i64, index)
  std::vector<bool> written;        // per view: the code writes it
  std::vector<bool> integer;        // per view: integer elements
  std::vector<bool> paramView;      // per view: a parameter (kept on a device)
  std::vector<void *> deviceAt;     // per view: already on the device there
  std::vector<bool> kept;           // per view: an output left on the device
  const bool updatesParams = &entry == updateEntry; // apply_update writes them
  const bool ownMemory = !device->sharesHostMemory();
  std::map<size_t, std::vector<float>> outputs;
  std::deque<std::array<int64_t, 2>> counts; // attention work, summed into *work
  // Views of prefix rows placed from PrefixRows::pieces on a device with
  // memory of its own: view -> (keys?, layer).
  std::map<size_t, std::pair<bool, int64_t>> prefixView;

  // Each buffer with the size of its elements (f32, i64 or i32) and whether
  // the code writes it.
  auto push = [&](const auto *data, llvm::ArrayRef<int64_t> shape, bool writes = false) {
    using Element = std::remove_cv_t<std::remove_pointer_t<decltype(data)>>;
    static_assert(sizeof(Element) == 4 || sizeof(Element) == 8);
    views.push_back(BufferView{const_cast<Element *>(data), shape.vec()});
    elementBytes.push_back(sizeof(Element));
    written.push_back(writes);
    integer.push_back(std::is_integral_v<Element>);
    paramView.push_back(false);
    deviceAt.push_back(nullptr);
    kept.push_back(false);
  };
  // Sparse updates: the ids of every lookup mapped to table rows, the rows
  // deduplicated per table (in order of first appearance), and each id's
  // position among them; the generated code sums and updates per row.
  // (Sharded tables: given, this rank's rows; `sparse`.)
  std::map<const TableDesc *, std::vector<int64_t>> uniqueRows;
  std::map<size_t, std::vector<int64_t>> rowIndex;
  if (sparse) {
    uniqueRows = sparse->uniqueRows;
    rowIndex = sparse->rowIndex;
  } else {
    std::map<const TableDesc *, std::unordered_map<int64_t, int64_t>> positions;
    for (auto [index, arg] : llvm::enumerate(bindings)) {
      if (arg.kind != ArgKind::RowIndex)
        continue;
      std::vector<int64_t> &unique = uniqueRows[arg.table];
      auto &position = positions[arg.table];
      std::vector<int64_t> &out = rowIndex[index];
      for (int64_t id : (*groupView(batch, arg.group).columns)[arg.index].ids) {
        auto [it, fresh] = position.try_emplace(rowOf(*arg.table, id), unique.size());
        if (fresh)
          unique.push_back(it->first);
        out.push_back(it->second);
      }
    }
  }
  // Tables on a device with memory of its own: apply_update gets only the
  // rows it updates (the table's and its optimiser state's, copied in and
  // back; the host keeps the tables), when its ABI takes a table's row count
  // at run time. Their unique rows are then 0, 1, ...
  struct CompactRows {
    std::vector<float> *table; // the host's [rows, width]
    std::vector<float> *rows;  // the rows updated, [unique rows, width]
    const std::vector<int64_t> *unique;
    int64_t width;
  };
  std::vector<CompactRows> compacted;
  std::set<const TableDesc *> compactTables;
  // The table whose weight `param` is ("tables.<name>.weight"), else null.
  auto tableOf = [&](llvm::StringRef param) -> const TableDesc * {
    if (!param.consume_front("tables.") || !param.consume_back(".weight"))
      return nullptr;
    return m.findTable(param);
  };
  if (updatesParams && ownMemory)
    for (auto [index, arg] : llvm::enumerate(bindings))
      if (const TableDesc *t = tableOf(arg.param); t && arg.kind == ArgKind::Param &&
                                                   !entry.args[index].shape.empty() &&
                                                   entry.args[index].shape[0] == -1)
        compactTables.insert(t);
  auto compact = [&](std::vector<float> &table, const TableDesc &t, int64_t width) {
    const std::vector<int64_t> &unique = uniqueRows[&t];
    std::vector<float> &rows = floatBuffers.emplace_back(unique.size() * width);
    for (size_t u = 0; u < unique.size(); ++u)
      std::copy_n(table.data() + unique[u] * width, width, rows.data() + u * width);
    compacted.push_back({&table, &rows, &unique, width});
    push(rows.data(), {static_cast<int64_t>(unique.size()), width}, /*writes=*/true);
  };
  std::deque<std::vector<int64_t>> firstRows; // 0, 1, ...: compacted tables' unique rows
  // A train_step output: on the host, or left on the device (keepStepOutputs).
  auto output = [&](size_t index, llvm::ArrayRef<int64_t> shape, bool keep = false) {
    if (keep) {
      push(static_cast<const float *>(nullptr), shape, /*writes=*/true);
      kept.back() = true;
      return;
    }
    std::vector<float> &buffer = outputs[index] = std::vector<float>(numel(shape), 0.0f);
    push(buffer.data(), shape, /*writes=*/true);
  };
  // A gradient apply_update reads: left on the device by train_step, or the
  // host's.
  auto gradientInput = [&](size_t index, const std::vector<float> &host,
                           llvm::ArrayRef<int64_t> shape) {
    size_t from = gradientFrom[index];
    if (from < keptOnDevice.size() && keptOnDevice[from]) {
      push(static_cast<const float *>(nullptr), shape);
      deviceAt.back() = keptOnDevice[from];
      return;
    }
    push(host.data(), shape);
  };
  const bool keepDense = keepDenseGradients && ownMemory, keepRows = keepRowGradients && ownMemory;
  for (auto [index, arg] : llvm::enumerate(bindings)) {
    GroupView v = groupView(batch, arg.group);
    switch (arg.kind) {
    case ArgKind::GradInput: // apply_update: train_step's output, summed over ranges
      gradientInput(index, (*gradients)[gradientFrom[index]], parameters.get(arg.param).shape);
      break;
    case ArgKind::EmbeddingGradInput:
      if (sparse) { // this rank's rows' gradients (other lookups of the table: none)
        auto found = sparse->gradients.find(index);
        const std::vector<float> &rows =
            found == sparse->gradients.end() ? floatBuffers.emplace_back() : found->second;
        push(rows.data(), {static_cast<int64_t>(rows.size()) / arg.table->dim, arg.table->dim});
        break;
      }
      gradientInput(index, (*gradients)[gradientFrom[index]], {v.rows, arg.table->dim});
      break;
    case ArgKind::Param: { // the optimiser update writes the parameters in place
      const Tensor &t = parameters.get(arg.param);
      if (const TableDesc *table = tableOf(arg.param); table && compactTables.count(table)) {
        // (written in place, as the view below is)
        compact(const_cast<std::vector<float> &>(t.data), *table, table->dim);
        break;
      }
      push(t.data.data(), t.shape, /*writes=*/updatesParams);
      // Tables are the host's (it gathers their rows, admission writes
      // them): never kept on a device.
      paramView.back() = !tableOf(arg.param);
      break;
    }
    case ArgKind::State: {
      const Tensor &t = parameters.get(arg.param);
      std::vector<int64_t> shape = arg.slot == "acc" ? std::vector<int64_t>{t.shape[0]} : t.shape;
      std::vector<float> &buffer = (*state)[optimizerSlot(arg.param, arg.slot)];
      if (static_cast<int64_t>(buffer.size()) != numel(shape))
        buffer.assign(numel(shape), 0.0f);
      if (const TableDesc *table = tableOf(arg.param); table && compactTables.count(table)) {
        compact(buffer, *table, numel(shape) / t.shape[0]);
        break;
      }
      push(buffer.data(), shape, /*writes=*/true);
      break;
    }
    case ArgKind::UniqueRows: {
      std::vector<int64_t> &rows = uniqueRows[arg.table];
      if (compactTables.count(arg.table)) {
        std::vector<int64_t> &first = firstRows.emplace_back(rows.size());
        std::iota(first.begin(), first.end(), int64_t(0));
        push(first.data(), {static_cast<int64_t>(first.size())});
        break;
      }
      push(rows.data(), {static_cast<int64_t>(rows.size())});
      break;
    }
    case ArgKind::RowIndex:
      push(rowIndex[index].data(), {static_cast<int64_t>(rowIndex[index].size())});
      break;
    case ArgKind::Output:
      output(index, {K, 1});
      break;
    case ArgKind::Hidden:
      output(index, {N, m.dModel});
      break;
    case ArgKind::AttentionWork:
      push(counts.emplace_back(std::array<int64_t, 2>{0, 0}).data(), {2}, /*writes=*/true);
      break;
    case ArgKind::Loss:
      output(index, {});
      break;
    case ArgKind::ParamGrad:
      output(index, parameters.get(arg.param).shape, keepDense);
      break;
    case ArgKind::EmbeddingGrad:
      output(index, {v.rows, arg.table->dim}, keepRows);
      break;
    case ArgKind::Rng:
      push(rng.data(), {3}); // {seed, step, first token}
      break;
    case ArgKind::Intervals:
      push(batch.intervals.data(), {N, 3, 2});
      break;
    case ArgKind::PrefixKeys:
    case ArgKind::PrefixValues: {
      int64_t width = m.heads * (arg.kind == ArgKind::PrefixKeys ? m.dqk : m.dv);
      bool ofKeys = arg.kind == ArgKind::PrefixKeys;
      if (!prefix) { // encode_prefix writes them
        output(index, {prefixRows, width});
      } else if (prefix->pieces.empty()) { // score_candidates reads them
        push((ofKeys ? prefix->keys : prefix->values)[arg.index].data(), {prefixRows, width});
      } else if (!device->sharesHostMemory()) { // placed below, from the pieces
        push(static_cast<const float *>(nullptr), {prefixRows, width});
        prefixView[views.size() - 1] = {ofKeys, arg.index};
      } else if (prefix->pieces.size() == 1) { // read in place
        const PrefixRows::Piece &p = prefix->pieces.front();
        push((ofKeys ? p.keys : p.values)[arg.index].data(), {prefixRows, width});
      } else { // the pieces one after another
        std::vector<float> &rows = floatBuffers.emplace_back();
        rows.reserve(static_cast<size_t>(prefixRows * width));
        for (const PrefixRows::Piece &p : prefix->pieces) {
          llvm::ArrayRef<float> part = (ofKeys ? p.keys : p.values)[arg.index];
          rows.insert(rows.end(), part.begin(), part.end());
        }
        push(rows.data(), {prefixRows, width});
      }
      break;
    }
    case ArgKind::Offsets:
      if (arg.group == Group::Tokens)
        push(tokenOffsets.data(), {B + 1});
      else if (arg.group == Group::Prefix)
        push(prefixRowOffsets.data(), {B + 1});
      else
        push(v.offsets->data(), {B + 1});
      break;
    case ArgKind::Labels:
      push(batch.labels[arg.index].data(), {K, 1});
      break;
    case ArgKind::Time:
      push(v.times->data(), {v.rows});
      break;
    case ArgKind::Embedding: {
      // Hash tables live in the runtime: gather the rows for the generated code.
      // Sharded tables: from the rows their owners sent for this call.
      const TableDesc &t = *arg.table;
      const std::vector<int64_t> &ids = (*v.columns)[arg.index].ids;
      std::vector<float> &rows = floatBuffers.emplace_back(v.rows * t.dim);
      if (exchanged) {
        const RowExchange::Table &fetched = exchanged->tables.at(&t);
        for (int64_t r = 0; r < v.rows; ++r)
          std::copy_n(fetched.rows.data() +
                          fetched.position.at(TablePlacement::keyOf(t, ids[r])) * t.dim,
                      t.dim, rows.data() + r * t.dim);
        push(rows.data(), {v.rows, t.dim});
        break;
      }
      const std::vector<float> &table = parameters.get("tables." + t.name + ".weight").data;
      for (int64_t r = 0; r < v.rows; ++r)
        std::copy_n(table.data() + rowOf(t, ids[r]) * t.dim, t.dim, rows.data() + r * t.dim);
      push(rows.data(), {v.rows, t.dim});
      break;
    }
    case ArgKind::Input:
      push((*v.columns)[arg.index].values.data(), {v.rows, arg.feature->denseDim});
      break;
    }
  }
  if (device->sharesHostMemory()) {
    executable->call(entry, views, callThreads);
  } else {
    // The device's own buffers. Parameters the call only reads stay there
    // between calls (uploaded at first use). Every other argument travels in
    // one block: one copy in, and what the code writes, one copy back
    // (written buffers last in the block). Integer arguments stay where they
    // are when the code plans on the host (GPU code: abi/GpuLaunch.h).
    constexpr size_t kAlign = 256;
    // Recorded calls (GPU graphs): the arguments go where the last call of
    // their shape had them (its block), so a call that plans as it did
    // replays its recording.
    const bool record = recordedShapes > 0 && executable->canRecord() &&
                        !executable->environment().profile.timeKernels;
    std::vector<BufferView> onDevice = views;
    std::vector<size_t> bytes(views.size()), at(views.size());
    std::vector<bool> inBlock(views.size());
    size_t blockBytes = 0, writtenFrom = 0;
    // Prefix rows from pieces: each piece's rows on the device where they
    // are kept there (one piece: read in place; several: copied on the
    // device into the block), the others copied in with the block.
    const std::vector<PrefixRows::Piece> *pieces = prefix ? &prefix->pieces : nullptr;
    std::vector<std::vector<const void *>> pieceOnDevice;
    std::vector<std::tuple<size_t, size_t, const void *, size_t>>
        onDeviceCopies; // view, at, from, bytes
    {
      std::lock_guard<std::mutex> guard(residentLock);
      if (residentStale)
        dropResident();
      if (!prefixView.empty()) {
        std::set<uint64_t> inUse;
        for (const PrefixRows::Piece &p : *pieces)
          if (p.id)
            inUse.insert(p.id);
        for (const PrefixRows::Piece &p : *pieces)
          pieceOnDevice.push_back(deviceRowsOf(p, inUse));
      }
      for (size_t i = 0; i < views.size(); ++i) {
        if (integer[i] && executable->integersOnHost())
          continue;
        bytes[i] = static_cast<size_t>(numel(views[i].shape)) * elementBytes[i];
        if (deviceAt[i]) { // a gradient train_step left here
          onDevice[i].data = deviceAt[i];
          continue;
        }
        if (kept[i]) // placed in the gradient block below
          continue;
        if (auto found = prefixView.find(i);
            found != prefixView.end() && pieces->size() == 1 && !pieceOnDevice[0].empty() &&
            !record) { // (recorded calls copy it into the block: the same address each call)
          auto [ofKeys, layer] = found->second;
          onDevice[i].data = const_cast<void *>(pieceOnDevice[0][2 * layer + (ofKeys ? 0 : 1)]);
          continue;
        }
        // Parameters stay on the device between calls; the optimiser
        // update writes them there, and the host's copy is refreshed from
        // them after the call.
        if (paramView[i]) {
          void *&copy = resident[views[i].data];
          if (!copy) {
            copy = device->allocate(std::max<size_t>(bytes[i], 1));
            device->copyToDevice(copy, views[i].data, bytes[i]);
          }
          onDevice[i].data = copy;
          continue;
        }
        inBlock[i] = true;
      }
    }
    // The block: what the code reads, then what it writes (copied back),
    // then prefix rows placed by copies on the device (not copied in).
    const bool allPiecesOnDevice = std::all_of(pieceOnDevice.begin(), pieceOnDevice.end(),
                                               [](const auto &p) { return !p.empty(); });
    auto section = [&](size_t i) {
      return prefixView.count(i) && allPiecesOnDevice ? 2 : written[i] ? 1 : 0;
    };
    size_t placedFrom = 0;
    for (int pass : {0, 1, 2}) {
      if (pass == 1)
        writtenFrom = blockBytes;
      if (pass == 2)
        placedFrom = blockBytes;
      for (size_t i = 0; i < views.size(); ++i)
        if (inBlock[i] && section(i) == pass) {
          at[i] = blockBytes;
          blockBytes += (bytes[i] + kAlign - 1) / kAlign * kAlign;
        }
    }
    // A train_step's outputs left on the device: the gradient block, kept
    // (and grown when a step needs more) from step to step.
    size_t keptBytes = 0;
    std::vector<size_t> keptAt(views.size());
    for (size_t i = 0; i < views.size(); ++i)
      if (kept[i]) {
        keptAt[i] = keptBytes;
        keptBytes += (bytes[i] + kAlign - 1) / kAlign * kAlign;
      }
    if (keptBytes) {
      if (keptBytes > gradientBlockBytes) {
        if (gradientBlock)
          device->release(gradientBlock);
        gradientBlock = device->allocate(keptBytes);
        gradientBlockBytes = keptBytes;
      }
      keptOnDevice.assign(views.size(), nullptr);
      for (size_t i = 0; i < views.size(); ++i)
        if (kept[i])
          onDevice[i].data = keptOnDevice[i] = static_cast<char *>(gradientBlock) + keptAt[i];
    }
    std::vector<char> staging(placedFrom);
    for (size_t i = 0; i < views.size(); ++i) {
      if (!inBlock[i] || !bytes[i])
        continue;
      auto found = prefixView.find(i);
      if (found == prefixView.end()) {
        std::memcpy(staging.data() + at[i], views[i].data, bytes[i]);
        continue;
      }
      auto [ofKeys, layer] = found->second;
      size_t offset = at[i];
      for (size_t p = 0; p < pieces->size(); ++p) {
        const PrefixRows::Piece &piece = (*pieces)[p];
        size_t pieceBytes = static_cast<size_t>(piece.rows) *
                            static_cast<size_t>(views[i].shape[1]) * sizeof(float);
        if (!pieceOnDevice[p].empty())
          onDeviceCopies.emplace_back(i, offset, pieceOnDevice[p][2 * layer + (ofKeys ? 0 : 1)],
                                      pieceBytes);
        else if (pieceBytes)
          std::memcpy(staging.data() + offset, (ofKeys ? piece.keys : piece.values)[layer].data(),
                      pieceBytes);
        offset += pieceBytes;
      }
    }
    // What the code wrote, one copy back.
    auto readBack = [&](char *block) {
      if (placedFrom <= writtenFrom)
        return;
      device->copyToHost(staging.data() + writtenFrom, block + writtenFrom,
                         placedFrom - writtenFrom);
      for (size_t i = 0; i < views.size(); ++i)
        if (inBlock[i] && written[i] && bytes[i])
          std::memcpy(views[i].data, staging.data() + at[i], bytes[i]);
    };
    std::string key;
    std::unique_ptr<ReplaySlot> slot;
    char *block = nullptr;
    if (record) {
      auto put = [&](int64_t x) { key.append(reinterpret_cast<const char *>(&x), sizeof x); };
      key = entry.name + '\0';
      put(static_cast<int64_t>(blockBytes));
      for (size_t i = 0; i < views.size(); ++i) {
        put(static_cast<int64_t>(views[i].shape.size()));
        for (int64_t d : views[i].shape)
          put(d);
        put(inBlock[i] ? static_cast<int64_t>(at[i]) : -1);
      }
      slot = takeReplaySlot(key);
      if (!slot->block) {
        slot->block = device->allocate(std::max<size_t>(blockBytes, 1));
      }
      block = static_cast<char *>(slot->block);
    } else {
      block = static_cast<char *>(device->allocate(std::max<size_t>(blockBytes, 1)));
    }
    device->copyToDevice(block, staging.data(), placedFrom);
    for (auto [view, offset, from, n] : onDeviceCopies)
      if (n)
        device->copyOnDevice(block + offset, from, n);
    for (size_t i = 0; i < views.size(); ++i)
      if (inBlock[i])
        onDevice[i].data = block + at[i];
    if (record) {
      bool replayed = executable->callRecorded(entry, onDevice, callThreads, slot->recording);
      device->synchronize();
      readBack(block);
      putReplaySlot(key, std::move(slot), replayed);
    } else {
      executable->call(entry, onDevice, callThreads);
      device->synchronize();
      readBack(block);
      device->release(block);
    }
    if (updatesParams) { // the host's parameters from the device's, updated there
      std::lock_guard<std::mutex> guard(residentLock);
      for (size_t i = 0; i < views.size(); ++i)
        if (paramView[i] && written[i] && bytes[i])
          device->copyToHost(views[i].data, onDevice[i].data, bytes[i]);
    }
  }
  // Compacted tables: the rows updated, back in the host's tables.
  for (const CompactRows &c : compacted)
    for (size_t u = 0; u < c.unique->size(); ++u)
      std::copy_n(c.rows->data() + u * c.width, c.width,
                  c.table->data() + (*c.unique)[u] * c.width);
  if (work)
    for (const auto &c : counts)
      (*work)[0] += c[0], (*work)[1] += c[1];
  return outputs;
}

ForwardResult Session::runRange(const Batch &batch, bool wantHidden,
                                   unsigned callThreads) const {
  std::array<int64_t, 2> work{0, 0};
  std::map<size_t, std::vector<float>> outputs = call(forwardBindings, *entryPoint, callThreads,
                                                      batch, {0, 0, 0}, nullptr, nullptr, &work);
  return scoresOf(forwardBindings, outputs, work, wantHidden);
}

ForwardResult Session::scoresOf(const std::vector<Binding> &bindings,
                                std::map<size_t, std::vector<float>> &outputs,
                                std::array<int64_t, 2> work, bool wantHidden) const {
  ForwardResult result;
  result.attentionPairs = work[0], result.visiblePairs = work[1];
  result.logits.resize(artifact.model.tasks.size());
  for (auto &[index, buffer] : outputs) {
    const Binding &arg = bindings[index];
    if (arg.kind == ArgKind::Output)
      result.logits[arg.index] = std::move(buffer);
    else if (arg.kind == ArgKind::Hidden && wantHidden)
      result.hidden = std::move(buffer);
  }
  return result;
}

llvm::Expected<TrainStepResult> Session::trainStep(const Batch &batch, uint64_t seed,
                                                      int64_t step, OptimizerState &state,
                                                      bool gradients) {
  const ModelDesc &m = artifact.model;
  if (!trainEntry)
    return fail("artifact of model '" + m.name + "' has no train_step entry point: " +
                artifact.trainStepMissing);
  if (auto e = validateBatch(m, batch))
    return std::move(e);
  if (batch.labels.empty())
    return fail("train_step needs labels for every candidate");
  // Beyond the parameters: gradients and two Adam moments per parameter.
  if (auto e = checkMemory("train_step", batch, 3 * paramBytes, {trainEntry, updateEntry}))
    return std::move(e);
  // Loss and gradients per sample range, in parallel.
  // With a sample per thread, one call per contiguous sample range; fewer
  // samples than threads: one call whose parallel ops (projections and
  // their gradients, the attention, its backward by whole samples or by
  // row blocks and then column tiles) use every thread, with the bits of
  // one thread.
  // This rank's share of the samples: all of them on one rank; with
  // several, contiguous token-balanced shares in rank order (a rank may
  // have none when the batch has fewer samples than there are ranks).
  const int64_t B = batch.numSamples;
  const bool distributed = collective && collective->size() > 1;
  auto [begin, end] = rankShare(batch);
  // Sharded tables: the rows this share reads, from their owners, first.
  Batch share;
  std::optional<RowExchange> fetched;
  llvm::scope_exit done([&] { exchanged = nullptr; });
  if (placement) {
    share = sliceBatch(m, batch, begin, end);
    fetched = exchangeRows(share, /*training=*/true);
    exchanged = &*fetched;
  }
  std::vector<int64_t> bounds = rangeBounds(batch, begin, end, threads);
  size_t parts = bounds.size() - 1;
  unsigned insideThreads = parts == threads ? 1 : threads;
  if (insideThreads > 1)
    bounds = {begin, end}, parts = 1;
  // Each range's outputs by train_step binding: dense gradients, each
  // lookup's row gradients, the loss.
  const size_t outputs = trainBindings.size();
  std::vector<StepGradients> partial(parts, StepGradients(outputs));
  std::vector<int64_t> stepTokens = batch.tokenOffsets(m); // where each range starts
  // On a device with memory of its own, one call and no gradients asked
  // for: the dense gradients stay there for apply_update (summed over the
  // ranks there), and the row gradients too when no other rank needs them.
  keepDenseGradients = !device->sharesHostMemory() && parts == 1 && !gradients;
  keepRowGradients = keepDenseGradients && !distributed && !placement;
  llvm::scope_exit forget([&] {
    keepDenseGradients = keepRowGradients = false;
    keptOnDevice.clear();
  });
  auto run = [&](size_t p) {
    bool whole = bounds[p] == 0 && bounds[p + 1] == B;
    Batch range = whole ? Batch() : sliceBatch(m, batch, bounds[p], bounds[p + 1]);
    for (auto &[index, buffer] :
         call(trainBindings, *trainEntry, insideThreads, whole ? batch : range,
              {static_cast<int64_t>(seed), step, stepTokens[bounds[p]]}))
      partial[p][index] = std::move(buffer);
  };
  auto kindOf = [&](size_t i) { return trainBindings[i].kind; };
  if (begin < end) {
    onThreads(parts, run);
  } else { // no samples here: nothing to add
    for (size_t i = 0; i < outputs; ++i)
      if (kindOf(i) == ArgKind::Loss)
        partial[0][i] = {0.0f};
      else if (kindOf(i) == ArgKind::ParamGrad)
        partial[0][i].assign(parameters.get(trainBindings[i].param).data.size(), 0.0f);
  }
  // Sum in range order: dense gradients add, a lookup's rows concatenate
  // (each range holds its samples' rows, in sample order).
  StepGradients sum = std::move(partial[0]);
  for (size_t p = 1; p < parts; ++p)
    for (size_t i = 0; i < outputs; ++i) {
      std::vector<float> &total = sum[i], &part = partial[p][i];
      if (kindOf(i) == ArgKind::EmbeddingGrad)
        total.insert(total.end(), part.begin(), part.end());
      else
        for (size_t k = 0; k < part.size(); ++k)
          total[k] += part[k];
    }
  if (distributed) {
    reduceOverRanks(sum);
    communication.tokens += batch.totalTokens(m);
    communication.samples += B;
  }
  // Sharded tables: each rank's row gradients to the rows' owners.
  std::optional<SparseArgs> sparse;
  if (placement)
    sparse = exchangeRowGradients(share, *fetched, sum);
  // The optimiser update, once, on the whole batch (sharded tables: of this
  // rank's rows).
  call(updateBindings, *updateEntry, threads, batch, {static_cast<int64_t>(seed), step, 0}, &state,
       &sum, nullptr, nullptr, sparse ? &*sparse : nullptr);

  trimPool(batch, {trainEntry, updateEntry});
  TrainStepResult r;
  r.loss = sum[lossIndex][0];
  if (!gradients)
    return r;
  for (auto [index, arg] : llvm::enumerate(trainBindings)) {
    std::vector<float> &buffer = sum[index];
    if (arg.kind == ArgKind::ParamGrad) {
      r.dense[arg.param] = std::move(buffer);
    } else if (arg.kind == ArgKind::EmbeddingGrad && !placement) {
      // One gradient row per looked-up id: sum them per table row.
      const TableDesc *t = arg.table;
      const std::vector<int64_t> &ids = (*groupView(batch, arg.group).columns)[arg.index].ids;
      auto &rows = r.rows[t->name];
      for (size_t i = 0; i < ids.size(); ++i) {
        std::vector<float> &row = rows[rowOf(*t, ids[i])];
        if (row.empty())
          row.assign(t->dim, 0.0f);
        for (int64_t k = 0; k < t->dim; ++k)
          row[k] += buffer[i * t->dim + k];
      }
    }
  }
  return r;
}

std::vector<int64_t> Session::rangeBounds(const Batch &batch, int64_t begin, int64_t end,
                                          unsigned maxParts) const {
  // Contiguous ranges of about equal token counts: static, so a given thread
  // (and rank) count always splits a batch the same way.
  unsigned parts =
      static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(maxParts, end - begin)));
  std::vector<int64_t> tokens = batch.tokenOffsets(artifact.model);
  std::vector<int64_t> bounds{begin};
  for (unsigned p = 1; p < parts; ++p) {
    int64_t target = tokens[begin] + (tokens[end] - tokens[begin]) * p / parts;
    int64_t b =
        std::lower_bound(tokens.begin() + begin, tokens.begin() + end, target) - tokens.begin();
    bounds.push_back(std::clamp<int64_t>(b, bounds.back(), end));
  }
  bounds.push_back(end);
  return bounds;
}

std::pair<int64_t, int64_t> Session::rankShare(const Batch &batch) const {
  const int64_t B = batch.numSamples;
  if (!collective || collective->size() < 2)
    return {0, B};
  std::vector<int64_t> shares = rangeBounds(batch, 0, B, static_cast<unsigned>(collective->size()));
  size_t r = static_cast<size_t>(collective->rank());
  if (r + 1 >= shares.size())
    return {B, B};
  return {shares[r], shares[r + 1]};
}

void Session::reduceOverRanks(StepGradients &sum) const {
  // The loss and the dense gradients: summed over the ranks in buckets of
  // at most 4 Mi floats, packed in binding order (the same on every rank
  // and every step: bit-reproducible for a given rank and thread count).
  // On a device with memory of its own the buckets are packed there (the
  // gradients train_step left there copied on the device, the others
  // copied in) and summed there (NCCL: on the device's stream); every rank
  // then makes the same calls, whichever of its gradients are where.
  struct Dense {
    std::vector<float> *host;
    float *onDevice; // kept there by train_step, else null
    size_t count;
  };
  std::vector<Dense> dense{{&sum[lossIndex], nullptr, 1}};
  for (auto [index, arg] : llvm::enumerate(trainBindings))
    if (arg.kind == ArgKind::ParamGrad) {
      float *kept =
          index < keptOnDevice.size() ? static_cast<float *>(keptOnDevice[index]) : nullptr;
      dense.push_back({&sum[index], kept, static_cast<size_t>(parameters.get(arg.param).numel())});
    }
  const bool packOnDevice = !device->sharesHostMemory();
  constexpr size_t kBucket = size_t(4) << 20;
  std::vector<float> bucket;
  for (size_t first = 0; first < dense.size();) {
    size_t last = first, count = 0;
    do
      count += dense[last].count;
    while (++last < dense.size() && count + dense[last].count <= kBucket);
    communication.reducedBytes += count * sizeof(float);
    if (!packOnDevice) {
      bucket.clear();
      for (size_t i = first; i < last; ++i)
        bucket.insert(bucket.end(), dense[i].host->begin(), dense[i].host->end());
      collective->allReduceSum(bucket.data(), bucket.size());
      size_t at = 0;
      for (size_t i = first; i < last; ++i, at += dense[i - 1].count)
        std::copy_n(bucket.begin() + static_cast<std::ptrdiff_t>(at), dense[i].count,
                    dense[i].host->begin());
      first = last;
      continue;
    }
    if (count * sizeof(float) > reduceBlockBytes) {
      if (reduceBlock)
        device->release(reduceBlock);
      reduceBlockBytes = count * sizeof(float);
      reduceBlock = device->allocate(reduceBlockBytes);
    }
    float *packed = static_cast<float *>(reduceBlock);
    size_t at = 0;
    for (size_t i = first; i < last; at += dense[i++].count)
      if (dense[i].onDevice)
        device->copyOnDevice(packed + at, dense[i].onDevice, dense[i].count * sizeof(float));
      else
        device->copyToDevice(packed + at, dense[i].host->data(), dense[i].count * sizeof(float));
    collective->allReduceSumOnDevice(*device, packed, count);
    at = 0;
    bool waited = false;
    for (size_t i = first; i < last; at += dense[i++].count) {
      if (dense[i].onDevice) {
        device->copyOnDevice(dense[i].onDevice, packed + at, dense[i].count * sizeof(float));
        continue;
      }
      if (!waited) // the sum may still be on the device's stream
        device->synchronize(), waited = true;
      device->copyToHost(dense[i].host->data(), packed + at, dense[i].count * sizeof(float));
    }
    first = last;
  }
  // Each lookup's row gradients: every rank's, in rank order, which is
  // sample order (the shares are contiguous): what apply_update reads.
  // (Sharded tables: sent to their owners instead, exchangeRowGradients.)
  for (auto [index, arg] : llvm::enumerate(trainBindings))
    if (arg.kind == ArgKind::EmbeddingGrad && !placement) {
      std::vector<float> &rows = sum[index];
      rows = collective->allGatherFloats(rows);
      communication.gatheredBytes += rows.size() * sizeof(float);
    }
  ++communication.steps;
}

namespace {
/// Little records in the messages of the row exchange.
template <typename T> void append(std::vector<char> &out, const T *data, size_t count) {
  const char *bytes = reinterpret_cast<const char *>(data);
  out.insert(out.end(), bytes, bytes + count * sizeof(T));
}
struct MessageReader {
  const std::vector<char> &bytes;
  size_t at = 0;
  template <typename T> void read(T *data, size_t count) {
    if (!count) // an empty part's data() may be null, which memcpy must not get
      return;
    std::memcpy(data, bytes.data() + at, count * sizeof(T));
    at += count * sizeof(T);
  }
  uint64_t count() {
    uint64_t n = 0;
    read(&n, 1);
    return n;
  }
};

} // namespace

llvm::Error Session::shardTables() {
  const ModelDesc &m = artifact.model;
  if (!collective)
    return fail("sharded tables need the ranks (Session::setCollective)");
  if (updateEntry)
    for (const AbiArg &arg : updateEntry->args)
      if (arg.kind == ArgKind::Param && llvm::StringRef(arg.name).starts_with("tables.") &&
          (arg.shape.empty() || arg.shape[0] != -1))
        return fail((artifact.path.empty() ? std::string("artifact") : artifact.path) +
                    ": its apply_update takes '" + arg.name +
                    "' whole (compiled before tables could be sharded): compile it again");
  TablePlacement p{collective->size(), collective->rank()};
  // Every rank holds the same whole tables now (the same initialisation or
  // parameters): each keeps its part.
  OptimizerState none;
  TableShard whole = tablesOf(m, parameters, none, tables);
  putTables(reshard(m, {whole}, p.ranks, p.rank), parameters, none, tables);
  residentStale = true;
  placement = p;
  return llvm::Error::success();
}

std::vector<TableShard> Session::gatherTableShards(const TableShard &mine) const {
  const ModelDesc &m = artifact.model;
  TrainState part; // a shard travels in the checkpoint format
  for (auto &[name, weight] : mine.weights)
    part.params.set(name, weight);
  part.optimizer = mine.slots;
  part.tables = mine.dynamic;
  std::string bytes = serializeCheckpoint(part);
  uint64_t size = bytes.size();
  std::vector<char> sizes = collective->allGather(
      llvm::ArrayRef<char>(reinterpret_cast<const char *>(&size), sizeof size));
  std::vector<char> all = collective->allGather(llvm::ArrayRef<char>(bytes.data(), bytes.size()));
  std::vector<TableShard> shards;
  size_t at = 0;
  for (int q = 0; q < collective->size(); ++q) {
    uint64_t n = 0;
    std::memcpy(&n, sizes.data() + static_cast<size_t>(q) * sizeof n, sizeof n);
    auto state = parseCheckpoint(llvm::StringRef(all.data() + at, n), "table shard");
    at += n;
    if (!state) // the bytes another rank of this job serialised
      llvm::report_fatal_error(llvm::Twine("table shards: ") + llvm::toString(state.takeError()));
    TableShard shard = tablesOf(m, state->params, state->optimizer, state->tables);
    shards.push_back(std::move(shard));
  }
  return shards;
}

Session::RowExchange Session::exchangeRows(const Batch &share, bool training) const {
  const ModelDesc &m = artifact.model;
  const TablePlacement &p = *placement;
  const size_t n = static_cast<size_t>(p.ranks), me = static_cast<size_t>(p.rank);
  RowExchange x;
  for (const TableDesc &t : m.tables)
    x.tables[&t];
  // The keys this share looks up, each once.
  forEachLookup(m, share, [&](const TableDesc &t, const std::vector<int64_t> &ids) {
    RowExchange::Table &table = x.tables[&t];
    for (int64_t id : ids) {
      int64_t key = TablePlacement::keyOf(t, id);
      if (table.position.try_emplace(key, table.keys.size()).second) {
        table.keys.push_back(key);
      }
    }
    if (training)
      communication.lookups += ids.size();
  });
  // To each owner, per table (in the model's order): the keys asked of it.
  std::vector<std::vector<char>> asks(n);
  for (const TableDesc &t : m.tables) {
    RowExchange::Table &table = x.tables[&t];
    std::vector<std::vector<size_t>> &of = table.askedOf;
    of.resize(n);
    for (size_t k = 0; k < table.keys.size(); ++k)
      of[static_cast<size_t>(p.owner(t, table.keys[k]))].push_back(k);
    if (training) {
      uint64_t remote = table.keys.size() - of[me].size();
      communication.distinctKeys += table.keys.size();
      communication.remoteKeys += remote;
      communication.remoteRowBytes += remote * static_cast<uint64_t>(t.dim) * sizeof(float);
    }
    for (size_t q = 0; q < n; ++q) {
      uint64_t count = of[q].size();
      append(asks[q], &count, 1);
      for (size_t k : of[q])
        append(asks[q], &table.keys[k], 1);
    }
  }
  for (size_t q = 0; q < n; ++q)
    if (q != me && training)
      communication.idBytes += asks[q].size();
  std::vector<std::vector<char>> received = collective->allToAll(asks);
  // As an owner: each key's row here (a dynamic table's ids without one
  // read the OOV replica, row 0, and are marked), sent back in the order
  // asked: per table, the marks (dynamic tables), then the rows.
  std::vector<std::vector<char>> replies(n);
  for (size_t q = 0; q < n; ++q) {
    MessageReader in{received[q]};
    for (const TableDesc &t : m.tables) {
      const std::vector<float> &weight = parameters.get("tables." + t.name + ".weight").data;
      const int64_t rows = static_cast<int64_t>(weight.size()) / t.dim;
      std::vector<int64_t> &served = x.tables[&t].served.emplace_back();
      std::vector<uint8_t> &oov = x.tables[&t].servedOov.emplace_back();
      std::vector<int64_t> keys(in.count());
      in.read(keys.data(), keys.size());
      std::vector<char> rowsOut;
      for (int64_t key : keys) {
        int64_t row =
            t.kind == TableDesc::Kind::Dynamic ? tables.at(t.name).lookup(key) : p.localRow(t, key);
        if (row < 0 || row >= rows) // validated batches never ask this
          llvm::report_fatal_error(llvm::Twine("sharded table '") + t.name + "': key " +
                                   std::to_string(key) + " has no row on rank " +
                                   std::to_string(me));
        served.push_back(row);
        oov.push_back(t.kind == TableDesc::Kind::Dynamic && row == DynamicTable::kOovRow);
        append(rowsOut, weight.data() + row * t.dim, static_cast<size_t>(t.dim));
      }
      if (t.kind == TableDesc::Kind::Dynamic)
        append(replies[q], oov.data(), oov.size());
      replies[q].insert(replies[q].end(), rowsOut.begin(), rowsOut.end());
    }
    if (q != me && training)
      communication.rowBytes += replies[q].size();
  }
  std::vector<std::vector<char>> answers = collective->allToAll(replies);
  for (size_t q = 0; q < n; ++q) {
    MessageReader in{answers[q]};
    for (const TableDesc &t : m.tables) {
      RowExchange::Table &table = x.tables[&t];
      table.rows.resize(table.keys.size() * static_cast<size_t>(t.dim));
      table.oov.resize(table.keys.size(), 0);
      if (t.kind == TableDesc::Kind::Dynamic)
        for (size_t k : table.askedOf[q])
          in.read(&table.oov[k], 1);
      for (size_t k : table.askedOf[q])
        in.read(table.rows.data() + k * static_cast<size_t>(t.dim), static_cast<size_t>(t.dim));
    }
  }
  return x;
}

Session::SparseArgs Session::exchangeRowGradients(const Batch &share, const RowExchange &x,
                                                  const StepGradients &sum) const {
  const ModelDesc &m = artifact.model;
  const size_t n = static_cast<size_t>(placement->ranks), me = static_cast<size_t>(placement->rank);
  // Per table: each key's gradient summed over this share's lookups (in
  // binding order, rows in sample order, in double), the lookups that read
  // the OOV row summed into one.
  struct Sums {
    std::vector<double> keys, oov;
    bool anyOov = false;
  };
  std::map<const TableDesc *, Sums> sums;
  for (auto &[t, table] : x.tables) {
    sums[t].keys.assign(table.keys.size() * static_cast<size_t>(t->dim), 0.0);
    sums[t].oov.assign(static_cast<size_t>(t->dim), 0.0);
  }
  for (auto [index, arg] : llvm::enumerate(trainBindings)) {
    if (arg.kind != ArgKind::EmbeddingGrad)
      continue;
    const TableDesc &t = *arg.table;
    const size_t d = static_cast<size_t>(t.dim);
    const RowExchange::Table &table = x.tables.at(&t);
    Sums &s = sums[&t];
    const std::vector<int64_t> &ids = (*groupView(share, arg.group).columns)[arg.index].ids;
    const std::vector<float> &g = sum[index];
    for (size_t r = 0; r < ids.size(); ++r) {
      size_t k = table.position.at(TablePlacement::keyOf(t, ids[r]));
      double *to = table.oov[k] ? s.oov.data() : s.keys.data() + k * d;
      s.anyOov |= table.oov[k] != 0;
      for (size_t c = 0; c < d; ++c)
        to[c] += g[r * d + c];
    }
  }
  // To each owner, per table: the gradients of the keys asked of it that
  // have a row there, in the order asked.
  std::vector<std::vector<char>> out(n);
  for (const TableDesc &t : m.tables) {
    const RowExchange::Table &table = x.tables.at(&t);
    const size_t d = static_cast<size_t>(t.dim);
    const std::vector<double> &keySums = sums[&t].keys;
    std::vector<float> row(d); // one buffer for every key
    for (size_t q = 0; q < n; ++q)
      for (size_t k : table.askedOf[q]) {
        if (table.oov[k])
          continue;
        std::copy_n(keySums.begin() + static_cast<std::ptrdiff_t>(k * d), d, row.begin());
        append(out[q], row.data(), d);
      }
  }
  for (size_t q = 0; q < n; ++q)
    if (q != me)
      communication.rowGradientBytes += out[q].size();
  std::vector<std::vector<char>> received = collective->allToAll(out);
  // The update of this rank's rows, per table: first the OOV row's
  // gradients from every rank that has some (rank order; every rank applies
  // the same update to its replica), then each rank's rows in rank order.
  SparseArgs args;
  std::vector<MessageReader> in;
  for (size_t q = 0; q < n; ++q)
    in.push_back(MessageReader{received[q]});
  for (const TableDesc &t : m.tables) {
    const size_t d = static_cast<size_t>(t.dim);
    const RowExchange::Table &table = x.tables.at(&t);
    std::vector<int64_t> &unique = args.uniqueRows[&t];
    std::vector<int64_t> index;
    std::vector<float> grads;
    std::unordered_map<int64_t, int64_t> at;
    auto add = [&](int64_t row, const float *g) {
      auto [it, fresh] = at.try_emplace(row, static_cast<int64_t>(unique.size()));
      if (fresh)
        unique.push_back(row);
      index.push_back(it->second);
      grads.insert(grads.end(), g, g + d);
    };
    if (t.kind == TableDesc::Kind::Dynamic) {
      std::vector<float> mine(d + 1, 0.0f);
      mine[0] = sums[&t].anyOov ? 1.0f : 0.0f;
      for (size_t c = 0; c < d; ++c)
        mine[c + 1] = static_cast<float>(sums[&t].oov[c]);
      std::vector<float> every = collective->allGatherFloats(mine);
      for (size_t q = 0; q < n; ++q) {
        if (q != me && every[q * (d + 1)] != 0.0f)
          communication.rowGradientBytes += d * sizeof(float);
        if (every[q * (d + 1)] != 0.0f)
          add(DynamicTable::kOovRow, every.data() + q * (d + 1) + 1);
      }
    }
    std::vector<float> row(d);
    for (size_t q = 0; q < n; ++q)
      for (size_t k = 0; k < table.served[q].size(); ++k) {
        if (table.servedOov[q][k])
          continue;
        in[q].read(row.data(), d);
        add(table.served[q][k], row.data());
      }
    // All of the table's rows as its first lookup's (the others: none).
    for (auto [ri, arg] : llvm::enumerate(updateBindings)) {
      if (arg.kind != ArgKind::RowIndex || arg.table != &t)
        continue;
      for (auto [gi, grad] : llvm::enumerate(updateBindings))
        if (grad.kind == ArgKind::EmbeddingGradInput && grad.table == &t &&
            grad.group == arg.group && grad.index == arg.index)
          args.gradients[gi] = std::move(grads);
      args.rowIndex[ri] = std::move(index);
      break;
    }
  }
  return args;
}

llvm::Expected<ForwardResult> Session::forward(const Batch &batch, bool hidden) {
  const ModelDesc &m = artifact.model;
  if (placement && !exchanged) {
    // Sharded tables: every rank takes part in fetching the rows (a rank
    // without samples too), and in failing when any rank's samples are bad.
    llvm::Error e = batch.numSamples ? validateBatch(m, batch) : llvm::Error::success();
    if (collective->any(static_cast<bool>(e))) {
      if (e)
        return std::move(e);
      return fail("another rank's samples are not valid (it says which)");
    }
    RowExchange fetched = exchangeRows(batch, /*training=*/false);
    exchanged = &fetched;
    llvm::scope_exit done([&] { exchanged = nullptr; });
    if (batch.numSamples == 0) {
      ForwardResult empty;
      empty.logits.resize(m.tasks.size());
      empty.calls = 0;
      return empty;
    }
    return forward(batch, hidden);
  }
  if (auto e = validateBatch(m, batch))
    return std::move(e);
  if (hidden && m.layers == 0)
    return fail("hidden states: model '" + m.name + "' has no HSTU layers");
  if (auto e = checkMemory("forward", batch, 0, {entryPoint})) {
    // Samples are scored independently: a batch too large for the memory
    // limit is scored in halves (recursively), down to single samples.
    if (batch.numSamples < 2)
      return std::move(e);
    llvm::consumeError(std::move(e));
    int64_t half = batch.numSamples / 2;
    auto first = forward(sliceBatch(m, batch, 0, half), hidden);
    if (!first)
      return first.takeError();
    auto second = forward(sliceBatch(m, batch, half, batch.numSamples), hidden);
    if (!second)
      return second.takeError();
    for (size_t t = 0; t < first->logits.size(); ++t)
      first->logits[t].insert(first->logits[t].end(), second->logits[t].begin(),
                              second->logits[t].end());
    first->hidden.insert(first->hidden.end(), second->hidden.begin(), second->hidden.end());
    first->attentionPairs += second->attentionPairs;
    first->visiblePairs += second->visiblePairs;
    first->calls += second->calls;
    return first;
  }
  // One call for the whole batch: its parallel ops split their row blocks
  // over the threads by cost (runtime/Threads.h), so one large request uses
  // every core and every row's result is the same for any thread count.
  ForwardResult r = runRange(batch, hidden, threads);
  trimPool(batch, {entryPoint});
  return r;
}

std::vector<int64_t> Session::prefixOffsets(const Batch &batch) const {
  int64_t users = static_cast<int64_t>(artifact.model.user.size());
  std::vector<int64_t> offsets{0};
  for (int64_t b = 0; b < batch.numSamples; ++b) {
    int64_t nS =
        batch.sequenceOffsets.empty() ? 0 : batch.sequenceOffsets[b + 1] - batch.sequenceOffsets[b];
    offsets.push_back(offsets.back() + users + nS);
  }
  return offsets;
}

llvm::Expected<PrefixRows> Session::encodePrefix(const Batch &batch) {
  const ModelDesc &m = artifact.model;
  if (placement)
    return fail("the prefix split reads whole tables: this session's tables are sharded over "
                "ranks (gather them, e.g. mtgr-run train --save-params, to serve)");
  if (!canSplitPrefix())
    return fail("artifact of model '" + m.name +
                "' has no encode_prefix entry point: " + artifact.prefixSplitMissing);
  if (auto e = validateBatch(m, batch))
    return std::move(e);
  if (auto e = checkMemory("encode_prefix", batch, 0, {encodeEntry}))
    return std::move(e);
  std::map<size_t, std::vector<float>> outputs = call(encodeBindings, *encodeEntry, threads, batch);
  PrefixRows rows;
  rows.offsets = prefixOffsets(batch);
  rows.keys.resize(static_cast<size_t>(m.layers));
  rows.values.resize(static_cast<size_t>(m.layers));
  for (auto &[index, buffer] : outputs) {
    const Binding &arg = encodeBindings[index];
    if (arg.kind == ArgKind::PrefixKeys)
      rows.keys[arg.index] = std::move(buffer);
    else if (arg.kind == ArgKind::PrefixValues)
      rows.values[arg.index] = std::move(buffer);
  }
  trimPool(batch, {encodeEntry});
  return rows;
}

llvm::Error Session::checkPrefixRows(const PrefixRows &prefix) const {
  const ModelDesc &m = artifact.model;
  const size_t layers = static_cast<size_t>(m.layers);
  // Rows of `what` per layer: `layers` spans of rows x width each.
  auto check = [&](llvm::ArrayRef<llvm::ArrayRef<float>> spans, int64_t rows, bool ofKeys,
                   const std::string &where) -> llvm::Error {
    int64_t width = m.heads * (ofKeys ? m.dqk : m.dv);
    const char *what = ofKeys ? "keys" : "values";
    if (spans.size() != layers)
      return fail("score_candidates: " + where + "prefix " + what + " of " +
                  llvm::Twine(spans.size()) + " layers, the model has " + llvm::Twine(m.layers));
    for (size_t l = 0; l < layers; ++l)
      if (spans[l].size() != static_cast<size_t>(rows * width))
        return fail("score_candidates: " + where + "the prefix " + what + " of layer " +
                    llvm::Twine(l) + " are not " + llvm::Twine(rows) + " rows of " +
                    llvm::Twine(width));
    return llvm::Error::success();
  };
  if (prefix.pieces.empty()) {
    for (bool ofKeys : {true, false}) {
      std::vector<llvm::ArrayRef<float>> spans;
      for (const std::vector<float> &v : ofKeys ? prefix.keys : prefix.values)
        spans.push_back(v);
      if (auto e = check(spans, prefix.rows(), ofKeys, ""))
        return e;
    }
    return llvm::Error::success();
  }
  if (static_cast<int64_t>(prefix.pieces.size()) != prefix.samples())
    return fail("score_candidates: " + llvm::Twine(prefix.pieces.size()) +
                " pieces of prefix rows for " + llvm::Twine(prefix.samples()) + " samples");
  for (auto [b, piece] : llvm::enumerate(prefix.pieces)) {
    std::string where = "sample " + std::to_string(b) + ": ";
    if (piece.rows != prefix.offsets[b + 1] - prefix.offsets[b])
      return fail("score_candidates: " + where + llvm::Twine(piece.rows) +
                  " rows in its piece, the offsets say " +
                  llvm::Twine(prefix.offsets[b + 1] - prefix.offsets[b]));
    if (piece.keys.empty() && piece.values.empty() && piece.id && holdsOnDevice(piece.id))
      continue; // on the device
    for (bool ofKeys : {true, false})
      if (auto e = check(ofKeys ? piece.keys : piece.values, piece.rows, ofKeys, where))
        return e;
  }
  return llvm::Error::success();
}

llvm::Expected<ForwardResult> Session::scoreCandidates(const Batch &batch,
                                                       const PrefixRows &prefix) {
  const ModelDesc &m = artifact.model;
  if (placement)
    return fail("the prefix split reads whole tables: this session's tables are sharded over "
                "ranks (gather them, e.g. mtgr-run train --save-params, to serve)");
  if (!canSplitPrefix())
    return fail("artifact of model '" + m.name +
                "' has no score_candidates entry point: " + artifact.prefixSplitMissing);
  if (auto e = validateBatch(m, batch))
    return std::move(e);
  std::vector<int64_t> expected = prefixOffsets(batch);
  if (prefix.offsets != expected)
    return fail("score_candidates: the prefix rows are of " + llvm::Twine(prefix.samples()) +
                " samples and " + llvm::Twine(prefix.rows()) + " U and S rows, the batch has " +
                llvm::Twine(batch.numSamples) + " samples and " + llvm::Twine(expected.back()) +
                " (encode the same users' U and S, in the same order)");
  if (auto e = checkPrefixRows(prefix))
    return std::move(e);
  if (auto e = checkMemory("score_candidates", batch, 0, {scoreEntry}))
    return std::move(e);
  std::array<int64_t, 2> work{0, 0};
  std::map<size_t, std::vector<float>> outputs =
      call(scoreBindings, *scoreEntry, threads, batch, {0, 0, 0}, nullptr, nullptr, &work, &prefix);
  trimPool(batch, {scoreEntry});
  return scoresOf(scoreBindings, outputs, work, /*wantHidden=*/false);
}
