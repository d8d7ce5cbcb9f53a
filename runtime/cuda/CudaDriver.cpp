//===- CudaDriver.cpp - the CUDA driver API, loaded at run time ----------===//
#include "runtime/cuda/CudaDriver.h"
#include "runtime/cuda/Symbols.h"

#include "llvm/Support/FormatVariadic.h"

#include <cstdlib>
#include <dlfcn.h>

using namespace mtgr;

namespace {
// The driver API's types and constants as cuda.h (CUDA 13) defines them,
// spelled here so that building mtgr needs no toolkit.
using CUresult = int;
using CUdevice = int;
constexpr CUresult kSuccess = 0;
constexpr int kAttributeMultiprocessors = 16;       // CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT
constexpr int kAttributeComputeMajor = 75;          // ..._COMPUTE_CAPABILITY_MAJOR
constexpr int kAttributeComputeMinor = 76;          // ..._COMPUTE_CAPABILITY_MINOR
} // namespace

struct CudaDriver::Api {
  CUresult (*init)(unsigned flags) = nullptr;
  CUresult (*driverGetVersion)(int *version) = nullptr;
  CUresult (*deviceGetCount)(int *count) = nullptr;
  CUresult (*deviceGet)(CUdevice *device, int ordinal) = nullptr;
  CUresult (*deviceGetName)(char *name, int length, CUdevice device) = nullptr;
  CUresult (*deviceGetAttribute)(int *value, int attribute, CUdevice device) = nullptr;
  CUresult (*deviceTotalMem)(size_t *bytes, CUdevice device) = nullptr;
  CUresult (*getErrorName)(CUresult result, const char **name) = nullptr;
};

std::string CudaDeviceInfo::arch() const { return llvm::formatv("sm_{0}{1}", major, minor).str(); }

llvm::Expected<std::unique_ptr<CudaDriver>> CudaDriver::load() {
  const char *named = std::getenv("MTGR_LIBCUDA");
  std::string path = named && *named ? named : "libcuda.so.1";
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = dlerror();
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "no CUDA driver: " + std::string(why ? why : path));
  }
  std::unique_ptr<CudaDriver> driver(new CudaDriver());
  driver->handle = handle;
  driver->libraryPath = path;
  driver->api = std::make_unique<Api>();
  Api &api = *driver->api;
  // Versioned names are the ones cuda.h maps the plain names to.
  SymbolResolver resolve(handle);
  resolve(api.init, "cuInit");
  resolve(api.driverGetVersion, "cuDriverGetVersion");
  resolve(api.deviceGetCount, "cuDeviceGetCount");
  resolve(api.deviceGet, "cuDeviceGet");
  resolve(api.deviceGetName, "cuDeviceGetName");
  resolve(api.deviceGetAttribute, "cuDeviceGetAttribute");
  resolve(api.deviceTotalMem, "cuDeviceTotalMem_v2");
  resolve(api.getErrorName, "cuGetErrorName");
  if (const char *missing = resolve.firstMissing()) {
    driver->api.reset(); // errorName must not call into a half-resolved table
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        llvm::formatv("the CUDA driver {0} has no {1}: too old, or not a CUDA driver", path,
                      missing));
  }
  if (auto e = driver->check(api.driverGetVersion(&driver->driverVersion), "cuDriverGetVersion"))
    return std::move(e);
  return driver;
}

CudaDriver::~CudaDriver() {
  if (handle)
    dlclose(handle);
}

std::string CudaDriver::errorName(int result) const {
  const char *name = nullptr;
  if (api && api->getErrorName(result, &name) == kSuccess && name)
    return name;
  // The toolkit's stub library (lib64/stubs) names nothing: the codes a
  // machine without a working driver gives, from cuda.h.
  switch (result) {
  case 3: return "CUDA_ERROR_NOT_INITIALIZED (3)";
  case 34: return "CUDA_ERROR_STUB_LIBRARY (34: the toolkit's stub, not a driver)";
  case 100: return "CUDA_ERROR_NO_DEVICE (100)";
  default: return "CUDA error " + std::to_string(result);
  }
}

llvm::Error CudaDriver::check(int result, llvm::StringRef call) const {
  if (result == kSuccess)
    return llvm::Error::success();
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 llvm::formatv("{0}: {1}", call, errorName(result)));
}

