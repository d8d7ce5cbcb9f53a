//===- Session.h - run a compiled artifact on a device -----------*- C++ -*-===//
#ifndef MTGR_RUNTIME_SESSION_H
#define MTGR_RUNTIME_SESSION_H

#include "abi/Artifact.h"
#include "runtime/Abi.h"
#include "runtime/Batch.h"
#include "runtime/Collective.h"
#include "runtime/Device.h"
#include "runtime/DynamicTable.h"
#include "runtime/Params.h"
#include "runtime/TableShards.h"

#include <array>
#include <atomic>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>

namespace mtgr {


struct TrainStepResult {
  double loss = 0;
  std::map<std::string, std::vector<float>> dense; // d loss / d parameter
  /// table -> row -> gradient, repeated ids summed (DESIGN 1.8).
  std::map<std::string, std::map<int64_t, std::vector<float>>> rows;
};

struct ForwardResult {
  std::vector<std::vector<float>> logits; // [task][candidate]
  std::vector<float> hidden;              // [N_total * d_model] when asked for
  /// Attention work of the call (models with HSTU layers): (row, column)
  /// pairs the tiled kernels computed per layer and head, and the pairs the
  /// mask lets attend (their useful work), summed over samples.
  int64_t attentionPairs = 0, visiblePairs = 0;
  /// Calls of the generated code: more than one when the batch was scored in
  /// parts to fit the memory limit.
  int64_t calls = 1;
};

/// The U and S rows of a batch's samples as encode_prefix computes them:
/// every layer's keys and values of those rows, sample after sample
/// (nU + nS rows each). What score_candidates reads instead of computing
/// them, and what a prefix cache keeps per user (DESIGN 1.6, docs/serving.md).
struct PrefixRows {
  std::vector<int64_t> offsets; // [B + 1]: each sample's first row
  std::vector<std::vector<float>> keys,
      values; // per layer: [rows, heads * dqk] / [rows, heads * dv]
  /// Instead of keys and values: each sample's rows held elsewhere (a cache
  /// entry's, read in place: no copy), in sample order. The holder keeps
  /// them alive for the call.
  struct Piece {
    int64_t rows = 0;
    std::vector<llvm::ArrayRef<float>> keys, values; // per layer
    /// Nonzero: the holder's name for these rows, never given to other rows.
    /// A device with memory of its own may keep them there between calls
    /// (Session::keepPrefixRowsOnDevice); then keys and values may be left
    /// empty while Session::holdsOnDevice(id).
    uint64_t id = 0;
  };
  std::vector<Piece> pieces;
  int64_t samples() const { return offsets.empty() ? 0 : static_cast<int64_t>(offsets.size()) - 1; }
  int64_t rows() const { return offsets.empty() ? 0 : offsets.back(); }
};

struct SessionOptions {
  unsigned threads = 0;  // 0: every core
  /// Bytes the session may use: the parameters when it is created, then
  /// parameters plus a batch's working memory (estimated from the compiled
  /// code's buffers) before each call. 0: the machine's physical memory.
  uint64_t maxMemory = 0;
  /// false: parameters get their shapes but no values; the caller loads
  /// every one of them (loadParams) before any call.
  bool initializeParams = true;
  /// Which artifacts may load: checked before any of the code is mapped.
  TrustPolicy trust;
  /// Where the code runs (runtime/Device.h): "cpu".
  std::string device = "cpu";
  /// On a device that records calls (Executable::canRecord: the GPU
  /// emulator, a GPU with CUDA graphs): the shapes of calls kept recorded
  /// for replay, least recently used dropped first (each keeps its working
  /// memory). 0: calls are not recorded.
  unsigned recordedShapes = 8;
};

/// The machine's physical memory in bytes.
uint64_t physicalMemoryBytes();

/// Loads an artifact's code onto a device (runtime/Device.h) and runs its
/// entry points: the model-level part (ABI binding, embedding gathers,
/// gradient sums, memory checks), written once for every device.
///
/// Thread rule: thread-compatible. One call at a time per session (forward,
/// trainStep, the parameter and table accessors); a session's own calls use
/// its threads inside. Sessions are independent: each owns its loaded code,
/// buffer pool and profile counters (its environment, abi/Environment.h), so
/// sessions of the same or of different models may run at the same time on
/// different threads of one process.
///
/// A forward call
/// is one call of the generated code for the whole batch, whose GEMMs and
/// attention split their row blocks over the threads by cost
/// (runtime/Threads.h; threads = cores by default): one large request uses
/// every core, and scores do not depend on the thread count.
class Session {
public:
  static llvm::Expected<std::unique_ptr<Session>> create(Artifact artifact,
                                                         const SessionOptions &options);
  /// On a device of the caller's (options.device is not looked at).
  static llvm::Expected<std::unique_ptr<Session>> create(Artifact artifact,
                                                         const SessionOptions &options,
                                                         std::unique_ptr<Device> device);
  static llvm::Expected<std::unique_ptr<Session>> create(Artifact artifact,
                                                            unsigned threads = 0) {
    SessionOptions o;
    o.threads = threads;
    return create(std::move(artifact), o);
  }
  /// The bytes a call of `entry` on `batch` needs beyond the parameters
  /// (the generated code's buffers and the runtime's for it), estimated.
  double workingMemory(const EntryPoint &entry, const Batch &batch) const;
  ~Session();

