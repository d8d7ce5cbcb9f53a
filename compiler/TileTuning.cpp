//===- TileTuning.cpp - register tiles chosen by timing them here ---------===//
#include "compiler/TileTuning.h"

#include "codegen/cpu/CpuBackend.h"
#include "compiler/Compiler.h"
#include "data/Synthetic.h"
#include "runtime/Params.h"
#include "runtime/Session.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/xxhash.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

using namespace mlir::mtgr;
using ::mtgr::Batch;
using ::mtgr::Session;

namespace {
double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// What a cached choice is valid for: the machine as the compiler sees it
/// (triple, CPU, features, caches, FMA table), the model's text and the
/// batch's shape. Another machine, model or shape tunes again.
std::string cacheKey(const HostTarget &host, const TargetDescription &derived,
                     llvm::StringRef modelText, const TileTuningOptions &o) {
  std::string what;
  llvm::raw_string_ostream os(what);
  os << "mtgr-tiles-v1\n"
     << host.str() << "\n"
     << derived.describe() << "\n"
     << o.users << " " << o.seqLen << " " << o.rtLen << " " << o.candidates << "\n"
     << modelText;
  return llvm::utohexstr(llvm::xxh3_64bits(what), /*LowerCase=*/true, /*Width=*/16);
}

struct CacheLine {
  std::string key, tiles, note;
};

/// The cache's lines that parse; the others are reported and dropped (a
/// rewrite keeps only good lines). A missing file is an empty cache.
std::vector<CacheLine> readCache(llvm::StringRef path, llvm::raw_ostream &report) {
  std::vector<CacheLine> lines;
  auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!file)
    return lines;
  llvm::SmallVector<llvm::StringRef> rows;
  (*file)->getBuffer().split(rows, '\n');
  for (size_t i = 0; i < rows.size(); ++i) {
    llvm::StringRef row = rows[i].trim();
    if (row.empty() || row.starts_with("#"))
      continue;
    llvm::SmallVector<llvm::StringRef> fields;
    row.split(fields, '\t');
    if (fields.size() < 2 || fields[0].size() != 16 || !llvm::all_of(fields[0], llvm::isHexDigit) ||
        fields[1].empty()) {
      report << "mtgr-compile: warning: " << path << ":" << i + 1
             << ": not a tile cache line (key<TAB>tiles<TAB>note), ignored\n";
      continue;
    }
    lines.push_back({fields[0].str(), fields[1].str(), fields.size() > 2 ? fields[2].str() : ""});
  }
  return lines;
}

/// The cache's folder, made before a search whose choice could not be kept.
llvm::Error createCacheFolder(llvm::StringRef path) {
  llvm::SmallString<256> dir(path);
  llvm::sys::path::remove_filename(dir);
  if (!dir.empty())
    if (std::error_code ec = llvm::sys::fs::create_directories(dir))
      return llvm::createStringError("cannot create the tile cache's folder " + dir.str() + ": " +
                                     ec.message());
  return llvm::Error::success();
}

/// `lines` into `path` (its folder exists: createCacheFolder), by rename.
llvm::Error writeCache(llvm::StringRef path, const std::vector<CacheLine> &lines) {
  std::string tmp = (path + ".tmp").str();
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(tmp, ec);
    if (ec)
      return llvm::createStringError("cannot write the tile cache " + tmp + ": " + ec.message());
    os << "# mtgr-compile --tune: register tiles chosen on this machine (key, tiles, what)\n";
    for (const CacheLine &l : lines)
      os << l.key << "\t" << l.tiles << "\t" << l.note << "\n";
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmp, path))
    return llvm::createStringError("cannot write the tile cache " + path.str() + ": " +
                                   ec.message());
  return llvm::Error::success();
}

struct Candidate {
  std::string name, tiles; // tiles: --tiles text, "" = derived
  ::mtgr::Artifact artifact{};
  double best[2] = {1e30, 1e30}; // seconds per pass on 1 and 2 threads
  double sum() const { return best[0] + best[1]; }
};

/// Best pass of `batch` on `artifact` with `threads`, over about `seconds`
/// after a warm-up pass (at least two timed passes).
llvm::Expected<double> timeForward(const ::mtgr::Artifact &artifact, unsigned threads,
                                   const Batch &batch, double seconds) {
  auto session = Session::create(artifact, threads);
  if (!session)
    return session.takeError();
  ::mtgr::randomizeForVerification((*session)->params(), 1);
  if (auto r = (*session)->forward(batch); !r)
    return r.takeError();
  double best = 1e30, start = now();
  for (int passes = 0; passes < 2 || now() - start < seconds; ++passes) {
    double t0 = now();
    auto r = (*session)->forward(batch);
    if (!r)
      return r.takeError();
    best = std::min(best, now() - t0);
  }
  return best;
}

