//===- CpuDevice.cpp - the CPU as a device --------------------------------===//
#include "runtime/cpu/CpuDevice.h"
#include "model/Error.h"
#include "runtime/Threads.h"
#include "runtime/cpu/HostCode.h"
#include "runtime/cuda/CudaDevice.h"
#include "runtime/emu/EmulatorDevice.h"

#include <cstdlib>
#include <cstring>

using namespace mtgr;

namespace {
class CpuExecutable final : public Executable {
public:
  explicit CpuExecutable(std::unique_ptr<HostCode> code) : code(std::move(code)) {}

  void call(const EntryPoint &entry, llvm::ArrayRef<BufferView> args,
            unsigned threads) override {
    code->call(entry, args, host.table(threads));
  }

  HostEnvironment &environment() override { return host; }

private:
  std::unique_ptr<HostCode> code;
  HostEnvironment host;
};

class CpuDevice final : public Device {
public:
  llvm::StringRef name() const override { return "cpu"; }
  llvm::Expected<std::unique_ptr<Executable>> load(const Artifact &artifact,
                                                   llvm::StringRef where) override {
    if (!artifact.section(kHostCodeSection))
      return fail(where + ": no '" + kHostCodeSection + "' section: compiled by the '" +
                  artifact.backend + "' back end, which the CPU cannot run");
    configureThreadPool();
    auto code = HostCode::load(artifact, kHostCodeSection, where);
    if (!code)
      return code.takeError();
    return std::make_unique<CpuExecutable>(std::move(*code));
  }
  bool sharesHostMemory() const override { return true; }
  void *allocate(size_t bytes) override { return std::aligned_alloc(64, (bytes + 63) & ~63ul); }
  void release(void *buffer) override { std::free(buffer); }
  void copyToDevice(void *device, const void *host, size_t bytes) override {
    if (bytes)
      std::memcpy(device, host, bytes);
  }
  void copyToHost(void *host, const void *device, size_t bytes) override {
    if (bytes)
      std::memcpy(host, device, bytes);
  }
  void copyOnDevice(void *to, const void *from, size_t bytes) override {
    if (bytes)
      std::memcpy(to, from, bytes);
  }
  void synchronize() override {} // calls return when their results are written
};
} // namespace

Executable::~Executable() = default;
Recording::~Recording() = default;
Device::~Device() = default;

std::unique_ptr<Device> mtgr::createCpuDevice() { return std::make_unique<CpuDevice>(); }

llvm::Expected<std::unique_ptr<Device>> mtgr::createDevice(llvm::StringRef name) {
  if (name == "cpu")
    return createCpuDevice();
  if (name == "cuda-emu") {
    emu::Schedule schedule = emu::Schedule::InOrder;
    if (const char *named = getenv("MTGR_EMU_SCHEDULE"); named && *named) {
      auto s = emu::scheduleNamed(named);
      if (!s)
        return fail("MTGR_EMU_SCHEDULE='" + std::string(named) +
                    "' is not a schedule (in-order, reverse, warp-ahead)");
      schedule = *s;
    }
    return createEmulatorDevice(schedule);
  }
  // cuda, cuda:N: the GPU of that ordinal (runtime/cuda/CudaDevice.h).
  if (name == "cuda")
    return createCudaDevice(0);
  if (name.starts_with("cuda:")) {
    int ordinal = 0;
    if (name.drop_front(5).getAsInteger(10, ordinal) || ordinal < 0)
      return fail("device '" + name + "': cuda:N takes a device number (mtgr-run devices)");
    return createCudaDevice(ordinal);
  }
  return fail("unknown device '" + name + "' (this runtime has: cpu, cuda, cuda:N, cuda-emu)");
}
