//===- Collective.cpp - the ranks of a multi-rank job ---------------------===//
#include "runtime/Collective.h"
#include "model/Error.h"
#include "runtime/Device.h"

#include <cstdlib>
#include <cstring>

using namespace mtgr;

Collective::~Collective() = default;

std::vector<float> Collective::allGatherFloats(llvm::ArrayRef<float> local) {
  std::vector<char> bytes = allGather(
      llvm::ArrayRef<char>(reinterpret_cast<const char *>(local.data()), local.size() * 4));
  std::vector<float> out(bytes.size() / 4);
  if (!out.empty())
    std::memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

void Collective::allReduceSumOnDevice(Device &device, float *data, size_t count) {
  std::vector<float> host(count);
  device.copyToHost(host.data(), data, count * sizeof(float));
  allReduceSum(host.data(), count);
  device.copyToDevice(data, host.data(), count * sizeof(float));
}

std::vector<std::vector<char>> Collective::allToAll(const std::vector<std::vector<char>> &toEach) {
  // Every rank's message: the sizes of its parts, then the parts.
  const size_t n = static_cast<size_t>(size());
  std::vector<char> mine(n * sizeof(uint64_t));
  for (size_t q = 0; q < n; ++q) {
    uint64_t bytes = q < toEach.size() ? toEach[q].size() : 0;
    std::memcpy(mine.data() + q * sizeof bytes, &bytes, sizeof bytes);
  }
  for (const std::vector<char> &part : toEach)
    mine.insert(mine.end(), part.begin(), part.end());
  std::vector<char> all = allGather(mine);
  std::vector<std::vector<char>> fromEach(n);
  size_t at = 0, me = static_cast<size_t>(rank());
  for (size_t q = 0; q < n; ++q) {
    std::vector<uint64_t> bytes(n);
    std::memcpy(bytes.data(), all.data() + at, n * sizeof(uint64_t));
    size_t part = at + n * sizeof(uint64_t);
    for (size_t k = 0; k < me; ++k)
      part += bytes[k];
    fromEach[q].assign(all.begin() + static_cast<std::ptrdiff_t>(part),
                       all.begin() + static_cast<std::ptrdiff_t>(part + bytes[me]));
    at += n * sizeof(uint64_t);
    for (uint64_t b : bytes)
      at += b;
  }
  return fromEach;
}

llvm::Error Collective::agree(uint64_t value, llvm::StringRef what) {
  std::vector<char> all =
      allGather(llvm::ArrayRef<char>(reinterpret_cast<const char *>(&value), sizeof value));
  std::string differ;
  uint64_t first = 0;
  std::memcpy(&first, all.data(), sizeof first);
  for (int r = 1; r < size(); ++r) {
    uint64_t v = 0;
    std::memcpy(&v, all.data() + r * sizeof v, sizeof v);
    if (v != first)
      differ += (differ.empty() ? "" : ", ") + std::to_string(r);
  }
  if (differ.empty())
    return llvm::Error::success();
  return fail("ranks " + differ + " of " + std::to_string(size()) + " have another " + what +
              " than rank 0: every rank must run the same");
}

bool Collective::any(bool flag) {
  double v = flag ? 1.0 : 0.0;
  allReduceSum(&v, 1);
  return v > 0;
}

namespace {
class LocalCollective final : public Collective {
public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  llvm::StringRef engine() const override { return "local"; }
  void allReduceSum(float *, size_t) override {}
  void allReduceSum(double *, size_t) override {}
  std::vector<char> allGather(llvm::ArrayRef<char> local) override { return local.vec(); }
  std::vector<std::vector<char>> allToAll(const std::vector<std::vector<char>> &toEach) override {
    return {toEach.empty() ? std::vector<char>() : toEach[0]};
  }
};
} // namespace

std::unique_ptr<Collective> mtgr::createLocalCollective() {
  return std::make_unique<LocalCollective>();
}

bool mtgr::launchedByMpi() {
  // OpenMPI's and MPICH's (PMI) launchers say so in the environment.
  for (const char *name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(name))
      return true;
  return false;
}
