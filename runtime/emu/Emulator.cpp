//===- Emulator.cpp - GPU kernels run on the host, thread by thread -------===//
#include "runtime/emu/Emulator.h"
#include "model/Error.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ucontext.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MTGR_EMU_ASAN 1
#include <sanitizer/common_interface_defs.h>
#endif
#endif

using namespace mtgr;
using namespace mtgr::emu;

std::optional<Schedule> mtgr::emu::scheduleNamed(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<Schedule>>(name)
      .Case("in-order", Schedule::InOrder)
      .Case("reverse", Schedule::Reverse)
      .Case("warp-ahead", Schedule::WarpAhead)
      .Default(std::nullopt);
}

llvm::StringRef mtgr::emu::scheduleName(Schedule s) {
  switch (s) {
  case Schedule::InOrder:
    return "in-order";
  case Schedule::Reverse:
    return "reverse";
  case Schedule::WarpAhead:
    return "warp-ahead";
  }
  return "?";
}

namespace {
constexpr int64_t kWarp = 32;
constexpr size_t kFiberStack = 256 << 10;
enum class State { Run, AtBarrier, AtWarpOp, AtMbarrier, Done };

/// A lane's warp operation while it waits for the others of its mask.
struct WarpOp {
  int32_t slot = 0, mode = 0; // MTGR_EMU_SHFL / VOTE / MMA / LDMATRIX and its mode
  uint32_t mask = 0, value = 0;
  int32_t b = 0, c = 0;
  uint64_t result = 0;
  // MMA and LDMATRIX: the lane's operands (MMA: A, B, C registers; LDMATRIX:
  // its row's address) and where its result registers go (its stack).
  const uint32_t *in = nullptr;
  void *address = nullptr;
  uint32_t *out = nullptr;
  const uint64_t *descriptors = nullptr; // wgmma: A's and B's
};

/// A thread's cp.async copies: the source bytes read at issue, written to
/// shared memory when a wait completes their group.
struct AsyncCopy {
  void *shared;
  std::vector<char> bytes;
};
struct AsyncCopies {
  std::vector<std::vector<AsyncCopy>> committed; // oldest group first
  std::vector<AsyncCopy> open;
};

struct Fiber {
  ucontext_t context;
  std::unique_ptr<char[]> stack;
  State state = State::Run;
};

/// Per byte of shared memory: who wrote and read it last, in which barrier
/// epoch (two threads touching a byte in one epoch, one of them writing, is
/// a race: nothing orders them); the writer's count of fence.proxy.async at
/// the write (the async proxy, wgmma, sees the byte once the writer fenced
/// after it); how many wgmma groups in flight read it (a write then is a
/// race with the tensor cores).
struct Shadow {
  int32_t writer = -1, writeEpoch = -1, reader = -1, readEpoch = -1;
  int32_t writeFence = 0, inflightReads = 0;
  // A TMA copy's byte: the mbarrier (window offset) whose phase
  // `asyncPhase` its transaction completes; a thread may touch it once it
  // saw that phase complete.
  int32_t asyncBarrier = -1, asyncPhase = 0;
};

/// An mbarrier object's state: arrivals a phase, arrivals and transaction
/// bytes still pending in the current phase, phases completed so far.
struct Mbarrier {
  int32_t expected = 0, pending = 0;
  int64_t tx = 0, completed = 0;
};

/// A warpgroup's committed wgmma groups still in flight: the shared bytes
/// each reads (oldest group first), and the reads of its open group.
struct WgmmaGroups {
  std::vector<std::pair<int64_t, std::vector<uint32_t>>> inflight; // (sequence, bytes)
  std::vector<uint32_t> open;
  int64_t committed = 0; // groups committed so far
};
} // namespace

struct Emulator::Block {
  Emulator *emulator = nullptr;
  const Kernel *kernel = nullptr;
  int64_t *params = nullptr;
  int64_t paramCount = 0;
  Dim3 grid, dims, id;
  int64_t threads = 0, current = 0;
  int32_t epoch = 0;
  std::vector<Fiber> fibers;
  std::vector<WarpOp> warpOps; // per thread
  std::vector<AsyncCopies> asyncCopies; // per thread
  // wgmma: per thread, its fence.proxy.async count, commits, whether it
  // fenced (wgmma.fence) since its last wait; per warpgroup, the groups.
  std::vector<int32_t> proxyFences;
  std::vector<int64_t> wgmmaCommits;
  std::vector<char> wgmmaFenced;
  std::vector<WgmmaGroups> wgmmaGroups;
  // mbarriers by window offset; per thread, the phases of each it saw
  // complete, and the one it waits at (offset, parity).
  std::map<uint32_t, Mbarrier> mbarriers;
  std::vector<std::map<uint32_t, int64_t>> observedPhases;
  std::vector<std::pair<uint32_t, int32_t>> mbarrierWaits;
  ucontext_t scheduler;
  std::vector<std::vector<Shadow>> shadows; // per shared region
  /// The launch's shared memory: the kernel's static regions, the first
  /// grown by the dynamic shared memory the launch asked for.
  std::vector<std::pair<void *, int64_t>> sharedRegions;
  std::string fault;
  alignas(64) char sink[1024];
#ifdef MTGR_EMU_ASAN
  const void *schedulerStack = nullptr;
  size_t schedulerStackSize = 0;
#endif

  int64_t tid(int d) const {
    return d == 0 ? current % dims.x : d == 1 ? current / dims.x % dims.y
                                              : current / (dims.x * dims.y);
  }
  std::string where() const {
    return llvm::formatv("kernel '{0}', block ({1}, {2}, {3}), thread ({4}, {5}, {6})",
                         kernel->name, id.x, id.y, id.z, tid(0), tid(1), tid(2))
        .str();
  }
  void report(const std::string &what) {
    if (fault.empty())
      fault = where() + ": " + what;
  }

  void *shared(void *p, int64_t bytes, bool write);
  void *global(void *p, int64_t bytes, bool write);
  void barrier();
  /// nanosleep (the random-delay build): the thread lets the block's other
  /// threads run on to their next wait or yield first.
  void yield();
  int32_t clockTicks = 0; // %clock: the block's reads so far
  uint64_t warpOp(const WarpOp &op);
  bool resolveWarpOps();
  /// The tensor-core results of a warp whose lanes all wait at one
  /// (lanes base .. base + 31); false after a fault.
  bool resolveMma(int64_t base, int32_t mode);
  bool resolveLdmatrix(int64_t base, int32_t mode);
  /// wgmma.mma_async of the warpgroup of threads base .. base + 127.
  bool resolveWgmma(int64_t base, int32_t mode);
  /// Resolves the warpgroup operations every thread of their warpgroup
  /// waits at; false after a fault. `released` says whether any ran.
  bool resolveWarpgroupOps(bool &released);
  void wgmmaSync(int32_t mode, int32_t n);
  /// The mbarrier at `p` (a shared pointer), or null after a fault.
  Mbarrier *mbarrierAt(void *p, uint32_t *offset, bool mustExist);
  void mbarrierInit(void *p, int32_t count);
  int64_t mbarrierArrive(void *p, int32_t tx);
  void mbarrierWait(void *p, int32_t parity);
  /// Completes the current phase of `bar` once nothing is pending.
  void mbarrierProgress(Mbarrier &bar);
  void tmaLoad2d(void *shared, void *bar, const void *map, int32_t c0, int32_t c1);
  /// Threads waiting at an mbarrier phase that completed go on; true if any.
  bool resolveMbarrierWaits();
  void cpAsync(void *sharedDst, void *globalSrc, int32_t bytes, int32_t sourceBytes);
  void cpAsyncCommit();
  void cpAsyncWait(int32_t newest);
  /// A thread leaves the kernel: its outstanding copies complete.
  void finishThread() { cpAsyncWait(-1); }
  void switchToScheduler(State s);
  llvm::Error run();
  llvm::Error runFibers();
};

