//===- Device.h - where generated code runs ----------------------*- C++ -*-===//
//
// The seam under the model-level session (runtime/Session.h): a Device loads
// an artifact's code sections into an Executable, holds buffers, copies to and
// from them, and synchronises; an Executable calls an entry point with typed
// buffer views in the ABI's order. The session (ABI binding, embedding
// gathers, gradient sums, memory checks) is written once above it. The CPU
// (runtime/cpu/) is the first device; its memory is the host's, so the
// session passes its own buffers without copies. A device whose memory is
// not the host's (a GPU) gets buffers allocated and copied by the session
// (tested with a copying CPU device in RuntimeTest).
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_DEVICE_H
#define MTGR_RUNTIME_DEVICE_H

#include "abi/Artifact.h"
#include "runtime/HostEnvironment.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <vector>

namespace mtgr {

/// A buffer an entry point reads or writes: an address in the device's
/// memory and the shape of its elements (row-major, dense).
struct BufferView {
  void *data = nullptr;
  std::vector<int64_t> shape;
};

/// A call's device work kept for replay (a CUDA graph; the emulator's
/// launch list) with the device memory it uses; released with it
/// (runtime/GpuCommands.h).
class Recording {
public:
  virtual ~Recording();
};

class Executable {
public:
  virtual ~Executable();
  /// Calls entry point `entry` (abi/Artifact.h EntryPoint::name) with one
  /// view per ABI argument; its parallel ops split into `threads` parts.
  /// Returns when the results are in the views' buffers.
  virtual void call(const EntryPoint &entry, llvm::ArrayRef<BufferView> args,
                    unsigned threads) = 0;
  /// What the code imports: its buffer pool and profile counters.
  virtual HostEnvironment &environment() = 0;
  /// True when the code takes its integer arguments (offsets, times, ids,
  /// counters) in host memory even on a device with memory of its own: GPU
  /// code plans its launches on the host (abi/GpuLaunch.h).
  virtual bool integersOnHost() const { return false; }
  /// Before calls whose generated code needs about `workingBytes` of the
  /// device's memory at its peak (the compiler's working-memory figures for
  /// the batch, runtime/Session.cpp): a device with memory of its own sizes
  /// its pool to it, or says why it cannot hold it.
  virtual llvm::Error prepare(int64_t workingBytes) { return llvm::Error::success(); }
  /// Whether calls can be recorded and replayed (callRecorded).
  virtual bool canRecord() const { return false; }
  /// call(), with `recording` (the caller's, one per shape of arguments;
  /// empty at first): when the host code issues the same device work as
  /// recorded (runtime/GpuCommands.h: the same kernels, grids, parameter
  /// words and GEMMs; only uploaded contents may differ), the recording is
  /// replayed with this call's uploads; otherwise the work runs and is
  /// recorded in its place. Its working memory stays with the recording, so
  /// a call that plans as the last one did gets the same addresses. True
  /// when it replayed.
  virtual bool callRecorded(const EntryPoint &entry, llvm::ArrayRef<BufferView> args,
                            unsigned threads, std::unique_ptr<Recording> &recording) {
    call(entry, args, threads);
    return false;
  }
};

class Device {
public:
  virtual ~Device();
  virtual llvm::StringRef name() const = 0;
  /// Loads the artifact's code for this device; the error names `where` and
  /// says why (no section for this device, another target, a bad ABI record).
  virtual llvm::Expected<std::unique_ptr<Executable>> load(const Artifact &artifact,
                                                           llvm::StringRef where) = 0;
  /// True when the device reads and writes host memory directly (the CPU):
  /// the session then passes its own buffers and nothing is copied.
  virtual bool sharesHostMemory() const = 0;
  virtual void *allocate(size_t bytes) = 0;
  virtual void release(void *buffer) = 0;
  virtual void copyToDevice(void *device, const void *host, size_t bytes) = 0;
  virtual void copyToHost(void *host, const void *device, size_t bytes) = 0;
  /// Copies within the device's memory, after the copies and calls issued
  /// before it and before those after it (a GPU: on its stream).
  virtual void copyOnDevice(void *to, const void *from, size_t bytes) = 0;
  /// Waits until every call and copy issued so far is done.
  virtual void synchronize() = 0;
  /// The queue the device's work is ordered on, for libraries that add to
  /// it (NCCL's collectives: a CUstream); null where work is done when
  /// issued (the CPU, the emulator).
  virtual void *nativeStream() { return nullptr; }
};

/// The devices this runtime has: "cpu".
llvm::Expected<std::unique_ptr<Device>> createDevice(llvm::StringRef name);

} // namespace mtgr

#endif
