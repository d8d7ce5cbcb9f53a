//===- GpuCommands.h - a GPU call's work, recorded for replay ----*- C++ -*-===//
//
// GPU host code plans a whole call on the host (abi/GpuLaunch.h plan 2), so
// the device work of a call — launches, library GEMMs, uploads, fills — is a
// list known before any of it runs. A device that records (Executable::
// callRecorded: a CUDA graph; the emulator's launch list) keeps that list per
// argument shapes with the working memory it used (a GpuArena, reused in the
// same order by every call that records into it). The host code still runs
// each call and issues its list; when the list does the same work as the
// recording (the same kernels, grids and parameter words, the same GEMMs, the
// same upload targets and sizes: only uploaded contents differ), the
// recording is replayed with the new uploads. Exact by construction: nothing
// is assumed from the shapes alone, the new call's own plan is compared.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_GPUCOMMANDS_H
#define MTGR_RUNTIME_GPUCOMMANDS_H

#include "runtime/cuda/CublasLt.h"

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <unordered_map>
#include <vector>

namespace mtgr {

struct GpuCommand {
  enum class Kind { Launch, Gemm, Upload, Fill, Free };
  Kind kind = Kind::Launch;
  int64_t kernel = 0; // Launch: index in the code's kernel table
  std::array<int64_t, 3> grid{}, block{};
  int64_t sharedBytes = 0;
  std::vector<int64_t> words;  // Launch: the parameter words
  GpuGemmCall gemm;            // Gemm
  uint64_t device = 0;         // Upload, Fill: the target; Free: the block
  uint64_t bytes = 0;          // Upload, Fill
  size_t from = 0;             // Upload: where its bytes are in GpuCommands::uploads
  bool contentMatters = false; // Upload: its bytes describe work (a tensor map)
  uint32_t value = 0;          // Fill: the 32-bit pattern
};

/// A call's device work in issue order, with the bytes it uploads.
struct GpuCommands {
  std::vector<GpuCommand> commands;
  std::vector<char> uploads; // each upload's bytes, 256-byte aligned
  void launch(int64_t kernel, std::array<int64_t, 3> grid, std::array<int64_t, 3> block,
              int64_t sharedBytes, const int64_t *params, int64_t count);
  void upload(uint64_t device, const void *host, uint64_t bytes, bool contentMatters = false);
  void fill(uint64_t device, uint64_t bytes, uint32_t value);
  void gemm(const GpuGemmCall &call);
  void free(uint64_t block);
  const char *bytesOf(const GpuCommand &upload) const { return uploads.data() + upload.from; }
  /// The same work as `other`: equal but for the contents of uploads whose
  /// content does not matter.
  bool sameWork(const GpuCommands &other) const;
};

/// The working memory of a recording: the blocks its calls allocate, kept
/// between calls. Each call starts with every block free; its n-th
/// allocation gets the block the last call's n-th got when that one is free
/// and of its size (else the lowest free one of its size, else a new one),
/// so a call that allocates as the last one did gets the same addresses.
class GpuArena {
public:
  GpuArena(std::function<void *(uint64_t)> make, std::function<void(void *)> drop)
      : make(std::move(make)), drop(std::move(drop)) {}
  ~GpuArena();
  GpuArena(const GpuArena &) = delete;
  GpuArena &operator=(const GpuArena &) = delete;
  /// A new call: every block free again.
  void reset();
  void *allocate(uint64_t bytes);
  /// False when `block` is not the arena's.
  bool release(void *block);

private:
  static uint64_t rounded(uint64_t bytes);
  std::function<void *(uint64_t)> make;
  std::function<void(void *)> drop;
  std::map<uint64_t, std::set<uintptr_t>> freeBlocks; // by rounded size
  std::unordered_map<uintptr_t, uint64_t> blocks;     // every block -> rounded size
  std::vector<uintptr_t> lastCall, thisCall;          // the block of each allocation
};

} // namespace mtgr

#endif
