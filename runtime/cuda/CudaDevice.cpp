//===- CudaDevice.cpp - `--device=cuda` -----------------------------------===//
#include "runtime/cuda/CudaDevice.h"
#include "model/Error.h"
#include "runtime/GpuCommands.h"
#include "runtime/HostEnvironment.h"
#include "runtime/cpu/HostCode.h"
#include "runtime/cuda/CublasLt.h"
#include "runtime/cuda/CudaDriver.h"
#include "runtime/cuda/LaunchMetadata.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <array>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

using namespace mtgr;

std::string mtgr::cubinSectionFor(int major) {
  // A cubin runs on its own major version's devices; sm_90a code only on 9.0.
  if (major == 9)
    return "cuda.sm_90a";
  if (major == 8)
    return "cuda.sm_80";
  return "";
}

namespace {
constexpr int kAttributeNumRegs = 4;          // CU_FUNC_ATTRIBUTE_NUM_REGS
constexpr int kNotSupported = 801;            // CUDA_ERROR_NOT_SUPPORTED
constexpr int kAttributeMaxDynamicShared = 8; // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
constexpr int64_t kDefaultSharedLimit = 48 * 1024; // without the opt-in

/// The context, stream and driver every executable of a device shares.
struct Gpu {
  std::unique_ptr<CudaDriver> driver;
  const CudaDriver::Compute *api = nullptr;
  CudaDeviceInfo info;
  void *context = nullptr, *stream = nullptr;
  std::mutex lock; // one launch at a time: the session may call from threads
  /// cuBLASLt and its workspace, made on the first library GEMM.
  std::unique_ptr<CublasLt> cublasLt;
  uint64_t workspace = 0;
  static constexpr uint64_t kWorkspaceBytes = 32 << 20;

  /// A caching pool: freed blocks are kept by rounded size and handed out
  /// again (calls repeat their shapes), so cuMemAlloc and cuMemFree,
  /// which synchronise the device, run once per shape, not per call. Safe to
  /// reuse at once: everything runs on the one stream, in order. The
  /// lowest free address of a size goes first, so calls that repeat a
  /// sequence of allocations get the same addresses each time (what lets
  /// the tensor maps, keyed by address, be found again).
  std::map<uint64_t, std::set<uint64_t>> cached; // by rounded size
  std::unordered_map<uint64_t, uint64_t> live;      // block -> rounded size
  int64_t driverAllocations = 0, reuses = 0;
  int64_t graphCaptures = 0, graphLaunches = 0; // recorded calls (CUDA graphs)
  /// MTGR_CUDA_GRAPHS=1 and a driver with the graph API: calls may be
  /// recorded (Executable::callRecorded). Off by default until a hardware
  /// run has checked it (docs/gpu-backend.md).
  bool graphs = false;

  static uint64_t rounded(uint64_t bytes) {
    uint64_t step = bytes <= (1u << 20) ? 512 : (2u << 20);
    return std::max<uint64_t>(step, (bytes + step - 1) / step * step);
  }
  void freeCached() {
    for (auto &[size, blocks] : cached)
      for (uint64_t b : blocks)
        api->memFree(b);
    cached.clear();
  }

