//===- MpiCollective.cpp - the ranks of an MPI job -------------------------===//
//
// MPI_COMM_WORLD as a Collective (runtime/Collective.h). Built where CMake
// finds MPI (Debian's libopenmpi-dev); otherwise runtime/dist/NoMpi.cpp says
// so. Sums are MPI_Allreduce: for a given rank count and message size
// OpenMPI picks the same algorithm every call, so a job repeats bit for bit.
//
//===----------------------------------------------------------------------===//
#include "model/Error.h"
#include "runtime/Collective.h"

#include <mpi.h>

#include <atomic>
#include <climits>

using namespace mtgr;

namespace {
std::atomic<int> worlds{0};

[[noreturn]] void mpiFault(int code, const char *call) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  llvm::errs() << "mtgr: " << call << ": " << llvm::StringRef(text, size_t(length)) << "\n";
  MPI_Abort(MPI_COMM_WORLD, 70);
  std::_Exit(70);
}
void must(int code, const char *call) {
  if (code != MPI_SUCCESS)
    mpiFault(code, call);
}

class MpiCollective final : public Collective {
public:
  MpiCollective() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rankValue);
    MPI_Comm_size(MPI_COMM_WORLD, &sizeValue);
  }
  ~MpiCollective() override {
    if (--worlds == 0) {
      int finalized = 0;
      MPI_Finalized(&finalized);
      if (!finalized)
        MPI_Finalize();
    }
  }
  int rank() const override { return rankValue; }
  int size() const override { return sizeValue; }
  llvm::StringRef engine() const override { return "mpi"; }
  void allReduceSum(float *data, size_t count) override { reduce(data, count, MPI_FLOAT, 4); }
  void allReduceSum(double *data, size_t count) override { reduce(data, count, MPI_DOUBLE, 8); }
  std::vector<char> allGather(llvm::ArrayRef<char> local) override {
    long long mine = static_cast<long long>(local.size());
    std::vector<long long> sizes(static_cast<size_t>(sizeValue));
    must(MPI_Allgather(&mine, 1, MPI_LONG_LONG, sizes.data(), 1, MPI_LONG_LONG, MPI_COMM_WORLD),
         "MPI_Allgather");
    long long total = 0;
    std::vector<int> counts, displacements;
    for (long long s : sizes) {
      if (s > INT_MAX || total > INT_MAX)
        mpiFault(MPI_ERR_COUNT, "MPI_Allgatherv (more than 2 GiB)");
      counts.push_back(static_cast<int>(s));
      displacements.push_back(static_cast<int>(total));
      total += s;
    }
    std::vector<char> out(static_cast<size_t>(total));
    must(MPI_Allgatherv(local.data(), static_cast<int>(mine), MPI_BYTE, out.data(), counts.data(),
                        displacements.data(), MPI_BYTE, MPI_COMM_WORLD),
         "MPI_Allgatherv");
    return out;
  }

  std::vector<std::vector<char>> allToAll(const std::vector<std::vector<char>> &toEach) override {
    const size_t n = static_cast<size_t>(sizeValue);
    std::vector<long long> sending(n, 0), receiving(n, 0);
    for (size_t q = 0; q < n && q < toEach.size(); ++q)
      sending[q] = static_cast<long long>(toEach[q].size());
    must(MPI_Alltoall(sending.data(), 1, MPI_LONG_LONG, receiving.data(), 1, MPI_LONG_LONG,
                      MPI_COMM_WORLD),
         "MPI_Alltoall");
    std::vector<int> sendCounts, sendAt, receiveCounts, receiveAt;
    long long sent = 0, received = 0;
    std::vector<char> out, in;
    for (size_t q = 0; q < n; ++q) {
      if (sent > INT_MAX || received > INT_MAX || sending[q] > INT_MAX || receiving[q] > INT_MAX)
        mpiFault(MPI_ERR_COUNT, "MPI_Alltoallv (more than 2 GiB)");
      sendCounts.push_back(static_cast<int>(sending[q]));
      sendAt.push_back(static_cast<int>(sent));
      receiveCounts.push_back(static_cast<int>(receiving[q]));
      receiveAt.push_back(static_cast<int>(received));
      sent += sending[q];
      received += receiving[q];
      if (q < toEach.size())
        out.insert(out.end(), toEach[q].begin(), toEach[q].end());
    }
    in.resize(static_cast<size_t>(received));
    must(MPI_Alltoallv(out.data(), sendCounts.data(), sendAt.data(), MPI_BYTE, in.data(),
                       receiveCounts.data(), receiveAt.data(), MPI_BYTE, MPI_COMM_WORLD),
         "MPI_Alltoallv");
    std::vector<std::vector<char>> fromEach(n);
    for (size_t q = 0; q < n; ++q)
      fromEach[q].assign(in.begin() + receiveAt[q], in.begin() + receiveAt[q] + receiveCounts[q]);
    return fromEach;
  }

private:
  /// In pieces of at most 2^30 elements (MPI counts are ints).
  void reduce(void *data, size_t count, MPI_Datatype type, size_t bytes) {
    char *at = static_cast<char *>(data);
    for (size_t done = 0; done < count;) {
      int n = static_cast<int>(std::min<size_t>(count - done, size_t(1) << 30));
      must(MPI_Allreduce(MPI_IN_PLACE, at + done * bytes, n, type, MPI_SUM, MPI_COMM_WORLD),
           "MPI_Allreduce");
      done += static_cast<size_t>(n);
    }
  }
  int rankValue = 0, sizeValue = 1;
};
} // namespace

bool mtgr::haveMpi() { return true; }

llvm::Expected<std::unique_ptr<Collective>> mtgr::createMpiCollective() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    // Calls come from one thread (the trainer's); its threads compute only.
    if (int r = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided))
      return fail("MPI_Init_thread failed (" + std::to_string(r) + ")");
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  ++worlds;
  return std::unique_ptr<Collective>(new MpiCollective());
}
