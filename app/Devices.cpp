//===- Devices.cpp - what a session can run on, for people ----------------===//
#include "app/Devices.h"
#include "runtime/cuda/CudaDevice.h"
#include "runtime/cuda/CudaDriver.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"
#include "llvm/TargetParser/Host.h"

#include <thread>

using namespace mtgr;

std::string mtgr::recordedTarget(const Artifact &artifact) {
  const CodeSection *section = artifact.section(kCpuTargetSection);
  if (!section)
    return "";
  llvm::Expected<llvm::json::Value> value = llvm::json::parse(section->bytes);
  if (!value) {
    llvm::consumeError(value.takeError());
    return "";
  }
  const llvm::json::Object *o = value->getAsObject();
  return o ? o->getString("describe").value_or("").str() : "";
}

int mtgr::describeDevices(llvm::raw_ostream &os) {
  // The widest vector extension the CPU has: what the CPU back end's tiles
  // are built for.
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  const char *vectors = features.lookup("avx512f") ? "AVX-512"
                        : features.lookup("avx2")  ? "AVX2"
                                                   : "no AVX2";
  os << "cpu: " << llvm::sys::getHostCPUName() << " (" << llvm::sys::getProcessTriple() << "), "
     << std::max(1u, std::thread::hardware_concurrency()) << " hardware threads, " << vectors
     << "\n";
  auto driver = CudaDriver::load();
  if (!driver) {
    os << "cuda: none (" << llvm::toString(driver.takeError()) << ")\n";
    return 0;
  }
  int version = (*driver)->version();
  os << "cuda: driver " << version / 1000 << "." << (version % 1000) / 10 << " ("
     << (*driver)->path() << ")";
  auto gpus = (*driver)->devices();
  if (!gpus) {
    os << ", no device (" << llvm::toString(gpus.takeError()) << ")\n";
    return 0;
  }
  os << ", " << gpus->size() << (gpus->size() == 1 ? " device" : " devices") << "\n";
  for (const CudaDeviceInfo &gpu : *gpus)
    os << "cuda:" << gpu.ordinal << ": " << gpu.name << ", " << gpu.arch() << ", "
       << gpu.multiprocessors << " multiprocessors, "
       << llvm::format("%.1f", gpu.memoryBytes / 1073741824.0) << " GiB\n";
  return static_cast<int>(gpus->size());
}

int mtgr::describeCeilings(llvm::raw_ostream &os, int64_t size, int repeats) {
  auto driver = CudaDriver::load();
  auto gpus = driver ? (*driver)->devices() : llvm::Expected<std::vector<CudaDeviceInfo>>(
                                                   driver.takeError());
  if (!gpus) {
    os << "ceilings: no CUDA device (" << llvm::toString(gpus.takeError()) << ")\n";
    return 1;
  }
  int status = 0;
  for (const CudaDeviceInfo &gpu : *gpus) {
    auto c = measureCudaCeilings(gpu.ordinal, size, repeats);
    if (!c) {
      os << "cuda:" << gpu.ordinal << " ceilings: " << llvm::toString(c.takeError()) << "\n";
      status = 1;
      continue;
    }
    os << llvm::format("cuda:%d ceilings (best of %d): device-to-device copy %.4g GB/s (%.4g MiB); "
                       "cuBLASLt %lld^3 bf16 %.4g TFLOP/s, fp32 %.4g TFLOP/s\n",
                       gpu.ordinal, repeats, c->copyBytesPerSecond / 1e9, c->copyBytes / 1048576.0,
                       (long long)c->size, c->bf16FlopsPerSecond / 1e12,
                       c->f32FlopsPerSecond / 1e12);
  }
  return status;
}