  ~Gpu() {
    cublasLt.reset();
    if (staging)
      api->memFreeHost(staging);
    if (workspace)
      api->memFree(workspace);
    freeCached();
    if (std::getenv("MTGR_CUDA_POOL_STATS"))
      llvm::errs() << "mtgr: cuda:" << info.ordinal << ": memory pool: " << driverAllocations
                   << " driver allocations, " << reuses
                   << " reuses; staging buffer: " << stagingBytes << " bytes, " << stagingWaits
                   << " waits; graphs: " << graphCaptures << " captured, " << graphLaunches
                   << " replays\n";
    if (stream)
      api->streamDestroy(stream);
    if (context)
      api->primaryCtxRelease(info.ordinal);
  }
  [[noreturn]] void fault(const std::string &what) {
    llvm::errs() << "mtgr: cuda:" << info.ordinal << ": " << what << "\n";
    std::_Exit(70);
  }
  void must(int result, const char *call) {
    if (result != 0)
      fault(std::string(call) + ": " + driver->errorName(result));
  }
  /// MTGR_CUDA_POISON set: every allocation starts as 0xff bytes (NaN), as
  /// on the emulator, so a result never written shows (bench/gpu/run.sh).
  bool poison = std::getenv("MTGR_CUDA_POISON") != nullptr;
  /// `poisonNow` false: a recorded call's block, poisoned on its stream
  /// (a fill in its work) instead.
  void *allocate(size_t bytes, bool poisonNow = true) {
    api->ctxSetCurrent(context);
    uint64_t size = rounded(bytes), p = 0;
    auto found = cached.find(size);
    if (found != cached.end() && !found->second.empty()) {
      p = *found->second.begin();
      found->second.erase(found->second.begin());
      ++reuses;
    } else {
      int r = api->memAlloc(&p, size);
      if (r != 0 && !cached.empty()) { // out of memory: give the cache back, try again
        freeCached();
        r = api->memAlloc(&p, size);
      }
      must(r, "cuMemAlloc");
      ++driverAllocations;
    }
    live[p] = size;
    if (poison && poisonNow && bytes >= 4) {
      must(api->memsetD2D32(p, bytes, 0xffffffffu, bytes / 4, 1, stream), "cuMemsetD2D32Async");
      must(api->streamSynchronize(stream), "cuStreamSynchronize");
    }
    return reinterpret_cast<void *>(p);
  }
  /// Bytes the cache holds.
  uint64_t cachedBytes() const {
    uint64_t bytes = 0;
    for (const auto &[size, blocks] : cached)
      bytes += size * blocks.size();
    return bytes;
  }
  /// Sizes the pool for calls needing `working` bytes at their peak (the
  /// compiler's figure): the cache keeps at most 1.25 x that (at least 64
  /// MiB; largest blocks go first), and the device must have room for it.
  llvm::Error prepare(int64_t working) {
    api->ctxSetCurrent(context);
    uint64_t keep = std::max<uint64_t>(uint64_t(double(working) * 1.25), 64u << 20);
    for (uint64_t held = cachedBytes(); held > keep;) {
      auto largest = std::prev(cached.end());
      if (largest->second.empty()) {
        cached.erase(largest);
        continue;
      }
      api->memFree(*std::prev(largest->second.end()));
      largest->second.erase(std::prev(largest->second.end()));
      held -= largest->first;
    }
    size_t free = 0, total = 0;
    if (int r = api->memGetInfo(&free, &total))
      return fail("cuda:" + std::to_string(info.ordinal) + ": cuMemGetInfo: " +
                  driver->errorName(r));
    if (double(free) + double(cachedBytes()) < double(working)) {
      auto mib = [](double bytes) { return llvm::formatv("{0:F1} MiB", bytes / (1 << 20)).str(); };
      return fail("cuda:" + std::to_string(info.ordinal) + " (" + info.name + ") has " +
                  mib(double(free)) + " free (and " + mib(double(cachedBytes())) +
                  " cached); the call needs about " + mib(double(working)) +
                  " of working memory (the compiled code's figure for this batch)");
    }
    return llvm::Error::success();
  }
  void release(void *p) {
    auto found = live.find(reinterpret_cast<uint64_t>(p));
    if (found == live.end())
      fault("a release of memory this device did not allocate");
    cached[found->second].insert(found->first);
    live.erase(found);
  }
  /// The pinned staging buffer the host code's uploads go through: each
  /// upload is copied into it and from there to the device on the stream,
  /// so the host buffer is free again at once and the copy is asynchronous.
  /// Slots are handed out in order and reused after the stream has
  /// finished with them (at the end of a call, or when it is full).
  void *staging = nullptr;
  size_t stagingBytes = 0, stagingUsed = 0;
  int64_t stagingWaits = 0;
  static constexpr size_t kStagingBytes = 4 << 20;
  void upload(uint64_t device, const void *source, size_t bytes) {
    if (bytes == 0)
      return;
    size_t slot = (bytes + 255) & ~size_t(255);
    if (stagingUsed + slot > stagingBytes) {
      // Wait until the copies from the buffer are done, then start over.
      if (staging) {
        must(api->streamSynchronize(stream), "cuStreamSynchronize");
        ++stagingWaits;
      }
      stagingUsed = 0;
      if (slot > stagingBytes) {
        if (staging)
          api->memFreeHost(staging);
        staging = nullptr;
        stagingBytes = std::max(slot, kStagingBytes);
        must(api->memHostAlloc(&staging, stagingBytes, 0), "cuMemHostAlloc");
      }
    }
    char *at = static_cast<char *>(staging) + stagingUsed;
    std::memcpy(at, source, bytes);
    must(api->memcpyHtoDAsync(device, at, bytes, stream), "cuMemcpyHtoDAsync");
    stagingUsed += slot;
  }
  /// After the stream is synchronised: every slot is free.
  void stagingDone() { stagingUsed = 0; }

  /// Loads cuBLASLt and allocates its workspace (once).
  llvm::Error loadLibrary() {
    if (cublasLt)
      return llvm::Error::success();
    auto loaded = CublasLt::load();
    if (!loaded)
      return loaded.takeError();
    if (int r = api->memAlloc(&workspace, kWorkspaceBytes))
      return fail("cuMemAlloc (cuBLASLt's workspace): " + driver->errorName(r));
    cublasLt = std::move(*loaded);
    return llvm::Error::success();
  }
  /// cuBLASLt for generated code's GEMMs: a fault when it cannot be loaded.
  CublasLt &library() {
    if (llvm::Error e = loadLibrary())
      fault("--gemm=cublaslt code: " + llvm::toString(std::move(e)));
    return *cublasLt;
  }
};

class CudaExecutable final : public Executable {
public:
  CudaExecutable(std::shared_ptr<Gpu> gpu, std::unique_ptr<HostCode> code, void *module,
                 std::vector<void *> functions, std::vector<KernelRecord> kernels)
      : gpu(std::move(gpu)), code(std::move(code)), module(module),
        functions(std::move(functions)), kernels(std::move(kernels)) {}
  ~CudaExecutable() override {
    if (mapArena)
      gpu->api->memFree(mapArena);
    for (void *event : events)
      if (event)
        gpu->api->eventDestroy(event);
    if (module)
      gpu->api->moduleUnload(module);
  }

