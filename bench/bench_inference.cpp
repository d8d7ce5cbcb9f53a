//===- bench_inference.cpp - CPU inference throughput vs the GEMM ceiling --===//
//
// MTGR-small-shaped inference on synthetic requests, on 1 and 2 threads:
// candidates/s, tokens/s and GFLOP/s (the FLOP counter of docs/flops.md on
// the batch's exact lengths and timestamps), against this machine's fp32 GEMM
// ceiling measured in the same run with OpenBLAS sgemm, in alternating rounds
// with mtgr's passes (loaded at run time;
// set OPENBLAS_CORETYPE=SkylakeX on this CPU, see bench/run-cpu-inference.sh).
//
//===----------------------------------------------------------------------===//
#include "app/Devices.h"
#include "codegen/cpu/CpuBackend.h"
#include "compiler/Compiler.h"
#include "data/Synthetic.h"
#include "model/ModelStats.h"
#include "runtime/HostMemory.h"
#include "runtime/Profile.h"
#include "runtime/Session.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/TargetParser/Host.h"

#include <array>
#include <chrono>
#include <dlfcn.h>
#include <fstream>
#include <functional>
#include <memory>
#include <vector>

using namespace mlir::mtgr;
namespace cl = llvm::cl;

namespace {
cl::OptionCategory category("mtgr-bench-inference options");
cl::opt<std::string> modelPath(cl::Positional, cl::desc("<model.yaml>"), cl::cat(category));
cl::opt<std::string> resultsPath("results", cl::desc("Results file"), cl::init("-"),
                                 cl::cat(category));
cl::opt<int64_t> users("users", cl::desc("Users (samples) in the synthetic data"), cl::init(16),
                       cl::cat(category));
cl::opt<int64_t> seqLen("seq-len", cl::desc("Longest behaviour sequence S per user"), cl::init(512),
                        cl::cat(category));
cl::opt<int64_t> rtLen("rt-len", cl::desc("Longest real-time sequence R per user"), cl::init(64),
                       cl::cat(category));
cl::opt<int64_t> candidates("candidates", cl::desc("Most candidates K per user"), cl::init(32),
                            cl::cat(category));
cl::opt<bool> exactLengths("exact-lengths",
                           cl::desc("Every user has exactly --seq-len, --rt-len and --candidates "
                                    "(one request of the paper's shape: --users=1)"),
                           cl::init(false), cl::cat(category));
cl::opt<double> seconds("seconds", cl::desc("Time per measurement"), cl::init(3.0),
                        cl::cat(category));
cl::opt<std::string> cpuName("cpu",
                             cl::desc("CPU to compile for (mtgr-compile --cpu): native, or e.g. "
                                      "x86-64-v3 for AVX2 code on an AVX-512 machine (then name "
                                      "the baseline's kernel: OPENBLAS_CORETYPE=Haswell)"),
                             cl::init("native"), cl::cat(category));

cl::opt<bool> sgemmOnly("sgemm-only",
                        cl::desc("Print only the baseline's 1-thread OpenBLAS sgemm GFLOP/s "
                                 "(bench/run-cpu-inference.sh picks the faster of OpenBLAS's "
                                 "AVX-512 and AVX2 kernels with it)"),
                        cl::init(false), cl::cat(category));
cl::opt<std::string> tiles("tiles",
                           cl::desc("Register tiles set by hand (mtgr-compile --tiles), e.g. "
                                    "gemm=4x64,attention=6 (bench/tune-tiles.sh)"),
                           cl::cat(category));

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

BackendOptions cpuOptions() {
  BackendOptions o;
  o.chip = cpuName;
  o.tiles = tiles;
  return o;
}

/// OpenBLAS sgemm (2048^3, fp32) as the ceiling, loaded at run time: a
/// null `call` when libopenblas is not installed. `call` works on this
/// object's matrices: it lives as long as they do.
struct Sgemm {
  static constexpr int n = 2048;
  std::function<void()> call;
  std::vector<float> a, b, c;