  const ModelDesc &model() const { return artifact.model; }
  const Artifact &getArtifact() const { return artifact; }
  /// The parameters, to read or change: a device with memory of its own
  /// uploads them again before the next call.
  ParamStore &params() {
    residentStale = true;
    return parameters;
  }
  /// Table `t`'s weights [rows, dim], to change in place (admitting ids):
  /// unlike params(), the dense parameters kept on a device stay there (a
  /// table never is: the host gathers its rows, and apply_update gets the
  /// rows it updates, copied in and back).
  std::vector<float> &tableWeights(const TableDesc &t) {
    return parameters.get("tables." + t.name + ".weight").data;
  }
  unsigned numThreads() const { return threads; }
  /// The generated code's buffer pool and profile counters.
  HostEnvironment &environment() { return executable->environment(); }
  const Device &getDevice() const { return *device; }
  Device &getDevice() { return *device; }
  /// The id -> row maps of the model's dynamic tables (by table name). Ids
  /// without a row read the OOV row 0; training admits ids (Trainer).
  std::map<std::string, DynamicTable> &dynamicTables() { return tables; }
  /// The row of `id` in table `t` (fixed, hashed, or dynamic without admitting).
  int64_t rowOf(const TableDesc &t, int64_t id) const;
  /// Replaces the parameters by a fresh initialisation from `seed`.
  void initParams(uint64_t seed);

  /// Scores a batch (checked with validateBatch first). `hidden` asks for
  /// every token's final hidden state (models with HSTU layers). A batch
  /// whose estimated memory exceeds the session's limit is scored in halves
  /// of its samples, recursively; one sample that does not fit is an error.
  llvm::Expected<ForwardResult> forward(const Batch &batch, bool hidden = false);

