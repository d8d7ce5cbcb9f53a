//===- CudaDriver.h - the CUDA driver API, loaded at run time -*- C++ -*-===//
//
// mtgr never links libcuda: it opens the driver with dlopen when a CUDA
// device is asked for, so every binary starts on a machine without a GPU or
// driver (TOOLCHAIN.md). This is the first piece of the CUDA device of issue
// 24: the driver's entry points the device listing needs, resolved by name,
// with the driver's own error names in every message. The device proper
// (contexts, streams, memory, module loads, launches) builds on it.
//
// The library is `libcuda.so.1`, or the file named by MTGR_LIBCUDA (tests run
// a fake driver through it; an unusual install can point at its own).
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_CUDA_CUDADRIVER_H
#define MTGR_RUNTIME_CUDA_CUDADRIVER_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mtgr {

/// One GPU as the driver describes it.
struct CudaDeviceInfo {
  int ordinal = 0;
  std::string name;
  int major = 0, minor = 0; // compute capability
  int multiprocessors = 0;
  uint64_t memoryBytes = 0;
  /// "sm_90", the architecture name code is compiled for.
  std::string arch() const;
};

class CudaDriver {
public:
  /// Opens the driver library and resolves its entry points; an error names
  /// the library and what failed (no driver installed, a symbol missing).
  static llvm::Expected<std::unique_ptr<CudaDriver>> load();
  ~CudaDriver();
  CudaDriver(const CudaDriver &) = delete;
  CudaDriver &operator=(const CudaDriver &) = delete;

  /// The library that was opened.
  const std::string &path() const { return libraryPath; }
  /// cuDriverGetVersion: 13000 for CUDA 13.0.
  int version() const { return driverVersion; }
  /// Initialises the driver (cuInit) and lists its devices; none is an empty
  /// list, a driver error (CUDA_ERROR_NO_DEVICE, ...) an error by name.
  llvm::Expected<std::vector<CudaDeviceInfo>> devices();
  /// The driver's name of a result code ("CUDA_ERROR_NO_DEVICE"), or the
  /// number when the driver has none.
  std::string errorName(int result) const;
  /// An error naming `call` and the result, or success.
  llvm::Error check(int result, llvm::StringRef call) const;

  /// The entry points a device needs (contexts, streams, memory, modules,
  /// launches), resolved on first use: listing devices works without them.
  /// Opaque handles are void pointers, device pointers 64-bit integers.
  struct Compute {
    int (*primaryCtxRetain)(void **context, int device) = nullptr;
    int (*primaryCtxRelease)(int device) = nullptr;
    int (*ctxSetCurrent)(void *context) = nullptr;
    int (*streamCreate)(void **stream, unsigned flags) = nullptr;
    int (*streamDestroy)(void *stream) = nullptr;
    int (*streamSynchronize)(void *stream) = nullptr;
    int (*memFree)(uint64_t pointer) = nullptr;
    int (*memcpy)(uint64_t dst, uint64_t src, size_t bytes) = nullptr;
    int (*moduleLoadData)(void **module, const void *image) = nullptr;
    int (*moduleUnload)(void *module) = nullptr;
    int (*moduleGetFunction)(void **function, void *module, const char *name) = nullptr;
    int (*launchKernel)(void *function, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                        unsigned by, unsigned bz, unsigned sharedBytes, void *stream,
                        void **params, void **extra) = nullptr;
    int (*funcGetAttribute)(int *value, int attribute, void *function) = nullptr;
    int (*eventCreate)(void **event, unsigned flags) = nullptr;
    int (*eventRecord)(void *event, void *stream) = nullptr;
    int (*eventElapsedTime)(float *milliseconds, void *start, void *end) = nullptr;
    int (*eventDestroy)(void *event) = nullptr;
    int (*memAlloc)(uint64_t *pointer, size_t bytes) = nullptr;
    int (*memsetD2D32)(uint64_t dst, size_t pitchBytes, unsigned value, size_t width,
                       size_t height, void *stream) = nullptr;
    int (*memcpyDtoDAsync)(uint64_t dst, uint64_t src, size_t bytes, void *stream) = nullptr;
    // The pinned staging buffer and the uploads from it; the shared-memory
    // opt-in of kernels above 48 KB.
    int (*memHostAlloc)(void **pointer, size_t bytes, unsigned flags) = nullptr;
    int (*memFreeHost)(void *pointer) = nullptr;
    int (*memcpyHtoDAsync)(uint64_t dst, const void *src, size_t bytes, void *stream) = nullptr;
    int (*funcSetAttribute)(void *function, int attribute, int value) = nullptr;
    int (*memGetInfo)(size_t *free, size_t *total) = nullptr;
    // TMA tensor maps (CUDA 12 and later): a 128-byte CUtensorMap.
    int (*tensorMapEncodeTiled)(void *map, int dataType, unsigned rank, void *global,
                                const uint64_t *dims, const uint64_t *strides, const unsigned *box,
                                const unsigned *elementStrides, int interleave, int swizzle,
                                int l2Promotion, int oobFill) = nullptr;
    // CUDA graphs (a call's work captured from the stream and replayed):
    // all null when the driver lacks one of them (replay is then off).
    int (*streamBeginCapture)(void *stream, int mode) = nullptr;
    int (*streamEndCapture)(void *stream, void **graph) = nullptr;
    int (*graphInstantiate)(void **exec, void *graph, unsigned long long flags) = nullptr;
    int (*graphLaunch)(void *exec, void *stream) = nullptr;
    int (*graphExecDestroy)(void *exec) = nullptr;
    int (*graphDestroy)(void *graph) = nullptr;
  };
  llvm::Expected<const Compute *> compute();

  struct Api; // the resolved entry points (CudaDriver.cpp)

private:
  CudaDriver() = default;
  void *handle = nullptr;
  std::unique_ptr<Compute> computeApi;
  std::string libraryPath;
  int driverVersion = 0;
  std::unique_ptr<Api> api;
};

} // namespace mtgr

#endif