  void call(const EntryPoint &entry, llvm::ArrayRef<BufferView> args, unsigned) override {
    mtgr_environment table = environmentTable();
    std::lock_guard<std::mutex> guard(gpu->lock);
    gpu->api->ctxSetCurrent(gpu->context);
    code->call(entry, args, table);
    // The one wait of a call: the host code planned every launch from host
    // memory (abi/GpuLaunch.h plan 2), so nothing before needed the device.
    gpu->must(gpu->api->streamSynchronize(gpu->stream), "cuStreamSynchronize");
    gpu->stagingDone();
  }

  bool canRecord() const override { return gpu->graphs; }
  /// A recorded call (runtime/GpuCommands.h): the host code issues its work
  /// into a list, its blocks from the recording's arena. The same work as
  /// the last call of this shape: the first time captured as a CUDA graph
  /// (from the stream, its uploads read from the recording's pinned
  /// buffer), after that the graph is launched with this call's uploads
  /// copied into that buffer. Other work runs on the stream as call() runs
  /// it, and is kept to compare the next call with.
  bool callRecorded(const EntryPoint &entry, llvm::ArrayRef<BufferView> args, unsigned threads,
                    std::unique_ptr<Recording> &slot) override {
    if (!canRecord() || host.profile.timeKernels) {
      call(entry, args, threads);
      return false;
    }
    if (!slot)
      slot = std::make_unique<CudaRecording>(gpu);
    auto &recording = static_cast<CudaRecording &>(*slot);
    mtgr_environment table = environmentTable();
    GpuCommands work;
    std::lock_guard<std::mutex> guard(gpu->lock);
    gpu->api->ctxSetCurrent(gpu->context);
    recording.arena.reset();
    list = &work, arena = &recording.arena;
    code->call(entry, args, table);
    list = nullptr, arena = nullptr;
    bool same = recording.work.sameWork(work);
    bool replayed = same && recording.exec && recording.mapGeneration == mapGeneration;
    if (replayed) {
      std::memcpy(recording.pinned, work.uploads.data(), work.uploads.size());
      gpu->must(gpu->api->graphLaunch(recording.exec, gpu->stream), "cuGraphLaunch");
      ++gpu->graphLaunches;
    } else if (same) {
      capture(recording, work);
    } else {
      recording.dropGraph();
      issue(work, nullptr);
    }
    gpu->must(gpu->api->streamSynchronize(gpu->stream), "cuStreamSynchronize");
    gpu->stagingDone();
    recording.work = std::move(work);
    return replayed;
  }

  HostEnvironment &environment() override { return host; }
  bool integersOnHost() const override { return true; }
  llvm::Error prepare(int64_t workingBytes) override {
    std::lock_guard<std::mutex> guard(gpu->lock);
    return gpu->prepare(workingBytes);
  }

private:
  /// A recorded call's graph, the pinned buffer its uploads read, its
  /// working memory and work (runtime/GpuCommands.h).
  struct CudaRecording final : Recording {
    explicit CudaRecording(std::shared_ptr<Gpu> g)
        : gpu(std::move(g)),
          arena([raw = gpu.get()](uint64_t bytes) { return raw->allocate(bytes, false); },
                [raw = gpu.get()](void *block) {
                  std::lock_guard<std::mutex> guard(raw->lock);
                  raw->release(block);
                }) {}
    ~CudaRecording() override {
      std::lock_guard<std::mutex> guard(gpu->lock);
      dropGraph();
      if (pinned)
        gpu->api->memFreeHost(pinned);
    }
    void dropGraph() {
      if (exec)
        gpu->api->graphExecDestroy(exec);
      if (graph)
        gpu->api->graphDestroy(graph);
      exec = graph = nullptr;
    }
    std::shared_ptr<Gpu> gpu; // before the arena: its blocks go back first
    GpuArena arena;
    GpuCommands work;
    void *graph = nullptr, *exec = nullptr;
    char *pinned = nullptr;
    size_t pinnedBytes = 0;
    int64_t mapGeneration = 0; // the tensor maps' slots the graph's uploads fill
  };

