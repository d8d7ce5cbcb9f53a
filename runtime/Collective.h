//===- Collective.h - the ranks of a multi-rank job ---------------*- C++ -*-===//
//
// What multi-rank training needs from an engine (issue 27): this process's
// rank among `size`, sums of gradient buffers over the ranks, the ranks'
// buffers one after another, and agreement on a value. Engines, not a
// transport of our own: MPI on the CPU (runtime/dist/MpiCollective.cpp, built
// where CMake finds Debian's OpenMPI), one rank otherwise. Every rank calls
// the same collectives in the same order; a sum over the ranks is done in
// the same order by every call for a given rank count, so a job repeats bit
// for bit for a given (ranks, threads).
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_COLLECTIVE_H
#define MTGR_RUNTIME_COLLECTIVE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace mtgr {

class Device;

class Collective {
public:
  virtual ~Collective();
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// "local" or "mpi".
  virtual llvm::StringRef engine() const = 0;
  /// Sums `data` over the ranks, in place on every rank.
  virtual void allReduceSum(float *data, size_t count) = 0;
  virtual void allReduceSum(double *data, size_t count) = 0;
  /// Every rank's bytes, one after another in rank order (any lengths).
  virtual std::vector<char> allGather(llvm::ArrayRef<char> local) = 0;
  /// Sums `count` floats in `device`'s memory over the ranks, in place,
  /// after the work issued to the device before it (and before the work
  /// issued after). The default goes through the host (copied out, summed
  /// by allReduceSum, copied back); an engine of device memory (NCCL)
  /// overrides it.
  virtual void allReduceSumOnDevice(Device &device, float *data, size_t count);
  /// True when allReduceSumOnDevice sums in the device's memory.
  virtual bool sumsOnDevice() const { return false; }

  /// Personalised exchange: `toEach[q]` goes to rank q; returns what each
  /// rank sent this one, by rank (MPI_Alltoallv). The default goes through
  /// allGather (every rank receives everything): right, not lean; engines
  /// override it.
  virtual std::vector<std::vector<char>> allToAll(const std::vector<std::vector<char>> &toEach);

  /// Every rank's floats one after another in rank order.
  std::vector<float> allGatherFloats(llvm::ArrayRef<float> local);
  /// An error naming the ranks whose `value` differs from rank 0's (`what`:
  /// what the value is of, for the message), on every rank alike.
  llvm::Error agree(uint64_t value, llvm::StringRef what);
  /// True on every rank when `flag` is true on any.
  bool any(bool flag);
};

/// One rank: every collective is the identity.
std::unique_ptr<Collective> createLocalCollective();

/// True when an MPI launcher (mpirun, mpiexec) started this process.
bool launchedByMpi();
/// True when this build has MPI (CMake found OpenMPI).
bool haveMpi();
/// MPI's world (initialised here, finalised when the last one goes), or why
/// not (built without MPI).
llvm::Expected<std::unique_ptr<Collective>> createMpiCollective();

/// The ranks of `host` (an MPI world, which must outlive the result) with
/// NCCL for sums in the memory of `device` (a GPU's;
/// runtime/dist/NcclCollective.cpp): libnccl.so.2 loaded with dlopen
/// (MTGR_LIBNCCL names another file), the communicator bootstrapped over
/// `host` (rank 0's id gathered by every rank), each sum an ncclAllReduce
/// on the device's stream; every other collective is `host`'s. Every rank
/// must call it; on every rank alike, the error says why not (no library,
/// the communicator not made), and `host` can go on without it.
llvm::Expected<std::unique_ptr<Collective>> createNcclCollective(Collective &host, Device &device);

} // namespace mtgr

#endif
