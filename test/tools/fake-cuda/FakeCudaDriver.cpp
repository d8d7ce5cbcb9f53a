//===- FakeCudaDriver.cpp - a stand-in libcuda.so.1 for tests --------------===//
//
// Not a driver: the few driver entry points runtime/cuda/CudaDriver.cpp
// resolves, answering from environment variables, so the tests of the driver
// loader, `mtgr-run devices` and the CUDA device's host side run on machines
// without a GPU (lit points MTGR_LIBCUDA at this library). Device 0 is
// compute capability 9.0, the others 8.0. Memory is the host's; a module
// load checks that the image is an ELF file (a cubin); a launch runs
// nothing: it checks its geometry (more than 48 KB of shared memory only
// after the kernel's opt-in) and, with FAKE_CUDA_TRACE=1, prints the
// kernel, grid, block and shared bytes (and each upload) to stderr. Stream
// capture keeps the stream's work for a graph launch to do (a wait on a
// capturing stream is an error, as on a GPU).
//   FAKE_CUDA_DEVICES=N         devices to report (default 1)
//   FAKE_CUDA_INIT_ERROR=C      cuInit returns result code C
//   FAKE_CUDA_LAUNCH_ERROR=C    cuLaunchKernel returns result code C
//   FAKE_CUDA_REGISTERS=N       cuFuncGetAttribute(NUM_REGS) says N (else
//                               CUDA_ERROR_NOT_SUPPORTED)
//   FAKE_CUDA_FREE_MB=N         cuMemGetInfo says N MiB are free
//   FAKE_CUDA_TENSOR_MAP_ERROR=C  cuTensorMapEncodeTiled returns result code C
//
//===----------------------------------------------------------------------===//
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace {
int envInt(const char *name, int fallback) {
  const char *v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}
/// Stream capture (CUDA graphs): while a capture is open, the stream's work
/// is kept, not done, and a graph launch does it (its uploads read their
/// host memory then, as a captured copy does).
using Graph = std::vector<std::function<void()>>;
Graph *capturing = nullptr;
void onStream(std::function<void()> work) {
  if (capturing)
    capturing->push_back(std::move(work));
  else
    work();
}
} // namespace