namespace {
thread_local Emulator::Block *running = nullptr;

Emulator::Block &block() { return *running; }

int32_t tidX() { return block().tid(0); }
int32_t tidY() { return block().tid(1); }
int32_t tidZ() { return block().tid(2); }
int32_t ntidX() { return block().dims.x; }
int32_t ntidY() { return block().dims.y; }
int32_t ntidZ() { return block().dims.z; }
int32_t ctaidX() { return block().id.x; }
int32_t ctaidY() { return block().id.y; }
int32_t ctaidZ() { return block().id.z; }
int32_t nctaidX() { return block().grid.x; }
int32_t nctaidY() { return block().grid.y; }
int32_t nctaidZ() { return block().grid.z; }
int32_t laneId() { return block().current % kWarp; }
int32_t warpSize() { return kWarp; }
void barrierFn(int32_t) { block().barrier(); }
int32_t clockFn() { return ++block().clockTicks; }
// The delay's low bit picks the sleeps that yield: the random-delay build's
// hash makes that a pseudo-random half, so threads change order.
void nanosleepFn(int32_t ns) {
  if (ns & 1)
    block().yield();
}
int64_t shflFn(int32_t mode, int32_t mask, int32_t value, int32_t b, int32_t c) {
  return static_cast<int64_t>(block().warpOp(WarpOp{MTGR_EMU_SHFL, mode, uint32_t(mask),
                                                    uint32_t(value), b, c, 0}));
}
int32_t voteFn(int32_t mode, int32_t mask, int32_t pred) {
  return static_cast<int32_t>(
      block().warpOp(WarpOp{MTGR_EMU_VOTE, mode, uint32_t(mask), uint32_t(pred != 0), 0, 0, 0}));
}
void mmaFn(int32_t mode, const uint32_t *in, uint32_t *out) {
  WarpOp op{MTGR_EMU_MMA, mode, 0xffffffffu, 0, 0, 0, 0};
  op.in = in, op.out = out;
  block().warpOp(op);
}
void ldmatrixFn(int32_t mode, void *row, uint32_t *out) {
  WarpOp op{MTGR_EMU_LDMATRIX, mode, 0xffffffffu, 0, 0, 0, 0};
  op.address = row, op.out = out;
  block().warpOp(op);
}
void wgmmaFn(int32_t mode, const uint64_t *descriptors, const uint32_t *c, uint32_t *d) {
  WarpOp op{MTGR_EMU_WGMMA, mode, 0xffffffffu, 0, 0, 0, 0};
  op.in = c, op.out = d, op.descriptors = descriptors;
  block().warpOp(op);
}
void wgmmaSyncFn(int32_t mode, int32_t n) { block().wgmmaSync(mode, n); }
void fenceProxyAsyncFn() { ++block().proxyFences[block().current]; }
void mbarrierInitFn(void *bar, int32_t count) { block().mbarrierInit(bar, count); }
int64_t mbarrierArriveFn(void *bar, int32_t tx) { return block().mbarrierArrive(bar, tx); }
void mbarrierWaitFn(void *bar, int32_t parity) { block().mbarrierWait(bar, parity); }
void tmaLoad2dFn(void *shared, void *bar, const void *map, int32_t c0, int32_t c1) {
  block().tmaLoad2d(shared, bar, map, c0, c1);
}
void cpAsyncFn(void *shared, void *global, int32_t bytes, int32_t sourceBytes) {
  block().cpAsync(shared, global, bytes, sourceBytes);
}
void cpAsyncCommitFn() { block().cpAsyncCommit(); }
void cpAsyncWaitFn(int32_t n) { block().cpAsyncWait(n); }
void *sharedAccess(void *p, int64_t bytes, int32_t write) {
  return block().shared(p, bytes, write != 0);
}
void *globalAccess(void *p, int64_t bytes, int32_t write) {
  return block().global(p, bytes, write != 0);
}

void fiberMain() {
  Emulator::Block &b = block();
#ifdef MTGR_EMU_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &b.schedulerStack, &b.schedulerStackSize);
#endif
  if (b.kernel->run(b.params, b.paramCount) != 0)
    b.report("called with " + std::to_string(b.paramCount) + " parameter words, takes " +
             std::to_string(b.kernel->params));
  b.finishThread();
  b.switchToScheduler(State::Done);
}
} // namespace

