//===- bench_training.cpp - training throughput, with and without compression -===//
//
// Trains one epoch of the same synthetic requests twice: as compressed user
// samples [U, S, R, C_1..C_K] and as DLRM rows (one sample per candidate,
// R before its time: splitIntoRows). Reports candidates/s (= DLRM samples/s)
// and tokens/s of each, and the speedup of compression, measured in the same
// run and written to a results file.
//
//===----------------------------------------------------------------------===//
#include "codegen/Compiler.h"
#include "frontend/Synthetic.h"
#include "runtime/Grouping.h"
#include "runtime/Trainer.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"

#include <chrono>
#include <fstream>

using namespace mlir::mtgr;
namespace cl = llvm::cl;

namespace {
cl::opt<std::string> modelPath(cl::Positional, cl::desc("<model.yaml>"), cl::Required);
cl::opt<std::string> resultsPath("results", cl::init("-"));
cl::opt<int64_t> users("users", cl::init(200));
cl::opt<int64_t> seqLen("seq-len", cl::init(256));
cl::opt<int64_t> rtLen("rt-len", cl::init(32));
cl::opt<int64_t> candidates("candidates", cl::init(16));

struct Run {
  double seconds;
  int64_t candidates, tokens, steps;
};

Run trainEpoch(const Artifact &artifact, const Batch &data) {
  auto session = CpuSession::create(artifact, 1);
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
  Run a = trainEpoch(*artifact, compressed), b = trainEpoch(*artifact, rows);
  std::string out;
  llvm::raw_string_ostream os(out);
  os << "# mtgr training benchmark (bench/bench_training.cpp), 1 thread, one epoch each\n"
     << "model: " << m.name << " (" << m.layers << " layers, d_model " << m.dModel
     << "), token budget " << m.training.tokensPerStep << "\n"
     << "data: " << compressed.numSamples << " users, " << compressed.numCandidates()
     << " candidates (S <= " << seqLen << ", R <= " << rtLen << ", K <= " << candidates << ")\n"
     << "layout                       steps  seconds  candidates/s   tokens/s\n";
  auto line = [&](const char *name, const Run &r) {
    os << llvm::format("%-28s %6lld  %7.2f  %12.0f  %9.0f\n", name, (long long)r.steps, r.seconds,
                       r.candidates / r.seconds, r.tokens / r.seconds);
  };
  line("user samples (compressed)", a);
  line("DLRM rows (one per candidate)", b);
  os << llvm::format("compression: %.2fx candidates/s, %.2fx fewer tokens (%lld vs %lld)\n",
                     (a.candidates / a.seconds) / (b.candidates / b.seconds),
                     static_cast<double>(b.tokens) / a.tokens, (long long)a.tokens,
                     (long long)b.tokens);
  llvm::outs() << out;
  if (resultsPath != "-")
    std::ofstream(resultsPath) << out;
  return 0;
}