  /// The environment the host code runs with: its launches, uploads and
  /// allocations go to the stream and the pool, or, while a call records
  /// (`list`), into its list and the recording's arena.
  mtgr_environment environmentTable() {
    mtgr_environment table = host.table(1);
    table.context = this;
    table.alloc = [](void *self, uint64_t, uint64_t size) {
      auto *e = static_cast<CudaExecutable *>(self);
      if (!e->arena)
        return e->gpu->allocate(size);
      void *p = e->arena->allocate(size);
      if (e->gpu->poison && size >= 4)
        e->list->fill(reinterpret_cast<uint64_t>(p), size, 0xffffffffu);
      return p;
    };
    table.free = [](void *self, void *block) {
      auto *e = static_cast<CudaExecutable *>(self);
      if (e->hostBlocks.release(e->host.pool, block))
        return;
      if (e->arena && e->arena->release(block))
        return;
      e->gpu->release(block);
    };
    table.host_alloc = [](void *self, uint64_t size) {
      auto *e = static_cast<CudaExecutable *>(self);
      return e->hostBlocks.allocate(e->host.pool, size);
    };
    table.gpu_upload = [](void *self, int64_t device, int64_t source, int64_t bytes) {
      auto *e = static_cast<CudaExecutable *>(self);
      if (bytes < 0)
        e->gpu->fault("an upload of " + std::to_string(bytes) + " bytes");
      e->uploadTo(uint64_t(device), reinterpret_cast<const void *>(source), size_t(bytes));
    };
    table.profile_clock = [](void *) { return ProfileCounters::clock(); };
    table.profile_record = [](void *self, int64_t family, int64_t layer, int64_t start) {
      static_cast<CudaExecutable *>(self)->host.profile.record(family, layer, start);
    };
    table.gpu_launch = [](void *self, int64_t kernel, int64_t gx, int64_t gy, int64_t gz,
                          int64_t bx, int64_t by, int64_t bz, int64_t sharedBytes,
                          int64_t *params, int64_t count) {
      static_cast<CudaExecutable *>(self)->launch(kernel, gx, gy, gz, bx, by, bz, sharedBytes,
                                                  params, count);
    };
    table.gpu_gemm = [](void *self, int64_t transA, int64_t transB, int64_t m, int64_t n,
                        int64_t k, int64_t a, int64_t lda, int64_t b, int64_t ldb, int64_t c,
                        int64_t ldc) {
      static_cast<CudaExecutable *>(self)->gemm(GpuGemmCall{
          transA != 0, transB != 0, m, n, k, uint64_t(a), lda, uint64_t(b), ldb, uint64_t(c), ldc});
    };
    table.gpu_tensor_map = [](void *self, int64_t base, int64_t rows, int64_t cols,
                              int64_t rowBytes, int64_t boxRows, int64_t boxCols, int64_t swizzle) {
      return static_cast<CudaExecutable *>(self)->tensorMap(base, rows, cols, rowBytes, boxRows,
                                                            boxCols, swizzle);
    };
    table.gpu_multiprocessors = gpu->info.multiprocessors;
    return table;
  }
  /// While a call records: its list and its recording's arena.
  GpuCommands *list = nullptr;
  GpuArena *arena = nullptr;

  void uploadTo(uint64_t device, const void *source, size_t bytes) {
    if (list) {
      if (bytes)
        list->upload(device, source, bytes);
    } else {
      gpu->upload(device, source, bytes);
    }
  }

  /// Captures `work` as the recording's graph (uploads from its pinned
  /// buffer) and launches it.
  void capture(CudaRecording &recording, const GpuCommands &work) {
    for (const GpuCommand &c : work.commands)
      if (c.kind == GpuCommand::Kind::Gemm && c.gemm.k > 0 && c.gemm.m > 0 && c.gemm.n > 0) {
        gpu->library(); // loaded (and its workspace allocated) outside the capture
        break;
      }
    if (recording.pinnedBytes < work.uploads.size()) {
      if (recording.pinned)
        gpu->api->memFreeHost(recording.pinned);
      recording.pinned = nullptr;
      void *p = nullptr;
      gpu->must(gpu->api->memHostAlloc(&p, work.uploads.size(), 0), "cuMemHostAlloc");
      recording.pinned = static_cast<char *>(p);
      recording.pinnedBytes = work.uploads.size();
    }
    if (!work.uploads.empty())
      std::memcpy(recording.pinned, work.uploads.data(), work.uploads.size());
    recording.dropGraph();
    constexpr int kCaptureModeRelaxed = 2; // CU_STREAM_CAPTURE_MODE_RELAXED
    gpu->must(gpu->api->streamBeginCapture(gpu->stream, kCaptureModeRelaxed),
              "cuStreamBeginCapture");
    issue(work, recording.pinned);
    gpu->must(gpu->api->streamEndCapture(gpu->stream, &recording.graph), "cuStreamEndCapture");
    gpu->must(gpu->api->graphInstantiate(&recording.exec, recording.graph, 0),
              "cuGraphInstantiateWithFlags");
    recording.mapGeneration = mapGeneration;
    gpu->must(gpu->api->graphLaunch(recording.exec, gpu->stream), "cuGraphLaunch");
    ++gpu->graphCaptures;
  }

