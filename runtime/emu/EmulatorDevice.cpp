//===- EmulatorDevice.cpp - `--device=cuda-emu` ---------------------------===//
#include "runtime/emu/EmulatorDevice.h"
#include "model/Error.h"
#include "runtime/GpuCommands.h"
#include "runtime/HostEnvironment.h"
#include "runtime/cpu/HostCode.h"
#include "runtime/cuda/CublasLt.h"
#include "runtime/cuda/LaunchMetadata.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>

using namespace mtgr;
using namespace mtgr::emu;

namespace {
/// The multiprocessors the emulated device reports (abi/Environment.h
/// gpu_multiprocessors).
constexpr int64_t kEmulatedMultiprocessors = 2;
/// One emulator per device: its allocation table covers the device's
/// buffers and every executable's working buffers. Launches run one at a
/// time (the session may call from several threads).
struct Shared {
  explicit Shared(Schedule s) : emulator(s) {}
  std::mutex lock;
  Emulator emulator;
};

[[noreturn]] void fault(llvm::Error error) {
  llvm::errs() << "mtgr: cuda-emu: " << llvm::toString(std::move(error))
               << "\n(a fault of generated GPU code: a compiler bug; please report it with the "
                  "model and the command)\n";
  std::_Exit(70);
}

class EmulatorExecutable final : public Executable {
public:
  EmulatorExecutable(std::shared_ptr<Shared> shared, std::unique_ptr<HostCode> code,
                     std::vector<Kernel> kernels, std::vector<KernelRecord> records)
      : shared(std::move(shared)), code(std::move(code)), kernels(std::move(kernels)),
        records(std::move(records)) {}

  void call(const EntryPoint &entry, llvm::ArrayRef<BufferView> args,
            unsigned /*threads*/) override {
    run(entry, args, nullptr);
  }
  bool canRecord() const override { return true; }
  bool callRecorded(const EntryPoint &entry, llvm::ArrayRef<BufferView> args, unsigned,
                    std::unique_ptr<Recording> &recording) override {
    if (!recording)
      recording = std::make_unique<EmuRecording>(*this);
    return run(entry, args, static_cast<EmuRecording *>(recording.get()));
  }

  HostEnvironment &environment() override { return host; }
  bool integersOnHost() const override { return true; }

private:
  /// A recorded call: its launch list and the working memory (and tensor
  /// maps) it used, tracked as device memory until the recording goes.
  struct EmuRecording final : Recording {
    explicit EmuRecording(EmulatorExecutable &e)
        : arena(
              [&e](uint64_t bytes) {
                void *p = e.host.pool.allocate(64, bytes);
                std::lock_guard<std::mutex> guard(e.shared->lock);
                e.shared->emulator.track(p, bytes, "a working buffer of the host code (recorded)");
                return p;
              },
              [&e](void *p) {
                {
                  std::lock_guard<std::mutex> guard(e.shared->lock);
                  e.shared->emulator.untrack(p);
                }
                e.host.pool.free(p);
              }) {}
    GpuArena arena;
    GpuCommands work;
  };