/// Times every candidate in rounds, each round starting one candidate later
/// (no candidate always runs first: with a fixed order the first one came
/// out 2-4% slower than the rest on znver4).
llvm::Error timeAll(std::vector<Candidate> &cs, const Batch &batch, unsigned secondThreads,
                    const TileTuningOptions &o) {
  size_t n = cs.size();
  for (int64_t r = 0; r < o.rounds; ++r)
    for (size_t i = 0; i < n; ++i) {
      Candidate &c = cs[(i + static_cast<size_t>(r)) % n];
      for (int t = 0; t < 2; ++t) {
        auto s = timeForward(c.artifact, t == 0 ? 1 : secondThreads, batch, o.secondsPerRun);
        if (!s)
          return s.takeError();
        c.best[t] = std::min(c.best[t], *s);
      }
    }
  return llvm::Error::success();
}

void printTable(llvm::raw_ostream &os, const std::vector<Candidate> &cs, const Candidate &base,
                unsigned secondThreads) {
  os << llvm::format("  %-32s %11s %11s %11s\n", "tiles", "1 thread",
                     (std::to_string(secondThreads) + " threads").c_str(), "vs derived");
  for (const Candidate &c : cs)
    os << llvm::format("  %-32s %8.2f ms %8.2f ms %11.3f\n", c.name.c_str(), c.best[0] * 1e3,
                       c.best[1] * 1e3, base.sum() / c.sum());
}

/// The fastest candidate not named "control" if it beats `base` past
/// `floor` (a time ratio), else `base`.
const Candidate &pick(const std::vector<Candidate> &cs, const Candidate &base, double floor) {
  const Candidate *best = &base;
  for (const Candidate &c : cs)
    if (c.name != "control" && c.sum() < best->sum())
      best = &c;
  return best->sum() < floor * base.sum() ? *best : base;
}
} // namespace

std::string mlir::mtgr::defaultTileCachePath() {
  llvm::SmallString<256> path;
  if (auto xdg = llvm::sys::Process::GetEnv("XDG_CACHE_HOME"); xdg && !xdg->empty())
    path = *xdg;
  else if (auto home = llvm::sys::Process::GetEnv("HOME"); home && !home->empty())
    llvm::sys::path::append(path, *home, ".cache");
  else
    return "";
  llvm::sys::path::append(path, "mtgr", "tiles.txt");
  return path.str().str();
}