  /// Issues a call's list on the stream; uploads from `pinned` (a graph's
  /// buffer, at each upload's offset) or through the staging buffer.
  void issue(const GpuCommands &work, const char *pinned) {
    for (const GpuCommand &c : work.commands)
      switch (c.kind) {
      case GpuCommand::Kind::Launch:
        runLaunch(c.kernel, c.grid, c.block, c.sharedBytes, c.words);
        break;
      case GpuCommand::Kind::Gemm:
        runGemm(c.gemm);
        break;
      case GpuCommand::Kind::Upload:
        if (pinned)
          gpu->must(gpu->api->memcpyHtoDAsync(c.device, pinned + c.from, c.bytes, gpu->stream),
                    "cuMemcpyHtoDAsync");
        else
          gpu->upload(c.device, work.bytesOf(c), c.bytes);
        break;
      case GpuCommand::Kind::Fill:
        gpu->must(gpu->api->memsetD2D32(c.device, c.bytes, c.value, c.bytes / 4, 1, gpu->stream),
                  "cuMemsetD2D32Async");
        break;
      case GpuCommand::Kind::Free:
        gpu->release(reinterpret_cast<void *>(c.device));
        break;
      }
  }

  /// A CUtensorMap of a bf16 matrix encoded by the driver, uploaded on the
  /// stream into a device block (before the launches that read it); the
  /// driver's refusal is a fault by name. Maps are cached by everything
  /// they encode (base address, shape, row pitch, box, swizzle): a map
  /// describes addresses, not a buffer, so one found again is right even
  /// when the memory behind it was freed and reused in between; steady
  /// traffic of one shape encodes and uploads nothing after its first call.
  int64_t tensorMap(int64_t base, int64_t rows, int64_t cols, int64_t rowBytes, int64_t boxRows,
                    int64_t boxCols, int64_t swizzle) {
    if (rows == 0 || cols == 0)
      return 0; // nothing to copy: no map (abi/Environment.h; the driver refuses it)
    TensorMapKey key{base, rows, cols, rowBytes, boxRows, boxCols, swizzle};
    if (auto found = maps.find(key); found != maps.end())
      return int64_t(found->second);
    alignas(64) unsigned char map[128] = {};
    uint64_t dims[2] = {uint64_t(cols), uint64_t(rows)};
    uint64_t strides[1] = {uint64_t(rowBytes)};
    unsigned box[2] = {unsigned(boxCols), unsigned(boxRows)};
    unsigned elementStrides[2] = {1, 1};
    constexpr int kBf16 = 9, kInterleaveNone = 0, kL2Promotion128B = 2, kOobFillNone = 0;
    if (int r = gpu->api->tensorMapEncodeTiled(map, kBf16, 2, reinterpret_cast<void *>(base), dims,
                                               strides, box, elementStrides, kInterleaveNone,
                                               int(swizzle), kL2Promotion128B, kOobFillNone))
      gpu->fault(llvm::formatv("cuTensorMapEncodeTiled ({0} x {1} bf16, {2} bytes apart, boxes "
                               "{3} x {4}, swizzle {5}): {6}",
                               rows, cols, rowBytes, boxRows, boxCols, swizzle,
                               gpu->driver->errorName(r))
                     .str());
    if (!mapArena)
      gpu->must(gpu->api->memAlloc(&mapArena, kMaxTensorMaps * sizeof map), "cuMemAlloc");
    if (maps.size() == kMaxTensorMaps) {
      // Full: once the launches queued so far have read their maps, start
      // over (rare: 4096 shapes of operands).
      gpu->must(gpu->api->streamSynchronize(gpu->stream), "cuStreamSynchronize");
      maps.clear();
      ++mapGeneration; // graphs that filled the old slots are not replayed
    }
    uint64_t device = mapArena + maps.size() * sizeof map;
    uploadTo(device, map, sizeof map);
    maps.emplace(key, device);
    return int64_t(device);
  }
  using TensorMapKey = std::array<int64_t, 7>;
  /// The tensor maps made so far, by what they encode, in slots of their own
  /// device block: not the pool's, whose order of addresses (and so the
  /// maps' keys) would shift with every map allocated (calls hold the lock).
  std::map<TensorMapKey, uint64_t> maps;
  uint64_t mapArena = 0;
  int64_t mapGeneration = 0;
  static constexpr size_t kMaxTensorMaps = 4096; // 512 KB of device memory

