//===- bench_train_step.cpp - one training step on a request file, timed ---===//
//
// The mtgr side of bench/peers/run-training.sh: every request of the file is
// one step (train_step + apply_update, the description's optimisers) from the
// given parameters and fresh optimiser state. --gradients writes the first
// step's loss and gradients (dense by parameter name; embedding gradients
// summed per table row as `<table weight>.rows` (row numbers) and
// `<table weight>.grad`) for the peer to check against its own; --time then
// repeats steps (each one updating the parameters, as training does) and
// prints the best and median seconds per step.
//
//===----------------------------------------------------------------------===//
#include "data/Requests.h"
#include "runtime/HostMemory.h"
#include "runtime/Npz.h"
#include "runtime/Session.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"

#include <algorithm>
#include <chrono>

using namespace mtgr;
namespace cl = llvm::cl;

namespace {
cl::OptionCategory category("mtgr-bench-train-step options");
cl::opt<std::string> artifactPath(cl::Positional, cl::desc("<model.mtgr>"), cl::Required,
                                  cl::cat(category));
cl::opt<std::string> requestsPath("requests", cl::desc("Labelled requests (JSON Lines)"),
                                  cl::Required, cl::cat(category));
cl::opt<std::string> paramsPath("params", cl::desc("Parameters (.npz)"), cl::Required,
                                cl::cat(category));
cl::opt<std::string> gradientsPath("gradients", cl::desc("Write the first step's gradients here"),
                                   cl::cat(category));
cl::opt<unsigned> threads("num-threads", cl::init(1), cl::cat(category));
cl::opt<double> seconds("time", cl::desc("Seconds of timed steps (at least 3)"), cl::init(0),
                        cl::cat(category));

int fail(const llvm::Twine &msg) {
  llvm::errs() << "mtgr-bench-train-step: " << msg << "\n";
  return 1;
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category); // LLVM's own flags stay out of --help
  cl::ParseCommandLineOptions(argc, argv, "one mtgr training step on a request file, timed\n");
  auto artifact = Artifact::read(artifactPath);
  if (!artifact)
    return fail(llvm::toString(artifact.takeError()));
  SessionOptions options;
  options.threads = threads;
  options.initializeParams = false;
  auto session = Session::create(std::move(*artifact), options);
  if (!session)
    return fail(llvm::toString(session.takeError()));
  Session &s = **session;
  if (auto e = loadParams(paramsPath, s.params()))
    return fail(llvm::toString(std::move(e)));
  auto batch = loadRequests(s.model(), requestsPath);
  if (!batch)
    return fail(llvm::toString(batch.takeError()));
  OptimizerState state;
  // The first step's working memory: the buffer pool's high-water mark
  // (the generated code's buffers, freed at their last use) per token.
  HostPool &pool = s.environment().pool;
  pool.resetHighWater();
  int64_t poolBefore = pool.highWater();
  auto first = s.trainStep(*batch, s.model().training.seed, 0, state, !gradientsPath.empty());
  if (!first)
    return fail(llvm::toString(first.takeError()));
  double working = static_cast<double>(pool.highWater() - poolBefore);
  double tokens = static_cast<double>(std::max<int64_t>(1, batch->totalTokens(s.model())));
  if (!gradientsPath.empty()) {
    ParamStore out;
    out.set("loss", Tensor{{1}, {static_cast<float>(first->loss)}});
    for (auto &[name, grad] : first->dense)
      out.set(name, Tensor{s.params().get(name).shape, grad});
    for (auto &[table, rows] : first->rows) {
      Tensor index{{static_cast<int64_t>(rows.size())}, {}}, grads;
      int64_t dim = rows.empty() ? 0 : static_cast<int64_t>(rows.begin()->second.size());
      grads.shape = {static_cast<int64_t>(rows.size()), dim};
      for (auto &[row, g] : rows) {
        index.data.push_back(static_cast<float>(row)); // exact below 2^24 rows
        grads.data.insert(grads.data.end(), g.begin(), g.end());
      }
      out.set("tables." + table + ".weight.rows", index);
      out.set("tables." + table + ".weight.grad", grads);
    }
    if (auto e = writeNpz(gradientsPath, out))
      return fail(llvm::toString(std::move(e)));
  }
  std::vector<double> steps;
  auto since = [](auto t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  auto began = std::chrono::steady_clock::now();
  for (int64_t step = 1; seconds > 0 && (steps.size() < 3 || since(began) < seconds); ++step) {
    auto t0 = std::chrono::steady_clock::now();
    if (auto r = s.trainStep(*batch, s.model().training.seed, step, state); !r)
      return fail(llvm::toString(r.takeError()));
    steps.push_back(since(t0));
  }
  llvm::outs() << "{\"contender\": \"mtgr\", \"threads\": " << threads
               << ", \"loss\": " << llvm::format("%.8f", first->loss)
               << ", \"working_mib\": " << llvm::format("%.1f", working / 1048576.0)
               << ", \"working_kib_per_token\": "
               << llvm::format("%.1f", working / 1024.0 / tokens);
  if (!steps.empty()) {
    std::sort(steps.begin(), steps.end());
    size_t n = steps.size();
    double median = n % 2 ? steps[n / 2] : (steps[n / 2 - 1] + steps[n / 2]) / 2;
    llvm::outs() << ", \"best_s\": " << llvm::format("%.6f", steps.front())
                 << ", \"median_s\": " << llvm::format("%.6f", median) << ", \"passes\": " << n;
  }
  llvm::outs() << "}\n";
  return 0;
}