  /// Runs the host code, which issues its work into a list: the stream,
  /// run when the host code returns (as a GPU runs it after the host went
  /// on: host code that read a kernel's result would see poison; faults
  /// are found when the work runs and name the kernel). With a recording,
  /// allocations come from its arena and start as NaN on the stream (so a
  /// replay poisons them again), and the recorded list runs instead of this
  /// one when it does the same work (with this call's uploads).
  bool run(const EntryPoint &entry, llvm::ArrayRef<BufferView> args, EmuRecording *recording) {
    mtgr_environment table = host.table(1);
    table.context = this;
    table.alloc = [](void *self, uint64_t alignment, uint64_t size) {
      auto *e = static_cast<EmulatorExecutable *>(self);
      if (GpuArena *arena = currentArena) {
        void *p = arena->allocate(size);
        currentList->fill(uint64_t(reinterpret_cast<uintptr_t>(p)), size, 0xffffffffu);
        return p;
      }
      void *p = e->host.pool.allocate(alignment, size);
      std::memset(p, 0xff, size); // NaN until written
      std::lock_guard<std::mutex> guard(e->shared->lock);
      e->shared->emulator.track(p, size, "a working buffer of the host code");
      return p;
    };
    table.host_alloc = [](void *self, uint64_t size) {
      auto *e = static_cast<EmulatorExecutable *>(self);
      // Host memory: not in the emulator's table, so a kernel that reads
      // it (instead of an uploaded copy) faults.
      return e->hostBlocks.allocate(e->host.pool, size);
    };
    // An upload: the host bytes as they are now (the host may reuse its
    // buffer at once), written on the stream into device memory.
    table.gpu_upload = [](void *, int64_t device, int64_t source, int64_t bytes) {
      if (bytes < 0)
        fault(fail("an upload of " + std::to_string(bytes) + " bytes"));
      if (bytes > 0)
        currentList->upload(uint64_t(device), reinterpret_cast<const void *>(source),
                            uint64_t(bytes));
    };
    table.free = [](void *self, void *block) {
      auto *e = static_cast<EmulatorExecutable *>(self);
      if (e->hostBlocks.release(e->host.pool, block))
        return;
      if (currentArena && currentArena->release(block))
        return; // the recording keeps it
      // A device block is free once the work before it on the stream ran.
      currentList->free(uint64_t(reinterpret_cast<uintptr_t>(block)));
    };
    table.profile_clock = [](void *) { return ProfileCounters::clock(); };
    table.profile_record = [](void *self, int64_t family, int64_t layer, int64_t start) {
      static_cast<EmulatorExecutable *>(self)->host.profile.record(family, layer, start);
    };
    table.gpu_launch = [](void *self, int64_t kernel, int64_t gx, int64_t gy, int64_t gz,
                          int64_t bx, int64_t by, int64_t bz, int64_t sharedBytes, int64_t *params,
                          int64_t count) {
      auto *e = static_cast<EmulatorExecutable *>(self);
      if (kernel < 0 || kernel >= static_cast<int64_t>(e->kernels.size()))
        fault(fail("a launch of kernel " + std::to_string(kernel) + ", which the code's table (" +
                   std::to_string(e->kernels.size()) + " kernels) does not have"));
      if (gx * gy * gz == 0)
        return; // nothing to do (a GPU would refuse an empty grid)
      currentList->launch(kernel, {gx, gy, gz}, {bx, by, bz}, sharedBytes, params, count);
    };
    table.gpu_gemm = [](void *, int64_t transA, int64_t transB, int64_t m, int64_t n, int64_t k,
                        int64_t a, int64_t lda, int64_t b, int64_t ldb, int64_t c, int64_t ldc) {
      currentList->gemm(GpuGemmCall{transA != 0, transB != 0, m, n, k, uint64_t(a), lda,
                                    uint64_t(b), ldb, uint64_t(c), ldc});
    };
    table.gpu_tensor_map = [](void *self, int64_t base, int64_t rows, int64_t cols,
                              int64_t rowBytes, int64_t boxRows, int64_t boxCols, int64_t swizzle) {
      return static_cast<EmulatorExecutable *>(self)->tensorMap(base, rows, cols, rowBytes, boxRows,
                                                                boxCols, swizzle);
    };
    // Two multiprocessors: persistent kernels loop over their tiles even
    // at the tests' small shapes.
    table.gpu_multiprocessors = kEmulatedMultiprocessors;
    // This call's stream (calls may come from several threads at once; the
    // host code of one call runs on its caller's thread).
    GpuCommands list;
    GpuCommands *outerList = currentList;
    GpuArena *outerArena = currentArena;
    std::vector<void *> maps, *outerMaps = currentMaps;
    currentList = &list;
    currentArena = recording ? &recording->arena : nullptr;
    currentMaps = &maps;
    if (currentArena)
      currentArena->reset();
    code->call(entry, args, table);
    currentList = outerList;
    currentArena = outerArena;
    currentMaps = outerMaps;
    // The end of a call waits for its stream.
    bool replayed = recording && recording->work.sameWork(list);
    if (replayed) {
      recording->work.uploads = std::move(list.uploads);
      execute(recording->work);
    } else {
      execute(list);
      if (recording)
        recording->work = std::move(list);
    }
    // The call's tensor maps go with it (a recording's are in its arena).
    std::lock_guard<std::mutex> guard(shared->lock);
    for (void *map : maps) {
      shared->emulator.untrack(map);
      host.pool.free(map);
    }
    return replayed;
  }