  void launch(int64_t kernel, int64_t gx, int64_t gy, int64_t gz, int64_t bx, int64_t by,
              int64_t bz, int64_t sharedBytes, int64_t *params, int64_t count) {
    if (kernel < 0 || kernel >= static_cast<int64_t>(functions.size()))
      gpu->fault("a launch of kernel " + std::to_string(kernel) + ", which the code's table does "
                 "not have");
    if (gx * gy * gz == 0)
      return; // an empty grid: nothing to do (the driver would refuse it)
    const KernelRecord &record = kernels[kernel];
    int64_t &optedIn = sharedOptIn[kernel];
    if (sharedBytes > kDefaultSharedLimit && sharedBytes > optedIn) {
      // Dynamic shared memory above 48 KB needs the kernel's opt-in.
      int r = gpu->api->funcSetAttribute(functions[kernel], kAttributeMaxDynamicShared,
                                         static_cast<int>(sharedBytes));
      if (r != 0)
        gpu->fault("kernel '" + record.name + "' asks for " + std::to_string(sharedBytes) +
                   " bytes of shared memory: cuFuncSetAttribute: " + gpu->driver->errorName(r));
      optedIn = sharedBytes;
    }
    if (list) {
      list->launch(kernel, {gx, gy, gz}, {bx, by, bz}, sharedBytes, params, count);
      return;
    }
    runLaunch(kernel, {gx, gy, gz}, {bx, by, bz}, sharedBytes,
              std::vector<int64_t>(params, params + std::max<int64_t>(count, 0)));
  }
  void runLaunch(int64_t kernel, std::array<int64_t, 3> grid, std::array<int64_t, 3> block,
                 int64_t sharedBytes, std::vector<int64_t> words) {
    std::vector<void *> pointers(words.size());
    for (size_t i = 0; i < words.size(); ++i)
      pointers[i] = &words[i];
    const KernelRecord &record = kernels[kernel];
    onStream(record.family, record.layer, [&] {
      int result = gpu->api->launchKernel(functions[kernel], unsigned(grid[0]), unsigned(grid[1]),
                                          unsigned(grid[2]), unsigned(block[0]), unsigned(block[1]),
                                          unsigned(block[2]), unsigned(sharedBytes), gpu->stream,
                                          pointers.data(), nullptr);
      if (result != 0)
        gpu->fault("launching kernel '" + record.name + "': " + gpu->driver->errorName(result));
    });
  }

  /// Issues `work` on the stream, without waiting for it (host code never
  /// reads device memory). With --profile, events around the work add its
  /// time to the op's family (launch overhead and host work left out; the
  /// stream is waited for to read them); family < 0: untimed.
  template <typename Work> void onStream(int64_t family, int64_t layer, Work work) {
    bool timed = host.profile.timeKernels && family >= 0;
    if (timed)
      recordEvent(0);
    work();
    if (timed) {
      recordEvent(1);
      gpu->must(gpu->api->streamSynchronize(gpu->stream), "cuStreamSynchronize");
      float ms = 0;
      gpu->must(gpu->api->eventElapsedTime(&ms, events[0], events[1]), "cuEventElapsedTime");
      host.profile.add(family, layer, static_cast<int64_t>(double(ms) * 1e6));
    }
  }

  /// --gemm=cublaslt code: cuBLASLt on the compute stream (k = 0: C is
  /// zeros, which cuBLASLt would refuse to compute).
  void gemm(const GpuGemmCall &call) {
    if (llvm::Error e = checkGemmCall(call))
      gpu->fault(llvm::toString(std::move(e)));
    if (call.m == 0 || call.n == 0)
      return;
    if (list)
      list->gemm(call);
    else
      runGemm(call);
  }
  void runGemm(const GpuGemmCall &call) {
    CublasLt &lt = gpu->library();
    onStream(static_cast<int64_t>(ProfileFamily::Projections), -1, [&] {
      if (call.k == 0)
        gpu->must(gpu->api->memsetD2D32(call.c, uint64_t(call.ldc) * 4, 0, call.n, call.m,
                                        gpu->stream),
                  "cuMemsetD2D32Async");
      else if (llvm::Error e = lt.gemm(call, gpu->stream, gpu->workspace, Gpu::kWorkspaceBytes))
        gpu->fault(llvm::toString(std::move(e)));
    });
  }

  void recordEvent(int which) {
    if (!events[which])
      gpu->must(gpu->api->eventCreate(&events[which], 0 /* CU_EVENT_DEFAULT: timed */),
                "cuEventCreate");
    gpu->must(gpu->api->eventRecord(events[which], gpu->stream), "cuEventRecord");
  }

  std::shared_ptr<Gpu> gpu;
  std::unique_ptr<HostCode> code;
  void *module;
  std::vector<void *> functions;
  std::vector<KernelRecord> kernels;
  void *events[2] = {nullptr, nullptr}; // a kernel's start and end (--profile)
  std::vector<int64_t> sharedOptIn = std::vector<int64_t>(functions.size()); // bytes, per kernel
  HostEnvironment host;
  GpuHostBlocks hostBlocks;
};

class CudaDevice final : public Device {
public:
  explicit CudaDevice(std::shared_ptr<Gpu> gpu)
      : gpu(std::move(gpu)), deviceName("cuda:" + std::to_string(this->gpu->info.ordinal)) {}

  llvm::StringRef name() const override { return deviceName; }

