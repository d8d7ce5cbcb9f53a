//===- bench_prefix_cache.cpp - what a cached user costs, against a cold one --===//
//
// One request of the paper's serving shape (one user, S 1000, R 100, 512
// candidates by default) on a model the prefix split accepts
// (bench/models/mtgr-small-visible.yaml), all cores:
//   forward            the whole sample, no split (the baseline)
//   encode_prefix      the user's U and S rows, once
//   score_candidates   the R and C rows against the encoded rows (a hit)
//   cache hit / miss   PrefixCache::score on a repeat user / a new one
// and a stream of requests whose users repeat at --repeat-rate. Ratios to
// forward measured in the same run; the FLOP saving the mask allows is
// F(U and S rows) / F(sample), where F(U and S rows) = the forward FLOPs of
// [U | S] alone (the split's premise: those rows are that computation).
// Writes --results (bench/serve/run.sh: bench/results/serve-prefix-cache.txt).
//
//===----------------------------------------------------------------------===//
#include "compiler/Compiler.h"
#include "data/Synthetic.h"
#include "model/ModelStats.h"
#include "runtime/PrefixCache.h"
#include "runtime/Session.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <random>
#include <thread>

using namespace mlir::mtgr;
namespace cl = llvm::cl;

namespace {
cl::opt<std::string> modelPath(cl::Positional, cl::desc("<model.yaml>"), cl::Required);
cl::opt<std::string> resultsPath("results", cl::desc("Results file"), cl::init("-"));
cl::opt<int64_t> seqLen("seq-len", cl::init(1000));
cl::opt<int64_t> rtLen("rt-len", cl::init(100));
cl::opt<int64_t> candidates("candidates", cl::init(512));
cl::opt<double> repeatRate("repeat-rate", cl::desc("Share of stream requests from a seen user"),
                           cl::init(0.9));
cl::opt<int64_t> streamRequests("stream", cl::desc("Requests in the stream"), cl::init(40));
cl::opt<double> seconds("seconds", cl::desc("Time per measurement"), cl::init(3.0));
cl::opt<bool> profile("profile",
                      cl::desc("Instead: compile with op timing and print where forward's and "
                               "score_candidates' time goes, by op family"),
                      cl::init(false));

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Median of runs of `fn` for about `seconds` (at least 3): one run's time.
template <typename F> double timeMedian(F fn) {
  fn(); // warm up
  std::vector<double> times;
  double start = now();
  do {
    double t0 = now();
    fn();
    times.push_back(now() - t0);
  } while (now() - start < seconds || times.size() < 3);
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

/// One request of exactly the given lengths for user `user`.
Batch request(const ModelDesc &m, int64_t user, uint64_t seed) {
  SyntheticOptions o;
  o.users = 1, o.firstUser = user, o.seed = seed;
  o.minSequence = o.maxSequence = seqLen;
  o.minRealtime = o.maxRealtime = rtLen;
  o.minCandidates = o.maxCandidates = candidates;
  return generateSynthetic(m, o);
}

/// `b` with other R events and candidates (the same user's next request):
/// the U and S of `b`, the R and C of `other`.
Batch nextRequest(const Batch &b, const Batch &other) {
  Batch r = other;
  r.userIds = b.userIds, r.user = b.user;
  r.sequence = b.sequence, r.sequenceOffsets = b.sequenceOffsets;
  r.sequenceTimes = b.sequenceTimes;
  return r;
}

int fail(const std::string &message) {
  llvm::errs() << "mtgr-bench-prefix-cache: " << message << "\n";
  return 1;
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(argc, argv, "mtgr-bench-prefix-cache: a cached user's cost\n");
  auto text = llvm::MemoryBuffer::getFile(modelPath);
  if (!text)
    return fail("cannot read " + modelPath);
  auto artifact =
      compileArtifact((*text)->getBuffer(), modelPath, /*trainStep=*/false, "", {}, profile);
  if (!artifact)
    return fail(llvm::toString(artifact.takeError()));
  if (!artifact->entry("encode_prefix"))
    return fail("the model has no prefix split: " + artifact->prefixSplitMissing);
  auto created = Session::create(std::move(*artifact));
  if (!created)
    return fail(llvm::toString(created.takeError()));
  Session &session = **created;
  const ModelDesc &m = session.model();

  Batch first = request(m, 0, 1);
  // The same user's next request: other R events, other candidates (times
  // after S, as generated).
  Batch repeat = nextRequest(first, request(m, 0, 2));
  auto sampleFlops = countBatchFlops(m, first);
  Batch prefixOnly = first;
  prefixOnly.realtimeOffsets = {0, 0}, prefixOnly.candidateOffsets = {0, 0};
  prefixOnly.realtimeTimes.clear(), prefixOnly.candidateTimes.clear();
  for (auto &c : prefixOnly.realtime)
    c.ids.clear(), c.values.clear();
  auto prefixFlops = countBatchFlops(m, prefixOnly);
  if (!sampleFlops || !prefixFlops)
    return fail("the mask's pairs are unknown (mask: intervals)");
  double allowed = static_cast<double>(prefixFlops->total()) / sampleFlops->total();

  auto check = [](auto expected) {
    if (!expected) {
      llvm::errs() << llvm::toString(expected.takeError()) << "\n";
      std::exit(1);
    }
    return std::move(*expected);
  };
  auto prefix = check(session.encodePrefix(repeat));
  if (profile) {
    auto byFamily = [&](const char *what, auto fn) {
      fn();
      session.environment().profile.reset();
      constexpr int kRuns = 5;
      for (int i = 0; i < kRuns; ++i)
        fn();
      llvm::outs() << what << " (ms per run, by op family):";
      FamilySeconds s = session.environment().profile.seconds();
      for (size_t f = 0; f < s.size(); ++f)
        if (s[f] > 0)
          llvm::outs() << llvm::format("  %s %.2f", toString(static_cast<ProfileFamily>(f)).data(),
                                       s[f] * 1e3 / kRuns);
      llvm::outs() << "\n";
      for (auto [l, layer] : llvm::enumerate(session.environment().profile.layerSeconds()))
        llvm::outs() << llvm::format("  layer %zu: projections %.2f  attention %.2f\n", l,
                                     layer[0] * 1e3 / kRuns, layer[1] * 1e3 / kRuns);
    };
    byFamily("forward", [&] { check(session.forward(repeat)); });
    byFamily("encode_prefix", [&] { check(session.encodePrefix(repeat)); });
    byFamily("score_candidates", [&] { check(session.scoreCandidates(repeat, prefix)); });
    return 0;
  }
  double tForward = timeMedian([&] { check(session.forward(repeat)); });
  double tEncode = timeMedian([&] { check(session.encodePrefix(repeat)); });
  double tScore = timeMedian([&] { check(session.scoreCandidates(repeat, prefix)); });
  PrefixCache cache({uint64_t(8) << 30, false});
  check(cache.score(session, first));
  double tHit = timeMedian([&] { check(cache.score(session, repeat)); });
  int64_t missUser = 1000;
  double tMiss = timeMedian([&] {
    PrefixCache cold({uint64_t(8) << 30, false});
    ++missUser;
    check(cold.score(session, request(m, missUser, missUser)));
  });
  PrefixCache half({uint64_t(8) << 30, true});
  check(half.score(session, first));
  double tHitBf16 = timeMedian([&] { check(half.score(session, repeat)); });
  uint64_t bytesF32 = cache.stats().bytes, bytesBf16 = half.stats().bytes;

  // A stream: each request from a seen user with probability --repeat-rate.
  PrefixCache stream({uint64_t(8) << 30, false});
  std::mt19937_64 rng(7);
  std::vector<Batch> seen;
  double streamCache = 0, streamForward = 0;
  for (int64_t i = 0; i < streamRequests; ++i) {
    bool repeatUser = !seen.empty() && std::uniform_real_distribution<>(0, 1)(rng) < repeatRate;
    Batch r = repeatUser ? nextRequest(seen[rng() % seen.size()], request(m, 0, 100 + i))
                         : request(m, 5000 + i, 200 + i);
    if (!repeatUser)
      seen.push_back(r);
    double t0 = now();
    check(stream.score(session, r));
    streamCache += now() - t0;
    t0 = now();
    check(session.forward(r));
    streamForward += now() - t0;
  }
  PrefixCache::Stats ss = stream.stats();

  std::string text2;
  llvm::raw_string_ostream os(text2);
  std::string cpu = "unknown";
  if (std::ifstream info("/proc/cpuinfo"); info)
    for (std::string line; std::getline(info, line);)
      if (line.rfind("model name", 0) == 0) {
        cpu = line.substr(line.find(':') + 2);
        break;
      }
  os << "# mtgr-bench-prefix-cache " << modelPath << "\n"
     << "# CPU: " << cpu << ", " << session.numThreads() << " threads\n"
     << "# one request: 1 user, U " << m.user.size() << ", S " << seqLen << ", R " << rtLen
     << ", " << candidates << " candidates (" << first.totalTokens(m) << " tokens, "
     << llvm::format("%.2f", sampleFlops->total() / 1e9) << " GFLOP); median of runs over "
     << llvm::format("%.1f", seconds.getValue()) << " s each\n"
     << "# FLOP saving the mask allows a cached user: U and S rows "
     << llvm::format("%.2f", prefixFlops->total() / 1e9) << " GFLOP of the sample's: "
     << llvm::format("%.3f", allowed) << "\n";
  auto row = [&](const char *what, double t, const char *note) {
    os << llvm::format("%-28s %9.2f ms  %6.3f of forward", what, t * 1e3, t / tForward) << "  "
       << note << "\n";
  };
  row("forward (no split)", tForward, "the baseline");
  row("encode_prefix", tEncode, "U and S rows, once per user version");
  row("score_candidates", tScore, "R and C rows on encoded rows");
  row("cache hit", tHit, "PrefixCache::score, repeat user (lookup, rows read in place, score)");
  row("cache hit, bf16 rows", tHitBf16, "rows stored in bf16");
  row("cache miss", tMiss, "new user: encode, keep, score");
  double achieved = (tForward - tHit) / tForward;
  os << llvm::format("hit saves %.3f of forward's time = %.2f of the allowed saving %.3f "
                     "(target >= 0.85)\n",
                     achieved, achieved / allowed, allowed)
     << llvm::format("hit / encode_prefix = %.2f (target <= 1.5: scoring %d candidates for a "
                     "cached user against encoding it once)\n",
                     tHit / tEncode, static_cast<int>(candidates.getValue()))
     << "cached rows per user: " << bytesF32 << " bytes (f32), " << bytesBf16 << " (bf16)\n"
     << llvm::format("stream of %d requests, repeat rate %.2f: hits %d, misses %d; total %.2f s "
                     "with the cache, %.2f s forward: %.2fx\n",
                     static_cast<int>(streamRequests.getValue()), repeatRate.getValue(),
                     static_cast<int>(ss.hits), static_cast<int>(ss.misses), streamCache,
                     streamForward, streamForward / streamCache);
  os.flush();
  llvm::outs() << text2;
  if (resultsPath != "-") {
    std::ofstream out(resultsPath);
    out << text2;
  }
  return 0;
}
