//===- mtgr-run.cpp - run a compiled artifact ------------------------------===//
//
//   mtgr-run infer  MODEL.mtgr   score requests (synthetic by default)
//   mtgr-run verify MODEL.mtgr   compiled results vs the float64 reference
//
//===----------------------------------------------------------------------===//
#include "app/Devices.h"
#include "app/Evaluation.h"
#include "app/KernelCall.h"
#include "app/ProfileReport.h"
#include "app/Scoring.h"
#include "app/SessionConfig.h"
#include "app/TrainLoop.h"
#include "app/Verification.h"
#include "data/MovieLens.h"
#include "data/Requests.h"
#include "data/Synthetic.h"
#include "model/ModelStats.h"
#include "runtime/Collective.h"
#include "runtime/Grouping.h"
#include "runtime/HostMemory.h"
#include "runtime/Metrics.h"
#include "runtime/Npz.h"
#include "runtime/Profile.h"
#include "runtime/Session.h"
#include "runtime/Trainer.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/xxhash.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <cmath>

using namespace mtgr;
namespace cl = llvm::cl;

namespace {
cl::OptionCategory category("mtgr-run options");
// One subcommand each (cl::SubCommand); every option is accepted by all of
// them, as the help says which it affects.
cl::SubCommand inferCommand("infer", "Score candidates; writes '# user candidate TASK...' then "
                                     "one line per candidate: user id, candidate id, sigmoid "
                                     "probability per task");
cl::SubCommand verifyCommand("verify", "Compare compiled results (logits and every token's final "
                                       "hidden state) with the float64 reference on random "
                                       "batches; exit 1 beyond --tolerance");
cl::SubCommand evalCommand("eval", "Per-task AUC, GAUC and NE on labelled requests");
cl::SubCommand trainCommand("train", "Train with the generated train_step and apply_update");
cl::SubCommand genCommand("gen", "Write synthetic requests for the artifact's model (JSON Lines)");
cl::SubCommand devicesCommand("devices", "List the CPU and the CUDA driver's GPUs (no artifact)");
cl::SubCommand callCommand("call", "Call a kernel artifact's entry point once on buffers from a "
                                   ".npz (the tests' micro-kernels; golden outputs)");
const char *kCommands[] = {"infer", "verify", "eval", "train", "gen", "devices", "call"};
cl::opt<std::string> artifactPath(cl::Positional, cl::desc("<artifact.mtgr>"), cl::cat(category),
                                  cl::sub(cl::SubCommand::getAll()));
cl::opt<std::string>
    deviceName("device",
               cl::desc("Where the generated code runs: cpu (artifacts of "
                        "--target=cpu); for artifacts of --target=cuda: cuda or "
                        "cuda:N (a GPU through the CUDA driver; cuda under mpirun: "
                        "each rank the GPU of its local rank) or cuda-emu (the GPU "
                        "kernels on the host under the "
                        "emulator's checks; MTGR_EMU_SCHEDULE=in-order|reverse|"
                        "warp-ahead)"),
               cl::init("cpu"), cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<unsigned> threads("num-threads", cl::desc("Threads (default: all cores)"), cl::init(0),
                          cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<uint64_t> paramSeed("param-seed", cl::desc("Seed of the parameter initialisation "
                                                   "(default: the model's training.seed)"),
                            cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<std::string> paramsPath("params", cl::desc("Load parameters from a NumPy .npz archive"),
                                cl::value_desc("file.npz"), cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<std::string> saveParams("save-params",
                                cl::desc("Save the parameters used to a .npz archive"),
                                cl::value_desc("file.npz"), cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<std::string> requestsPath("requests",
                                  cl::desc("Read requests from this file (alias --data; JSON Lines, "
                                           "docs/requests.md; - for stdin) instead of "
                                           "generating synthetic ones; train/eval need labels"),
                                  cl::value_desc("file.jsonl"), cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::alias dataAlias("data", cl::desc("Alias for --requests (train/eval data)"),
                    cl::aliasopt(requestsPath), cl::cat(category));
cl::opt<std::string> outputPath("output", cl::desc("infer: write scores here (default: stdout); "
                                                   "gen: write requests here"),
                                cl::value_desc("file"), cl::init("-"), cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<int64_t> users("users", cl::desc("Synthetic users (samples) per batch"), cl::init(8),
                       cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<int64_t> seqLen("seq-len", cl::desc("Longest synthetic S"), cl::init(64),
                        cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<int64_t> minSeqLen("min-seq-len",
                           cl::desc("Shortest synthetic S (lengths are long-tailed between it "
                                    "and --seq-len; default 0)"),
                           cl::init(0), cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<int64_t> rtLen("rt-len", cl::desc("Longest synthetic R"), cl::init(16), cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<int64_t> maxCandidates("candidates", cl::desc("Most candidates per synthetic user"),
                               cl::init(8), cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<uint64_t> dataSeed("data-seed", cl::desc("Seed of the synthetic data"), cl::init(1),
                           cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<int64_t> batches("batches", cl::desc("verify: random batches to compare"), cl::init(3),
                         cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<double> tolerance("tolerance",
                          cl::desc("verify: largest allowed error max|c - r| / max(1, |r|) "
                                   "(default: by the artifact's numerics, 1e-4 for fp32, 0.35 "
                                   "for bf16 operands on tensor cores or 16-bit activations)"),
                          cl::init(1e-4), cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<bool> randomizeParams("randomize-params",
                              cl::desc("Give biases, betas, rab tables, gammas and embeddings "
                                       "random values first (the default initialisation leaves "
                                       "them 0, 1 or tiny, hiding their code paths from verify)"),
                              cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<double> perturb("perturb",
                        cl::desc("verify: add this to every weight the compiled code runs with "
                                 "(not the reference's): shows that verify can fail"),
                        cl::init(0.0), cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<int64_t> windows("windows", cl::desc("Synthetic request windows per user, a week apart "
                                               "(default: 1; train: 4, each user's last one "
                                               "held out for eval)"),
                         cl::init(4), cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<bool> dlrmRows("dlrm-rows",
                       cl::desc("train/eval: split every request into DLRM rows (one sample per "
                                "candidate, with the real-time events before its time), the "
                                "layout a DLRM pipeline trains on"),
                       cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<int64_t> epochs("epochs", cl::desc("train: epochs"), cl::init(1), cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<int64_t> maxSteps("steps", cl::desc("train: stop after this many steps (0: no limit)"),
                          cl::init(0), cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<double> timeLimit("time-limit", cl::desc("train: stop after this many seconds"),
                          cl::init(0), cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<int64_t> tokenBudget("token-budget",
                             cl::desc("train: tokens per step (default: training.tokens_per_step)"),
                             cl::init(0), cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<std::string> checkpointPath("checkpoint", cl::desc("train: write checkpoints here"),
                                    cl::value_desc("file"), cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<bool> shardTablesFlag(
    "shard-tables",
    cl::desc("train: split the embedding tables over the ranks (each rank keeps its part, rows "
             "and row gradients exchanged all-to-all; docs/scale-out.md) instead of a copy on "
             "every rank"),
    cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<std::string> collectiveName(
    "collective",
    cl::desc("train on several ranks: how the dense gradients are summed: mpi (through the "
             "host), nccl (in the GPUs' memory, on their streams: libnccl.so.2 loaded at run "
             "time), or auto (nccl on --device=cuda when it loads, else mpi)"),
    cl::init("auto"), cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<int64_t> checkpointEvery("checkpoint-every",
                                 cl::desc("train: checkpoint every this many steps"),
                                 cl::init(0), cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<int64_t> logEvery("log-every",
                          cl::desc("train: a progress line every this many steps when stderr is "
                                   "not a terminal (and at each epoch's end)"),
                          cl::init(20), cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<std::string> resumePath("resume", cl::desc("train: continue from this checkpoint"),
                                cl::value_desc("file"), cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<std::string> maxMemory("max-memory",
                               cl::desc("Memory the session may use: parameters, and each batch's "
                                        "working memory estimated from the compiled code "
                                        "(bytes, or with K, M, G; default: physical memory)"),
                               cl::value_desc("size"), cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<std::string> trustedKeys("trusted-keys",
                                 cl::desc("Load only artifacts signed by one of these ed25519 "
                                          "public keys (default: $MTGR_TRUSTED_KEYS; none: "
                                          "unsigned artifacts load)"),
                                 cl::value_desc("file"), cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<bool> requireSignature("require-signature",
                               cl::desc("Refuse unsigned artifacts (needs trusted keys)"),
                               cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<bool> ceilings("ceilings",
                        cl::desc("devices: then measure each GPU's ceilings through mtgr's own "
                                 "paths: a device-to-device copy and cuBLASLt GEMMs (bf16, fp32) "
                                 "of --ceiling-size^3"),
                        cl::init(false), cl::cat(category), cl::sub(devicesCommand));
cl::opt<int64_t> ceilingSize("ceiling-size", cl::desc("devices --ceilings: the GEMMs' size"),
                             cl::init(8192), cl::cat(category), cl::sub(devicesCommand));
cl::opt<int> ceilingRepeats("ceiling-repeats",
                            cl::desc("devices --ceilings: timed runs of each (the best is kept)"),
                            cl::init(5), cl::cat(category), cl::sub(devicesCommand));
cl::opt<std::string> callInputs("inputs",
                                cl::desc("call: the buffers, a .npz of float32 arrays arg0, arg1, "
                                         "... in the entry point's order (raw bits allowed)"),
                                cl::value_desc("file.npz"), cl::cat(category),
                                cl::sub(callCommand));
cl::opt<std::string> callExpect("expect",
                                cl::desc("call: compare the buffers after the call bit for bit "
                                         "with this .npz's (those it has); exit 1 if any differs"),
                                cl::value_desc("file.npz"), cl::cat(category),
                                cl::sub(callCommand));
cl::opt<std::string> callEntry("entry", cl::desc("call: the entry point (default forward)"),
                               cl::init("forward"), cl::cat(category), cl::sub(callCommand));
cl::opt<bool> profile("profile",
                       cl::desc("infer/train: time and GFLOP/s per op family and per HSTU layer "
                                "(CPU: the artifact must be compiled with mtgr-compile --profile; "
                                "such artifacts always print it; --device=cuda: each kernel's "
                                "time by CUDA events, cuda-emu: its emulation time)"),
                       cl::init(false), cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<double> timeSeconds("time",
                            cl::desc("infer: then score the same requests again for this many "
                                     "seconds (at least 3 passes) and print the best and median "
                                     "time per pass"),
                            cl::init(0), cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::OptionCategory dataCategory("MovieLens data (train/eval --movielens=DIR, docs/movielens.md)");
cl::opt<std::string> movielensPath("movielens",
                                   cl::desc("train/eval: requests built from the MovieLens data "
                                            "set in this folder (ml-latest(-small), ml-20m/25m, "
                                            "ml-1m, ml-10m, ml-100k): train on its train split, "
                                            "validate, then evaluate its test split"),
                                   cl::value_desc("dir"), cl::cat(dataCategory), cl::sub(cl::SubCommand::getAll()));
cl::opt<int64_t> mlWindow("ml-window", cl::desc("Seconds of one request group (a day)"),
                          cl::init(86400), cl::cat(dataCategory), cl::sub(cl::SubCommand::getAll()));
cl::opt<int64_t> mlMaxSeq("ml-max-seq", cl::desc("Most S events: the latest before the window"),
                          cl::init(256), cl::cat(dataCategory), cl::sub(cl::SubCommand::getAll()));
cl::opt<int64_t> mlMaxRealtime("ml-max-realtime", cl::desc("Most R events of a request"),
                               cl::init(128), cl::cat(dataCategory), cl::sub(cl::SubCommand::getAll()));
cl::opt<int64_t> mlRealtimeBefore("ml-realtime-before",
                                  cl::desc("Also put this many events before the window in R "
                                           "(then not in S)"),
                                  cl::init(0), cl::cat(dataCategory), cl::sub(cl::SubCommand::getAll()));
cl::opt<int64_t> mlMaxCandidates("ml-max-candidates",
                                 cl::desc("Most candidates of a request (a larger group becomes "
                                          "several, in time order)"),
                                 cl::init(64), cl::cat(dataCategory), cl::sub(cl::SubCommand::getAll()));
cl::opt<double> mlClick("ml-click", cl::desc("Click label: rating >= this"), cl::init(3.5),
                        cl::cat(dataCategory), cl::sub(cl::SubCommand::getAll()));
cl::opt<double> mlConversion("ml-conversion", cl::desc("Conversion label: rating >= this"),
                             cl::init(4.5), cl::cat(dataCategory), cl::sub(cl::SubCommand::getAll()));
cl::opt<std::string> mlSplit("ml-split",
                             cl::desc("time: the last 10% of groups (by window start) are test, "
                                      "the 10% before validation; last_group: each user's last "
                                      "group is test, the one before validation"),
                             cl::init("time"), cl::cat(dataCategory), cl::sub(cl::SubCommand::getAll()));
cl::opt<double> mlTestFraction("ml-test-fraction", cl::desc("split time: fraction of groups in test"),
                               cl::init(0.1), cl::cat(dataCategory), cl::sub(cl::SubCommand::getAll()));
cl::opt<double> mlValidationFraction("ml-validation-fraction",
                                     cl::desc("split time: fraction of groups in validation"),
                                     cl::init(0.1), cl::cat(dataCategory), cl::sub(cl::SubCommand::getAll()));
cl::opt<int64_t> mlMaxUsers("ml-max-users", cl::desc("Only the first N users by id (0: all)"),
                            cl::init(0), cl::cat(dataCategory), cl::sub(cl::SubCommand::getAll()));
cl::opt<std::string> evalSplit("split", cl::desc("eval --movielens: train, validation or test"),
                               cl::init("test"), cl::cat(dataCategory), cl::sub(cl::SubCommand::getAll()));
cl::opt<int64_t> earlyStopping("early-stopping",
                               cl::desc("train: after each epoch evaluate the validation data, "
                                        "keep the parameters of the best epoch (lowest task-"
                                        "weighted log loss) and stop after this many epochs "
                                        "without improvement (0: off)"),
                               cl::init(0), cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<std::string> metricsJsonPath("metrics-json",
                                 cl::desc("train/eval: write metrics here as JSON lines (per "
                                          "epoch: train loss, validation; at the end: test)"),
                                 cl::value_desc("file"), cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<uint64_t> trainSeed("train-seed",
                            cl::desc("train: seed of the step order and dropout (default: the "
                                     "model's training.seed)"),
                            cl::cat(category), cl::sub(cl::SubCommand::getAll()));
cl::opt<int64_t> show("show", cl::desc("infer: scored candidates to print (-1: all)"),
                      cl::init(-1), cl::cat(category), cl::sub(cl::SubCommand::getAll()));

int error(const llvm::Twine &msg) {
  // Under mpirun the ranks' stderr meet in one stream: the line in one
  // write, so two ranks' errors do not interleave.
  if (launchedByMpi()) {
    std::string line;
    llvm::raw_string_ostream os(line);
    llvm::WithColor::error(os, "mtgr-run") << msg << "\n";
    llvm::errs() << line;
    return 1;
  }
  llvm::WithColor::error(llvm::errs(), "mtgr-run") << msg << "\n";
  return 1;
}

SyntheticOptions syntheticOptions(uint64_t seed) {
  SyntheticOptions o;
  o.users = users;
  o.maxSequence = seqLen;
  o.minSequence = minSeqLen;
  o.maxRealtime = rtLen;
  o.maxCandidates = maxCandidates;
  o.minCandidates = std::min<int64_t>(1, maxCandidates);
  o.windows = windows.getNumOccurrences() ? std::max<int64_t>(1, windows) : 1;
  o.seed = seed;
  return o;
}

/// The batch to run: a request file, or synthetic requests.
llvm::Expected<Batch> inputBatch(const ModelDesc &m, uint64_t seed) {
  if (!requestsPath.empty())
    return loadRequests(m, requestsPath);
  return generateSynthetic(m, syntheticOptions(seed));
}

int infer(Session &session) {
  const ModelDesc &m = session.model();
  auto input = inputBatch(m, dataSeed);
  if (!input)
    return error(llvm::toString(input.takeError()));
  Batch &batch = *input;
  std::error_code ec;
  llvm::raw_fd_ostream out(outputPath, ec);
  if (ec)
    return error(outputPath + ": " + ec.message());
  mtgr::HostEnvironment &environment = session.environment();
  environment.profile.reset();
  environment.profile.timeKernels = profile;
  environment.pool.resetHighWater();
  int64_t heldBefore = environment.pool.highWater();
  auto start = std::chrono::steady_clock::now();
  auto result = session.forward(batch);
  if (!result)
    return error(llvm::toString(result.takeError()));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  writeScores(out, m, batch, *result, show);
  out.flush();
  llvm::errs() << "scored " << batch.numCandidates() << " candidates of " << batch.numSamples
               << " users (" << batch.totalTokens(m) << " tokens) in "
               << llvm::format("%.3f", seconds * 1e3) << " ms on " << session.numThreads()
               << " thread(s)"
               << (result->calls > 1 ? llvm::formatv(", in {0} parts to fit the memory limit "
                                                     "(--max-memory)",
                                                     result->calls)
                                           .str()
                                     : std::string())
               << "\n";
  // The generated code's buffers at their peak (all threads together).
  int64_t peak = environment.pool.highWater() - heldBefore;
  int64_t tokens = std::max<int64_t>(batch.totalTokens(m), 1);
  bool profiledRun = printProfile(llvm::errs(), session, &batch, result->visiblePairs, result->attentionPairs);
  if (profile && !profiledRun)
    return error("--profile: the artifact records no profile: compile it with mtgr-compile "
                 "--profile (or run a CUDA artifact on --device=cuda or cuda-emu)");
  if (result->visiblePairs > 0 && !profiledRun)
    llvm::errs() << "attention: " << result->attentionPairs << " pairs computed (per layer and head) for "
                 << result->visiblePairs << " visible ("
                 << llvm::format("%.3f", double(result->attentionPairs) / double(result->visiblePairs))
                 << "x)\n";
  llvm::errs() << "working memory: peak " << llvm::format("%.1f", peak / 1048576.0) << " MiB, "
               << llvm::format("%.1f", peak / 1024.0 / tokens) << " KiB per token\n";
  if (timeSeconds > 0) {
    auto times = timeForwardPasses(session, batch, timeSeconds);
    if (!times)
      return error(llvm::toString(times.takeError()));
    llvm::errs() << "time: " << passTimesJson(*times, session.numThreads()) << "\n";
  }
  Session::ReplayStats replays = session.replayStats();
  if (replays.recorded + replays.replayed > 0)
    llvm::errs() << "recorded calls: " << replays.replayed << " of "
                 << replays.recorded + replays.replayed << " replayed (" << replays.shapes
                 << " shape" << (replays.shapes == 1 ? "" : "s") << " kept)\n";
  return 0;
}

/// AUC, GAUC and NE lines for a batch (eval and train).
int printMetrics(Session &session, const Batch &batch, llvm::StringRef title) {
  auto metrics = evaluate(session, batch);
  if (!metrics)
    return error(llvm::toString(metrics.takeError()));
  printMetricLines(llvm::outs(), session.model(), batch, *metrics, title);
  return 0;
}

/// The MovieLens splits for the model, from the --ml-* options.
llvm::Expected<MovieLensData> movieLensData(const ModelDesc &m) {
  MovieLensOptions o;
  o.windowSeconds = mlWindow;
  o.maxSequence = mlMaxSeq;
  o.maxRealtime = mlMaxRealtime;
  o.realtimeBefore = mlRealtimeBefore;
  o.maxCandidates = mlMaxCandidates;
  o.clickThreshold = mlClick;
  o.conversionThreshold = mlConversion;
  o.split = mlSplit;
  o.testFraction = mlTestFraction;
  o.validationFraction = mlValidationFraction;
  o.maxUsers = mlMaxUsers;
  auto data = loadMovieLens(m, movielensPath, o);
  if (data)
    llvm::errs() << data->summary(m);
  return data;
}

/// Per-task AUC, GAUC and NE of the compiled model on labelled requests.
int eval(Session &session) {
  const ModelDesc &m = session.model();
  Batch batch;
  if (!movielensPath.empty()) {
    if (evalSplit != "train" && evalSplit != "validation" && evalSplit != "test")
      return error("--split: '" + evalSplit + "' is not train, validation or test");
    auto data = movieLensData(m);
    if (!data)
      return error(llvm::toString(data.takeError()));
    batch = std::move(evalSplit == "train" ? data->train
                      : evalSplit == "validation" ? data->validation : data->test);
  } else {
    auto input = inputBatch(m, dataSeed);
    if (!input)
      return error(llvm::toString(input.takeError()));
    batch = std::move(*input);
  }
  if (batch.labels.empty())
    return error("eval needs labelled requests (candidates with 'labels')");
  if (dlrmRows)
    batch = splitIntoRows(m, batch);
  auto metrics = evaluate(session, batch);
  if (!metrics)
    return error(llvm::toString(metrics.takeError()));
  printMetricLines(llvm::outs(), m, batch, *metrics, "eval");
  if (!metricsJsonPath.empty()) {
    std::error_code ec;
    llvm::raw_fd_ostream json(metricsJsonPath, ec);
    if (ec)
      return error(metricsJsonPath + ": " + ec.message());
    JsonLinesSink(json, m).eval(*metrics);
  }
  return 0;
}

/// A digest of a dataset (samples, users, times, labels): ranks compare it.
uint64_t dataDigest(const Batch &data) {
  std::string bytes;
  auto put = [&](const auto &v) {
    bytes.append(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(v[0]));
  };
  put(data.userIds), put(data.sequenceOffsets), put(data.sequenceTimes);
  put(data.candidateTimes);
  for (const std::vector<float> &task : data.labels)
    put(task);
  return llvm::xxh3_64bits(llvm::StringRef(bytes));
}

int train(Session &session) {
  const ModelDesc &m = session.model();
  if (!session.canTrain())
    return error("model '" + m.name + "' cannot be trained yet: " +
                 session.getArtifact().trainStepMissing);
  Batch data, heldOut, test;
  bool haveTest = false;
  if (!movielensPath.empty()) {
    auto input = movieLensData(m);
    if (!input)
      return error(llvm::toString(input.takeError()));
    data = std::move(input->train);
    heldOut = std::move(input->validation);
    test = std::move(input->test);
    haveTest = true;
  } else if (!requestsPath.empty()) {
    auto input = loadRequests(m, requestsPath);
    if (!input)
      return error(llvm::toString(input.takeError()));
    std::tie(data, heldOut) = splitLastWindow(m, *input);
  } else {
    SyntheticOptions o = syntheticOptions(dataSeed);
    o.windows = std::max<int64_t>(2, windows);
    std::tie(data, heldOut) = splitLastWindow(m, generateSynthetic(m, o));
  }
  if (data.labels.empty() || data.numSamples == 0)
    return error("train needs labelled requests");
  // Several ranks train on the same global steps: the same data on each.
  Collective *ranks = session.getCollective();
  const bool rank0 = !ranks || ranks->rank() == 0;
  if (ranks)
    if (auto e = ranks->agree(dataDigest(data), "training data"))
      return error(llvm::toString(std::move(e)));
  if (dlrmRows) {
    data = splitIntoRows(m, data);
    heldOut = splitIntoRows(m, heldOut);
    if (haveTest)
      test = splitIntoRows(m, test);
  }
  std::unique_ptr<llvm::raw_fd_ostream> json;
  std::unique_ptr<JsonLinesSink> sink;
  if (!metricsJsonPath.empty() && rank0) {
    std::error_code ec;
    json = std::make_unique<llvm::raw_fd_ostream>(metricsJsonPath, ec);
    if (ec)
      return error(metricsJsonPath + ": " + ec.message());
    sink = std::make_unique<JsonLinesSink>(*json, m);
  }
  Trainer trainer(session, data);
  if (trainSeed.getNumOccurrences())
    trainer.setSeed(trainSeed);
  if (!resumePath.empty()) {
    if (auto e = trainer.resume(resumePath))
      return error(llvm::toString(std::move(e)));
    // Say what was resumed: a restart that silently began again would look
    // the same at the end.
    if (rank0)
      llvm::errs() << "resumed " << resumePath << " at step " << trainer.state().step << " (epoch "
                   << trainer.state().epoch + 1 << ", step " << trainer.state().stepInEpoch
                   << " of the epoch)\n";
  }
  std::string heldOutName = haveTest ? "validation" : "held-out";
  auto before = evaluate(session, heldOut);
  if (!before)
    return error(llvm::toString(before.takeError()));
  printMetricLines(llvm::outs(), m, heldOut, *before, heldOutName + " before");
  if (sink)
    sink->start(data, heldOut, test, *before);
  bool terminal = llvm::sys::Process::StandardErrIsDisplayed();
  session.environment().profile.reset();
  session.environment().profile.timeKernels = profile;
  int64_t samples = 0;
  // The forward FLOPs of every step trained (the profile's training rates).
  FlopCount trained;
  bool flopsKnown = true;
  auto onStep = [&](const StepReport &r) {
    samples += r.samples;
    if (r.forwardFlops) {
      trained.tokenizer += r.forwardFlops->tokenizer;
      trained.projections += r.forwardFlops->projections;
      trained.attention += r.forwardFlops->attention;
      trained.heads += r.forwardFlops->heads;
    } else {
      flopsKnown = false;
    }
    std::string line = stepLine(r, samples);
    if (!rank0)
      return;
    if (terminal)
      llvm::errs() << "\r" << line << "   ";
    else if ((logEvery > 0 && r.step % logEvery == 0) || r.stepInEpoch == r.stepsInEpoch)
      llvm::errs() << line << "\n";
  };
  TrainLoopOptions loop;
  loop.limits = {maxSteps, epochs, timeLimit, tokenBudget, checkpointPath, checkpointEvery};
  loop.earlyStopping = earlyStopping;
  loop.perEpoch = sink != nullptr;
  loop.heldOutName = heldOutName;
  if (terminal)
    loop.afterSteps = [] { llvm::errs() << "\n"; };
  auto ran = runTrainLoop(session, trainer, heldOut, loop, sink.get(), onStep, llvm::errs());
  if (!ran)
    return error(llvm::toString(ran.takeError()));
  int64_t bestEpoch = ran->bestEpoch;
  if (!printProfile(llvm::errs(), session, nullptr, 0, 0, flopsKnown ? &trained : nullptr) &&
      profile)
    return error("--profile: the artifact records no profile: compile it with mtgr-compile "
                 "--profile (or run a CUDA artifact on --device=cuda or cuda-emu)");
  llvm::outs() << "trained " << trainer.state().step << " steps (" << trainer.state().epoch
               << " full epochs) on " << data.numSamples << " samples"
               << (earlyStopping > 0 && bestEpoch > 0
                       ? llvm::formatv("; kept epoch {0} (best {1} log loss)", bestEpoch,
                                       heldOutName)
                             .str()
                       : std::string())
               << "\n";
  if (ranks && ranks->size() > 1) {
    Session::CommunicationStats c = session.communicationStats();
    double steps = double(std::max<int64_t>(c.steps, 1));
    llvm::outs() << llvm::formatv("communication per step (rank 0): {0:F3} MB all-reduced (loss "
                                  "and dense gradients), {1:F3} MB of row gradients gathered, "
                                  "over {2} ranks; steps of {3:F0} tokens, {4:F1} samples\n",
                                  double(c.reducedBytes) / steps / 1e6,
                                  double(c.gatheredBytes) / steps / 1e6, ranks->size(),
                                  double(c.tokens) / steps, double(c.samples) / steps);
    if (session.tablePlacement()) {
      llvm::outs() << llvm::formatv(
          "sharded tables, per step (rank 0 to the others): {0:F3} MB of ids, {1:F3} MB of "
          "rows, {2:F3} MB of row gradients\n",
          double(c.idBytes) / steps / 1e6, double(c.rowBytes) / steps / 1e6,
          double(c.rowGradientBytes) / steps / 1e6);
      // What decides them (docs/scale-out.md's model): the distinct keys.
      llvm::outs() << llvm::formatv(
          "sharded tables, per step (rank 0's share): {0:F0} ids looked up, {1:F0} distinct "
          "keys ({2:F3} of them), {3:F0} on other ranks: {4:F3} MB of rows at the tables' "
          "widths\n",
          double(c.lookups) / steps, double(c.distinctKeys) / steps,
          double(c.distinctKeys) / double(std::max<uint64_t>(c.lookups, 1)),
          double(c.remoteKeys) / steps, double(c.remoteRowBytes) / steps / 1e6);
    }
  }
  if (!saveParams.empty() && session.tablePlacement()) { // the tables gathered whole first
    TrainState whole = trainer.snapshot();
    if (rank0)
      if (auto e = writeNpz(saveParams, whole.params))
        return error(llvm::toString(std::move(e)));
  } else if (!saveParams.empty() && rank0) {
    if (auto e = writeNpz(saveParams, session.params()))
      return error(llvm::toString(std::move(e)));
  }
  if (printMetrics(session, heldOut, heldOutName + " after"))
    return 1;
  if (haveTest) {
    auto metrics = evaluate(session, test);
    if (!metrics)
      return error(llvm::toString(metrics.takeError()));
    printMetricLines(llvm::outs(), m, test, *metrics, "test");
    if (sink)
      sink->test(bestEpoch, trainer.state().step, *metrics);
  }
  return 0;
}

int verify(Session &session) {
  const ModelDesc &m = session.model();
  ParamStore referenceParams = session.params();
  if (perturb != 0.0)
    perturbWeights(session.params(), perturb);
  double worst = 0;
  for (int64_t i = 0; i < (requestsPath.empty() ? batches : 1); ++i) {
    auto batch = inputBatch(m, dataSeed + i);
    if (!batch)
      return error(llvm::toString(batch.takeError()));
    auto largest = largestErrorAgainstReference(session, referenceParams, *batch);
    if (!largest)
      return error(llvm::toString(largest.takeError()));
    llvm::outs() << "batch " << i << ": " << batch->numSamples << " users, "
                 << batch->numCandidates() << " candidates, " << batch->totalTokens(m)
                 << " tokens: max error " << llvm::format("%.3e", *largest) << "\n";
    worst = std::max(worst, *largest);
    // The prefix split, where the artifact has it: score_candidates on
    // encode_prefix's rows against the same reference.
    auto split = largestSplitErrorAgainstReference(session, referenceParams, *batch);
    if (!split)
      return error(llvm::toString(split.takeError()));
    if (*split) {
      llvm::outs() << "batch " << i << ", prefix split (encode_prefix, score_candidates): max "
                   << "error " << llvm::format("%.3e", **split) << "\n";
      worst = std::max(worst, **split);
    }
  }
  const std::string &numerics = session.getArtifact().numerics;
  double limit = tolerance.getNumOccurrences() ? tolerance.getValue() : defaultTolerance(numerics);
  bool ok = worst <= limit;
  llvm::outs() << (ok ? "PASS" : "FAIL") << ": largest error " << llvm::format("%.3e", worst)
               << (ok ? " <= " : " > ") << "tolerance " << llvm::format("%.1e", limit)
               << " (compiled "
               << (numerics == "bf16" ? "bf16 operands or 16-bit storage, f32 sums" : "fp32")
               << " vs float64 reference, max|c - r| / max(1, |r|))\n";
  return ok ? 0 : 1;
}
} // namespace

/// `mtgr-run call`: a kernel artifact's entry point on the buffers of
/// --inputs; --output writes them after the call, --expect compares them.
int callKernels() {
  if (artifactPath.empty())
    return error("an artifact is needed: mtgr-run call KERNELS.mtgr --inputs=FILE.npz");
  if (callInputs.empty())
    return error("call: --inputs=FILE.npz is needed (the buffers arg0, arg1, ...)");
  auto trust = trustPolicyFrom(trustedKeys, requireSignature);
  if (!trust)
    return error(llvm::toString(trust.takeError()));
  auto artifact = Artifact::read(artifactPath);
  if (!artifact)
    return error(llvm::toString(artifact.takeError()));
  if (!artifact->kernelsOnly())
    return error(artifactPath + ": an artifact of model '" + artifact->model.name +
                 "': its entry points take batches (infer, verify, train), not raw buffers");
  if (auto e = artifact->checkTrust(*trust))
    return error(llvm::toString(std::move(e)));
  auto readNpz = [](const std::string &path) -> llvm::Expected<std::map<std::string, Tensor>> {
    auto bytes = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                             /*RequiresNullTerminator=*/false);
    if (!bytes)
      return llvm::createStringError(path + ": cannot read: " + bytes.getError().message());
    return parseNpz((*bytes)->getBuffer(), path);
  };
  auto inputs = readNpz(callInputs);
  if (!inputs)
    return error(llvm::toString(inputs.takeError()));
  auto device = createDevice(deviceName);
  if (!device)
    return error(llvm::toString(device.takeError()));
  auto buffers = callOnBuffers(*artifact, **device, callEntry, *inputs, callInputs);
  if (!buffers)
    return error(llvm::toString(buffers.takeError()));
  if (outputPath != "-") {
    ParamStore out;
    for (const auto &[name, tensor] : *buffers)
      out.set(name, tensor);
    if (auto e = writeNpz(outputPath, out))
      return error(llvm::toString(std::move(e)));
  }
  llvm::outs() << "called '" << callEntry << "' of " << artifactPath << " on " << (*device)->name()
               << " with " << buffers->size() << " buffers\n";
  if (callExpect.empty())
    return 0;
  auto expected = readNpz(callExpect);
  if (!expected)
    return error(llvm::toString(expected.takeError()));
  return compareBits(*buffers, *expected, callExpect, llvm::outs()) ? 0 : 1;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions({&category, &dataCategory});
  // The features --movielens fills, by name (a model asks for them in its schema).
  static std::string movieLensHelp =
      "\nMovieLens features (--movielens; docs/movielens.md):\n" + movieLensFeatureList();
  static cl::extrahelp movieLensExtra(movieLensHelp);
  // The command first: a word that is none of them is named as such (the
  // parser would call it an artifact path).
  if (argc > 1 && argv[1][0] != '-' &&
      std::none_of(std::begin(kCommands), std::end(kCommands),
                   [&](const char *c) { return llvm::StringRef(argv[1]) == c; }))
    return error(llvm::Twine("unknown command '") + argv[1] +
                 "' (expected infer, verify, eval, train, gen, devices or call)");
  cl::ParseCommandLineOptions(
      argc, argv,
      "mtgr-run: run a compiled mtgr artifact\n\n"
      "Commands:\n"
      "  infer   score candidates; writes '# user candidate TASK...' then one line per\n"
      "          candidate: user id, candidate id, sigmoid probability per task\n"
      "  verify  compare compiled results (logits and every token's final hidden\n"
      "          state) with the float64 reference on random batches; exit 1 beyond\n"
      "          --tolerance\n"
      "  eval    per-task AUC and GAUC (per-user AUC weighted by impressions, users\n"
      "          with one class skipped) on labelled requests\n"
      "  train   train with the generated train_step and apply_update (token-balanced\n"
      "          steps split over --num-threads, Adam/AdamW, sparse row optimisers,\n"
      "          checkpoints); AUC/GAUC on held-out data (each user's last request\n"
      "          window) before and after\n"
      "  gen     write synthetic requests for the artifact's model (JSON Lines)\n"
      "  devices list the CPU and the CUDA driver's GPUs, or why there is none\n"
      "  call    call a kernel artifact's entry point once on the buffers of a .npz\n"
      "          (--inputs); --output=FILE.npz writes them after the call, --expect\n"
      "          compares them bit for bit with a recorded .npz\n\n"
      "Examples:\n"
      "  mtgr-run infer tiny.mtgr --users=4 --show=10\n"
      "  mtgr-run gen tiny.mtgr --users=2 --output=requests.jsonl\n"
      "  mtgr-run devices\n"
      "  mtgr-run devices --ceilings --ceiling-size=8192\n"
      "  mtgr-run call mma-bf16.mtgr --inputs=mma-bf16.in.npz --device=cuda --output=out.npz\n"
      "  mtgr-run infer tiny.mtgr --requests=requests.jsonl --output=scores.txt\n"
      "  mtgr-run verify tiny.mtgr --batches=5 --seq-len=200 --randomize-params\n"
      "  mtgr-run verify tiny.cuda.mtgr --device=cuda-emu --randomize-params  (mtgr-compile "
      "--target=cuda)\n"
      "  mtgr-run infer tiny.mtgr --params=weights.npz\n"
      "  mtgr-run infer tiny.mtgr --requests=requests.jsonl --time=5 --num-threads=2\n"
      "  mtgr-run train dlrm.mtgr --users=400 --epochs=2 --checkpoint=run.ckpt\n"
      "  mtgr-run train tiny.mtgr --data=requests.jsonl --resume=run.ckpt\n"
      "  mtgr-run train ml.mtgr --movielens=ml-latest-small --epochs=8 --early-stopping=2\n"
      "  mpirun -np 4 mtgr-run train tiny.mtgr --users=400 --shard-tables --checkpoint=run.ckpt\n"
      "  mpirun -np 8 mtgr-run train small.cuda.mtgr --device=cuda --collective=nccl\n");
  if (devicesCommand) {
    describeDevices(llvm::outs());
    return ceilings ? describeCeilings(llvm::outs(), ceilingSize, ceilingRepeats) : 0;
  }
  if (callCommand)
    return callKernels();
  if (!inferCommand && !verifyCommand && !evalCommand && !trainCommand && !genCommand)
    return error("a command is needed first: infer, verify, eval, train, gen, devices or call "
                 "(--help)");
  if (artifactPath.empty())
    return error("an artifact is needed: mtgr-run " +
                 std::string(inferCommand    ? "infer"
                             : verifyCommand ? "verify"
                             : evalCommand   ? "eval"
                             : trainCommand  ? "train"
                                             : "gen") +
                 " ARTIFACT.mtgr (mtgr-compile writes one)");
  if (users < 0 || seqLen < 0 || rtLen < 0 || maxCandidates < 0 || batches < 1)
    return error("--users, --seq-len, --rt-len and --candidates must be >= 0, --batches >= 1");
  if (minSeqLen < 0 || minSeqLen > seqLen)
    return error("--min-seq-len is " + std::to_string(minSeqLen) + ", not 0 .. --seq-len (" +
                 std::to_string(seqLen) + ")");
  // Caps that keep synthetic batches and thread counts sane; each names the
  // option and its limit (a larger batch is split into several).
  for (auto [name, value, limit] :
       {std::tuple{"--users", users.getValue(), int64_t(1000000)},
        std::tuple{"--seq-len", seqLen.getValue(), int64_t(1000000)},
        std::tuple{"--rt-len", rtLen.getValue(), int64_t(1000000)},
        std::tuple{"--candidates", maxCandidates.getValue(), int64_t(100000)},
        std::tuple{"--batches", batches.getValue(), int64_t(1000000)},
        std::tuple{"--windows", windows.getValue(), int64_t(1000)},
        std::tuple{"--num-threads", int64_t(threads.getValue()), int64_t(1024)}})
    if (value > limit)
      return error(llvm::Twine(name) + " is " + llvm::Twine(value) + ", at most " +
                   llvm::Twine(limit));
  SessionOptions options;
  options.threads = threads;
  options.device = deviceName;
  // Several ranks on one machine: each its own GPU (the launcher's local rank).
  if (deviceName == "cuda" && launchedByMpi())
    for (const char *variable : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"})
      if (const char *local = getenv(variable); local && *local) {
        options.device = "cuda:" + std::string(local);
        break;
      }
  options.initializeParams = paramsPath.empty(); // --params replaces every value
  if (!maxMemory.empty()) {
    auto bytes = parseByteSize(maxMemory);
    if (!bytes)
      return error("--max-memory: '" + maxMemory + "' is not a size (bytes, or e.g. 512M, 8G)");
    options.maxMemory = *bytes;
  }
  // Which artifacts may load, decided before any of their code is mapped.
  auto trust = trustPolicyFrom(trustedKeys, requireSignature);
  if (!trust)
    return error(llvm::toString(trust.takeError()));
  options.trust = std::move(*trust);
  uint64_t memoryLimit = options.maxMemory ? options.maxMemory : physicalMemoryBytes();
  // A synthetic batch is held in memory whole: bound its tokens first.
  double syntheticTokens = static_cast<double>(users) * windows *
                           (static_cast<double>(seqLen) + rtLen + maxCandidates + 64);
  if (requestsPath.empty() && syntheticTokens * 64 > static_cast<double>(memoryLimit))
    return error(llvm::formatv("--users={0} x --windows={1} x (--seq-len={2} + --rt-len={3} + "
                               "--candidates={4}) synthetic tokens would not fit the memory "
                               "limit of {5} bytes (--max-memory)",
                               users, windows, seqLen, rtLen, maxCandidates, memoryLimit)
                     .str());
  auto artifact = Artifact::read(artifactPath);
  if (!artifact)
    return error(llvm::toString(artifact.takeError()));
  auto session = Session::create(std::move(*artifact), options);
  if (!session)
    return error(llvm::toString(session.takeError()));
  // Started by mpirun: the ranks share each training step (docs/scale-out.md).
  std::unique_ptr<Collective> ranks;
  if (launchedByMpi()) {
    if (!trainCommand)
      return error("started by an MPI launcher: only `train` runs on several ranks (run " +
                   std::string(inferCommand  ? "infer"
                               : evalCommand ? "eval"
                                             : "this command") +
                   " as one process)");
    auto world = createMpiCollective();
    if (!world)
      return error(llvm::toString(world.takeError()));
    ranks = std::move(*world);
    auto bytes = llvm::MemoryBuffer::getFile(artifactPath);
    uint64_t digest = bytes ? llvm::xxh3_64bits((*bytes)->getBuffer()) : 0;
    if (auto e = ranks->agree(digest, "artifact"))
      return error(llvm::toString(std::move(e)));
    if (ranks->rank() != 0) { // rank 0 reports; the others print only errors
      int null = ::open("/dev/null", O_WRONLY);
      if (null >= 0)
        ::dup2(null, STDOUT_FILENO), ::close(null);
    } else {
      llvm::errs() << "ranks: " << ranks->size() << " (" << ranks->engine()
                   << "), each step's samples shared by token count\n";
    }
    (*session)->setCollective(ranks.get());
  }
  // The dense gradients' sums in the GPUs' memory (NCCL) instead of the host's.
  std::unique_ptr<Collective> nccl;
  if (collectiveName != "auto" && collectiveName != "mpi" && collectiveName != "nccl")
    return error("--collective='" + collectiveName + "': expected auto, mpi or nccl");
  if (collectiveName == "nccl" && !ranks)
    return error("--collective=nccl: NCCL sums over the ranks of an MPI job (start mtgr-run "
                 "train with mpirun)");
  const bool onGpu = llvm::StringRef((*session)->getDevice().name()).starts_with("cuda:");
  if (ranks && (collectiveName == "nccl" || (collectiveName == "auto" && onGpu))) {
    auto made = createNcclCollective(*ranks, (*session)->getDevice());
    if (!made && collectiveName == "nccl")
      return error(llvm::toString(made.takeError()));
    if (!made) {
      std::string why = llvm::toString(made.takeError());
      if (ranks->rank() == 0) // (one write: other ranks print to the same stream)
        llvm::errs() << ("ranks: not summing with NCCL (" + why + "): through the host (" +
                         ranks->engine().str() + ")\n");
    } else {
      nccl = std::move(*made);
      if (nccl->rank() == 0)
        llvm::errs() << ("ranks: dense gradients summed in the devices' memory (" +
                         nccl->engine().str() + ")\n");
      (*session)->setCollective(nccl.get());
    }
  }
  std::unique_ptr<Collective> alone; // --shard-tables in one process: one shard
  if (shardTablesFlag) {
    if (!trainCommand)
      return error("--shard-tables: only `train` shards its tables");
    if (!ranks)
      (*session)->setCollective((alone = createLocalCollective()).get());
  }
  if (paramSeed.getNumOccurrences())
    (*session)->initParams(paramSeed);
  if (!paramsPath.empty())
    if (auto e = loadParams(paramsPath, (*session)->params()))
      return error(llvm::toString(std::move(e)));
  if (randomizeParams)
    randomizeForVerification((*session)->params(),
                             paramSeed.getNumOccurrences() ? paramSeed.getValue() : dataSeed + 1);
  // After the parameters are final: each rank keeps its part of the tables.
  if (shardTablesFlag)
    if (auto e = (*session)->shardTables())
      return error(llvm::toString(std::move(e)));
  if (!saveParams.empty() && !trainCommand)
    if (auto e = writeNpz(saveParams, (*session)->params()))
      return error(llvm::toString(std::move(e)));
  if (genCommand) {
    std::error_code ec;
    llvm::raw_fd_ostream out(outputPath, ec);
    if (ec)
      return error(outputPath + ": " + ec.message());
    writeRequests((*session)->model(), generateSynthetic((*session)->model(),
                                                         syntheticOptions(dataSeed)), out);
    return 0;
  }
  if (evalCommand)
    return eval(**session);
  if (trainCommand)
    return train(**session);
  return inferCommand ? infer(**session) : verify(**session);
}