void Emulator::fillTable(void **table, int64_t fields) {
  void *entries[MTGR_EMU_FIELDS] = {};
  entries[MTGR_EMU_TID_X] = reinterpret_cast<void *>(tidX);
  entries[MTGR_EMU_TID_Y] = reinterpret_cast<void *>(tidY);
  entries[MTGR_EMU_TID_Z] = reinterpret_cast<void *>(tidZ);
  entries[MTGR_EMU_NTID_X] = reinterpret_cast<void *>(ntidX);
  entries[MTGR_EMU_NTID_Y] = reinterpret_cast<void *>(ntidY);
  entries[MTGR_EMU_NTID_Z] = reinterpret_cast<void *>(ntidZ);
  entries[MTGR_EMU_CTAID_X] = reinterpret_cast<void *>(ctaidX);
  entries[MTGR_EMU_CTAID_Y] = reinterpret_cast<void *>(ctaidY);
  entries[MTGR_EMU_CTAID_Z] = reinterpret_cast<void *>(ctaidZ);
  entries[MTGR_EMU_NCTAID_X] = reinterpret_cast<void *>(nctaidX);
  entries[MTGR_EMU_NCTAID_Y] = reinterpret_cast<void *>(nctaidY);
  entries[MTGR_EMU_NCTAID_Z] = reinterpret_cast<void *>(nctaidZ);
  entries[MTGR_EMU_LANEID] = reinterpret_cast<void *>(laneId);
  entries[MTGR_EMU_WARPSIZE] = reinterpret_cast<void *>(warpSize);
  entries[MTGR_EMU_BARRIER] = reinterpret_cast<void *>(barrierFn);
  entries[MTGR_EMU_CLOCK] = reinterpret_cast<void *>(clockFn);
  entries[MTGR_EMU_NANOSLEEP] = reinterpret_cast<void *>(nanosleepFn);
  entries[MTGR_EMU_SHARED_ACCESS] = reinterpret_cast<void *>(sharedAccess);
  entries[MTGR_EMU_GLOBAL_ACCESS] = reinterpret_cast<void *>(globalAccess);
  entries[MTGR_EMU_SHFL] = reinterpret_cast<void *>(shflFn);
  entries[MTGR_EMU_VOTE] = reinterpret_cast<void *>(voteFn);
  entries[MTGR_EMU_MMA] = reinterpret_cast<void *>(mmaFn);
  entries[MTGR_EMU_LDMATRIX] = reinterpret_cast<void *>(ldmatrixFn);
  entries[MTGR_EMU_CP_ASYNC] = reinterpret_cast<void *>(cpAsyncFn);
  entries[MTGR_EMU_CP_ASYNC_COMMIT] = reinterpret_cast<void *>(cpAsyncCommitFn);
  entries[MTGR_EMU_CP_ASYNC_WAIT] = reinterpret_cast<void *>(cpAsyncWaitFn);
  entries[MTGR_EMU_WGMMA] = reinterpret_cast<void *>(wgmmaFn);
  entries[MTGR_EMU_WGMMA_SYNC] = reinterpret_cast<void *>(wgmmaSyncFn);
  entries[MTGR_EMU_FENCE_PROXY_ASYNC] = reinterpret_cast<void *>(fenceProxyAsyncFn);
  entries[MTGR_EMU_MBARRIER_INIT] = reinterpret_cast<void *>(mbarrierInitFn);
  entries[MTGR_EMU_MBARRIER_ARRIVE] = reinterpret_cast<void *>(mbarrierArriveFn);
  entries[MTGR_EMU_MBARRIER_WAIT] = reinterpret_cast<void *>(mbarrierWaitFn);
  entries[MTGR_EMU_TMA_LOAD_2D] = reinterpret_cast<void *>(tmaLoad2dFn);
  std::copy(std::begin(entries), std::begin(entries) + std::min<int64_t>(fields, MTGR_EMU_FIELDS),
            table);
}

Emulator::Emulator(Schedule schedule) : order(schedule) {}
Emulator::~Emulator() = default;

void Emulator::track(const void *base, size_t bytes, std::string what) {
  auto p = reinterpret_cast<uintptr_t>(base);
  regions[p] = {p + bytes, std::move(what)};
}

void Emulator::untrack(const void *base) { regions.erase(reinterpret_cast<uintptr_t>(base)); }

const std::pair<uintptr_t, std::string> *Emulator::regionOf(uintptr_t p, uintptr_t end) const {
  auto it = regions.upper_bound(p);
  if (it == regions.begin())
    return nullptr;
  --it;
  return end <= it->second.first ? &it->second : nullptr;
}

llvm::Error Emulator::checkSpan(uint64_t address, uint64_t bytes, const std::string &what) const {
  if (bytes == 0 || regionOf(address, address + bytes))
    return llvm::Error::success();
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 llvm::formatv("{0}: {1} bytes at {2:x} are not inside one device "
                                               "buffer",
                                               what, bytes, address));
}

void *Emulator::Block::shared(void *p, int64_t bytes, bool write) {
  auto a = reinterpret_cast<uintptr_t>(p);
  for (size_t r = 0; r < sharedRegions.size(); ++r) {
    auto base = reinterpret_cast<uintptr_t>(sharedRegions[r].first);
    auto size = static_cast<uintptr_t>(sharedRegions[r].second);
    if (a < base || a + bytes > base + size)
      continue;
    auto me = static_cast<int32_t>(current);
    for (int64_t i = 0; i < bytes; ++i) {
      Shadow &s = shadows[r][a - base + i];
      const char *race = nullptr;
      int32_t other = -1;
      if (s.writeEpoch == epoch && s.writer != me)
        race = write ? "write after another thread's write" : "read of another thread's write",
        other = s.writer;
      else if (write && s.readEpoch == epoch && s.reader != me)
        race = "write after another thread's read", other = s.reader;
      if (race) {
        report(llvm::formatv("shared-memory race: {0} (thread {1}) at byte {2} of shared "
                             "buffer {3}, with no barrier between",
                             race, other, a - base + i, r)
                   .str());
        break;
      }
      if (s.asyncBarrier >= 0 && observedPhases[me][uint32_t(s.asyncBarrier)] <= s.asyncPhase) {
        report(llvm::formatv("shared-memory race: a {0} of byte {1} of shared buffer {2}, which "
                             "a TMA copy writes, before the thread saw phase {3} of the "
                             "mbarrier at byte {4} complete",
                             write ? "write" : "read", a - base + i, r, s.asyncPhase,
                             s.asyncBarrier)
                   .str());
        break;
      }
      if (write)
        s.asyncBarrier = -1;
      if (write && s.inflightReads > 0) {
        report(llvm::formatv("shared-memory race: a write to byte {0} of shared buffer {1}, "
                             "which a wgmma in flight reads (no wgmma.wait_group retired it)",
                             a - base + i, r)
                   .str());
        break;
      }
      if (write)
        s.writer = me, s.writeEpoch = epoch, s.writeFence = proxyFences[me];
      else
        s.reader = me, s.readEpoch = epoch;
    }
    return p;
  }
  report(llvm::formatv("{0} of {1} bytes at {2} outside the kernel's shared memory",
                       write ? "write" : "read", bytes, p)
             .str());
  std::memset(sink, 0xff, sizeof sink);
  return sink;
}

void *Emulator::Block::global(void *p, int64_t bytes, bool write) {
  auto a = reinterpret_cast<uintptr_t>(p);
  if (emulator->regionOf(a, a + bytes))
    return p;
  // A generic pointer into shared memory.
  for (const auto &[base, size] : sharedRegions)
    if (a >= reinterpret_cast<uintptr_t>(base) &&
        a + bytes <= reinterpret_cast<uintptr_t>(base) + size)
      return shared(p, bytes, write);
  std::string nearest;
  auto it = emulator->regions.upper_bound(a);
  if (it != emulator->regions.begin()) {
    --it;
    nearest = llvm::formatv(" ({0} bytes past the end of '{1}', {2} bytes long)",
                            a + bytes - it->second.first, it->second.second,
                            it->second.first - it->first)
                  .str();
  }
  report(llvm::formatv("out-of-bounds {0} of {1} bytes at {2}{3}", write ? "write" : "read",
                       bytes, p, nearest)
             .str());
  std::memset(sink, 0xff, sizeof sink);
  return sink;
}

void Emulator::Block::switchToScheduler(State s) {
  Fiber &f = fibers[current];
  f.state = s;
#ifdef MTGR_EMU_ASAN
  void *fake = nullptr;
  __sanitizer_start_switch_fiber(s == State::Done ? nullptr : &fake, schedulerStack,
                                 schedulerStackSize);
#endif
  swapcontext(&f.context, &scheduler);
#ifdef MTGR_EMU_ASAN
  __sanitizer_finish_switch_fiber(fake, &schedulerStack, &schedulerStackSize);
#endif
}

