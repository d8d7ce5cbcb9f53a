//===- FakeCudaDriver.cpp - a stand-in libcuda.so.1 for tests --------------===//
//
// Not a driver: the few driver entry points runtime/cuda/CudaDriver.cpp
// resolves, answering from environment variables, so the tests of the driver
// loader and `mtgr-run devices` run on machines without a GPU (lit points
// MTGR_LIBCUDA at this library).
//   FAKE_CUDA_DEVICES=N      devices to report (default 1)
//   FAKE_CUDA_INIT_ERROR=C   cuInit returns result code C
//
//===----------------------------------------------------------------------===//
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {
int envInt(const char *name, int fallback) {
  const char *v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
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
  case 100: *name = "CUDA_ERROR_NO_DEVICE"; return 0;
  case 999: *name = "CUDA_ERROR_UNKNOWN"; return 0;
  default: return 1;
  }
}
}
