//===- Emulator.h - GPU kernels run on the host, thread by thread -*- C++ -*-===//
//
// The NVVM-on-host emulator behind `--device=cuda-emu` (docs/gpu-backend.md).
// The CUDA back end compiles each kernel's NVVM IR a second time for the host
// (codegen/cuda/EmulatorRetarget.cpp): every NVVM intrinsic becomes a call
// through the table this file fills (abi/GpuLaunch.h), every load and store
// of shared or global memory first asks the emulator whether it may happen,
// and each kernel gets a trampoline that runs one GPU thread. The emulator
// runs a grid block by block; within a block, a kernel without barriers runs
// its threads one after another, one with barriers runs a fiber per thread
// switched only at barriers. It checks what a GPU would not: accesses outside
// every allocation, shared-memory races between barriers (last writer and
// last reader per byte and barrier epoch), a barrier not every thread
// reaches; shared memory starts as NaN. Schedules change the order threads
// and blocks run in, so code that depends on an order shows it.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_EMU_EMULATOR_H
#define MTGR_RUNTIME_EMU_EMULATOR_H

#include "abi/GpuLaunch.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

namespace mtgr::emu {

/// The order threads (and blocks) of a launch run in.
enum class Schedule {
  InOrder,   // thread 0, 1, 2, ...; blocks in order
  Reverse,   // the last thread first; blocks in reverse
  WarpAhead, // in order, but a warp that reaches a barrier first runs ahead
             // of the other warps wherever it can (fiber kernels only)
};
/// "in-order", "reverse", "warp-ahead" (nullopt for another name).
std::optional<Schedule> scheduleNamed(llvm::StringRef name);
llvm::StringRef scheduleName(Schedule s);

struct Dim3 {
  int64_t x = 1, y = 1, z = 1;
  int64_t count() const { return x * y * z; }
};

/// A kernel of an emulated module, as its trampolines describe it.
struct Kernel {
  std::string name;
  mtgr_emu_thread_fn run = nullptr;
  int64_t params = 0;      // parameter words it takes
  bool barriers = false;   // it synchronises its block: a fiber per thread
  /// Its shared memory, base and bytes (one copy: blocks run one at a
  /// time): the window's static part; negative bytes: the dynamic part at
  /// that base, up to -bytes (abi/GpuLaunch.h).
  std::vector<std::pair<void *, int64_t>> shared;
};

class Emulator {
public:
  explicit Emulator(Schedule schedule = Schedule::InOrder);
  ~Emulator();
  Emulator(const Emulator &) = delete;
  Emulator &operator=(const Emulator &) = delete;

  Schedule schedule() const { return order; }
  /// Memory kernels may read and write: device buffers and the host code's
  /// working buffers. `what` names it in reports.
  void track(const void *base, size_t bytes, std::string what);
  void untrack(const void *base);

  /// Runs `kernel` on a grid; `params` holds one word per kernel parameter
  /// (abi/GpuLaunch.h) and `sharedBytes` the dynamic shared memory. The
  /// error names the kernel, block and thread of the first fault (out-of-bounds access, race,
  /// barrier divergence, deadlock).
  llvm::Error launch(const Kernel &kernel, Dim3 grid, Dim3 block, int64_t *params, int64_t count,
                     int64_t sharedBytes = 0);

  /// An error unless [address, address + bytes) lies in one tracked
  /// buffer (what the device's GEMM library reads or writes); `what` names
  /// the operand.
  llvm::Error checkSpan(uint64_t address, uint64_t bytes, const std::string &what) const;

  /// Fills the first `fields` entries of an emulated module's intrinsic
  /// table (abi/GpuLaunch.h; the code says how many it has).
  static void fillTable(void **table, int64_t fields);

  struct Block; // the running block, for the intrinsics
private:
  Schedule order;
  /// Tracked memory by start address: end and name.
  std::map<uintptr_t, std::pair<uintptr_t, std::string>> regions;
  friend struct Block;
  const std::pair<uintptr_t, std::string> *regionOf(uintptr_t p, uintptr_t end) const;
};

} // namespace mtgr::emu

#endif
