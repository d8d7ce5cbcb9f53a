//===- bench_training.cpp - training throughput, with and without compression -===//
//
// Trains one epoch of the same synthetic requests twice: as compressed user
// samples [U, S, R, C_1..C_K] and as DLRM rows (one sample per candidate,
// R before its time: splitIntoRows). Reports candidates/s (= DLRM samples/s)
// and tokens/s of each, and the speedup of compression, measured in the same
// run and written to a results file.
//
//===----------------------------------------------------------------------===//
#include "app/Devices.h"
#include "compiler/Compiler.h"
#include "data/Synthetic.h"
#include "runtime/Grouping.h"
#include "runtime/Trainer.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/TargetParser/Host.h"

#include <chrono>
#include <fstream>
#include <thread>

using namespace mlir::mtgr;
namespace cl = llvm::cl;

namespace {
cl::OptionCategory category("mtgr-bench-training options");
cl::opt<std::string> modelPath(cl::Positional, cl::desc("<model.yaml>"), cl::Required,
                               cl::cat(category));
cl::opt<std::string> resultsPath("results", cl::desc("Results file (- for stdout)"), cl::init("-"),
                                 cl::cat(category));
cl::opt<int64_t> users("users", cl::desc("Users (samples) in the synthetic data"), cl::init(200),
                       cl::cat(category));
cl::opt<int64_t> seqLen("seq-len", cl::desc("Longest behaviour sequence S per user"), cl::init(256),
                        cl::cat(category));
cl::opt<int64_t> rtLen("rt-len", cl::desc("Longest real-time sequence R per user"), cl::init(32),
                       cl::cat(category));
cl::opt<int64_t> candidates("candidates", cl::desc("Most candidates K per user"), cl::init(16),
                            cl::cat(category));
cl::opt<unsigned> threads("num-threads", cl::desc("Also measure with this many threads (0: cores)"),
                          cl::init(0), cl::cat(category));

struct Run {
  double seconds;
  int64_t candidates, tokens, steps;
};

Run trainEpoch(const Artifact &artifact, const Batch &data, unsigned threads) {
  auto session = Session::create(artifact, threads);
  if (!session)
    llvm::report_fatal_error(llvm::StringRef(llvm::toString(session.takeError())));
  Trainer trainer(**session, data);
  TrainLimits limits;
  limits.epochs = 1;
  Run r{0, data.numCandidates(), data.totalTokens((*session)->model()), 0};
  auto t0 = std::chrono::steady_clock::now();
  if (auto e = trainer.run(limits, [&](const StepReport &) { ++r.steps; }))
    llvm::report_fatal_error(llvm::StringRef(llvm::toString(std::move(e))));
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category); // LLVM's own flags stay out of --help
  cl::ParseCommandLineOptions(argc, argv, "mtgr training benchmark\n");
  auto text = llvm::MemoryBuffer::getFile(modelPath);
  if (!text) {
    llvm::errs() << modelPath << ": cannot read\n";
    return 1;
  }
  auto artifact = compileArtifact((*text)->getBuffer(), modelPath);
  if (!artifact) {
    llvm::errs() << llvm::toString(artifact.takeError()) << "\n";
    return 1;
  }
  const ModelDesc &m = artifact->model;
  SyntheticOptions o;
  o.users = users, o.maxSequence = seqLen, o.minSequence = seqLen / 4, o.maxRealtime = rtLen;
  o.maxCandidates = candidates, o.minCandidates = candidates / 2, o.seed = 3;
  Batch compressed = generateSynthetic(m, o);
  Batch rows = splitIntoRows(m, compressed);
  unsigned many = threads ? threads : std::max(1u, std::thread::hardware_concurrency());
  Run a = trainEpoch(*artifact, compressed, 1), b = trainEpoch(*artifact, rows, 1);
  Run c = trainEpoch(*artifact, compressed, many), d = trainEpoch(*artifact, rows, many);
  std::string out;
  llvm::raw_string_ostream os(out);
  os << "# mtgr training benchmark (bench/bench_training.cpp), one epoch each\n"
     << "model: " << m.name << " (" << m.layers << " layers, d_model " << m.dModel
     << "), token budget " << m.training.tokensPerStep << "\n"
     << "data: " << compressed.numSamples << " users, " << compressed.numCandidates()
     << " candidates (S <= " << seqLen << ", R <= " << rtLen << ", K <= " << candidates << ")\n"
     << "machine: " << recordedTarget(*artifact) << "; this host: " << llvm::sys::getHostCPUName()
     << "\n"
     << "layout                        threads  steps  seconds  candidates/s   tokens/s\n";
  auto line = [&](const char *name, unsigned t, const Run &r) {
    os << llvm::format("%-28s %8u %6lld  %7.2f  %12.0f  %9.0f\n", name, t, (long long)r.steps,
                       r.seconds, r.candidates / r.seconds, r.tokens / r.seconds);
  };
  line("user samples (compressed)", 1, a);
  line("DLRM rows (one per candidate)", 1, b);
  line("user samples (compressed)", many, c);
  line("DLRM rows (one per candidate)", many, d);
  auto rate = [](const Run &r) { return r.candidates / r.seconds; };
  os << llvm::format("compression (baseline: DLRM rows, same threads): %.2fx candidates/s on 1 "
                     "thread, %.2fx on %u; %.2fx fewer tokens (%lld vs %lld)\n",
                     rate(a) / rate(b), rate(c) / rate(d), many,
                     static_cast<double>(b.tokens) / a.tokens, (long long)a.tokens,
                     (long long)b.tokens);
  os << llvm::format("threads (baseline: 1 thread, same layout): %.2fx compressed, %.2fx DLRM "
                     "rows on %u\n",
                     rate(c) / rate(a), rate(d) / rate(b), many);
  llvm::outs() << out;
  if (resultsPath != "-")
    std::ofstream(resultsPath) << out;
  return 0;
}
