//===- NcclCollective.cpp - NCCL for sums in a GPU's memory ----------------===//
//
// The ranks of an MPI job with NCCL for the dense gradients' sums on GPU
// devices (runtime/Collective.h createNcclCollective). libnccl.so.2 is
// loaded with dlopen (it ships with the CUDA toolkit; nothing needs it to
// build or start), seven entry points resolved by name; the types are the
// few NCCL's ABI fixes (an opaque communicator, a 128-byte unique id, the
// float32 and sum enumerators). The communicator is made once: rank 0 asks
// NCCL for a unique id, every rank takes it from an allGather over the host
// collective (MPI), then ncclCommInitRank with the device's context current
// (the CUDA device keeps its primary context current on the thread that
// made it, which is the one that trains). Each sum is one ncclAllReduce in
// place on the device's stream (Device::nativeStream), so it is ordered
// between train_step's kernels and apply_update's without a host wait. A
// failed collective cannot be undone: it is reported with NCCL's error
// string and the process ends with status 70 (mpirun then ends the job).
// Everything else (host sums, gathers, all-to-alls) is the host's.
//
// Run against the stand-in library of test/tools/fake-cuda (MTGR_LIBNCCL)
// in CI; on GPUs only where a machine of several GPUs has been lent
// (docs/scale-out.md says which).
//
//===----------------------------------------------------------------------===//
#include "model/Error.h"
#include "runtime/Collective.h"
#include "runtime/Device.h"

#include <cstdlib>
#include <cstring>
#include <dlfcn.h>

using namespace mtgr;

namespace {
// NCCL's ABI (nccl.h, stable since 2.0): what this file passes and receives.
using ncclResult_t = int;
using ncclComm_t = void *;
struct ncclUniqueId {
  char internal[128];
};
constexpr int kNcclFloat32 = 7;
constexpr int kNcclSum = 0;

struct NcclApi {
  void *library = nullptr;
  ncclResult_t (*getVersion)(int *) = nullptr;
  ncclResult_t (*getUniqueId)(ncclUniqueId *) = nullptr;
  ncclResult_t (*commInitRank)(ncclComm_t *, int, ncclUniqueId, int) = nullptr;
  ncclResult_t (*commDestroy)(ncclComm_t) = nullptr;
  ncclResult_t (*allReduce)(const void *, void *, size_t, int, int, ncclComm_t, void *) = nullptr;
  const char *(*getErrorString)(ncclResult_t) = nullptr;
  int version = 0;
  std::string path;

  std::string errorText(ncclResult_t r) const {
    const char *text = getErrorString ? getErrorString(r) : nullptr;
    return (text ? std::string(text) : "error") + " (" + std::to_string(r) + ")";
  }
};

llvm::Expected<NcclApi> loadNccl() {
  NcclApi api;
  const char *named = std::getenv("MTGR_LIBNCCL");
  api.path = named && *named ? named : "libnccl.so.2";
  api.library = ::dlopen(api.path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!api.library) {
    const char *why = ::dlerror();
    return fail("NCCL: cannot load " + api.path + ": " + (why ? why : "dlopen failed") +
                " (it ships with the CUDA toolkit: put its lib folder on LD_LIBRARY_PATH, or "
                "name the file in MTGR_LIBNCCL)");
  }
  auto resolve = [&](auto &fn, const char *name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(api.library, name));
    return fn != nullptr;
  };
  for (auto [ok, name] :
       {std::pair{resolve(api.getVersion, "ncclGetVersion"), "ncclGetVersion"},
        std::pair{resolve(api.getUniqueId, "ncclGetUniqueId"), "ncclGetUniqueId"},
        std::pair{resolve(api.commInitRank, "ncclCommInitRank"), "ncclCommInitRank"},
        std::pair{resolve(api.commDestroy, "ncclCommDestroy"), "ncclCommDestroy"},
        std::pair{resolve(api.allReduce, "ncclAllReduce"), "ncclAllReduce"},
        std::pair{resolve(api.getErrorString, "ncclGetErrorString"), "ncclGetErrorString"}})
    if (!ok) {
      ::dlclose(api.library);
      return fail("NCCL: " + api.path + " has no " + name + ": not an NCCL library");
    }
  if (ncclResult_t r = api.getVersion(&api.version))
    return fail("NCCL: ncclGetVersion: " + api.errorText(r));
  if (api.version < 20000) // 2.x: the ABI above
    return fail("NCCL: " + api.path + " is version " + std::to_string(api.version) +
                ", older than 2.0");
  return api;
}