extern "C" {
int cuInit(unsigned) { return envInt("FAKE_CUDA_INIT_ERROR", 0); }
int cuDriverGetVersion(int *version) {
  *version = 13000;
  return 0;
}
int cuDeviceGetCount(int *count) {
  *count = envInt("FAKE_CUDA_DEVICES", 1);
  return 0;
}
int cuDeviceGet(int *device, int ordinal) {
  *device = ordinal;
  return ordinal < envInt("FAKE_CUDA_DEVICES", 1) ? 0 : 101; // CUDA_ERROR_INVALID_DEVICE
}
int cuDeviceGetName(char *name, int length, int device) {
  std::snprintf(name, static_cast<size_t>(length), "Fake GPU %d", device);
  return 0;
}
int cuDeviceGetAttribute(int *value, int attribute, int device) {
  switch (attribute) {
  case 16: *value = 132; return 0;                 // multiprocessors
  case 75: *value = device == 0 ? 9 : 8; return 0; // compute capability major
  case 76: *value = 0; return 0;                   // minor
  default: return 1;                               // CUDA_ERROR_INVALID_VALUE
  }
}
int cuDeviceTotalMem_v2(size_t *bytes, int device) {
  *bytes = (device == 0 ? size_t(150) : size_t(80)) * 1000 * 1000 * 1000;
  return 0;
}
int cuGetErrorName(int result, const char **name) {
  switch (result) {
  case 2: *name = "CUDA_ERROR_OUT_OF_MEMORY"; return 0;
  case 100: *name = "CUDA_ERROR_NO_DEVICE"; return 0;
  case 200: *name = "CUDA_ERROR_INVALID_IMAGE"; return 0;
  case 500: *name = "CUDA_ERROR_NOT_FOUND"; return 0;
  case 701: *name = "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES"; return 0;
  case 900:
    *name = "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED";
    return 0;
  case 901:
    *name = "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED";
    return 0;
  case 999: *name = "CUDA_ERROR_UNKNOWN"; return 0;
  default: return 1;
  }
}

// The device side, enough for the CUDA device's host code paths.
int cuDevicePrimaryCtxRetain(void **context, int device) {
  static int contexts[16];
  *context = &contexts[device & 15];
  return 0;
}
int cuDevicePrimaryCtxRelease_v2(int) { return 0; }
int cuCtxSetCurrent(void *) { return 0; }
int cuStreamCreate(void **stream, unsigned) {
  static int stream0;
  *stream = &stream0;
  return 0;
}
int cuStreamDestroy_v2(void *) { return 0; }
int cuStreamSynchronize(void *) {
  return capturing ? 900 : 0; // not while capturing
}
int cuStreamBeginCapture_v2(void *, int mode) {
  if (capturing || mode != 2)
    return 1; // CUDA_ERROR_INVALID_VALUE (mtgr captures in relaxed mode)
  capturing = new Graph;
  return 0;
}
int cuStreamEndCapture(void *, void **graph) {
  if (!capturing)
    return 901;
  if (envInt("FAKE_CUDA_TRACE", 0))
    std::fprintf(stderr, "fake-cuda: captured a graph of %zu nodes\n", capturing->size());
  *graph = capturing;
  capturing = nullptr;
  return 0;
}
int cuGraphInstantiateWithFlags(void **exec, void *graph, unsigned long long) {
  *exec = new Graph(*static_cast<Graph *>(graph));
  return 0;
}
int cuGraphLaunch(void *exec, void *) {
  if (capturing)
    return 900;
  if (envInt("FAKE_CUDA_TRACE", 0))
    std::fprintf(stderr, "fake-cuda: graph launch of %zu nodes\n",
                 static_cast<Graph *>(exec)->size());
  for (auto &work : *static_cast<Graph *>(exec))
    work();
  return 0;
}
int cuGraphExecDestroy(void *exec) {
  delete static_cast<Graph *>(exec);
  return 0;
}
int cuGraphDestroy(void *graph) {
  delete static_cast<Graph *>(graph);
  return 0;
}
int cuMemFree_v2(uint64_t pointer) {
  std::free(reinterpret_cast<void *>(pointer));
  return 0;
}
int cuMemcpy(uint64_t dst, uint64_t src, size_t bytes) {
  std::memcpy(reinterpret_cast<void *>(dst), reinterpret_cast<const void *>(src), bytes);
  return 0;
}
int cuModuleLoadData(void **module, const void *image) {
  if (std::memcmp(image, "\x7f" "ELF", 4) != 0)
    return 200; // CUDA_ERROR_INVALID_IMAGE
  *module = const_cast<void *>(image);
  return 0;
}
int cuModuleUnload(void *) { return 0; }
int cuModuleGetFunction(void **function, void *, const char *name) {
  *function = new std::string(name); // lives as long as the process: a test
  return 0;
}
int cuFuncGetAttribute(int *value, int attribute, void *) {
  int registers = envInt("FAKE_CUDA_REGISTERS", -1);
  if (attribute != 4 || registers < 0)
    return 801; // CUDA_ERROR_NOT_SUPPORTED
  *value = registers;
  return 0;
}
int cuMemAlloc_v2(uint64_t *pointer, size_t bytes) {
  *pointer = reinterpret_cast<uint64_t>(std::calloc(1, bytes ? bytes : 1));
  return *pointer ? 0 : 2; // CUDA_ERROR_OUT_OF_MEMORY
}
int cuMemHostAlloc(void **pointer, size_t bytes, unsigned) {
  *pointer = std::calloc(1, bytes ? bytes : 1);
  return *pointer ? 0 : 2;
}
int cuMemFreeHost(void *pointer) {
  std::free(pointer);
  return 0;
}
int cuMemcpyHtoDAsync_v2(uint64_t dst, const void *src, size_t bytes, void *) {
  onStream([=] {
    std::memcpy(reinterpret_cast<void *>(dst), src, bytes);
    if (envInt("FAKE_CUDA_TRACE", 0))
      std::fprintf(stderr, "fake-cuda: upload %zu bytes\n", bytes);
  });
  return 0;
}
int cuTensorMapEncodeTiled(void *map, int dataType, unsigned rank, void *global,
                           const uint64_t *dims, const uint64_t *strides, const unsigned *box,
                           const unsigned *elementStrides, int interleave, int swizzle,
                           int l2Promotion, int oobFill) {
  if (int error = envInt("FAKE_CUDA_TENSOR_MAP_ERROR", 0))
    return error;
  // The driver's rules that mtgr's maps meet (CUDA 13 cuda.h): a 16-byte
  // aligned base, strides multiples of 16, boxes of 1 .. 256 elements whose
  // inner bytes are a multiple of 16 and, swizzled, within the span.
  static const int elementBytes[] = {1, 2, 4, 4, 8, 8, 2, 4, 8, 2};
  if (dataType < 0 || dataType > 9 || rank < 1 || rank > 5 ||
      reinterpret_cast<uintptr_t>(global) % 16 != 0 || interleave != 0 || swizzle < 0 ||
      swizzle > 3 || l2Promotion < 0 || l2Promotion > 3 || oobFill < 0 || oobFill > 1)
    return 1; // CUDA_ERROR_INVALID_VALUE
  for (unsigned d = 0; d < rank; ++d) {
    if (box[d] < 1 || box[d] > 256 || elementStrides[d] != 1 || dims[d] < 1)
      return 1;
    if (d + 1 < rank && strides[d] % 16 != 0)
      return 1;
  }
  unsigned innerBytes = box[0] * elementBytes[dataType];
  if (innerBytes % 16 != 0 || (swizzle && innerBytes > (16u << swizzle)))
    return 1;
  std::memset(map, 0x5a, 128);
  if (envInt("FAKE_CUDA_TRACE", 0))
    std::fprintf(stderr, "fake-cuda: tensor map %llu x %llu, box %u x %u, swizzle %d\n",
                 (unsigned long long)(rank > 1 ? dims[1] : 1), (unsigned long long)dims[0],
                 rank > 1 ? box[1] : 1, box[0], swizzle);
  return 0;
}
static std::map<void *, int> sharedOptIn; // kernel -> opted-in bytes
int cuFuncSetAttribute(void *function, int attribute, int value) {
  // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES up to an H200's 227 KB.
  if (attribute != 8 || value < 0 || value > 227 * 1024)
    return 1; // CUDA_ERROR_INVALID_VALUE
  sharedOptIn[function] = value;
  return 0;
}
int cuMemGetInfo_v2(size_t *free, size_t *total) {
  // FAKE_CUDA_FREE_MB: the device's free memory (default 140000, an H200).
  *total = size_t(140000) << 20;
  *free = size_t(envInt("FAKE_CUDA_FREE_MB", 140000)) << 20;
  return 0;
}
int cuMemsetD2D32Async(uint64_t dst, size_t pitch, unsigned value, size_t width, size_t height,
                       void *) {
  onStream([=] {
    for (size_t r = 0; r < height; ++r)
      for (size_t c = 0; c < width; ++c)
        std::memcpy(reinterpret_cast<char *>(dst) + r * pitch + 4 * c, &value, 4);
  });
  return 0;
}
int cuMemcpyDtoDAsync_v2(uint64_t dst, uint64_t src, size_t bytes, void *) {
  onStream([=] {
    std::memmove(reinterpret_cast<void *>(dst), reinterpret_cast<const void *>(src), bytes);
  });
  return 0;
}
// Events: every kernel takes 0.25 ms (profiles on the fake driver).
int cuEventCreate(void **event, unsigned) {
  *event = new int(0);
  return 0;
}
int cuEventRecord(void *event, void *) {
  static int clock;
  *static_cast<int *>(event) = ++clock;
  return 0;
}
int cuEventElapsedTime(float *milliseconds, void *start, void *end) {
  *milliseconds = 0.25f * float(*static_cast<int *>(end) - *static_cast<int *>(start));
  return 0;
}
int cuEventDestroy_v2(void *event) {
  delete static_cast<int *>(event);
  return 0;
}
int cuLaunchKernel(void *function, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                   unsigned by, unsigned bz, unsigned shared, void *, void **params, void **) {
  if (int error = envInt("FAKE_CUDA_LAUNCH_ERROR", 0))
    return error;
  if (gx * gy * gz == 0 || bx * by * bz == 0 || bx * by * bz > 1024 || !params)
    return 1; // CUDA_ERROR_INVALID_VALUE
  if (shared > 48 * 1024 && (sharedOptIn.count(function) == 0 || int(shared) > sharedOptIn[function]))
    return 1; // more than 48 KB without the kernel's opt-in
  if (envInt("FAKE_CUDA_TRACE", 0))
    onStream([=] {
      std::fprintf(stderr, "fake-cuda: launch %s grid %u x %u x %u block %u x %u x %u shared %u\n",
                   static_cast<std::string *>(function)->c_str(), gx, gy, gz, bx, by, bz, shared);
    });
  return 0;
}
}