llvm::Expected<TileTuningResult> mlir::mtgr::tuneTiles(llvm::StringRef modelText,
                                                       llvm::StringRef modelPath,
                                                       const TileTuningOptions &o,
                                                       llvm::raw_ostream &report) {
  std::optional<HostTarget> host = HostTarget::named(o.cpu.empty() ? "native" : o.cpu);
  if (!host)
    return llvm::createStringError("--tune: " + HostTarget::unknownCpu(o.cpu));
  if (std::string why = ::mtgr::checkHostTarget(host->str()); !why.empty())
    return llvm::createStringError("--tune times the code on this machine, which cannot run "
                                   "code for --cpu=" +
                                   o.cpu + ": " + why);
  TargetDescription derived = describeHost(*host);
  std::string key = cacheKey(*host, derived, modelText, o);
  std::vector<CacheLine> cache;
  if (!o.cachePath.empty()) {
    if (llvm::Error e = createCacheFolder(o.cachePath))
      return std::move(e);
    cache = readCache(o.cachePath, report);
    for (const CacheLine &l : cache)
      if (l.key == key) {
        TargetDescription check = derived;
        if (llvm::Error e = check.setTiles(l.tiles)) {
          report << "mtgr-compile: warning: " << o.cachePath << ": key " << key << ": "
                 << llvm::toString(std::move(e)) << "; tuning again\n";
          break;
        }
        report << "tiles: " << l.tiles
               << " (tuned before on this machine, model and shape: " << o.cachePath << ")\n";
        return TileTuningResult{l.tiles, true};
      }
  }

  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  unsigned secondThreads = std::min(2u, cores);
  auto compileWith = [&](Candidate &c) -> llvm::Error {
    BackendOptions b;
    b.chip = o.cpu.empty() ? "native" : o.cpu;
    b.tiles = c.tiles;
    auto artifact = compileArtifact(modelText, modelPath, /*trainStep=*/false, "cpu", b);
    if (!artifact)
      return llvm::createStringError("--tune: " + c.name + ": " +
                                     llvm::toString(artifact.takeError()));
    c.artifact = std::move(*artifact);
    return llvm::Error::success();
  };
  auto build = [&](std::vector<Candidate> &cs) -> llvm::Error {
    for (Candidate &c : cs)
      if (c.artifact.code.empty()) // step 1's winner comes compiled
        if (llvm::Error e = compileWith(c))
          return e;
    return llvm::Error::success();
  };

  std::string derivedText = derived.derivedTilesText();
  auto [derivedGemm, derivedAttention] = llvm::StringRef(derivedText).split(',');
  report << "tuning tiles on " << derived.describe() << "\n"
         << "  batch: " << o.users << " users, S <= " << o.seqLen << ", R <= " << o.rtLen
         << ", K <= " << o.candidates << "; " << o.rounds << " rounds of "
         << llvm::format("%.2f", o.secondsPerRun)
         << " s per candidate and thread count, best pass; control = the derived tiles "
            "compiled apart\n";

  // Step 1: GEMM tiles, with the derived attention.
  std::vector<Candidate> step1{{"derived", ""}, {"control", derivedText}};
  for (const std::string &g : derived.gemmTileCandidates())
    step1.push_back({g, g + "," + derivedAttention.str()});
  if (llvm::Error e = build(step1))
    return std::move(e);
  ::mtgr::SyntheticOptions so;
  so.users = o.users, so.maxSequence = o.seqLen, so.minSequence = o.seqLen / 4;
  so.maxRealtime = o.rtLen, so.maxCandidates = o.candidates;
  so.minCandidates = std::max<int64_t>(1, o.candidates / 2), so.seed = 7;
  Batch batch = ::mtgr::generateSynthetic(step1.front().artifact.model, so); // intervals too
  if (llvm::Error e = timeAll(step1, batch, secondThreads, o))
    return std::move(e);
  const Candidate &derivedRun = step1[0], &control = step1[1];
  double spread =
      std::min(control.sum(), derivedRun.sum()) / std::max(control.sum(), derivedRun.sum());
  double floor = std::min(0.98, spread);
  report << "step 1, GEMM register tiles (with " << derivedAttention << "):\n";
  printTable(report, step1, derivedRun, secondThreads);
  const Candidate &gemmWinner = pick(step1, derivedRun, floor);
  std::string gemm = gemmWinner.name == "derived" ? derivedGemm.str() : gemmWinner.name;

  // Step 2: attention row blocks, with step 1's GEMM tile.
  Candidate base = gemmWinner; // timed again beside step 2's candidates
  base.best[0] = base.best[1] = 1e30;
  std::vector<Candidate> step2{std::move(base)};
  for (const std::string &a : derived.attentionTileCandidates())
    step2.push_back({gemm + "," + a, gemm + "," + a});
  std::string chosen = gemm + "," + derivedAttention.str();
  if (step2.size() > 1) {
    if (llvm::Error e = build(step2))
      return std::move(e);
    if (llvm::Error e = timeAll(step2, batch, secondThreads, o))
      return std::move(e);
    report << "step 2, attention row blocks (with " << gemm << "):\n";
    printTable(report, step2, step2[0], secondThreads);
    const Candidate &winner = pick(step2, step2[0], floor);
    if (&winner != &step2[0])
      chosen = winner.tiles;
  }
  report << "noise floor " << llvm::format("%.1f%%", (1 - floor) * 100)
         << " (2%, or the control's spread); tiles: " << chosen
         << (chosen == derivedText ? " (the derived ones)" : "") << "\n";

  if (!o.cachePath.empty()) {
    llvm::erase_if(cache, [&](const CacheLine &l) { return l.key == key; });
    cache.push_back({key, chosen,
                     (llvm::sys::path::filename(modelPath) + " on " + host->cpu +
                      ", S<=" + llvm::Twine(o.seqLen) + " R<=" + llvm::Twine(o.rtLen) +
                      " K<=" + llvm::Twine(o.candidates))
                         .str()});
    if (llvm::Error e = writeCache(o.cachePath, cache))
      return std::move(e);
  }
  return TileTuningResult{chosen, false};
}