void Emulator::Block::barrier() {
  if (!kernel->barriers) {
    report("a barrier in a kernel its trampolines say has none (an emulator retarget bug)");
    return;
  }
  switchToScheduler(State::AtBarrier);
}

void Emulator::Block::yield() {
  if (!kernel->barriers) {
    report("a nanosleep in a kernel its trampolines say has none (an emulator retarget bug)");
    return;
  }
  switchToScheduler(State::Run);
}

uint64_t Emulator::Block::warpOp(const WarpOp &op) {
  if (!kernel->barriers) {
    report("a warp operation in a kernel its trampolines say has none (an emulator retarget bug)");
    return 0;
  }
  warpOps[current] = op;
  switchToScheduler(State::AtWarpOp);
  return warpOps[current].result;
}

/// After a sweep (every lane blocked): each warp whose lanes wait at a warp
/// operation gets its results, when every lane of the mask is there with
/// the same operation and mask (PTX: undefined otherwise, reported here).
/// Returns whether any lane was released.
bool Emulator::Block::resolveWarpOps() {
  bool released = false;
  for (int64_t base = 0; base < threads && fault.empty(); base += kWarp) {
    int64_t end = std::min(threads, base + kWarp);
    int64_t first = -1;
    for (int64_t t = base; t < end && first < 0; ++t)
      if (fibers[t].state == State::AtWarpOp)
        first = t;
    if (first < 0)
      continue;
    const WarpOp &op = warpOps[first];
    for (int64_t lane = 0; lane < kWarp; ++lane) {
      bool inMask = (op.mask >> lane) & 1;
      int64_t t = base + lane;
      if (!inMask)
        continue;
      const char *what = nullptr;
      if (t >= end)
        what = "is not in the block";
      else if (fibers[t].state != State::AtWarpOp)
        what = fibers[t].state == State::Done         ? "left the kernel"
               : fibers[t].state == State::AtMbarrier ? "waits at an mbarrier"
                                                      : "waits at a block barrier";
      else if (warpOps[t].slot != op.slot || warpOps[t].mode != op.mode ||
               warpOps[t].mask != op.mask)
        what = "is at another warp operation or with another mask";
      if (what) {
        current = first;
        report(llvm::formatv("warp divergence: lane {0} of the warp's mask {1:x8} {2}, while "
                             "lane {3} waits at a {4}",
                             lane, op.mask, what, first - base,
                             op.slot == MTGR_EMU_SHFL       ? "shuffle"
                             : op.slot == MTGR_EMU_MMA      ? "mma.sync"
                             : op.slot == MTGR_EMU_WGMMA    ? "wgmma.mma_async"
                             : op.slot == MTGR_EMU_LDMATRIX ? "ldmatrix"
                                                            : "vote or warp sync")
                   .str());
        return false;
      }
    }
    if (op.slot == MTGR_EMU_WGMMA)
      continue; // a warpgroup operation: resolveWarpgroupOps
    if (op.slot == MTGR_EMU_MMA || op.slot == MTGR_EMU_LDMATRIX) {
      if (!(op.slot == MTGR_EMU_MMA ? resolveMma(base, op.mode) : resolveLdmatrix(base, op.mode)))
        return false;
      for (int64_t t = base; t < end; ++t)
        fibers[t].state = State::Run;
      released = true;
      continue;
    }
    for (int64_t lane = 0; lane < kWarp && base + lane < end; ++lane) {
      int64_t t = base + lane;
      if (!((op.mask >> lane) & 1))
        continue;
      WarpOp &mine = warpOps[t];
      if (op.slot == MTGR_EMU_VOTE) {
        uint32_t ballot = 0;
        for (int64_t l = 0; l < kWarp && base + l < end; ++l)
          if ((op.mask >> l) & 1 && warpOps[base + l].value)
            ballot |= 1u << l;
        bool all = ballot == op.mask, any = ballot != 0;
        mine.result = op.mode == 0 ? all : op.mode == 1 ? any : op.mode == 2 ? (all || !any)
                                                          : op.mode == 3 ? ballot : 0;
      } else {
        // PTX shfl.sync: c holds the clamp (bits 0-4) and segment mask
        // (bits 8-12); a source outside the segment yields the lane's own
        // value and a false predicate.
        int32_t clamp = mine.c & 31, segment = (mine.c >> 8) & 31;
        int32_t maxLane = (int32_t(lane) & segment) | (clamp & ~segment);
        int32_t minLane = int32_t(lane) & segment;
        int32_t j = 0;
        bool valid = false;
        switch (mine.mode) {
        case 0: j = minLane | (mine.b & ~segment & 31); valid = j <= maxLane; break;
        case 1: j = int32_t(lane) - mine.b; valid = j >= maxLane; break;
        case 2: j = int32_t(lane) + mine.b; valid = j <= maxLane; break;
        default: j = int32_t(lane) ^ mine.b; valid = j <= maxLane; break;
        }
        if (!valid)
          j = int32_t(lane);
        if (!((op.mask >> j) & 1) || base + j >= end) {
          current = t;
          report(llvm::formatv("a shuffle reads lane {0}, which is not in the mask {1:x8}", j,
                               op.mask)
                     .str());
          return false;
        }
        mine.result = uint64_t(warpOps[base + j].value) | (uint64_t(valid) << 32);
      }
      fibers[t].state = State::Run;
      released = true;
    }
  }
  if (fault.empty() && !resolveWarpgroupOps(released))
    return false;
  return released;
}

bool Emulator::Block::resolveWarpgroupOps(bool &released) {
  constexpr int64_t kGroup = 4 * kWarp;
  for (int64_t base = 0; base < threads; base += kGroup) {
    int64_t first = -1;
    bool pending = false, divergent = false;
    for (int64_t t = base; t < base + kGroup && t < threads; ++t) {
      if (fibers[t].state == State::AtWarpOp && warpOps[t].slot == MTGR_EMU_WGMMA) {
        if (first < 0)
          first = t;
      } else if (fibers[t].state == State::Run) {
        pending = true; // released this round: it may still get there
      } else {
        divergent = true;
      }
    }
    if (first < 0 || pending)
      continue;
    current = first;
    if (base + kGroup > threads) {
      report("a wgmma in a block whose threads do not fill the warpgroup (" +
             std::to_string(threads) + " threads)");
      return false;
    }
    for (int64_t t = base; t < base + kGroup && !divergent; ++t)
      divergent = warpOps[t].mode != warpOps[first].mode ||
                  warpOps[t].descriptors[0] != warpOps[first].descriptors[0] ||
                  warpOps[t].descriptors[1] != warpOps[first].descriptors[1];
    if (divergent) {
      report("warpgroup divergence: a thread of the warpgroup of threads " + std::to_string(base) +
             " .. " + std::to_string(base + kGroup - 1) +
             " is not at the same wgmma.mma_async (same shape and descriptors)");
      return false;
    }
    if (!resolveWgmma(base, warpOps[first].mode))
      return false;
    for (int64_t t = base; t < base + kGroup; ++t)
      fibers[t].state = State::Run;
    released = true;
  }
  return true;
}

