//===- MovieLensTest.cpp - the MovieLens reader on files the test writes --===//
#include "TestModels.h"
#include "data/MovieLens.h"

#include <map>
#include "data/Synthetic.h"
#include "runtime/Metrics.h"
#include "runtime/reference/Reference.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

using namespace mlir::mtgr;

namespace {
/// A fresh folder under the test's temp dir holding `files` (name -> text).
std::string writeDataSet(const std::string &name,
                         const std::vector<std::pair<std::string, std::string>> &files) {
  llvm::SmallString<256> dir;
  llvm::sys::fs::createUniqueDirectory("mtgr-ml-" + name, dir);
  for (auto &[file, text] : files) {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, file);
    std::error_code ec;
    llvm::raw_fd_ostream os(p, ec);
    os << text;
  }
  return std::string(dir);
}

ModelDesc movieLensModel(const std::string &file = "mtgr.yaml") {
  std::string diag;
  llvm::raw_string_ostream os(diag);
  auto m = loadModelDesc(std::string(MTGR_SOURCE_DIR) + "/examples/movielens/" + file, os);
  EXPECT_TRUE(m) << diag;
  return *m;
}

const char *kMovies = "movieId,title,genres\n"
                      "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
                      "2,\"American President, The (1995)\",Comedy|Drama|Romance\n"
                      "3,Heat (1995),Action|Crime|Thriller\n"
                      "4,Untitled,(no genres listed)\n";
// User 1: two ratings on day 0, three on day 2 (two tied in time). User 2:
// one on day 1, two on day 3.
const char *kRatings = "userId,movieId,rating,timestamp\n"
                       "1,1,4.0,1000\n"
                       "1,2,3.0,2000\n"
                       "1,3,5.0,172900\n"
                       "1,4,2.5,172900\n"
                       "2,1,4.5,90000\n"
                       "2,3,3.5,260000\n"
                       "2,4,1.0,260100\n";

llvm::Expected<MovieLensData> load(const std::string &dir, MovieLensOptions o = {},
                                   const ModelDesc &m = movieLensModel()) {
  return loadMovieLens(m, dir, o);
}

std::string errorOf(const std::string &dir, MovieLensOptions o = {}) {
  auto d = load(dir, o);
  if (d)
    return "(no error)";
  return llvm::toString(d.takeError());
}