class NcclCollective final : public Collective {
public:
  NcclCollective(Collective &host, NcclApi api, ncclComm_t comm)
      : host(&host), api(std::move(api)), comm(comm) {}
  ~NcclCollective() override {
    if (comm)
      api.commDestroy(comm);
    // The library stays loaded: NCCL's threads may outlive the communicator.
  }
  int rank() const override { return host->rank(); }
  int size() const override { return host->size(); }
  llvm::StringRef engine() const override { return engineName; }
  void allReduceSum(float *data, size_t count) override { host->allReduceSum(data, count); }
  void allReduceSum(double *data, size_t count) override { host->allReduceSum(data, count); }
  std::vector<char> allGather(llvm::ArrayRef<char> local) override {
    return host->allGather(local);
  }
  std::vector<std::vector<char>> allToAll(const std::vector<std::vector<char>> &toEach) override {
    return host->allToAll(toEach);
  }
  void allReduceSumOnDevice(Device &device, float *data, size_t count) override {
    if (!count)
      return;
    if (ncclResult_t r =
            api.allReduce(data, data, count, kNcclFloat32, kNcclSum, comm, device.nativeStream())) {
      llvm::errs() << "mtgr: rank " << rank() << ": ncclAllReduce of " << count
                   << " floats: " << api.errorText(r) << "\n";
      std::_Exit(70);
    }
  }
  bool sumsOnDevice() const override { return true; }

  std::string engineName;

private:
  Collective *host;
  NcclApi api;
  ncclComm_t comm = nullptr;
};
} // namespace

llvm::Expected<std::unique_ptr<Collective>> mtgr::createNcclCollective(Collective &ranks,
                                                                       Device &device) {
  Collective *host = &ranks;
  if (device.sharesHostMemory())
    return fail("NCCL sums GPU memory: device '" + device.name().str() +
                "' computes in the host's (its ranks sum over " + host->engine().str() + ")");
  // Every rank learns whether every rank has the library before any waits
  // in NCCL's bootstrap for one that has not.
  auto api = loadNccl();
  bool missing = host->any(!api);
  if (!api)
    return api.takeError();
  if (missing)
    return fail("NCCL: another rank cannot load it (its error says why)");
  ncclUniqueId id{};
  ncclResult_t made = host->rank() == 0 ? api->getUniqueId(&id) : 0;
  if (host->any(made != 0))
    return fail("NCCL: ncclGetUniqueId on rank 0: " +
                (made ? api->errorText(made) : std::string("failed")));
  std::vector<char> all =
      host->allGather(llvm::ArrayRef<char>(reinterpret_cast<const char *>(&id), sizeof id));
  std::memcpy(&id, all.data(), sizeof id); // rank 0's
  ncclComm_t comm = nullptr;
  ncclResult_t r = api->commInitRank(&comm, host->size(), id, host->rank());
  bool failed = host->any(r != 0);
  if (r)
    return fail("NCCL: ncclCommInitRank (rank " + std::to_string(host->rank()) + " of " +
                std::to_string(host->size()) + ", " + device.name().str() +
                "): " + api->errorText(r));
  if (failed) {
    api->commDestroy(comm);
    return fail("NCCL: ncclCommInitRank failed on another rank (its error says why)");
  }
  int v = api->version;
  std::string engine = host->engine().str() + "+nccl " + std::to_string(v / 10000) + "." +
                       std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
  auto nccl = std::make_unique<NcclCollective>(ranks, std::move(*api), comm);
  nccl->engineName = engine;
  return nccl;
}