  llvm::Expected<std::unique_ptr<Executable>> load(const Artifact &artifact,
                                                   llvm::StringRef where) override {
    const CudaDeviceInfo &info = gpu->info;
    auto loaded = loadGpuHostCode(artifact, where, "the CUDA device");
    if (!loaded)
      return loaded.takeError();
    std::string sectionName = cubinSectionFor(info.major);
    const CodeSection *cubin = sectionName.empty() ? nullptr : artifact.section(sectionName);
    if (!cubin) {
      std::string have;
      for (const CodeSection &s : artifact.code)
        if (llvm::StringRef(s.name).starts_with("cuda.sm_"))
          have += (have.empty() ? "" : ", ") + s.name.substr(5);
      return fail(where + ": the device " + deviceName + " (" + info.name + ") is " + info.arch() +
                  "; the artifact has cubins for " + (have.empty() ? "no architecture" : have) +
                  " (mtgr-compile --cuda-arch)");
    }
    std::lock_guard<std::mutex> guard(gpu->lock);
    const CudaDriver::Compute &api = *gpu->api;
    api.ctxSetCurrent(gpu->context);
    void *module = nullptr;
    if (int r = api.moduleLoadData(&module, cubin->bytes.data()))
      return fail(where + ": cuModuleLoadData of section " + sectionName + ": " +
                  gpu->driver->errorName(r));
    std::vector<void *> functions;
    std::string arch = sectionName.substr(5);
    for (const KernelRecord &k : loaded->metadata.kernels) {
      void *fn = nullptr;
      if (int r = api.moduleGetFunction(&fn, module, k.name.c_str())) {
        api.moduleUnload(module);
        return fail(where + ": kernel '" + k.name + "' is not in section " + sectionName + ": " +
                    gpu->driver->errorName(r));
      }
      // What ptxas reported at compile time is what the driver loaded.
      auto recorded = k.resources.find(arch);
      int registers = 0;
      int r = api.funcGetAttribute(&registers, kAttributeNumRegs, fn);
      if (r != 0 && r != kNotSupported) {
        api.moduleUnload(module);
        return fail(where + ": cuFuncGetAttribute of kernel '" + k.name + "': " +
                    gpu->driver->errorName(r));
      }
      if (r == 0 && recorded != k.resources.end() && recorded->second.first != registers) {
        api.moduleUnload(module);
        return fail(where + ": kernel '" + k.name + "' uses " + std::to_string(registers) +
                    " registers as loaded, the launch metadata says " +
                    std::to_string(recorded->second.first) + " (" + sectionName +
                    " and cuda.kernels do not belong together)");
      }
      functions.push_back(fn);
    }
    return std::make_unique<CudaExecutable>(gpu, std::move(loaded->code), module, std::move(functions),
                                            std::move(loaded->metadata.kernels));
  }

  bool sharesHostMemory() const override { return false; }
  void *allocate(size_t bytes) override {
    std::lock_guard<std::mutex> guard(gpu->lock);
    return gpu->allocate(bytes);
  }
  void release(void *buffer) override {
    std::lock_guard<std::mutex> guard(gpu->lock);
    gpu->release(buffer);
  }
  void copyToDevice(void *device, const void *host, size_t bytes) override { copy(device, host, bytes); }
  void copyToHost(void *host, const void *device, size_t bytes) override { copy(host, device, bytes); }
  void copyOnDevice(void *to, const void *from, size_t bytes) override {
    if (!bytes)
      return;
    std::lock_guard<std::mutex> guard(gpu->lock);
    gpu->api->ctxSetCurrent(gpu->context);
    gpu->must(gpu->api->memcpyDtoDAsync(reinterpret_cast<uint64_t>(to),
                                        reinterpret_cast<uint64_t>(from), bytes, gpu->stream),
              "cuMemcpyDtoDAsync");
  }
  void synchronize() override {
    std::lock_guard<std::mutex> guard(gpu->lock);
    gpu->api->ctxSetCurrent(gpu->context);
    gpu->must(gpu->api->streamSynchronize(gpu->stream), "cuStreamSynchronize");
  }
  void *nativeStream() override { return gpu->stream; }

private:
  void copy(void *dst, const void *src, size_t bytes) {
    if (!bytes)
      return;
    std::lock_guard<std::mutex> guard(gpu->lock);
    gpu->api->ctxSetCurrent(gpu->context);
    gpu->must(gpu->api->memcpy(reinterpret_cast<uint64_t>(dst), reinterpret_cast<uint64_t>(src),
                               bytes),
              "cuMemcpy");
  }
  std::shared_ptr<Gpu> gpu;
  std::string deviceName;
};
} // namespace

namespace {
/// The driver, the device's primary context and a stream.
llvm::Expected<std::shared_ptr<Gpu>> openGpu(int ordinal) {
  auto driver = CudaDriver::load();
  if (!driver)
    return fail("no CUDA device: " + llvm::toString(driver.takeError()));
  auto devices = (*driver)->devices();
  if (!devices)
    return fail("no CUDA device: " + llvm::toString(devices.takeError()));
  if (ordinal < 0 || ordinal >= static_cast<int>(devices->size()))
    return fail("no CUDA device " + std::to_string(ordinal) + " (the driver lists " +
                std::to_string(devices->size()) + ")");
  auto api = (*driver)->compute();
  if (!api)
    return api.takeError();
  auto gpu = std::make_shared<Gpu>();
  gpu->info = (*devices)[ordinal];
  gpu->api = *api;
  gpu->driver = std::move(*driver);
  if (int r = gpu->api->primaryCtxRetain(&gpu->context, ordinal))
    return fail("cuDevicePrimaryCtxRetain: " + gpu->driver->errorName(r));
  if (int r = gpu->api->ctxSetCurrent(gpu->context))
    return fail("cuCtxSetCurrent: " + gpu->driver->errorName(r));
  if (int r = gpu->api->streamCreate(&gpu->stream, 1 /* CU_STREAM_NON_BLOCKING */))
    return fail("cuStreamCreate: " + gpu->driver->errorName(r));
  const char *graphs = std::getenv("MTGR_CUDA_GRAPHS");
  gpu->graphs = gpu->api->graphLaunch && graphs && std::string(graphs) == "1";
  return gpu;
}
} // namespace