llvm::Expected<std::vector<CudaDeviceInfo>> CudaDriver::devices() {
  if (auto e = check(api->init(0), "cuInit"))
    return std::move(e);
  int count = 0;
  if (auto e = check(api->deviceGetCount(&count), "cuDeviceGetCount"))
    return std::move(e);
  std::vector<CudaDeviceInfo> out;
  for (int i = 0; i < count; ++i) {
    CUdevice device = 0;
    char name[256] = {};
    size_t bytes = 0;
    CudaDeviceInfo info;
    info.ordinal = i;
    if (auto e = check(api->deviceGet(&device, i), "cuDeviceGet"))
      return std::move(e);
    if (auto e = check(api->deviceGetName(name, sizeof(name) - 1, device), "cuDeviceGetName"))
      return std::move(e);
    for (auto [value, attribute] : {std::pair{&info.major, kAttributeComputeMajor},
                                    std::pair{&info.minor, kAttributeComputeMinor},
                                    std::pair{&info.multiprocessors, kAttributeMultiprocessors}})
      if (auto e = check(api->deviceGetAttribute(value, attribute, device), "cuDeviceGetAttribute"))
        return std::move(e);
    if (auto e = check(api->deviceTotalMem(&bytes, device), "cuDeviceTotalMem"))
      return std::move(e);
    info.name = name;
    info.memoryBytes = bytes;
    out.push_back(std::move(info));
  }
  return out;
}

llvm::Expected<const CudaDriver::Compute *> CudaDriver::compute() {
  if (computeApi)
    return computeApi.get();
  auto c = std::make_unique<Compute>();
  SymbolResolver resolve(handle);
  resolve(c->primaryCtxRetain, "cuDevicePrimaryCtxRetain");
  resolve(c->primaryCtxRelease, "cuDevicePrimaryCtxRelease_v2");
  resolve(c->ctxSetCurrent, "cuCtxSetCurrent");
  resolve(c->streamCreate, "cuStreamCreate");
  resolve(c->streamDestroy, "cuStreamDestroy_v2");
  resolve(c->streamSynchronize, "cuStreamSynchronize");
  resolve(c->memFree, "cuMemFree_v2");
  resolve(c->memcpy, "cuMemcpy");
  resolve(c->moduleLoadData, "cuModuleLoadData");
  resolve(c->moduleUnload, "cuModuleUnload");
  resolve(c->moduleGetFunction, "cuModuleGetFunction");
  resolve(c->launchKernel, "cuLaunchKernel");
  resolve(c->funcGetAttribute, "cuFuncGetAttribute");
  resolve(c->eventCreate, "cuEventCreate");
  resolve(c->eventRecord, "cuEventRecord");
  resolve(c->eventElapsedTime, "cuEventElapsedTime");
  resolve(c->eventDestroy, "cuEventDestroy_v2");
  resolve(c->memAlloc, "cuMemAlloc_v2");
  resolve(c->memsetD2D32, "cuMemsetD2D32Async");
  resolve(c->memcpyDtoDAsync, "cuMemcpyDtoDAsync_v2");
  resolve(c->memHostAlloc, "cuMemHostAlloc");
  resolve(c->memFreeHost, "cuMemFreeHost");
  resolve(c->memcpyHtoDAsync, "cuMemcpyHtoDAsync_v2");
  resolve(c->funcSetAttribute, "cuFuncSetAttribute");
  resolve(c->memGetInfo, "cuMemGetInfo_v2");
  resolve(c->tensorMapEncodeTiled, "cuTensorMapEncodeTiled");
  if (const char *missing = resolve.firstMissing())
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        llvm::formatv("the CUDA driver {0} has no {1}: too old, or not a CUDA driver",
                      libraryPath, missing));
  SymbolResolver graphs(handle);
  graphs(c->streamBeginCapture, "cuStreamBeginCapture_v2");
  graphs(c->streamEndCapture, "cuStreamEndCapture");
  graphs(c->graphInstantiate, "cuGraphInstantiateWithFlags");
  graphs(c->graphLaunch, "cuGraphLaunch");
  graphs(c->graphExecDestroy, "cuGraphExecDestroy");
  graphs(c->graphDestroy, "cuGraphDestroy");
  if (graphs.firstMissing())
    c->streamBeginCapture = nullptr, c->graphLaunch = nullptr; // no replay
  computeApi = std::move(c);
  return computeApi.get();
}
