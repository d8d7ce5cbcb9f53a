//===- Devices.cpp - what a session can run on, for people ----------------===//
#include "app/Devices.h"
#include "runtime/cuda/CudaDriver.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Format.h"
#include "llvm/TargetParser/Host.h"

#include <thread>

using namespace mtgr;

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
