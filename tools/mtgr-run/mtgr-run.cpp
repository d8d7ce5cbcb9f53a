//===- mtgr-run.cpp - run a compiled artifact ------------------------------===//
//
//   mtgr-run infer  MODEL.mtgr   score requests (synthetic by default)
//   mtgr-run verify MODEL.mtgr   compiled results vs the float64 reference
//
//===----------------------------------------------------------------------===//
#include "frontend/Synthetic.h"
#include "runtime/Session.h"
#include "runtime/reference/Reference.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/WithColor.h"

#include <chrono>
#include <cmath>

using namespace mlir::mtgr;
namespace cl = llvm::cl;

namespace {
cl::OptionCategory category("mtgr-run options");
cl::opt<std::string> command(cl::Positional, cl::desc("<infer|verify>"), cl::Required,
                             cl::cat(category));
cl::opt<std::string> artifactPath(cl::Positional, cl::desc("<artifact.mtgr>"), cl::Required,
                                  cl::cat(category));
cl::opt<unsigned> threads("num-threads", cl::desc("Threads (default: all cores)"), cl::init(0),
                          cl::cat(category));
cl::opt<uint64_t> paramSeed("param-seed", cl::desc("Seed of the parameter initialisation "
                                                   "(default: the model's training.seed)"),
                            cl::cat(category));
cl::opt<int64_t> users("users", cl::desc("Synthetic users (samples) per batch"), cl::init(8),
                       cl::cat(category));
cl::opt<int64_t> seqLen("seq-len", cl::desc("Longest synthetic S"), cl::init(64),
                        cl::cat(category));
cl::opt<int64_t> rtLen("rt-len", cl::desc("Longest synthetic R"), cl::init(16), cl::cat(category));
cl::opt<int64_t> maxCandidates("candidates", cl::desc("Most candidates per synthetic user"),
                               cl::init(8), cl::cat(category));
cl::opt<uint64_t> dataSeed("data-seed", cl::desc("Seed of the synthetic data"), cl::init(1),
                           cl::cat(category));
cl::opt<int64_t> batches("batches", cl::desc("verify: random batches to compare"), cl::init(3),
                         cl::cat(category));
cl::opt<double> tolerance("tolerance",
                          cl::desc("verify: largest allowed error max|c - r| / max(1, |r|)"),
                          cl::init(1e-4), cl::cat(category));
cl::opt<double> perturb("perturb",
                        cl::desc("verify: add this to every weight the compiled code runs with "
                                 "(not the reference's): shows that verify can fail"),
                        cl::init(0.0), cl::cat(category));
cl::opt<int64_t> show("show", cl::desc("infer: scored candidates to print (-1: all)"),
                      cl::init(-1), cl::cat(category));

int error(const llvm::Twine &msg) {
  llvm::WithColor::error(llvm::errs(), "mtgr-run") << msg << "\n";
  return 1;
}

SyntheticOptions syntheticOptions(uint64_t seed) {
  SyntheticOptions o;
  o.users = users;
  o.maxSequence = seqLen;
  o.maxRealtime = rtLen;
  o.maxCandidates = maxCandidates;
  o.minCandidates = std::min<int64_t>(1, maxCandidates);
  o.seed = seed;
  return o;
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

int infer(CpuSession &session) {
  const ModelDesc &m = session.model();
  Batch batch = generateSynthetic(m, syntheticOptions(dataSeed));
  auto start = std::chrono::steady_clock::now();
  auto result = session.forward(batch);
  if (!result)
    return error(llvm::toString(result.takeError()));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Format: one line per candidate: user id, candidate id, one probability per task.
  llvm::outs() << "# user candidate";
  for (const TaskDesc &t : m.tasks)
    llvm::outs() << " " << t.name;
  llvm::outs() << "\n";
  int64_t printed = 0;
  for (int64_t b = 0; b < batch.numSamples && (show < 0 || printed < show); ++b)
    for (int64_t c = batch.candidateOffsets[b]; c < batch.candidateOffsets[b + 1]; ++c) {
      if (show >= 0 && printed++ >= show)
        break;
      llvm::outs() << batch.userIds[b] << " " << batch.candidateIds[c];
      for (size_t t = 0; t < m.tasks.size(); ++t)
        llvm::outs() << llvm::format(" %.6f", sigmoid(result->logits[t][c]));
      llvm::outs() << "\n";
    }
  llvm::errs() << "scored " << batch.numCandidates() << " candidates of " << batch.numSamples
               << " users (" << batch.totalTokens(m) << " tokens) in "
               << llvm::format("%.3f", seconds * 1e3) << " ms on " << session.numThreads()
               << " thread(s)\n";
  return 0;
}

int verify(CpuSession &session) {
  const ModelDesc &m = session.model();
  ParamStore referenceParams = session.params();
  if (perturb != 0.0)
    for (const std::string &name : session.params().names())
      if (llvm::StringRef(name).ends_with(".weight"))
        for (float &w : session.params().get(name).data)
          w += static_cast<float>(perturb);
  double worst = 0;
  for (int64_t i = 0; i < batches; ++i) {
    Batch batch = generateSynthetic(m, syntheticOptions(dataSeed + i));
    bool hidden = m.layers > 0;
    auto result = session.forward(batch, hidden);
    if (!result)
      return error(llvm::toString(result.takeError()));
    reference::Output ref = reference::forward(m, referenceParams, batch);
    auto err = [](double c, double r) { return std::fabs(c - r) / std::max(1.0, std::fabs(r)); };
    double batchWorst = 0;
    for (size_t t = 0; t < m.tasks.size(); ++t)
      for (size_t c = 0; c < ref.logits[t].size(); ++c)
        batchWorst = std::max(batchWorst, err(result->logits[t][c], ref.logits[t][c]));
    for (size_t k = 0; k < ref.hidden.size(); ++k)
      batchWorst = std::max(batchWorst, err(result->hidden[k], ref.hidden[k]));
    llvm::outs() << "batch " << i << ": " << batch.numSamples << " users, "
                 << batch.numCandidates() << " candidates, " << batch.totalTokens(m)
                 << " tokens: max error " << llvm::format("%.3e", batchWorst) << "\n";
    worst = std::max(worst, batchWorst);
  }
  bool ok = worst <= tolerance;
  llvm::outs() << (ok ? "PASS" : "FAIL") << ": largest error " << llvm::format("%.3e", worst)
               << (ok ? " <= " : " > ") << "tolerance " << llvm::format("%.1e", tolerance.getValue())
               << " (compiled fp32 vs float64 reference, max|c - r| / max(1, |r|))\n";
  return ok ? 0 : 1;
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "mtgr-run: run a compiled mtgr artifact\n\n"
      "Commands:\n"
      "  infer   score candidates; writes '# user candidate TASK...' then one line per\n"
      "          candidate: user id, candidate id, sigmoid probability per task\n"
      "  verify  compare compiled results (logits and every token's final hidden\n"
      "          state) with the float64 reference on random batches; exit 1 beyond\n"
      "          --tolerance\n\n"
      "Examples:\n"
      "  mtgr-run infer tiny.mtgr --users=4 --show=10\n"
      "  mtgr-run verify tiny.mtgr --batches=5 --seq-len=200\n");
  if (command != "infer" && command != "verify")
    return error("unknown command '" + command + "' (expected infer or verify)");
  if (users < 0 || seqLen < 0 || rtLen < 0 || maxCandidates < 0 || batches < 1)
    return error("--users, --seq-len, --rt-len and --candidates must be >= 0, --batches >= 1");
  auto artifact = Artifact::read(artifactPath);
  if (!artifact)
    return error(llvm::toString(artifact.takeError()));
  auto session = CpuSession::create(std::move(*artifact), threads);
  if (!session)
    return error(llvm::toString(session.takeError()));
  if (paramSeed.getNumOccurrences())
    (*session)->initParams(paramSeed);
  return command == "infer" ? infer(**session) : verify(**session);
}
