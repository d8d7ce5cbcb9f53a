//===- CopyingDevice.h - a CPU device with memory of its own, for tests -*- C++ -*-===//
#ifndef MTGR_TEST_UNIT_COPYINGDEVICE_H
#define MTGR_TEST_UNIT_COPYINGDEVICE_H

#include "model/Namespace.h"
#include "runtime/Device.h"
#include "runtime/cpu/CpuDevice.h"

#include <algorithm>
#include <atomic>
#include <cmath>

namespace mlir::mtgr::test {

/// A CPU device whose memory is not the host's, as a GPU's is not: every
/// buffer is the device's own (filled with NaN when allocated), so the
/// session must copy each argument in and what the code writes back out.
class CopyingCpuDevice final : public Device {
public:
  llvm::StringRef name() const override { return "cpu-copying"; }
  llvm::Expected<std::unique_ptr<Executable>> load(const Artifact &a,
                                                   llvm::StringRef where) override {
    return cpu->load(a, where);
  }
  bool sharesHostMemory() const override { return false; }
  void *allocate(size_t bytes) override {
    ++allocations;
    auto *p = static_cast<float *>(cpu->allocate(bytes));
    std::fill(p, p + bytes / sizeof(float), std::nanf(""));
    return p;
  }
  void release(void *b) override { cpu->release(b); }
  void copyToDevice(void *d, const void *h, size_t n) override {
    ++copiesIn, copiedIn += n;
    cpu->copyToDevice(d, h, n);
  }
  void copyToHost(void *h, const void *d, size_t n) override {
    ++copiesBack, copiedBack += n;
    cpu->copyToHost(h, d, n);
  }
  void copyOnDevice(void *to, const void *from, size_t n) override {
    ++copiesOnDevice;
    cpu->copyOnDevice(to, from, n);
  }
  void synchronize() override {}
  std::unique_ptr<Device> cpu = createCpuDevice();
  std::atomic<int64_t> allocations{0}, copiedBack{0}, copiesIn{0}, copiedIn{0}, copiesBack{0},
      copiesOnDevice{0};
};

} // namespace mlir::mtgr::test

#endif
