//===- Session.cpp - run a compiled artifact on the CPU -------------------===//
#include "runtime/Session.h"

#include "llvm/Support/FormatVariadic.h"

#include <deque>
#include <unordered_map>
#include <dlfcn.h>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>

using namespace mlir::mtgr;

namespace {
llvm::Error fail(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

/// A memref descriptor as the generated code reads it:
/// {allocated, aligned, offset, sizes[rank], strides[rank]} (row-major).
struct Descriptor {
  std::vector<int64_t> words;
  Descriptor(const void *data, llvm::ArrayRef<int64_t> shape) {
    auto p = reinterpret_cast<int64_t>(data);
    words = {p, p, 0};
    words.insert(words.end(), shape.begin(), shape.end());
    std::vector<int64_t> strides(shape.size(), 1);
    for (int i = static_cast<int>(shape.size()) - 2; i >= 0; --i)
      strides[i] = strides[i + 1] * shape[i + 1];
    words.insert(words.end(), strides.begin(), strides.end());
  }
};

const FeatureDesc *findFeature(const std::vector<FeatureDesc> &schema, llvm::StringRef name,
                               size_t &index) {
  for (index = 0; index < schema.size(); ++index)
    if (schema[index].name == name)
      return &schema[index];
  return nullptr;
}

int64_t numel(llvm::ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// Item features, then cross features: the candidate group's feature order.
std::vector<FeatureDesc> candidateSchema(const ModelDesc &m) {
  std::vector<FeatureDesc> schema = m.candidateItem;
  schema.insert(schema.end(), m.candidateCross.begin(), m.candidateCross.end());
  return schema;
}

/// One token group of a batch, by its name in ABI argument names.
struct GroupView {
  const std::vector<FeatureDesc> *schema;
  const std::vector<FeatureColumn> *columns;
  const std::vector<int64_t> *offsets, *times;
  int64_t rows;
};

GroupView groupView(const ModelDesc &m, const std::vector<FeatureDesc> &candSchema,
                    const Batch &batch, llvm::StringRef g) {
  if (g == "user")
    return {&m.user, &batch.user, nullptr, nullptr, batch.numSamples};
  if (g == "sequence")
    return {&m.sequence, &batch.sequence, &batch.sequenceOffsets, &batch.sequenceTimes,
            batch.numSequence()};
  if (g == "realtime")
    return {&m.realtime, &batch.realtime, &batch.realtimeOffsets, &batch.realtimeTimes,
            batch.numRealtime()};
  // candidate features and labels
  return {&candSchema, &batch.candidate, &batch.candidateOffsets, &batch.candidateTimes,
          batch.numCandidates()};
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

llvm::Expected<std::unique_ptr<CpuSession>> CpuSession::create(Artifact artifact,
                                                                unsigned threads) {
  std::unique_ptr<CpuSession> s(new CpuSession(std::move(artifact)));
  s->entryPoint = s->artifact.entry("forward");
  if (!s->entryPoint)
    return fail("artifact has no 'forward' entry point");
  // The host code is loaded from memory: an anonymous file, then dlopen.
  int fd = memfd_create("mtgr-host-code", MFD_CLOEXEC);
  if (fd < 0)
    return fail("memfd_create failed");
  const std::string &code = s->artifact.hostCode;
  for (size_t done = 0; done < code.size();) {
    ssize_t n = ::write(fd, code.data() + done, code.size() - done);
    if (n <= 0) {
      ::close(fd);
      return fail("cannot stage the host code for loading");
    }
    done += n;
  }
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  s->library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  ::close(fd);
  if (!s->library)
    return fail(llvm::Twine("cannot load the host code: ") + dlerror());
  s->forwardFn =
      reinterpret_cast<void (*)(void **)>(dlsym(s->library, s->entryPoint->symbol.c_str()));
  if (!s->forwardFn)
    return fail("host code lacks the symbol '" + s->entryPoint->symbol + "'");
  for (auto [name, entry, fn] :
       {std::tuple{"train_step", &s->trainEntry, &s->trainFn},
        std::tuple{"apply_update", &s->updateEntry, &s->updateFn}}) {
    if (!(*entry = s->artifact.entry(name)))
      continue;
    *fn = reinterpret_cast<void (*)(void **)>(dlsym(s->library, (*entry)->symbol.c_str()));
    if (!*fn)
      return fail("host code lacks the symbol '" + (*entry)->symbol + "'");
  }
  if (s->trainFn && !s->updateFn)
    return fail("artifact has a train_step but no apply_update entry point");
  s->threads = threads ? threads : std::max(1u, std::thread::hardware_concurrency());
  for (const TableDesc &t : s->artifact.model.tables)
    if (t.kind == "dynamic")
      s->tables.emplace(t.name, DynamicTable(t.rows, t.admissionThreshold,
                                             t.eviction == "lfu" ? DynamicTable::Policy::LFU
                                                                 : DynamicTable::Policy::LRU));
  s->initParams(s->artifact.model.training.seed);
  return std::move(s);
}

int64_t CpuSession::rowOf(const TableDesc &t, int64_t id) const {
  if (t.kind == "dynamic")
    return tables.at(t.name).lookup(id);
  return tableRow(t, id);
}

CpuSession::~CpuSession() {
  if (library)
    dlclose(library);
}

void CpuSession::initParams(uint64_t seed) {
  parameters = ParamStore::initialize(collectParameters(artifact.model), seed);
}

std::string mlir::mtgr::optimizerSlot(llvm::StringRef param, llvm::StringRef slot) {
  return (param + "/" + slot).str();
}

std::map<size_t, std::vector<float>> CpuSession::call(const EntryPoint &entry,
                                                      void (*fn)(void **), const Batch &batch,
                                                      std::array<int64_t, 2> rng,
                                                      OptimizerState *state,
                                                      const NamedBuffers *gradients) const {
  const ModelDesc &m = artifact.model;
  int64_t B = batch.numSamples, K = batch.numCandidates(), N = batch.totalTokens(m);
  std::vector<FeatureDesc> candSchema = candidateSchema(m);
  std::vector<int64_t> tokenOffsets = batch.tokenOffsets(m);
  std::deque<std::vector<float>> floatBuffers; // stable addresses
  std::deque<Descriptor> descriptors;
  std::vector<void *> args;
  std::map<size_t, std::vector<float>> outputs;

  auto group = [&](llvm::StringRef g) { return groupView(m, candSchema, batch, g); };
  auto push = [&](const void *data, llvm::ArrayRef<int64_t> shape) {
    descriptors.emplace_back(data, shape);
    args.push_back(descriptors.back().words.data());
  };
  // Sparse updates: the ids of every lookup mapped to table rows, the rows
  // deduplicated per table (in order of first appearance), and each id's
  // position among them; the generated code sums and updates per row.
  std::map<std::string, std::vector<int64_t>> uniqueRows;
  std::map<size_t, std::vector<int64_t>> rowIndex;
  {
    std::map<std::string, std::unordered_map<int64_t, int64_t>> positions;
    for (auto [index, arg] : llvm::enumerate(entry.args)) {
      if (arg.kind != "row_index")
        continue;
      auto [g, feature] = llvm::StringRef(arg.name).split('.');
      GroupView v = group(g);
      size_t f;
      findFeature(*v.schema, feature, f);
      const TableDesc *t = m.findTable(arg.table);
      std::vector<int64_t> &unique = uniqueRows[arg.table];
      auto &position = positions[arg.table];
      std::vector<int64_t> &out = rowIndex[index];
      for (int64_t id : (*v.columns)[f].ids) {
        auto [it, fresh] = position.try_emplace(rowOf(*t, id), unique.size());
        if (fresh)
          unique.push_back(it->first);
        out.push_back(it->second);
      }
    }
  }
  auto output = [&](size_t index, llvm::ArrayRef<int64_t> shape) {
    std::vector<float> &buffer = outputs[index] = std::vector<float>(numel(shape), 0.0f);
    push(buffer.data(), shape);
  };
  for (auto [index, arg] : llvm::enumerate(entry.args)) {
    llvm::StringRef input(arg.name);
    bool gradientInput = arg.kind == "input" && (input.starts_with("grad:") ||
                                                 input.starts_with("embedding_grad:"));
    input.consume_front("embedding_grad:"); // its offsets are the lookup's
    auto [g, feature] = input.split('.');
    if (gradientInput) {
      // apply_update: a train_step output, summed over the sample ranges.
      const std::vector<float> &buffer = gradients->at(arg.name);
      if (llvm::StringRef(arg.name).starts_with("grad:")) {
        push(buffer.data(), parameters.get(arg.name.substr(5)).shape);
      } else {
        size_t f;
        GroupView v = group(g);
        const FeatureDesc *d = findFeature(*v.schema, feature, f);
        push(buffer.data(), {v.rows, m.findTable(d->table)->dim});
      }
    } else if (arg.kind == "param") {
      // train_step's optimiser update writes the parameters in place.
      const Tensor &t = parameters.get(arg.name);
      push(t.data.data(), t.shape);
    } else if (arg.kind == "state") {
      const Tensor &t = parameters.get(arg.name);
      std::vector<int64_t> shape = arg.slot == "acc" ? std::vector<int64_t>{t.shape[0]} : t.shape;
      std::vector<float> &buffer = (*state)[optimizerSlot(arg.name, arg.slot)];
      if (static_cast<int64_t>(buffer.size()) != numel(shape))
        buffer.assign(numel(shape), 0.0f);
      push(buffer.data(), shape);
    } else if (arg.kind == "unique_rows") {
      std::vector<int64_t> &rows = uniqueRows[arg.table];
      push(rows.data(), {static_cast<int64_t>(rows.size())});
    } else if (arg.kind == "row_index") {
      push(rowIndex[index].data(), {static_cast<int64_t>(rowIndex[index].size())});
    } else if (arg.kind == "output") {
      output(index, {K, 1});
    } else if (arg.kind == "hidden") {
      output(index, {N, m.dModel});
    } else if (arg.kind == "loss") {
      output(index, {1});
    } else if (arg.kind == "param_grad") {
      output(index, parameters.get(arg.name).shape);
    } else if (arg.kind == "embedding_grad") {
      GroupView v = group(g);
      size_t f;
      const FeatureDesc *d = findFeature(*v.schema, feature, f);
      output(index, {v.rows, m.findTable(d->table)->dim});
    } else if (arg.name == "training.rng") {
      push(rng.data(), {2}); // {seed, step}
    } else if (arg.name == "mask.intervals") {
      if (arg.kind == "offsets")
        push(tokenOffsets.data(), {B + 1});
      else
        push(batch.intervals.data(), {N, 3, 2});
    } else if (arg.kind == "offsets") {
      push(group(g).offsets->data(), {B + 1});
    } else if (g == "labels") {
      size_t t = 0;
      while (t < m.tasks.size() && m.tasks[t].name != feature)
        ++t;
      push(batch.labels[t].data(), {K, 1});
    } else if (feature == "time") {
      GroupView v = group(g);
      push(v.times->data(), {v.rows});
    } else {
      GroupView v = group(g);
      size_t f;
      const FeatureDesc *d = findFeature(*v.schema, feature, f);
      const FeatureColumn &col = (*v.columns)[f];
      if (arg.kind == "embedding") {
        // Hash tables live in the runtime: gather the rows for the generated code.
        const TableDesc *t = m.findTable(d->table);
        const std::vector<float> &table = parameters.get("tables." + t->name + ".weight").data;
        std::vector<float> &rows = floatBuffers.emplace_back(v.rows * t->dim);
        for (int64_t r = 0; r < v.rows; ++r) {
          int64_t row = rowOf(*t, col.ids[r]);
          std::copy_n(table.data() + row * t->dim, t->dim, rows.data() + r * t->dim);
        }
        push(rows.data(), {v.rows, t->dim});
      } else {
        push(col.values.data(), {v.rows, d->denseDim});
      }
    }
  }
  fn(args.data());
  return outputs;
}

ForwardResult CpuSession::runRange(const Batch &batch, bool wantHidden) const {
  std::map<size_t, std::vector<float>> outputs = call(*entryPoint, forwardFn, batch);
  ForwardResult result;
  for (auto &[index, buffer] : outputs) {
    const AbiArg &arg = entryPoint->args[index];
    if (arg.kind == "output")
      result.logits.push_back(std::move(buffer)); // tasks in order
    else if (arg.kind == "hidden" && wantHidden)
      result.hidden = std::move(buffer);
  }
  return result;
}

llvm::Expected<TrainStepResult> CpuSession::trainStep(const Batch &batch, uint64_t seed,
                                                      int64_t step, OptimizerState &state,
                                                      bool gradients) {
  const ModelDesc &m = artifact.model;
  if (!trainFn)
    return fail("artifact of model '" + m.name + "' has no train_step entry point: " +
                artifact.trainStepMissing);
  if (auto e = validateBatch(m, batch))
    return std::move(e);
  if (batch.labels.empty())
    return fail("train_step needs labels for every candidate");
  // Loss and gradients per sample range, in parallel.
  std::vector<int64_t> bounds = rangeBounds(batch);
  size_t parts = bounds.size() - 1;
  std::vector<NamedBuffers> partial(parts);
  auto run = [&](size_t p) {
    Batch range = parts == 1 ? Batch() : sliceBatch(m, batch, bounds[p], bounds[p + 1]);
    std::map<size_t, std::vector<float>> outputs =
        call(*trainEntry, trainFn, parts == 1 ? batch : range,
             {static_cast<int64_t>(seed), step});
    // Named as apply_update's inputs: loss, grad:<param>, embedding_grad:<input>.
    for (auto &[index, buffer] : outputs) {
      const AbiArg &arg = trainEntry->args[index];
      std::string name = arg.kind == "param_grad"       ? "grad:" + arg.name
                         : arg.kind == "embedding_grad" ? "embedding_grad:" + arg.name
                                                        : arg.kind;
      partial[p][name] = std::move(buffer);
    }
  };
  onThreads(parts, run);
  // Sum in range order: dense gradients add, a lookup's rows concatenate
  // (each range holds its samples' rows, in sample order).
  NamedBuffers sum = std::move(partial[0]);
  for (size_t p = 1; p < parts; ++p)
    for (auto &[name, buffer] : partial[p]) {
      std::vector<float> &total = sum[name];
      if (llvm::StringRef(name).starts_with("embedding_grad:"))
        total.insert(total.end(), buffer.begin(), buffer.end());
      else
        for (size_t i = 0; i < buffer.size(); ++i)
          total[i] += buffer[i];
    }
  // The optimiser update, once, on the whole batch.
  call(*updateEntry, updateFn, batch, {static_cast<int64_t>(seed), step}, &state, &sum);

  TrainStepResult r;
  r.loss = sum["loss"][0];
  if (!gradients)
    return r;
  std::vector<FeatureDesc> candSchema = candidateSchema(m);
  for (auto &[name, buffer] : sum) {
    llvm::StringRef n(name);
    if (n.consume_front("grad:")) {
      r.dense[n.str()] = std::move(buffer);
    } else if (n.consume_front("embedding_grad:")) {
      // One gradient row per looked-up id: sum them per table row.
      auto [g, feature] = n.split('.');
      GroupView v = groupView(m, candSchema, batch, g);
      size_t f;
      const FeatureDesc *d = findFeature(*v.schema, feature, f);
      const TableDesc *t = m.findTable(d->table);
      const std::vector<int64_t> &ids = (*v.columns)[f].ids;
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

std::vector<int64_t> CpuSession::rangeBounds(const Batch &batch) const {
  // Contiguous ranges of about equal token counts: static, so a given thread
  // count always splits a batch the same way.
  int64_t B = batch.numSamples;
  unsigned parts = static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(threads, B)));
  std::vector<int64_t> tokens = batch.tokenOffsets(artifact.model);
  std::vector<int64_t> bounds{0};
  for (unsigned p = 1; p < parts; ++p) {
    int64_t target = tokens.back() * p / parts;
    int64_t b = std::lower_bound(tokens.begin(), tokens.end(), target) - tokens.begin();
    bounds.push_back(std::clamp<int64_t>(b, bounds.back(), B));
  }
  bounds.push_back(B);
  return bounds;
}

llvm::Expected<ForwardResult> CpuSession::forward(const Batch &batch, bool hidden) {
  const ModelDesc &m = artifact.model;
  if (auto e = validateBatch(m, batch))
    return std::move(e);
  if (hidden && m.layers == 0)
    return fail("hidden states: model '" + m.name + "' has no HSTU layers");
  std::vector<int64_t> bounds = rangeBounds(batch);
  unsigned parts = bounds.size() - 1;
  if (parts <= 1)
    return runRange(batch, hidden);
  std::vector<ForwardResult> results(parts);
  onThreads(parts, [&](size_t p) {
    results[p] = runRange(sliceBatch(m, batch, bounds[p], bounds[p + 1]), hidden);
  });
  ForwardResult out;
  out.logits.assign(m.tasks.size(), {});
  for (ForwardResult &r : results) {
    for (size_t t = 0; t < r.logits.size(); ++t)
      out.logits[t].insert(out.logits[t].end(), r.logits[t].begin(), r.logits[t].end());
    out.hidden.insert(out.hidden.end(), r.hidden.begin(), r.hidden.end());
  }
  return out;
}