TEST(MovieLens, RequestsAreLeakFree) {
  std::string dir = writeDataSet("ok", {{"ratings.csv", kRatings}, {"movies.csv", kMovies}});
  MovieLensOptions o;
  o.split = "time";
  o.validationFraction = 0.25;
  o.testFraction = 0.25;
  auto d = load(dir, o);
  ASSERT_TRUE(bool(d)) << llvm::toString(d.takeError());
  EXPECT_EQ(d->users, 2);
  EXPECT_EQ(d->ratings, 7);
  EXPECT_EQ(d->groups, 4);
  // Groups by window start: day 0 (u1), day 1 (u2) train; day 2 (u1) validation; day 3 test.
  EXPECT_EQ(d->train.numSamples, 2);
  EXPECT_EQ(d->validation.numSamples, 1);
  EXPECT_EQ(d->test.numSamples, 1);
  const Batch &v = d->validation; // user 1, day 2: S = day 0's two ratings
  EXPECT_EQ(v.userIds[0], 1);
  EXPECT_EQ(v.sequenceOffsets[1], 2);
  for (int64_t t : v.sequenceTimes)
    EXPECT_LT(t, 2 * 86400); // S strictly before the window
  // R = the day's own events; candidates = the same movies, labelled.
  EXPECT_EQ(v.realtimeTimes, (std::vector<int64_t>{172900, 172900}));
  EXPECT_EQ(v.candidateIds, (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(v.labels[0], (std::vector<float>{1, 0})); // ctr: rating >= 3.5
  EXPECT_EQ(v.labels[1], (std::vector<float>{1, 0})); // ctcvr: rating >= 4.5
  // The S rating bucket is the rating in half stars (feature 2 of S).
  EXPECT_EQ(v.sequence[2].ids, (std::vector<int64_t>{8, 6}));
  // Cross features from the past only: item_stats of movie 3 on day 2 counts
  // no rating (movie 3's only earlier rating is none); movie 4: none either.
  size_t stats = v.candidate.size() - 1;
  EXPECT_EQ(v.candidate[stats].values[0], 0.0f);
  // Test: user 2's day 3; movie 1's item stats at day 3 hold user 1's and user 2's ratings.
  const Batch &t = d->test;
  EXPECT_EQ(t.candidateIds, (std::vector<int64_t>{3, 4}));
  // movie 3 was rated by user 1 on day 2 (before day 3): count 1, mean 5.
  EXPECT_NEAR(t.candidate[stats].values[0], std::log1p(1.0) / 5, 1e-6);
  EXPECT_NEAR(t.candidate[stats].values[1], 1.0, 1e-6);
  // Under the dynamic mask a candidate sees R only strictly before it: no
  // candidate sees its own rating (same time). Checked on the reference's mask.
  for (const Batch *b : {&d->train, &d->validation, &d->test})
    for (int64_t s = 0; s < b->numSamples; ++s)
      for (int64_t c = b->candidateOffsets[s]; c < b->candidateOffsets[s + 1]; ++c)
        for (int64_t r = b->realtimeOffsets[s]; r < b->realtimeOffsets[s + 1]; ++r)
          if (b->realtimeTimes[r] < b->candidateTimes[c])
            EXPECT_NE(b->candidateIds[c], b->realtime[0].ids[r]) << "own rating visible";
}

TEST(MovieLens, LastGroupSplitAndChunks) {
  std::string ratings = "userId,movieId,rating,timestamp\n";
  for (int day = 0; day < 4; ++day)
    for (int k = 1; k <= 4; ++k)
      ratings += "1," + std::to_string(day * 4 + k) + ",4.0," +
                 std::to_string(day * 86400 + k * 10) + "\n";
  std::string movies = "movieId,title,genres\n";
  for (int k = 1; k <= 16; ++k)
    movies += std::to_string(k) + ",M" + std::to_string(k) + " (2001),Drama\n";
  std::string dir = writeDataSet("chunks", {{"ratings.csv", ratings}, {"movies.csv", movies}});
  MovieLensOptions o;
  o.split = "last_group";
  o.maxCandidates = 3;
  o.maxSequence = 5;
  auto d = load(dir, o);
  ASSERT_TRUE(bool(d)) << llvm::toString(d.takeError());
  // Days 0-1 train, day 2 validation, day 3 test; 4 ratings a day = 2 requests.
  EXPECT_EQ(d->train.numSamples, 4);
  EXPECT_EQ(d->validation.numSamples, 2);
  EXPECT_EQ(d->test.numSamples, 2);
  // The second piece's R holds the first piece's events too (earlier), S the
  // latest 5 before the day.
  const Batch &t = d->test;
  EXPECT_EQ(t.sequenceOffsets, (std::vector<int64_t>{0, 5, 10}));
  EXPECT_EQ(t.candidateOffsets, (std::vector<int64_t>{0, 3, 4}));
  EXPECT_EQ(t.realtimeOffsets, (std::vector<int64_t>{0, 3, 7}));
}

/// Every candidate of every split: (movie id, its genres multi-hot, its year
/// feature); every sample: (user id, its gender id).
struct Seen {
  std::map<int64_t, std::vector<float>> genres;
  std::map<int64_t, float> year;
  std::map<int64_t, int64_t> gender;
};
Seen seenIn(const ModelDesc &m, const MovieLensData &d) {
  auto index = [](const std::vector<FeatureDesc> &fs, const char *name) {
    for (size_t i = 0; i < fs.size(); ++i)
      if (fs[i].name == name)
        return static_cast<int64_t>(i);
    return int64_t(-1);
  };
  int64_t genres = index(m.candidateItem, "genres"), year = index(m.candidateItem, "year");
  int64_t gender = index(m.user, "gender");
  Seen seen;
  for (const Batch *b : {&d.train, &d.validation, &d.test}) {
    for (int64_t c = 0; c < b->numCandidates(); ++c) {
      const std::vector<float> &g = b->candidate[genres].values;
      seen.genres[b->candidateIds[c]] = std::vector<float>(g.begin() + c * 20, g.begin() + c * 20 + 20);
      seen.year[b->candidateIds[c]] = b->candidate[year].values[c];
    }
    if (gender >= 0)
      for (int64_t s = 0; s < b->numSamples; ++s)
        seen.gender[b->userIds[s]] = b->user[gender].ids[s];
  }
  return seen;
}
std::vector<float> multiHot(std::initializer_list<int> genres) {
  std::vector<float> v(20, 0.0f);
  for (int g : genres)
    v[g] = 1.0f;
  return v;
}

// The other layouts, checked by the values the reader fills: genres (with
// ml-1m's "Children's" and ml-100k's flag columns), the year from the title
// (a Latin-1 title in ml-100k), gender from users.dat / u.user (M -> 1,
// F -> 2), and ml-10m without users.dat.
TEST(MovieLens, OtherLayouts) {
  // Genre indices: Action 0, Adventure 1, Animation 2, Children 3, Comedy 4, Fantasy 8.
  std::string dat = writeDataSet(
      "1m", {{"ratings.dat", "1::1::5::978300760\n1::2::3::978302109\n2::1::4::978301968\n"},
             {"movies.dat", "1::Toy Story (1995)::Animation|Children's|Comedy\n"
                            "2::Jumanji (1994)::Adventure|Children's|Fantasy\n"},
             {"users.dat", "1::F::1::10::48067\n2::M::56::16::70072\n"}});
  ModelDesc withProfile = movieLensModel();
  TableDesc genderTable;
  genderTable.name = "gender_t";
  genderTable.rows = 3; // 0 unknown, 1 M, 2 F
  genderTable.dim = 2;
  withProfile.tables.push_back(genderTable);
  FeatureDesc gender;
  gender.name = "gender";
  gender.table = "gender_t";
  gender.width = 2;
  withProfile.user.push_back(gender);
  MovieLensOptions o;
  o.testFraction = 0.3;
  auto d = loadMovieLens(withProfile, dat, o);
  ASSERT_TRUE(bool(d)) << llvm::toString(d.takeError());
  EXPECT_EQ(d->ratings, 3);
  Seen seen = seenIn(withProfile, *d);
  EXPECT_EQ(seen.genres[1], multiHot({2, 3, 4}));
  EXPECT_EQ(seen.genres[2], multiHot({1, 3, 8}));
  EXPECT_FLOAT_EQ(seen.year[1], (1995 - 1990) / 20.0f);
  EXPECT_FLOAT_EQ(seen.year[2], (1994 - 1990) / 20.0f);
  EXPECT_EQ(seen.gender, (std::map<int64_t, int64_t>{{1, 2}, {2, 1}}));

  // ml-100k: u.item's flags (unknown, Action, Adventure, Animation,
  // Children's, Comedy, ...), a Latin-1 title, u.user's gender.
  std::string k100 = writeDataSet(
      "100k", {{"u.data", "1\t1\t5\t874965758\n2\t1\t3\t876893171\n1\t2\t4\t876893119\n"},
               {"u.item", "1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
                          "2|Caf\xe9 (1993)|01-Jan-1993||http://y|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n"},
               {"u.user", "1|24|M|technician|85711\n2|53|F|other|94043\n"}});
  d = loadMovieLens(withProfile, k100, o);
  ASSERT_TRUE(bool(d)) << llvm::toString(d.takeError());
  EXPECT_EQ(d->users, 2);
  seen = seenIn(withProfile, *d);
  EXPECT_EQ(seen.genres[1], multiHot({2, 3, 4}));
  EXPECT_EQ(seen.genres[2], multiHot({0}));
  EXPECT_FLOAT_EQ(seen.year[2], (1993 - 1990) / 20.0f);
  EXPECT_EQ(seen.gender, (std::map<int64_t, int64_t>{{1, 1}, {2, 2}}));

  // ml-10m: '::' without users.dat. A model without profile features reads
  // it; one with gender is refused with the reason.
  std::string tenM = writeDataSet(
      "10m", {{"ratings.dat", "1::1::5::978300760\n1::2::3.5::978302109\n2::1::4::978301968\n"},
              {"movies.dat", "1::Toy Story (1995)::Animation|Children|Comedy\n"
                             "2::Jumanji (1994)::Adventure|Children|Fantasy\n"}});
  auto plain = loadMovieLens(movieLensModel(), tenM, o);
  ASSERT_TRUE(bool(plain)) << llvm::toString(plain.takeError());
  EXPECT_EQ(plain->ratings, 3);
  Seen tenSeen = seenIn(movieLensModel(), *plain);
  EXPECT_EQ(tenSeen.genres[2], multiHot({1, 3, 8}));
  auto refused = loadMovieLens(withProfile, tenM, o);
  ASSERT_FALSE(bool(refused));
  EXPECT_NE(llvm::toString(refused.takeError()).find("needs user profiles"), std::string::npos);

  // ml-latest has no profiles: gender is refused with the reason.
  std::string csv = writeDataSet("nop", {{"ratings.csv", kRatings}, {"movies.csv", kMovies}});
  auto e = loadMovieLens(withProfile, csv, o);
  ASSERT_FALSE(bool(e));
  EXPECT_NE(llvm::toString(e.takeError()).find("needs user profiles"), std::string::npos);
}

TEST(MovieLens, BadFilesNameFileAndLine) {
  auto bad = [&](const char *name, const std::string &ratings, const std::string &movies = kMovies) {
    return errorOf(writeDataSet(name, {{"ratings.csv", ratings}, {"movies.csv", movies}}));
  };
  EXPECT_NE(bad("col", "userId,movieId,rating\n1,1,4\n").find("ratings.csv:1: missing column 'timestamp'"),
            std::string::npos);
  EXPECT_NE(bad("sep", "userId,movieId,rating,timestamp\n1;1;4;5\n")
                .find("ratings.csv:2: expected 4 fields separated by ',', got 1 (wrong separator?)"),
            std::string::npos);
  EXPECT_NE(bad("num", "userId,movieId,rating,timestamp\n1,1,x,5\n").find("ratings.csv:2: 'rating' is not a number"),
            std::string::npos);
  EXPECT_NE(bad("range", "userId,movieId,rating,timestamp\n1,1,7,5\n").find("ratings.csv:2: rating 7"),
            std::string::npos);
  EXPECT_NE(bad("order", "userId,movieId,rating,timestamp\n2,1,4,5\n1,2,4,5\n").find("ratings.csv:3: rows are not sorted"),
            std::string::npos);
  EXPECT_NE(bad("dup", "userId,movieId,rating,timestamp\n1,1,4,5\n1,1,3,9\n")
                .find("ratings.csv:3: duplicate rating of movie 1 by user 1 (first at line 2)"),
            std::string::npos);
  EXPECT_NE(bad("movie", "userId,movieId,rating,timestamp\n1,9,4,5\n").find("ratings.csv:2: movie 9 is not in"),
            std::string::npos);
  EXPECT_NE(bad("genre", "userId,movieId,rating,timestamp\n1,1,4,5\n", "movieId,title,genres\n1,A,Cooking\n")
                .find("movies.csv:2: unknown genre 'Cooking'"),
            std::string::npos);
  EXPECT_NE(bad("quote", "userId,movieId,rating,timestamp\n1,1,4,5\n", "movieId,title,genres\n1,\"A,Drama\n")
                .find("movies.csv:2: unterminated quoted field"),
            std::string::npos);
  EXPECT_NE(errorOf(writeDataSet("empty", {})).find("no MovieLens ratings file"), std::string::npos);
  // A model feature the reader does not know is named with the known ones.
  ModelDesc m = movieLensModel();
  m.candidateCross[0].name = "clicks_7d";
  auto d = load(writeDataSet("feat", {{"ratings.csv", kRatings}, {"movies.csv", kMovies}}), {}, m);
  ASSERT_FALSE(bool(d));
  EXPECT_NE(llvm::toString(d.takeError()).find("feature 'clicks_7d' in features.candidate is not a MovieLens feature"),
            std::string::npos);
}

TEST(Metrics, NormalizedEntropyAndGaucError) {
  // Predicting the base rate exactly gives NE 1; a perfect-ish model below 1.
  std::vector<float> y = {1, 0, 0, 0};
  double base = std::log(0.25 / 0.75);
  EXPECT_NEAR(*normalizedEntropy({base, base, base, base}, y), 1.0, 1e-12);
  EXPECT_LT(*normalizedEntropy({3, -3, -3, -3}, y), 0.2);
  EXPECT_FALSE(normalizedEntropy({0, 0}, {1, 1}));
  // Two users with AUC 1 and 0, equal weight: GAUC 0.5, SE = sqrt(2 * 4 * 0.25) / 4.
  std::vector<double> s = {1, 0, 0, 1};
  std::vector<float> l = {1, 0, 1, 0};
  std::vector<int64_t> u = {1, 1, 2, 2};
  EXPECT_NEAR(*gauc(s, l, u), 0.5, 1e-12);
  EXPECT_NEAR(*gaucStandardError(s, l, u), std::sqrt(2.0) / 4, 1e-12);
}

TEST(Reference, SharedNormIsOneGammaForEveryToken) {
  // norm_groups: shared with gamma/beta row r equals per_group with every
  // group's row set to r; and differs from per_group with distinct rows.
  ModelDesc shared = test::loadExample("tiny.yaml"), perGroup = shared;
  shared.normGroups = ModelDesc::NormGroups::Shared;
  ParamStore ps = ParamStore::initialize(collectParameters(shared), 3);
  test::randomizeParams(ps, 4);
  ParamStore pg = ParamStore::initialize(collectParameters(perGroup), 3);
  for (const std::string &n : pg.names()) {
    if (!ps.has(n))
      continue;
    if (pg.get(n).data.size() == 4 * ps.get(n).data.size()) { // gln gamma/beta
      size_t w = ps.get(n).data.size();
      for (size_t g = 0; g < 4; ++g)
        std::copy(ps.get(n).data.begin(), ps.get(n).data.end(), pg.get(n).data.begin() + g * w);
    } else {
      pg.get(n).data = ps.get(n).data;
    }
  }
  SyntheticOptions so;
  so.users = 4;
  Batch b = generateSynthetic(shared, so);
  reference::Output a = reference::forward(shared, ps, b), c = reference::forward(perGroup, pg, b);
  ASSERT_EQ(a.logits[0].size(), c.logits[0].size());
  for (size_t i = 0; i < a.logits[0].size(); ++i)
    EXPECT_NEAR(a.logits[0][i], c.logits[0][i], 1e-12);
  pg.get("layers.0.gln1.gamma").data[3 * shared.dModel] += 0.5f; // candidates' row only
  reference::Output changed = reference::forward(perGroup, pg, b);
  double diff = 0;
  for (size_t i = 0; i < a.logits[0].size(); ++i)
    diff = std::max(diff, std::fabs(changed.logits[0][i] - a.logits[0][i]));
  EXPECT_GT(diff, 1e-6);
}
} // namespace