namespace {
float bf16ToFloat(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
float f16ToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h >> 15) << 31, exponent = (h >> 10) & 31, mantissa = h & 1023;
  uint32_t bits;
  if (exponent == 31) { // inf, NaN
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else { // zero and subnormals: mantissa x 2^-24
    float f = std::ldexp(float(mantissa), -24);
    std::memcpy(&bits, &f, 4);
    bits |= sign;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
} // namespace

/// mma.sync.aligned.m16n8k16.row.col.f32.{bf16,f16}.{bf16,f16}.f32 by the
/// PTX ISA's fragment tables: lane = 4 g + t holds A rows g and g + 8 at
/// columns 2t, 2t + 1 (registers 0, 1) and 2t + 8, 2t + 9 (registers 2, 3),
/// B rows (k) 2t, 2t + 1 and 2t + 8, 2t + 9 of column g, and C / D rows g
/// and g + 8 at columns 2t, 2t + 1; the lower half of a register is the
/// lower index. Products summed in double, rounded once to f32.
namespace {
/// Where accumulator register i (C and D) of `lane` sits in the 16 x 8 tile.
std::pair<int, int> accumulatorAt(int lane, int i) {
  return {lane / 4 + (i >> 1) * 8, 2 * (lane % 4) + (i & 1)};
}
} // namespace

bool Emulator::Block::resolveMma(int64_t base, int32_t mode) {
  if (mode != 0 && mode != 1) {
    current = base;
    report("an mma.sync of an unknown mode " + std::to_string(mode));
    return false;
  }
  float a[16][16], b[16][8], c[16][8];
  auto half = [&](uint32_t reg, int which) {
    uint16_t h = uint16_t(which ? reg >> 16 : reg & 0xffff);
    return mode == 0 ? bf16ToFloat(h) : f16ToFloat(h);
  };
  for (int lane = 0; lane < kWarp; ++lane) {
    const uint32_t *in = warpOps[base + lane].in;
    int g = lane / 4, t = lane % 4;
    for (int r = 0; r < 4; ++r) {
      int row = g + (r & 1) * 8, col = 2 * t + (r >> 1) * 8;
      a[row][col] = half(in[r], 0);
      a[row][col + 1] = half(in[r], 1);
    }
    for (int r = 0; r < 2; ++r) {
      b[2 * t + r * 8][g] = half(in[4 + r], 0);
      b[2 * t + r * 8 + 1][g] = half(in[4 + r], 1);
    }
    for (int i = 0; i < 4; ++i) {
      auto [row, col] = accumulatorAt(lane, i);
      std::memcpy(&c[row][col], &in[6 + i], 4);
    }
  }
  for (int lane = 0; lane < kWarp; ++lane) {
    for (int i = 0; i < 4; ++i) {
      auto [row, col] = accumulatorAt(lane, i);
      double sum = c[row][col];
      for (int k = 0; k < 16; ++k)
        sum += double(a[row][k]) * double(b[k][col]);
      float d = float(sum);
      std::memcpy(&warpOps[base + lane].out[i], &d, 4);
    }
  }
  return true;
}

/// ldmatrix.sync.aligned.m8n8.x{1,2,4}[.trans].shared.b16: lanes 8i .. 8i + 7
/// give the rows of matrix i (16 bytes each, checked as shared-memory
/// reads by the lane that gives them); lane 4 g + t receives, per matrix,
/// row g's elements 2t and 2t + 1 (.trans: column g's).
bool Emulator::Block::resolveLdmatrix(int64_t base, int32_t mode) {
  int matrices = mode & 15;
  bool trans = (mode & 16) != 0;
  if (matrices != 1 && matrices != 2 && matrices != 4) {
    current = base;
    report("an ldmatrix of " + std::to_string(matrices) + " matrices");
    return false;
  }
  uint16_t m[4][8][8];
  int64_t saved = current;
  for (int i = 0; i < matrices; ++i)
    for (int row = 0; row < 8; ++row) {
      current = base + 8 * i + row;
      void *at = shared(warpOps[current].address, 16, false);
      std::memcpy(m[i][row], at, 16);
    }
  current = saved;
  if (!fault.empty())
    return false;
  for (int lane = 0; lane < kWarp; ++lane) {
    int g = lane / 4, t = lane % 4;
    for (int i = 0; i < matrices; ++i) {
      uint16_t lo = trans ? m[i][2 * t][g] : m[i][g][2 * t];
      uint16_t hi = trans ? m[i][2 * t + 1][g] : m[i][g][2 * t + 1];
      warpOps[base + lane].out[i] = uint32_t(lo) | (uint32_t(hi) << 16);
    }
  }
  return true;
}

/// wgmma.mma_async.sync.aligned.m64nNk16.f32.{bf16,f16} with A and B in
/// shared memory, by the PTX ISA's matrix descriptors (bits 0-13 start
/// address >> 4, 16-29 leading-dimension byte offset >> 4, 32-45 stride
/// byte offset >> 4, 49-51 base offset, 62-63 swizzle: 0 none, 1 128-byte,
/// 2 64-byte, 3 32-byte) over the K-major canonical layouts: without
/// swizzle, 8 x 8 core matrices of 8 rows of 16 bytes, LBO apart along K
/// and SBO apart along M / N; swizzled, rows of W = 128, 64 or 32 bytes, 8
/// rows an atom, atoms SBO apart, and the 16-byte chunk bits 4.. of each
/// address XORed with its bits 7.. (W / 16 patterns). Addresses are offsets
/// in the shared window (the kernel's arena). D's fragment: thread 32 w +
/// 4 g + t holds, per 8 columns j, rows 16 w + g and 16 w + g + 8 at
/// columns 8 j + 2 t, 8 j + 2 t + 1 (registers 4 j .. 4 j + 3).
bool Emulator::Block::resolveWgmma(int64_t base, int32_t mode) {
  int n = mode & 1023;
  bool accumulate = (mode >> 10) & 1, f16 = (mode >> 13) & 1;
  if ((mode >> 11) & 3) {
    report("a wgmma with a transposed (M- or N-major) operand, which the emulator does not "
           "know yet");
    return false;
  }
  if (sharedRegions.size() != 1) {
    report("a wgmma in a kernel without one shared-memory arena (an emulator retarget bug)");
    return false;
  }
  auto *window = static_cast<char *>(sharedRegions[0].first);
  int64_t windowBytes = sharedRegions[0].second;
  WgmmaGroups &groups = wgmmaGroups[base / (4 * kWarp)];
  auto operand = [&](uint64_t d, int rows, std::vector<float> &out) {
    uint64_t start = (d & 0x3fff) << 4, lbo = ((d >> 16) & 0x3fff) << 4,
             sbo = ((d >> 32) & 0x3fff) << 4;
    int swizzle = int(d >> 62), baseOffset = int((d >> 49) & 7);
    if (baseOffset != 0) {
      report("a wgmma descriptor with a base offset, which the emulator does not know yet");
      return false;
    }
    uint64_t width = swizzle == 0 ? 0 : 256 >> swizzle; // 128, 64, 32
    out.assign(size_t(rows) * 16, 0.0f);
    for (int i = 0; i < rows; ++i)
      for (int k = 0; k < 16; ++k) {
        uint64_t at;
        if (swizzle == 0) {
          at = start + (i / 8) * sbo + (i % 8) * 16 + (k / 8) * lbo + (k % 8) * 2;
        } else {
          at = start + (i / 8) * sbo + (i % 8) * width + k * 2;
          at ^= ((at >> 7) & (width / 16 - 1)) << 4;
        }
        if (at + 2 > uint64_t(windowBytes)) {
          report(llvm::formatv("a wgmma reads bytes {0} .. {1} of shared memory, which has {2}", at,
                               at + 1, windowBytes)
                     .str());
          return false;
        }
        Shadow &s0 = shadows[0][at];
        if (s0.asyncBarrier >= 0 &&
            observedPhases[base][uint32_t(s0.asyncBarrier)] <= s0.asyncPhase) {
          report(llvm::formatv("a wgmma reads byte {0} of shared memory, which a TMA copy "
                               "writes, before the warpgroup saw phase {1} of the mbarrier at "
                               "byte {2} complete",
                               at, s0.asyncPhase, s0.asyncBarrier)
                     .str());
          return false;
        }
        if (s0.writer >= 0 && s0.writeFence == proxyFences[s0.writer]) {
          report(llvm::formatv("a wgmma reads byte {0} of shared memory, which thread {1} wrote "
                               "with no fence.proxy.async after the write",
                               at, s0.writer)
                     .str());
          return false;
        }
        uint16_t h;
        std::memcpy(&h, shared(window + at, 2, false), 2);
        out[size_t(i) * 16 + k] = f16 ? f16ToFloat(h) : bf16ToFloat(h);
        groups.open.push_back(uint32_t(at));
        groups.open.push_back(uint32_t(at + 1));
        ++shadows[0][at].inflightReads;
        ++shadows[0][at + 1].inflightReads;
      }
    return fault.empty();
  };
  std::vector<float> a, b;
  current = base;
  if (!operand(warpOps[base].descriptors[0], 64, a) || !operand(warpOps[base].descriptors[1], n, b))
    return false;
  for (int64_t t = base; t < base + 4 * kWarp; ++t) {
    int w = int(t - base) / kWarp, lane = int(t - base) % kWarp;
    if (!wgmmaFenced[t]) {
      current = t;
      report("a wgmma.mma_async with no wgmma.fence since the thread's last wgmma.wait_group "
             "(its accumulators may still be in use)");
      return false;
    }
    for (int j = 0; j < n / 8; ++j)
      for (int i = 0; i < 4; ++i) {
        auto [row, col] = accumulatorAt(lane, i);
        row += 16 * w, col += 8 * j;
        float c;
        std::memcpy(&c, &warpOps[t].in[4 * j + i], 4);
        double sum = accumulate ? c : 0.0;
        for (int k = 0; k < 16; ++k)
          sum += double(a[size_t(row) * 16 + k]) * double(b[size_t(col) * 16 + k]);
        float d = float(sum);
        std::memcpy(&warpOps[t].out[4 * j + i], &d, 4);
      }
  }
  return true;
}

void Emulator::Block::wgmmaSync(int32_t mode, int32_t n) {
  if (!kernel->barriers) {
    report("a wgmma operation in a kernel its trampolines say has none (an emulator retarget bug)");
    return;
  }
  WgmmaGroups &groups = wgmmaGroups[current / (4 * kWarp)];
  if (mode == 0) {
    wgmmaFenced[current] = 1;
  } else if (mode == 1) {
    // The warpgroup's open reads become a group when its first thread
    // commits (every thread commits the same groups).
    if (++wgmmaCommits[current] > groups.committed) {
      groups.inflight.push_back({groups.committed, std::move(groups.open)});
      groups.open.clear();
      groups.committed = wgmmaCommits[current];
    }
  } else {
    // Groups older than the thread's n newest are complete: their reads of
    // shared memory are over.
    int64_t done = wgmmaCommits[current] - n;
    while (!groups.inflight.empty() && groups.inflight.front().first < done) {
      for (uint32_t at : groups.inflight.front().second)
        --shadows[0][at].inflightReads;
      groups.inflight.erase(groups.inflight.begin());
    }
    wgmmaFenced[current] = 0;
  }
}

Mbarrier *Emulator::Block::mbarrierAt(void *p, uint32_t *offset, bool mustExist) {
  auto *window = sharedRegions.empty() ? nullptr : static_cast<char *>(sharedRegions[0].first);
  auto *at = static_cast<char *>(p);
  if (!window || at < window || at + 8 > window + sharedRegions[0].second ||
      (at - window) % 8 != 0) {
    report(llvm::formatv("an mbarrier at {0}, not 8 aligned bytes of the shared window", p).str());
    return nullptr;
  }
  *offset = uint32_t(at - window);
  auto it = mbarriers.find(*offset);
  if (it == mbarriers.end() && mustExist) {
    report(llvm::formatv("an mbarrier at byte {0} of shared memory that no mbarrier.init "
                         "initialised",
                         *offset)
               .str());
    return nullptr;
  }
  return &mbarriers[*offset];
}

void Emulator::Block::mbarrierInit(void *p, int32_t count) {
  uint32_t offset;
  Mbarrier *bar = mbarrierAt(p, &offset, false);
  if (!bar)
    return;
  if (count < 1) {
    report("an mbarrier.init with a count of " + std::to_string(count));
    return;
  }
  *bar = Mbarrier{count, count, 0, 0};
}

void Emulator::Block::mbarrierProgress(Mbarrier &bar) {
  if (bar.pending == 0 && bar.tx == 0) {
    ++bar.completed;
    bar.pending = bar.expected;
  }
}

int64_t Emulator::Block::mbarrierArrive(void *p, int32_t tx) {
  uint32_t offset;
  Mbarrier *bar = mbarrierAt(p, &offset, true);
  if (!bar)
    return 0;
  if (bar->pending <= 0) {
    report(llvm::formatv("more arrivals than the {0} the mbarrier at byte {1} counts",
                         bar->expected, offset)
               .str());
    return 0;
  }
  int64_t phase = bar->completed;
  bar->tx += tx;
  --bar->pending;
  mbarrierProgress(*bar);
  return phase;
}

void Emulator::Block::mbarrierWait(void *p, int32_t parity) {
  if (!kernel->barriers) {
    report("an mbarrier wait in a kernel its trampolines say has none (an emulator retarget "
           "bug)");
    return;
  }
  uint32_t offset;
  Mbarrier *bar = mbarrierAt(p, &offset, true);
  if (!bar)
    return;
  // The phase of that parity has completed once the phase in progress has
  // the other parity.
  if (bar->completed % 2 == (parity & 1)) {
    mbarrierWaits[current] = {offset, parity & 1};
    switchToScheduler(State::AtMbarrier);
    bar = &mbarriers[offset];
  }
  int64_t &seen = observedPhases[current][offset];
  seen = std::max(seen, bar->completed);
}

bool Emulator::Block::resolveMbarrierWaits() {
  bool released = false;
  for (int64_t t = 0; t < threads; ++t)
    if (fibers[t].state == State::AtMbarrier) {
      auto [offset, parity] = mbarrierWaits[t];
      if (mbarriers[offset].completed % 2 != parity) {
        fibers[t].state = State::Run;
        released = true;
      }
    }
  return released;
}

void Emulator::Block::tmaLoad2d(void *sharedDst, void *barPointer, const void *mapPointer,
                                int32_t c0, int32_t c1) {
  uint32_t barOffset;
  Mbarrier *bar = mbarrierAt(barPointer, &barOffset, true);
  if (!bar)
    return;
  mtgr_emu_tensor_map map;
  std::memcpy(&map, global(const_cast<void *>(mapPointer), sizeof map, false), sizeof map);
  if (!fault.empty())
    return;
  int64_t rowBytes = int64_t(map.box_cols) * map.element_bytes;
  int64_t swizzleBytes = map.swizzle == 0 ? 0 : int64_t(16) << map.swizzle;
  if (map.magic != MTGR_EMU_TENSOR_MAP_MAGIC || map.box_rows < 1 || map.box_cols < 1 ||
      map.box_rows > 256 || map.box_cols > 256 ||
      (map.element_bytes != 1 && map.element_bytes != 2 && map.element_bytes != 4) ||
      map.swizzle < 0 || map.swizzle > 3 || (swizzleBytes && rowBytes != swizzleBytes) ||
      rowBytes % 16 != 0) {
    report("a TMA copy through a tensor map the emulator does not know (not made by the "
           "runtime, or a box it does not take)");
    return;
  }
  auto *window = static_cast<char *>(sharedRegions[0].first);
  auto *dst = static_cast<char *>(sharedDst);
  int64_t boxBytes = rowBytes * map.box_rows;
  if (dst < window || dst + boxBytes > window + sharedRegions[0].second ||
      (dst - window) % 128 != 0) {
    report(llvm::formatv("a TMA copy of {0} bytes to {1}, not 128-aligned bytes of the shared "
                         "window",
                         boxBytes, sharedDst)
               .str());
    return;
  }
  std::vector<char> element(map.element_bytes);
  for (int32_t r = 0; r < map.box_rows; ++r)
    for (int32_t c = 0; c < map.box_cols; ++c) {
      int64_t gr = int64_t(c1) + r, gc = int64_t(c0) + c;
      std::fill(element.begin(), element.end(), 0);
      if (gr >= 0 && gr < map.rows && gc >= 0 && gc < map.cols)
        std::memcpy(
            element.data(),
            global(reinterpret_cast<void *>(map.base + gr * map.row_bytes + gc * map.element_bytes),
                   map.element_bytes, false),
            map.element_bytes);
      uint64_t at = uint64_t(dst - window) + r * rowBytes + int64_t(c) * map.element_bytes;
      if (swizzleBytes)
        at ^= ((at >> 7) & uint64_t(swizzleBytes / 16 - 1)) << 4;
      for (int32_t i = 0; i < map.element_bytes; ++i) {
        Shadow &sh = shadows[0][at + i];
        if (sh.inflightReads > 0) {
          report(llvm::formatv("shared-memory race: a TMA copy into byte {0}, which a wgmma "
                               "in flight reads",
                               at + i)
                     .str());
          return;
        }
        sh.asyncBarrier = int32_t(barOffset);
        sh.asyncPhase = int32_t(bar->completed);
        sh.writer = -1;
      }
      std::memcpy(window + at, element.data(), map.element_bytes);
    }
  bar->tx -= boxBytes;
  mbarrierProgress(*bar);
}

void Emulator::Block::cpAsync(void *sharedDst, void *globalSrc, int32_t bytes,
                              int32_t sourceBytes) {
  if ((bytes != 4 && bytes != 8 && bytes != 16) || sourceBytes < 0 || sourceBytes > bytes) {
    report("a cp.async of " + std::to_string(bytes) + " bytes from " +
           std::to_string(sourceBytes) + " source bytes");
    return;
  }
  if (reinterpret_cast<uintptr_t>(sharedDst) % bytes || reinterpret_cast<uintptr_t>(globalSrc) % bytes) {
    report("a cp.async of " + std::to_string(bytes) + " bytes between addresses not aligned to it");
    return;
  }
  // The copy may land any time until its wait: its bytes must not be what
  // a wgmma in flight reads from now on.
  auto *window = sharedRegions.empty() ? nullptr : static_cast<char *>(sharedRegions[0].first);
  auto *dst = static_cast<char *>(sharedDst);
  if (window && dst >= window && dst + bytes <= window + sharedRegions[0].second)
    for (int32_t i = 0; i < bytes; ++i)
      if (shadows[0][dst - window + i].inflightReads > 0) {
        report(llvm::formatv("shared-memory race: a cp.async into byte {0} of shared memory, "
                             "which a wgmma in flight reads (no wgmma.wait_group retired it)",
                             dst - window + i)
                   .str());
        return;
      }
  AsyncCopy copy{sharedDst, std::vector<char>(bytes, 0)};
  if (sourceBytes > 0)
    std::memcpy(copy.bytes.data(), global(globalSrc, sourceBytes, false), sourceBytes);
  asyncCopies[current].open.push_back(std::move(copy));
}

void Emulator::Block::cpAsyncCommit() {
  AsyncCopies &mine = asyncCopies[current];
  mine.committed.push_back(std::move(mine.open));
  mine.open.clear();
}

void Emulator::Block::cpAsyncWait(int32_t newest) {
  AsyncCopies &mine = asyncCopies[current];
  if (newest < 0)
    cpAsyncCommit(); // wait_all: the open group too
  size_t keep = newest < 0 ? 0 : size_t(newest);
  while (mine.committed.size() > keep) {
    for (AsyncCopy &copy : mine.committed.front())
      std::memcpy(shared(copy.shared, int64_t(copy.bytes.size()), true), copy.bytes.data(),
                  copy.bytes.size());
    mine.committed.erase(mine.committed.begin());
  }
}

llvm::Error Emulator::Block::run() {
  shadows.assign(sharedRegions.size(), {});
  for (size_t r = 0; r < sharedRegions.size(); ++r) {
    shadows[r].assign(sharedRegions[r].second, Shadow{});
    // Shared memory starts as NaN (0xff bytes): a read before any write
    // shows in the results.
    std::memset(sharedRegions[r].first, 0xff, sharedRegions[r].second);
  }
  epoch = 0;
  asyncCopies.assign(threads, AsyncCopies{});
  proxyFences.assign(threads, 0);
  mbarriers.clear();
  observedPhases.assign(threads, {});
  mbarrierWaits.assign(threads, {0, 0});
  wgmmaCommits.assign(threads, 0);
  wgmmaFenced.assign(threads, 0);
  wgmmaGroups.assign((threads + 4 * kWarp - 1) / (4 * kWarp), WgmmaGroups{});
  if (kernel->barriers)
    return runFibers();
  bool reverse = emulator->order == Schedule::Reverse;
  for (int64_t i = 0; i < threads && fault.empty(); ++i) {
    current = reverse ? threads - 1 - i : i;
    if (kernel->run(params, paramCount) != 0)
      report("called with " + std::to_string(paramCount) + " parameter words, takes " +
             std::to_string(kernel->params));
    finishThread();
  }
  return fault.empty() ? llvm::Error::success() : fail(fault);
}

llvm::Error Emulator::Block::runFibers() {
  if (static_cast<int64_t>(fibers.size()) < threads)
    fibers.resize(threads);
  warpOps.assign(threads, WarpOp{});
  for (int64_t t = 0; t < threads; ++t) {
    Fiber &f = fibers[t];
    if (!f.stack)
      f.stack.reset(new char[kFiberStack]);
    getcontext(&f.context);
    f.context.uc_stack.ss_sp = f.stack.get();
    f.context.uc_stack.ss_size = kFiberStack;
    f.context.uc_link = nullptr;
    makecontext(&f.context, fiberMain, 0);
    f.state = State::Run;
  }
  // The order threads run in between barriers.
  std::vector<int64_t> order(threads);
  for (int64_t i = 0; i < threads; ++i)
    order[i] = i;
  if (emulator->order == Schedule::Reverse)
    std::reverse(order.begin(), order.end());
  if (emulator->order == Schedule::WarpAhead && threads > kWarp) {
    // The last warp first: it reaches each barrier before the others start.
    int64_t last = (threads - 1) / kWarp * kWarp;
    std::rotate(order.begin(), order.begin() + last, order.end());
  }
  for (;;) {
    for (int64_t t : order) {
      if (fibers[t].state != State::Run)
        continue;
      current = t;
#ifdef MTGR_EMU_ASAN
      void *fake = nullptr;
      __sanitizer_start_switch_fiber(&fake, fibers[t].stack.get(), kFiberStack);
#endif
      swapcontext(&scheduler, &fibers[t].context);
#ifdef MTGR_EMU_ASAN
      __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
    }
    // Threads that yielded (nanosleep) run on in the next sweep, before any
    // warp operation is resolved (its lanes may be among them).
    if (fault.empty() && std::any_of(fibers.begin(), fibers.begin() + threads,
                                     [](const Fiber &f) { return f.state == State::Run; }))
      continue;
    // Threads whose mbarrier phase completed run on first: they may be
    // lanes a warp operation waits for.
    if (resolveMbarrierWaits())
      continue;
    if (resolveWarpOps())
      continue; // lanes released from a warp operation run on
    if (!fault.empty())
      break;
    int64_t done = 0, waiting = 0, atMbarrier = -1;
    for (int64_t t = 0; t < threads; ++t) {
      done += fibers[t].state == State::Done;
      waiting += fibers[t].state == State::AtBarrier;
      if (fibers[t].state == State::AtMbarrier && atMbarrier < 0)
        atMbarrier = t;
    }
    if (atMbarrier >= 0) {
      // Nothing can run: the phase it waits for never completes.
      current = atMbarrier;
      auto [offset, parity] = mbarrierWaits[atMbarrier];
      const Mbarrier &bar = mbarriers[offset];
      report(llvm::formatv("deadlock: a wait for the phase of parity {0} of the mbarrier at "
                           "byte {1}, which never completes ({2} arrivals and {3} transaction "
                           "bytes pending; {4} threads left the kernel, {5} wait at a barrier)",
                           parity, offset, bar.pending, bar.tx, done, waiting)
                 .str());
      break;
    }
    if (done == threads)
      break;
    if (done > 0) {
      // Some threads left the kernel while others wait at a barrier: on a
      // GPU that is undefined (a hang or a skipped barrier).
      for (int64_t t = 0; t < threads; ++t)
        if (fibers[t].state == State::AtBarrier) {
          current = t;
          break;
        }
      report(llvm::formatv("barrier divergence: {0} threads wait at a barrier that {1} "
                           "threads of the block left the kernel without reaching",
                           waiting, done)
                 .str());
      break;
    }
    // Every thread is at the barrier: the next epoch.
    ++epoch;
    for (int64_t t = 0; t < threads; ++t)
      fibers[t].state = State::Run;
  }
  return fault.empty() ? llvm::Error::success() : fail(fault);
}

llvm::Error Emulator::launch(const Kernel &kernel, Dim3 grid, Dim3 block, int64_t *params,
                             int64_t count, int64_t sharedBytes) {
  if (block.x < 1 || block.y < 1 || block.z < 1 || block.count() > 1024)
    return fail(llvm::formatv("kernel '{0}': a block of {1} x {2} x {3} threads is not a CUDA "
                              "block (1 .. 1024 threads)",
                              kernel.name, block.x, block.y, block.z)
                    .str());
  if (grid.x < 0 || grid.y < 0 || grid.z < 0)
    return fail("kernel '" + kernel.name + "': a negative grid");
  if (count != kernel.params)
    return fail(llvm::formatv("kernel '{0}' takes {1} parameter words, the launch passed {2}",
                              kernel.name, kernel.params, count)
                    .str());
  auto b = std::make_unique<Block>();
  // The shared window: the static part, and the dynamic part (a region of
  // negative size: its capacity) sized by the launch.
  for (const auto &[base, bytes] : kernel.shared) {
    if (bytes >= 0) {
      b->sharedRegions.push_back({base, bytes});
      continue;
    }
    if (sharedBytes > -bytes)
      return fail(llvm::formatv("kernel '{0}': a launch with {1} bytes of dynamic shared "
                                "memory, above the {2} the emulator has",
                                kernel.name, sharedBytes, -bytes)
                      .str());
    if (b->sharedRegions.empty())
      return fail("kernel '" + kernel.name + "': dynamic shared memory without a window");
    auto *window = static_cast<char *>(b->sharedRegions[0].first);
    b->sharedRegions[0].second = static_cast<char *>(base) - window + sharedBytes;
  }
  if (sharedBytes < 0)
    return fail("kernel '" + kernel.name + "': a negative dynamic shared memory size");
  b->emulator = this;
  b->kernel = &kernel;
  b->params = params;
  b->paramCount = count;
  b->grid = grid;
  b->dims = block;
  b->threads = block.count();
  Block *saved = running;
  running = b.get();
  int64_t blocks = grid.count();
  llvm::Error error = llvm::Error::success();
  for (int64_t i = 0; i < blocks && !error; ++i) {
    int64_t n = order == Schedule::Reverse ? blocks - 1 - i : i;
    b->id = {n % grid.x, n / grid.x % grid.y, n / (grid.x * grid.y)};
    error = b->run();
  }
  running = saved;
  return error;
}
