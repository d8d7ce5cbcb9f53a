//===- MovieLens.h - MovieLens ratings as MTGR requests ----------*- C++ -*-===//
//
// Reads the MovieLens layouts users have (ml-latest(-small), ml-20m/25m:
// CSV; ml-1m, ml-10m: `::`; ml-100k: tab and `|`, Latin-1) and turns the
// ratings into MTGR request groups without leakage (docs/movielens.md):
// a group is one user's ratings in one time window (a day by default);
// S = the user's events before the window; R = the group's own events with
// their ratings, which the dynamic mask shows a candidate only when strictly
// earlier; candidates = the group's movies, labelled from their ratings;
// cross features only from the past. Groups are split by time (or by each
// user's last groups) into train, validation and test.
//
// The model names the features it wants (by name, per token group); the
// reader fills those it knows and reports any other with the list it offers.
// Bad files are reported with file and line.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_DATA_MOVIELENS_H
#define MTGR_DATA_MOVIELENS_H

#include "runtime/Batch.h"

#include <string>

namespace mtgr {

struct MovieLensOptions {
  int64_t windowSeconds = 86400; // a request group: one user's ratings in one UTC day
  int64_t maxSequence = 256;     // n_S: the most recent events before the window
  int64_t maxRealtime = 128;     // most R events of a request (the most recent are kept)
  int64_t realtimeBefore = 0;    // also put this many events before the window in R (not in S)
  int64_t maxCandidates = 64;    // a larger group becomes several requests, in time order
  double clickThreshold = 3.5;   // click label: rating >= this
  double conversionThreshold = 4.5; // conversion label: rating >= this
  std::string split = "time";    // time | last_group
  double validationFraction = 0.1, testFraction = 0.1; // split: time
  int64_t maxUsers = 0;          // only the first N users by id (0: all): quick runs
};

struct MovieLensData {
  Batch train, validation, test;
  std::string layout; // e.g. "ml-latest (CSV)"
  int64_t users = 0, movies = 0, ratings = 0, tags = 0, groups = 0;
  int64_t validationStart = 0, testStart = 0; // split: time, group window starts (seconds)
  /// A few lines: the layout, counts, split boundaries, label rates.
  std::string summary(const ModelDesc &m) const;
};

/// Reads the data set in `dir` (the layout is detected from its files) and
/// builds the requests for model `m`.
llvm::Expected<MovieLensData> loadMovieLens(const ModelDesc &m, llvm::StringRef dir,
                                            const MovieLensOptions &options);

/// The feature names the reader fills, per token group, with their kind and
/// width (for --help, docs and error messages).
std::string movieLensFeatureList();

} // namespace mtgr

#endif