  /// Runs a call's list in order.
  void execute(const GpuCommands &list) {
    for (const GpuCommand &c : list.commands)
      switch (c.kind) {
      case GpuCommand::Kind::Launch: {
        std::lock_guard<std::mutex> guard(shared->lock);
        // --profile: the host's time emulating the kernel, in its op's
        // family (it exercises the path a GPU's profile takes, not a GPU's
        // time).
        const KernelRecord &record = records[c.kernel];
        timed(record.family, record.layer, [&] {
          std::vector<int64_t> words = c.words;
          if (llvm::Error e =
                  shared->emulator.launch(kernels[c.kernel], Dim3{c.grid[0], c.grid[1], c.grid[2]},
                                          Dim3{c.block[0], c.block[1], c.block[2]}, words.data(),
                                          int64_t(words.size()), c.sharedBytes))
            fault(std::move(e));
        });
        break;
      }
      case GpuCommand::Kind::Gemm:
        runGemm(c.gemm);
        break;
      case GpuCommand::Kind::Upload:
      case GpuCommand::Kind::Fill: {
        std::lock_guard<std::mutex> guard(shared->lock);
        bool upload = c.kind == GpuCommand::Kind::Upload;
        if (llvm::Error e = shared->emulator.checkSpan(
                c.device, c.bytes,
                std::string(upload ? "the target of an upload of " : "the target of a fill of ") +
                    std::to_string(c.bytes) + " bytes"))
          fault(std::move(e));
        if (upload)
          std::memcpy(reinterpret_cast<void *>(c.device), list.bytesOf(c), c.bytes);
        else
          std::memset(reinterpret_cast<void *>(c.device), int(c.value & 0xff), c.bytes);
        break;
      }
      case GpuCommand::Kind::Free: {
        void *block = reinterpret_cast<void *>(c.device);
        {
          std::lock_guard<std::mutex> guard(shared->lock);
          shared->emulator.untrack(block);
        }
        host.pool.free(block);
        break;
      }
      }
  }

  /// A tensor map in the emulator's format (abi/GpuLaunch.h), tracked as
  /// device memory until the call ends (recorded: with the recording); a map the hardware would
  /// refuse is a fault by name.
  int64_t tensorMap(int64_t base, int64_t rows, int64_t cols, int64_t rowBytes, int64_t boxRows,
                    int64_t boxCols, int64_t swizzle) {
    if (rows == 0 || cols == 0)
      return 0; // nothing to copy: no map (abi/Environment.h)
    if (rows < 0 || cols < 0 || rowBytes % 16 != 0 || rowBytes < cols * 2 || boxRows < 1 ||
        boxRows > 256 || boxCols < 1 || boxCols > 256 || swizzle < 0 || swizzle > 3 ||
        base % 16 != 0)
      fault(fail(llvm::formatv("a tensor map the hardware would refuse: {0} x {1} bf16 {2} "
                               "bytes apart at {3:x}, boxes {4} x {5}, swizzle {6}",
                               rows, cols, rowBytes, base, boxRows, boxCols, swizzle)
                     .str()));
    mtgr_emu_tensor_map m{};
    m.magic = MTGR_EMU_TENSOR_MAP_MAGIC;
    m.base = uint64_t(base);
    m.rows = rows, m.cols = cols, m.row_bytes = rowBytes;
    m.box_rows = int32_t(boxRows), m.box_cols = int32_t(boxCols);
    m.element_bytes = 2, m.swizzle = int32_t(swizzle);
    if (currentArena) { // recorded: written on the stream, a part of the work compared
      void *p = currentArena->allocate(sizeof m);
      currentList->upload(uint64_t(reinterpret_cast<uintptr_t>(p)), &m, sizeof m,
                          /*contentMatters=*/true);
      return int64_t(reinterpret_cast<uintptr_t>(p));
    }
    void *p = host.pool.allocate(64, sizeof m);
    std::memcpy(p, &m, sizeof m);
    std::lock_guard<std::mutex> guard(shared->lock);
    shared->emulator.track(p, sizeof m, "a tensor map");
    currentMaps->push_back(p);
    return int64_t(reinterpret_cast<uintptr_t>(p));
  }
  /// The calling thread's current call: its list, its recording's arena
  /// (or none), its tensor maps.
  static thread_local GpuCommands *currentList;
  static thread_local GpuArena *currentArena;
  static thread_local std::vector<void *> *currentMaps;

  /// --gemm=cublaslt code: the library's GEMM as a host GEMM, its operands
  /// checked against the device's buffers first.
  void runGemm(const GpuGemmCall &call) {
    std::lock_guard<std::mutex> guard(shared->lock);
    if (llvm::Error e = checkGemmCall(call))
      fault(std::move(e));
    for (auto [address, bytes, what] : {std::tuple{call.a, call.aBytes(), "A"},
                                        std::tuple{call.b, call.bBytes(), "B"},
                                        std::tuple{call.c, call.cBytes(), "C"}})
      if (llvm::Error e = shared->emulator.checkSpan(
              address, bytes,
              llvm::formatv("operand {0} of a GEMM {1} x {2} x {3} (A{4} lda {5}, B{6} ldb {7}, "
                            "ldc {8})",
                            what, call.m, call.n, call.k, call.transA ? "^T" : "", call.lda,
                            call.transB ? "^T" : "", call.ldb, call.ldc)
                  .str()))
        fault(std::move(e));
    timed(static_cast<int64_t>(ProfileFamily::Projections), -1, [&] { hostGemm(call); });
  }

