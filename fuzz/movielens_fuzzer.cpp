//===- movielens_fuzzer.cpp - MovieLens folders ---------------------------===//
//
// The bytes become a folder of files, then loadMovieLens reads it for the
// MovieLens example model: refused with a message (file:line: what), or three
// batches that validateBatch accepts. Input layout: the first byte picks the
// layout's file names (ml-latest CSV, ml-1m/ml-10m "::", ml-100k tab and
// '|'), the rest splits at NUL bytes into those files in order (a missing
// part: the file is absent). The split and window options come from the
// second byte.
//
//===----------------------------------------------------------------------===//
#include "data/MovieLens.h"
#include "fuzz/FuzzModels.h"
#include "runtime/Batch.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <array>
#include <string>
#include <vector>

using namespace mtgr;

namespace {
const std::vector<std::vector<const char *>> kLayouts = {
    {"ratings.csv", "movies.csv", "tags.csv"},
    {"ratings.dat", "movies.dat", "users.dat", "tags.dat"},
    {"u.data", "u.item", "u.user"},
};

/// One folder per process, its files rewritten for every input.
const std::string &folder() {
  static std::string dir = [] {
    llvm::SmallString<256> d;
    if (llvm::sys::fs::createUniqueDirectory("mtgr-fuzz-movielens", d))
      __builtin_trap();
    return std::string(d);
  }();
  return dir;
}

void check(const ModelDesc &m, const Batch &b) {
  if (auto e = validateBatch(m, b)) {
    llvm::errs() << "the MovieLens reader built a batch validateBatch refuses: "
                 << llvm::toString(std::move(e)) << "\n";
    __builtin_trap();
  }
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  const std::vector<const char *> &names = kLayouts[data[0] % kLayouts.size()];
  MovieLensOptions o;
  o.split = data[1] & 1 ? "last_group" : "time";
  o.windowSeconds = data[1] & 2 ? 3600 : 86400;
  o.realtimeBefore = (data[1] >> 2) & 3;
  o.maxCandidates = data[1] & 16 ? 2 : 64;
  llvm::StringRef rest(reinterpret_cast<const char *>(data) + 2, size - 2);
  const std::string &dir = folder();
  // Every layout's files go, then this input's are written.
  for (const auto &layout : kLayouts)
    for (const char *name : layout) {
      llvm::SmallString<256> p(dir);
      llvm::sys::path::append(p, name);
      llvm::sys::fs::remove(p);
    }
  for (const char *name : names) {
    if (rest.empty())
      break;
    auto [part, tail] = rest.split('\0');
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, name);
    std::error_code ec;
    llvm::raw_fd_ostream os(p, ec);
    if (ec)
      __builtin_trap();
    os << part;
    rest = tail;
  }
  const ModelDesc &m = fuzz::fuzzModel(fuzz::kMovieLensModel);
  auto d = loadMovieLens(m, dir, o);
  if (!d) {
    if (llvm::toString(d.takeError()).empty())
      __builtin_trap();
    return 0;
  }
  check(m, d->train);
  check(m, d->validation);
  check(m, d->test);
  return 0;
}