llvm::Expected<std::unique_ptr<Device>> mtgr::createCudaDevice(int ordinal) {
  auto gpu = openGpu(ordinal);
  if (!gpu)
    return gpu.takeError();
  return std::unique_ptr<Device>(new CudaDevice(std::move(*gpu)));
}

llvm::Expected<CudaCeilings> mtgr::measureCudaCeilings(int ordinal, int64_t size, int repeats) {
  if (size < 16 || size > 16384 || repeats < 1)
    return fail("a GEMM size of 16 .. 16384 and at least one repeat are needed");
  auto opened = openGpu(ordinal);
  if (!opened)
    return opened.takeError();
  Gpu &gpu = **opened;
  const CudaDriver::Compute &api = *gpu.api;
  std::string failed;
  auto ok = [&](int r, const char *call) {
    if (r != 0 && failed.empty())
      failed = std::string(call) + ": " + gpu.driver->errorName(r);
    return failed.empty();
  };
  CudaCeilings out;
  out.size = size;
  uint64_t bytes = uint64_t(size) * uint64_t(size) * 4;
  out.copyBytes = double(bytes);
  uint64_t buffers[3] = {0, 0, 0};
  void *events[2] = {nullptr, nullptr};
  // Operands of ones (bf16 pairs, or floats near 1): finite sums.
  for (uint64_t &b : buffers)
    if (ok(api.memAlloc(&b, bytes), "cuMemAlloc"))
      ok(api.memsetD2D32(b, 4 * size, 0x3f803f80u, size, size, gpu.stream), "cuMemsetD2D32Async");
  for (void *&e : events)
    ok(api.eventCreate(&e, 0), "cuEventCreate");
  // Best time of `repeats` runs of `work` (after one untimed), in seconds.
  auto best = [&](const std::function<llvm::Error()> &work) -> llvm::Expected<double> {
    double bestSeconds = 0;
    for (int i = 0; i <= repeats && failed.empty(); ++i) {
      ok(api.eventRecord(events[0], gpu.stream), "cuEventRecord");
      if (llvm::Error e = work())
        return std::move(e);
      ok(api.eventRecord(events[1], gpu.stream), "cuEventRecord");
      ok(api.streamSynchronize(gpu.stream), "cuStreamSynchronize");
      float ms = 0;
      ok(api.eventElapsedTime(&ms, events[0], events[1]), "cuEventElapsedTime");
      double seconds = double(ms) / 1e3;
      if (i > 0 && seconds > 0 && (bestSeconds == 0 || seconds < bestSeconds))
        bestSeconds = seconds;
    }
    if (!failed.empty())
      return fail(failed);
    return bestSeconds;
  };
  auto finish = [&](llvm::Error e) -> llvm::Error {
    for (void *ev : events)
      if (ev)
        api.eventDestroy(ev);
    for (uint64_t b : buffers)
      if (b)
        api.memFree(b);
    return e;
  };
  if (!failed.empty())
    return finish(fail(failed));
  auto copy = best([&] {
    ok(api.memcpyDtoDAsync(buffers[1], buffers[0], bytes, gpu.stream), "cuMemcpyDtoDAsync");
    return llvm::Error::success();
  });
  if (!copy)
    return finish(copy.takeError());
  // A copy reads and writes every byte.
  out.copyBytesPerSecond = *copy > 0 ? 2.0 * double(bytes) / *copy : 0;
  if (llvm::Error e = gpu.loadLibrary())
    return finish(std::move(e));
  CublasLt &lt = *gpu.cublasLt;
  double flops = 2.0 * double(size) * double(size) * double(size);
  for (auto [type, rate] : {std::pair{CublasLt::Type::BF16, &out.bf16FlopsPerSecond},
                            std::pair{CublasLt::Type::F32, &out.f32FlopsPerSecond}}) {
    auto seconds = best([&, type = type] {
      return lt.matmul(type, false, false, size, size, size, buffers[0], size, buffers[1], size,
                       buffers[2], size, gpu.stream, gpu.workspace, Gpu::kWorkspaceBytes);
    });
    if (!seconds)
      return finish(seconds.takeError());
    *rate = *seconds > 0 ? flops / *seconds : 0;
  }
  if (llvm::Error e = finish(llvm::Error::success()))
    return std::move(e);
  return out;
}