  /// Runs `work`; with --profile its host time goes to `family` and `layer`.
  template <typename Work> void timed(int64_t family, int64_t layer, Work work) {
    if (!host.profile.timeKernels)
      return work();
    int64_t start = ProfileCounters::clock();
    work();
    host.profile.add(family, layer, ProfileCounters::clock() - start);
  }

  std::shared_ptr<Shared> shared;
  std::unique_ptr<HostCode> code;
  std::vector<Kernel> kernels;
  std::vector<KernelRecord> records; // the launch metadata, in table order
  HostEnvironment host;
  GpuHostBlocks hostBlocks;
};

thread_local GpuCommands *EmulatorExecutable::currentList = nullptr;
thread_local GpuArena *EmulatorExecutable::currentArena = nullptr;
thread_local std::vector<void *> *EmulatorExecutable::currentMaps = nullptr;

class EmulatorDevice final : public Device {
public:
  explicit EmulatorDevice(Schedule schedule) : shared(std::make_shared<Shared>(schedule)) {}

  llvm::StringRef name() const override { return "cuda-emu"; }

  llvm::Expected<std::unique_ptr<Executable>> load(const Artifact &artifact,
                                                   llvm::StringRef where) override {
    auto loaded = loadGpuHostCode(artifact, where, "the GPU emulator");
    if (!loaded)
      return loaded.takeError();
    auto *table = static_cast<void **>(loaded->code->symbol(MTGR_EMU_TABLE_SYMBOL));
    if (!table)
      return fail(where + ": the CUDA host code lacks the emulator's table (" +
                  MTGR_EMU_TABLE_SYMBOL + ")");
    // Code from before the warp operations has 17 fields, and says nothing.
    auto *fields = static_cast<const int64_t *>(loaded->code->symbol(MTGR_EMU_FIELDS_SYMBOL));
    int64_t count = fields ? *fields : MTGR_EMU_SHFL;
    if (count < MTGR_EMU_SHFL || count > MTGR_EMU_FIELDS)
      return fail(where + ": the emulated kernels expect " + std::to_string(count) +
                  " emulator functions, this runtime has " + std::to_string(MTGR_EMU_FIELDS) +
                  " (compiled by another mtgr version)");
    Emulator::fillTable(table, count);
    std::vector<Kernel> kernels;
    for (const mtgr_gpu_kernel *r = loaded->kernels; r->name; ++r) {
      Kernel k;
      k.name = r->name;
      k.run = r->run;
      k.params = r->params;
      k.barriers = r->barriers != 0;
      for (int64_t i = 0; i < r->shared_count; ++i)
        k.shared.push_back({r->shared[i].base, r->shared[i].bytes});
      if (!k.run || k.params < 0 || r->shared_count < 0)
        return fail(where + ": kernel '" + k.name + "' has a malformed table record");
      kernels.push_back(std::move(k));
    }
    return std::make_unique<EmulatorExecutable>(shared, std::move(loaded->code), std::move(kernels),
                                                std::move(loaded->metadata.kernels));
  }

  bool sharesHostMemory() const override { return false; }

  void *allocate(size_t bytes) override {
    size_t rounded = (bytes + 63) & ~size_t(63);
    void *p = std::aligned_alloc(64, rounded ? rounded : 64);
    std::memset(p, 0xff, rounded); // NaN until written
    std::lock_guard<std::mutex> guard(shared->lock);
    shared->emulator.track(p, bytes, "a device buffer");
    return p;
  }
  void release(void *buffer) override {
    {
      std::lock_guard<std::mutex> guard(shared->lock);
      shared->emulator.untrack(buffer);
    }
    std::free(buffer);
  }
  void copyToDevice(void *device, const void *host, size_t bytes) override {
    if (bytes)
      std::memcpy(device, host, bytes);
  }
  void copyToHost(void *host, const void *device, size_t bytes) override {
    if (bytes)
      std::memcpy(host, device, bytes);
  }
  void copyOnDevice(void *to, const void *from, size_t bytes) override {
    if (!bytes)
      return;
    std::lock_guard<std::mutex> guard(shared->lock);
    for (auto [address, what] :
         {std::pair{to, "the target"}, std::pair{const_cast<void *>(from), "the source"}})
      if (llvm::Error e = shared->emulator.checkSpan(
              uint64_t(reinterpret_cast<uintptr_t>(address)), uint64_t(bytes),
              std::string(what) + " of a copy of " + std::to_string(bytes) +
                  " bytes on the device"))
        fault(std::move(e));
    std::memcpy(to, from, bytes);
  }
  void synchronize() override {} // launches run when they are made

private:
  std::shared_ptr<Shared> shared;
};
} // namespace

std::unique_ptr<Device> mtgr::createEmulatorDevice(Schedule schedule) {
  return std::make_unique<EmulatorDevice>(schedule);
}