  explicit Sgemm(int threads) {
    void *lib = dlopen("libopenblas.so.0", RTLD_NOW);
    if (!lib)
      return;
    using Fn = void (*)(int, int, int, int, int, int, float, const float *, int, const float *, int,
                        float, float *, int);
    auto sgemm = reinterpret_cast<Fn>(dlsym(lib, "cblas_sgemm"));
    auto setThreads = reinterpret_cast<void (*)(int)>(dlsym(lib, "openblas_set_num_threads"));
    if (!sgemm || !setThreads)
      return;
    a.assign(n * n, 0.5f), b.assign(n * n, 0.25f), c.assign(n * n, 0.0f);
    const float *pa = a.data(), *pb = b.data();
    float *pc = c.data();
    call = [=] {
      setThreads(threads);
      sgemm(101 /*row major*/, 111 /*no trans*/, 112 /*trans*/, n, n, n, 1.0f, pa, n, pb, n, 0.0f,
            pc, n);
    };
  }
  double gflops(double seconds) const { return 2.0 * n * n * n / seconds / 1e9; }
};

/// The best time of each of `fns` over `rounds` rounds, each round running
/// every one in turn for `seconds / rounds`: a slow phase of this shared
/// machine (another tenant on the core) then falls on both sides of a
/// ratio, where one measurement after the other could put it on one (the
/// attention's ratio moved 0.793 -> 0.841 between two runs a commit apart
/// on znver4, mostly with sgemm's sample: 105.6 and 100.9 GFLOP/s).
std::vector<double> timeAlternating(llvm::ArrayRef<std::function<void()>> fns, int rounds = 3) {
  std::vector<double> best(fns.size(), 1e30);
  for (const auto &fn : fns)
    fn(); // warm up
  for (int r = 0; r < rounds; ++r)
    for (size_t i = 0; i < fns.size(); ++i) {
      double start = now();
      do {
        double t0 = now();
        fns[i]();
        best[i] = std::min(best[i], now() - t0);
      } while (now() - start < seconds / rounds);
    }
  return best;
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category); // LLVM's own flags stay out of --help
  cl::ParseCommandLineOptions(argc, argv, "mtgr CPU inference benchmark\n");
  if (sgemmOnly) {
    Sgemm sgemm(1);
    if (!sgemm.call) {
      llvm::errs() << "libopenblas.so.0 (cblas_sgemm) cannot be loaded\n";
      return 1;
    }
    llvm::outs() << llvm::format("%.1f\n", sgemm.gflops(timeAlternating({sgemm.call})[0]));
    return 0;
  }
  if (modelPath.empty()) {
    llvm::errs() << "mtgr-bench-inference: a model (.yaml) to compile is needed (or "
                    "--sgemm-only)\n";
    return 1;
  }
  auto text = llvm::MemoryBuffer::getFile(modelPath);
  if (!text) {
    llvm::errs() << modelPath << ": cannot read\n";
    return 1;
  }
  double t0 = now();
  auto artifact =
      compileArtifact((*text)->getBuffer(), modelPath, /*trainStep=*/false, "cpu", cpuOptions());
  if (!artifact) {
    llvm::errs() << llvm::toString(artifact.takeError()) << "\n";
    return 1;
  }
  double compileSeconds = now() - t0;
  const ModelDesc m = artifact->model;
  SyntheticOptions o;
  o.users = users, o.maxSequence = seqLen, o.minSequence = seqLen / 4, o.maxRealtime = rtLen;
  o.maxCandidates = candidates, o.minCandidates = candidates / 2, o.seed = 7;
  if (exactLengths)
    o.minSequence = seqLen, o.minRealtime = rtLen, o.minCandidates = candidates;
  Batch batch = generateSynthetic(m, o);
  // FLOPs of this exact batch (per sample: its lengths and R/C timestamps).
  auto count = countBatchFlops(m, batch);
  if (!count) {
    llvm::errs() << "the benchmark needs a mask whose pairs it can count (not intervals)\n";
    return 1;
  }
  double flops = double(count->total()), counterAttention = double(count->attention);
  double linearFlops = double(count->tokenizer + count->projections + count->heads); // every Linear
  std::string out;
  llvm::raw_string_ostream os(out);
  os << "# mtgr CPU inference benchmark (bench/bench_inference.cpp)\n"
     << "model: " << m.name << " (" << m.layers << " layers, d_model " << m.dModel << ", "
     << m.heads << " heads), compiled in " << llvm::format("%.1f", compileSeconds) << " s\n"
     << "batch: " << batch.numSamples << " users, " << batch.numCandidates() << " candidates, "
     << batch.totalTokens(m) << " tokens (S " << (exactLengths ? "= " : "<= ") << seqLen
     << ", R " << (exactLengths ? "= " : "<= ") << rtLen << ", K "
     << (exactLengths ? "= " : "<= ") << candidates << "), " << llvm::format("%.2f", flops / 1e9)
     << " GFLOP per batch\n";
  // What the code was tiled for (the artifact's record): FMA units, vector
  // width and caches beside the ratios.
  os << "machine: " << recordedTarget(*artifact) << "; this host: " << llvm::sys::getHostCPUName()
     << "\n";
  const char *kernel = getenv("OPENBLAS_CORETYPE");
  os << "baseline: OpenBLAS sgemm, OPENBLAS_CORETYPE=" << (kernel && *kernel ? kernel : "(auto)")
     << "\n";
  os << "threads  ms/batch  candidates/s  tokens/s  GFLOP/s  sgemm GFLOP/s  ratio\n";
  double oneThreadCeiling = -1;
  for (unsigned threads : {1u, 2u}) {
    auto session = Session::create(*artifact, threads);
    if (!session) {
      llvm::errs() << llvm::toString(session.takeError()) << "\n";
      return 1;
    }
    Sgemm sgemm(threads);
    std::vector<std::function<void()>> contenders{[&] {
      auto r = (*session)->forward(batch);
      if (!r)
        llvm::report_fatal_error(llvm::StringRef(llvm::toString(r.takeError())));
    }};
    if (sgemm.call)
      contenders.push_back(sgemm.call);
    std::vector<double> best = timeAlternating(contenders);
    double t = best[0], gflops = flops / t / 1e9;
    double ceiling = sgemm.call ? sgemm.gflops(best[1]) : -1;
    if (threads == 1)
      oneThreadCeiling = ceiling;
    os << llvm::format("%7u  %8.2f  %12.0f  %8.0f  %7.2f  ", threads, t * 1e3,
                       batch.numCandidates() / t, batch.totalTokens(m) / t, gflops);
    if (ceiling > 0)
      os << llvm::format("%13.1f  %5.3f\n", ceiling, gflops / ceiling);
    else
      os << "  (no OpenBLAS)      -\n";
  }
  os << "ratio = mtgr GFLOP/s / OpenBLAS sgemm (2048^3) GFLOP/s on the same threads, each the "
        "best of 3 alternating rounds\n";
  // 2 threads against 1 in alternating rounds (the rows above run one after
  // the other, with OpenBLAS between them): the thread scaling on its own.
  {
    std::vector<std::unique_ptr<Session>> sessions;
    for (unsigned threads : {1u, 2u}) {
      auto session = Session::create(*artifact, threads);
      if (!session) {
        llvm::errs() << llvm::toString(session.takeError()) << "\n";
        return 1;
      }
      sessions.push_back(std::move(*session));
    }
    std::array<double, 2> best{1e30, 1e30};
    const int rounds = 5;
    for (int r = 0; r < rounds; ++r)
      for (size_t i = 0; i < 2; ++i) {
        double start = now();
        do {
          double t0 = now();
          if (auto res = sessions[i]->forward(batch); !res)
            llvm::report_fatal_error(llvm::StringRef(llvm::toString(res.takeError())));
          best[i] = std::min(best[i], now() - t0);
        } while (now() - start < seconds / rounds);
      }
    os << llvm::format("threads, alternating (%d rounds of 1 and 2 threads): best %.2f ms on 1, "
                       "%.2f ms on 2: %.2fx\n",
                       rounds, best[0] * 1e3, best[1] * 1e3, best[0] / best[1]);
  }
  // Working memory of one call on one thread: the pool's high-water mark
  // (buffers are freed at their last use, mtgr-free-buffers).
  {
    auto session = Session::create(*artifact, 1);
    if (!session) {
      llvm::errs() << llvm::toString(session.takeError()) << "\n";
      return 1;
    }
    HostPool &pool = (*session)->environment().pool;
    pool.resetHighWater();
    int64_t before = pool.highWater();
    if (auto r = (*session)->forward(batch); !r)
      llvm::report_fatal_error(llvm::StringRef(llvm::toString(r.takeError())));
    double peak = static_cast<double>(pool.highWater() - before);
    os << "working memory (1 thread, pool high-water mark): "
       << llvm::format("%.1f MiB, %.1f KiB per token", peak / 1048576.0,
                       peak / 1024.0 / static_cast<double>(batch.totalTokens(m)))
       << "\n";
  }
  // Where the time goes, one thread: the same model compiled with --profile
  // (a clock read around every op; the totals above come from the
  // unprofiled code). Attention's useful FLOPs: 2 (dqk + dv) per visible
  // pair, head and layer.
  {
    std::string diag;
    llvm::raw_string_ostream ds(diag);
    auto backend = createCpuBackend(cpuOptions());
    if (!backend) {
      llvm::errs() << llvm::toString(backend.takeError()) << "\n";
      return 1;
    }
    auto profiled = compileModel(m, (*text)->getBuffer(), Stage::Artifact, **backend, ds,
                                 /*trainStep=*/false, /*profile=*/true);
    if (!profiled) {
      llvm::errs() << llvm::toString(profiled.takeError()) << "\n" << diag;
      return 1;
    }
    auto session = Session::create(std::move(profiled->artifact), 1);
    if (!session) {
      llvm::errs() << llvm::toString(session.takeError()) << "\n";
      return 1;
    }
    FamilySeconds best{};
    best.fill(1e30);
    int64_t visible = 0, computed = 0;
    double start = now();
    do {
      (*session)->environment().profile.reset();
      auto r = (*session)->forward(batch);
      if (!r)
        llvm::report_fatal_error(llvm::StringRef(llvm::toString(r.takeError())));
      visible = r->visiblePairs, computed = r->attentionPairs;
      FamilySeconds t = (*session)->environment().profile.seconds();
      for (size_t f = 0; f < t.size(); ++f)
        best[f] = std::min(best[f], t[f]);
    } while (now() - start < seconds);
    double attentionFlops = 2.0 * double(visible) * double(m.layers * m.heads * (m.dqk + m.dv));
    double ceiling = oneThreadCeiling;
    os << "\nprofile, 1 thread (best per family over " << llvm::format("%.0f", double(seconds))
       << " s of calls):\nfamily        ms/batch\n";
    for (size_t f = 0; f < best.size(); ++f)
      if (best[f] > 0 && best[f] < 1e30)
        os << llvm::format("%-12s  %8.2f\n", toString(static_cast<ProfileFamily>(f)).str().c_str(), best[f] * 1e3);
    double rate = attentionFlops / best[1] / 1e9;
    os << "attention: " << visible << " visible pairs per layer and head, " << computed
       << " computed (" << llvm::format("%.3f", double(computed) / double(std::max<int64_t>(visible, 1)))
       << "x), " << llvm::format("%.2f", attentionFlops / 1e9) << " useful GFLOP, "
       << llvm::format("%.1f", rate) << " GFLOP/s (FLOP counter of docs/flops.md: "
       << llvm::format("%.2f", counterAttention / 1e9) << " GFLOP)";
    if (ceiling > 0)
      os << llvm::format(" = %.3f of sgemm (%.1f GFLOP/s, 1 thread, above)", rate / ceiling,
                         ceiling);
    os << "\n";
    // The projections family is every Linear: tokenizer MLPs, the layers'
    // uvqk and output projections, the task heads.
    double linearRate = linearFlops / best[0] / 1e9;
    os << "projections: " << llvm::format("%.2f", linearFlops / 1e9)
       << " GFLOP (tokenizer, layer and head Linears), " << llvm::format("%.1f", linearRate)
       << " GFLOP/s";
    if (ceiling > 0)
      os << llvm::format(" = %.3f of sgemm", linearRate / ceiling);
    os << "\n";
  }
  llvm::outs() << out;
  if (resultsPath != "-") {
    std::ofstream f(resultsPath);
    f << out;
  }
  return 0;
}
