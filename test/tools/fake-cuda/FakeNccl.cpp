//===- FakeNccl.cpp - a stand-in libnccl.so.2 for tests --------------------===//
//
// NCCL as runtime/dist/NcclCollective.cpp loads it, for machines without a
// GPU: the devices it serves in tests (the GPU emulator, the fake driver)
// have the host's memory, so an all-reduce is MPI_Allreduce in place on it,
// over the MPI world the process already runs in (mtgr-run initialises
// it). The unique id carries a tag that ncclCommInitRank checks (an id not
// from ncclGetUniqueId, or one that did not reach every rank, is refused),
// and the rank count must be the world's. Environment:
//   FAKE_NCCL_TRACE=1          each all-reduce on stderr (rank, floats)
//   FAKE_NCCL_INIT_ERROR=C     ncclCommInitRank returns result C
//   FAKE_NCCL_INIT_ERROR_RANK=R  ... on rank R only (default: every rank)
//
//===----------------------------------------------------------------------===//
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace {
struct UniqueId {
  char internal[128];
};
struct Comm {
  int ranks, rank;
};
constexpr char kTag[] = "fake-nccl-id";
int envInt(const char *name, int fallback) {
  const char *v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}
} // namespace

extern "C" {
int ncclGetVersion(int *version) {
  *version = 22703; // 2.27.3
  return 0;
}
const char *ncclGetErrorString(int result) {
  switch (result) {
  case 0:
    return "no error";
  case 1:
    return "unhandled cuda error (run with NCCL_DEBUG=INFO for details)";
  case 2:
    return "unhandled system error (run with NCCL_DEBUG=INFO for details)";
  case 3:
    return "internal error - please report this issue to the NCCL developers";
  case 4:
    return "invalid argument (run with NCCL_DEBUG=WARN for details)";
  case 5:
    return "invalid usage (run with NCCL_DEBUG=WARN for details)";
  case 6:
    return "remote process exited or there was a network error";
  default:
    return "unknown result code";
  }
}
int ncclGetUniqueId(UniqueId *id) {
  std::memset(id, 0, sizeof *id);
  std::snprintf(id->internal, sizeof id->internal, "%s %d", kTag, int(getpid()));
  return 0;
}
int ncclCommInitRank(Comm **comm, int ranks, UniqueId id, int rank) {
  int world = 0, me = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  MPI_Comm_rank(MPI_COMM_WORLD, &me);
  // The same id on every rank: rank 0's (every rank takes part, as in
  // NCCL's bootstrap, before any fails).
  UniqueId first = id;
  MPI_Bcast(first.internal, sizeof first.internal, MPI_CHAR, 0, MPI_COMM_WORLD);
  int failing = envInt("FAKE_NCCL_INIT_ERROR_RANK", -1);
  if (int code = envInt("FAKE_NCCL_INIT_ERROR", 0); code && (failing < 0 || failing == rank))
    return code;
  if (std::strncmp(id.internal, kTag, sizeof kTag - 1) || ranks != world || rank != me ||
      std::memcmp(first.internal, id.internal, sizeof id.internal))
    return 4; // ncclInvalidArgument
  *comm = new Comm{ranks, rank};
  return 0;
}
int ncclCommDestroy(Comm *comm) {
  delete comm;
  return 0;
}
int ncclAllReduce(const void *send, void *receive, size_t count, int type, int op, Comm *comm,
                  void * /*stream: the host's memory, work done when issued*/) {
  if (!comm || type != 7 /*ncclFloat32*/ || op != 0 /*ncclSum*/ || send != receive)
    return 4;
  if (envInt("FAKE_NCCL_TRACE", 0))
    std::fprintf(stderr, "fake-nccl: rank %d: all-reduce of %zu floats\n", comm->rank, count);
  MPI_Allreduce(MPI_IN_PLACE, receive, int(count), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  return 0;
}
}