  /// One training step on a labelled batch: the generated train_step (loss of
  /// DESIGN 1.6 and gradients) on contiguous token-balanced sample ranges,
  /// one per thread (with fewer samples than threads: one call whose
  /// products use every thread), the gradients summed in range order, then the generated
  /// apply_update (DESIGN 1.8) on the parameters and `state`, in place.
  /// (The loss's fixed normaliser C_expected makes the ranges' sum the
  /// batch's loss and gradient.) `step` counts the steps done before this
  /// one: dropout draws its stream from (seed, step) (DESIGN 1.3), Adam's bias
  /// corrections use step + 1. The loss is always returned, the gradients
  /// (summed per table row) with `gradients`. A given thread count always
  /// splits a batch the same way, so results repeat bit for bit; other
  /// thread counts agree to rounding (dropout keys tokens by their index in
  /// the whole step, so every thread count draws the same mask).
  bool canTrain() const { return trainEntry != nullptr; }
  /// The ranks training steps are shared by (runtime/Collective.h; none:
  /// this process alone). With several, every rank calls trainStep on the
  /// same global batch: each computes train_step on its token-balanced,
  /// contiguous share of the samples, the dense gradients and the loss are
  /// summed over the ranks, the lookups' row gradients gathered in rank
  /// (that is, sample) order, and every rank applies the same update, so the
  /// parameters, tables and optimiser state stay the same on every rank.
  /// Results differ from one rank's by rounding only (the sums' order).
  void setCollective(Collective *ranks) { collective = ranks; }
  /// Splits the embedding tables over the ranks (setCollective first;
  /// runtime/TableShards.h): each rank keeps its part of every table, the
  /// rows a step reads are fetched from their owners and the row gradients
  /// sent to them (all-to-all, ids deduplicated per rank), and each rank
  /// updates its rows and their optimiser state; dynamic tables admit and
  /// evict per shard. The session's tables become this rank's part
  /// (params(): [rows here, dim]). Every rank must then call trainStep and
  /// forward together (forward with its share, possibly empty); trainStep's
  /// `gradients` then holds the dense ones only. Needs an
  /// artifact whose apply_update takes a table's rows as a run-time size
  /// (compiled by this version). Prefix calls are refused while sharded.
  llvm::Error shardTables();
  /// Where the keys live when the tables are sharded (nullptr: they are not).
  const TablePlacement *tablePlacement() const { return placement ? &*placement : nullptr; }
  /// Every rank's part of the tables (a collective call): gathered, every
  /// rank gets them all, in rank order (`mine`: this rank's part).
  std::vector<TableShard> gatherTableShards(const TableShard &mine) const;
  Collective *getCollective() const { return collective; }
  /// What the steps on several ranks exchanged, this rank's part: bytes
  /// all-reduced (the loss and dense gradients) and bytes of row gradients
  /// gathered (every rank's, received).
  struct CommunicationStats {
    int64_t steps = 0, tokens = 0, samples = 0; // the steps' (all ranks')
    uint64_t reducedBytes = 0, gatheredBytes = 0;
    /// Sharded tables (shardTables), bytes this rank sent to other ranks:
    /// the ids it looked up (deduplicated), the rows it served them, the row
    /// gradients it sent back (and the OOV rows' gradients, gathered).
    uint64_t idBytes = 0, rowBytes = 0, rowGradientBytes = 0;
    /// And what decides them (the volume model of docs/scale-out.md): the
    /// ids this rank's shares looked up, the distinct keys among them (per
    /// table and step), those owned by other ranks, and their rows' bytes
    /// (4 x dim each): the row gradients this rank sends, and about the
    /// rows it serves.
    uint64_t lookups = 0, distinctKeys = 0, remoteKeys = 0, remoteRowBytes = 0;
  };
  CommunicationStats communicationStats() const { return communication; }
  /// This rank's samples [first, second) of a batch shared by the ranks:
  /// contiguous shares of about equal token counts in rank order (all of
  /// them without ranks; none for a rank beyond the batch's samples).
  std::pair<int64_t, int64_t> rankShare(const Batch &batch) const;

  /// The prefix split (passes/SplitPrefix.cpp): whether the artifact has
  /// encode_prefix and score_candidates (else Artifact::prefixSplitMissing
  /// says why not).
  bool canSplitPrefix() const { return encodeEntry && scoreEntry; }
  /// Every layer's keys and values of the batch's U and S rows (its R and C
  /// are not read).
  llvm::Expected<PrefixRows> encodePrefix(const Batch &batch);
  /// Scores a batch's candidates from its R and C tokens (and S timestamps)
  /// with its samples' U and S rows taken from `prefix` (encodePrefix of the
  /// same users, in order): forward's logits to rounding, for a fraction of
  /// the work.
  llvm::Expected<ForwardResult> scoreCandidates(const Batch &batch, const PrefixRows &prefix);

  /// On a device with memory of its own: prefix rows given with an id
  /// (PrefixRows::Piece) stay there after the call that used them, the
  /// least recently used dropped beyond `bytes` (0: none kept), so a repeat
  /// user's rows cross to the device once. The CPU shares the host's
  /// memory and keeps nothing.
  void keepPrefixRowsOnDevice(uint64_t bytes);
  /// Whether the rows named `id` are on the device now.
  bool holdsOnDevice(uint64_t id) const;
  /// Drops the rows named `id` from the device (their holder dropped them).
  void forgetOnDevice(uint64_t id);
  struct DeviceRowStats {
    int64_t entries = 0;
    uint64_t bytes = 0;
    int64_t reused = 0, uploaded = 0, evicted = 0; // pieces found there / copied there / dropped
  };
  DeviceRowStats deviceRowStats() const;
  /// Calls recorded (their work ran and was kept) and replayed
  /// (SessionOptions::recordedShapes).
  struct ReplayStats {
    int64_t recorded = 0, replayed = 0, shapes = 0;
  };
  ReplayStats replayStats() const;
  llvm::Expected<TrainStepResult> trainStep(const Batch &batch, uint64_t seed, int64_t step,
                                            OptimizerState &state, bool gradients = false);

private:
  Session(Artifact a) : artifact(std::move(a)) {}
  ForwardResult runRange(const Batch &batch, bool hidden, unsigned callThreads) const;
  /// A training step's outputs, one buffer per train_step binding (the
  /// loss, each dense gradient, each lookup's row gradients; the others
  /// empty): how gradients travel from train_step over the ranks to
  /// apply_update (gradientFrom), typed by binding, not named.
  using StepGradients = std::vector<std::vector<float>>;
  struct SparseArgs; // apply_update's sparse arguments given by the caller (below)
  /// Calls an entry point on a batch; returns the output buffers by argument.
  /// apply_update also takes the optimiser state (updated in place with the
  /// parameters) and the step's gradients.
  std::map<size_t, std::vector<float>>
  call(const std::vector<Binding> &bindings, const EntryPoint &entry, unsigned callThreads,
       const Batch &batch, std::array<int64_t, 3> rng = {0, 0, 0}, OptimizerState *state = nullptr,
       const StepGradients *gradients = nullptr, std::array<int64_t, 2> *work = nullptr,
       const PrefixRows *prefix = nullptr, const SparseArgs *sparse = nullptr) const;
  /// A forward-like call's outputs (forward, score_candidates) as scores.
  ForwardResult scoresOf(const std::vector<Binding> &bindings,
                         std::map<size_t, std::vector<float>> &outputs,
                         std::array<int64_t, 2> work, bool wantHidden) const;
  /// score_candidates' prefix rows have the model's layers and widths.
  llvm::Error checkPrefixRows(const PrefixRows &prefix) const;
  /// Each sample's first U or S row: [B + 1].
  std::vector<int64_t> prefixOffsets(const Batch &batch) const;
  /// Sample bounds of at most `parts` contiguous, token-balanced ranges of
  /// samples [begin, end) of the batch.
  std::vector<int64_t> rangeBounds(const Batch &batch, int64_t begin, int64_t end,
                                   unsigned parts) const;
  Collective *collective = nullptr;
  mutable CommunicationStats communication;
  std::optional<TablePlacement> placement; // shardTables
  /// A call's rows of sharded tables: per table, the unique keys this
  /// rank's samples look up (in order of first appearance), the rows their
  /// owners sent, and (as an owner) the local rows each rank asked for.
  struct RowExchange {
    struct Table {
      std::vector<int64_t> keys;
      std::unordered_map<int64_t, size_t> position; // key -> its index in keys
      std::vector<std::vector<size_t>> askedOf;     // per owner: the keys asked of it
      std::vector<float> rows;                      // [keys, dim]
      std::vector<uint8_t> oov;                     // per key: read the OOV row
      std::vector<std::vector<int64_t>> served;     // per rank: local rows sent
      std::vector<std::vector<uint8_t>> servedOov;  // per rank: which were the OOV row
    };
    std::map<const TableDesc *, Table> tables;
  };
  /// The rows `share` looks up, from their owners (every rank calls it;
  /// `training`: counted in communicationStats).
  RowExchange exchangeRows(const Batch &share, bool training) const;
  /// The rows the running call gathers from (sharded tables), else null.
  const RowExchange *exchanged = nullptr;
  /// apply_update's sparse arguments when they do not come from the batch
  /// (sharded tables): each table's touched rows, by update binding the
  /// row index and gradient rows of its lookups.
  struct SparseArgs {
    std::map<const TableDesc *, std::vector<int64_t>> uniqueRows;
    std::map<size_t, std::vector<int64_t>> rowIndex;
    std::map<size_t, std::vector<float>> gradients;
  };
  /// Sends this rank's row gradients (summed per key) to the keys' owners
  /// and returns the update of this rank's rows (every rank calls it).
  SparseArgs exchangeRowGradients(const Batch &share, const RowExchange &x,
                                  const StepGradients &sum) const;
  /// A step's gradients and loss over the ranks (setCollective).
  void reduceOverRanks(StepGradients &sum) const;
  /// Per apply_update binding: the train_step binding whose output it reads
  /// (gradient inputs; SIZE_MAX for the others), and the loss's binding.
  std::vector<size_t> gradientFrom;
  size_t lossIndex = SIZE_MAX;

  Artifact artifact;
  const EntryPoint *entryPoint = nullptr;
  const EntryPoint *trainEntry = nullptr, *updateEntry = nullptr;
  const EntryPoint *encodeEntry = nullptr, *scoreEntry = nullptr;
  std::unique_ptr<Device> device;
  std::unique_ptr<Executable> executable;
  /// Every entry point's arguments, resolved against the model at creation.
  std::vector<Binding> forwardBindings, trainBindings, updateBindings, encodeBindings,
      scoreBindings;
  unsigned threads = 1;
  uint64_t maxMemory = 0;
  double paramBytes = 0; // the model's parameters, computed once at creation
  /// Refuses a call whose estimated memory exceeds maxMemory.
  llvm::Error checkMemory(llvm::StringRef what, const Batch &batch, double extra,
                          std::initializer_list<const EntryPoint *> entries) const;
  /// Trims the buffer pool to about what the last call needed.
  void trimPool(const Batch &batch, std::initializer_list<const EntryPoint *> entries) const;
  ParamStore parameters;
  std::map<std::string, DynamicTable> tables;
  /// On a device with memory of its own: the dense parameters, kept there
  /// between calls (host address -> device copy); apply_update writes them
  /// there and the host's copy is refreshed from them. Dropped when the
  /// host's may have changed: params() handed out. (Tables never: the host
  /// gathers their rows, apply_update gets the touched ones.)
  mutable std::mutex residentLock;
  mutable std::map<const void *, void *> resident;
  mutable std::atomic<bool> residentStale{false};
  void dropResident() const; // with residentLock held
  /// Prefix rows kept on the device (keepPrefixRowsOnDevice), by id: one
  /// block per piece, each layer's keys then values at `at`. Guarded by
  /// residentLock.
  struct DeviceRows {
    void *block = nullptr;
    uint64_t bytes = 0;
    std::vector<size_t> at; // per layer: keys, values
    std::list<uint64_t>::iterator age;
  };
  mutable std::unordered_map<uint64_t, DeviceRows> deviceRows;
  mutable std::list<uint64_t> deviceRowAge; // most recent first
  mutable DeviceRowStats deviceRowCounts;
  uint64_t deviceRowLimit = 0;
  /// The device addresses of a piece's rows per layer (keys then values),
  /// uploading them first when they are not there; empty when they cannot
  /// be kept (no id, no room without dropping `inUse` rows). With
  /// residentLock held.
  std::vector<const void *> deviceRowsOf(const PrefixRows::Piece &piece,
                                         const std::set<uint64_t> &inUse) const;
  void dropDeviceRows(uint64_t id) const; // with residentLock held
  /// A training step's gradients left on a device with memory of its own
  /// from train_step to apply_update (summed over the ranks there): set by
  /// trainStep for its train_step call (the dense gradients when no
  /// gradients are asked for; the row gradients too on one rank with whole
  /// tables), then per train_step binding the device address of its output
  /// (null: on the host) until apply_update has read them. The block is
  /// reused step to step (the same addresses: recorded calls replay).
  mutable bool keepDenseGradients = false, keepRowGradients = false;
  mutable std::vector<void *> keptOnDevice;
  mutable void *gradientBlock = nullptr;
  mutable size_t gradientBlockBytes = 0;
  /// The device buffer the dense gradients are packed in to be summed over
  /// the ranks (reduceOverRanks), grown as needed.
  mutable void *reduceBlock = nullptr;
  mutable size_t reduceBlockBytes = 0;
  /// Recorded calls by the shape of their arguments (entry point, every
  /// view's shape, the argument block's layout): the block, kept so the
  /// arguments are where they were, and the device's recording.
  struct ReplaySlot {
    void *block = nullptr; // its size is in the key
    std::unique_ptr<Recording> recording;
  };
  unsigned recordedShapes = 0;
  mutable std::mutex replayLock;
  mutable std::map<std::string, std::unique_ptr<ReplaySlot>> replaySlots;
  mutable std::list<std::string> replayAge; // most recent first
  mutable ReplayStats replayCounts;
  /// Takes the slot of `key` out (a new one when there is none, or when
  /// another call has it), and puts one back, dropping the least recently
  /// used beyond recordedShapes.
  std::unique_ptr<ReplaySlot> takeReplaySlot(const std::string &key) const;
  void putReplaySlot(const std::string &key, std::unique_ptr<ReplaySlot> slot, bool replayed) const;
  void dropReplaySlot(std::unique_ptr<ReplaySlot> slot) const;
};

} // namespace mtgr

#endif
