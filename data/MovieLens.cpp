//===- MovieLens.cpp - MovieLens ratings as MTGR requests ------------------===//
//
// Three steps: read the files of the detected layout into ratings, movies,
// users and tags (checking every line); sweep the ratings in time order for
// the item statistics each window may see; then walk every user's ratings
// window by window, building requests from the past only.
//
//===----------------------------------------------------------------------===//
#include "data/MovieLens.h"
#include "model/Error.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>

using namespace mtgr;
using llvm::StringRef;

namespace {
constexpr int kGenres = 20;
/// The genre vocabulary: MovieLens' 18 classic genres, IMAX and "none".
constexpr const char *kGenreNames[kGenres] = {
    "Action",  "Adventure", "Animation", "Children", "Comedy",  "Crime",    "Documentary",
    "Drama",   "Fantasy",   "Film-Noir", "Horror",   "IMAX",    "Musical",  "Mystery",
    "Romance", "Sci-Fi",    "Thriller",  "War",      "Western", "(no genres listed)"};
constexpr int kNoGenre = 19;
/// ml-100k's u.item flag columns, in file order (-> kGenreNames index).
constexpr int k100kGenres[19] = {kNoGenre, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18};

struct Rating {
  int64_t user, movie, time, line;
  float rating;
};
struct Movie {
  uint32_t genres = 0; // bit g: genre g
  int firstGenre = kNoGenre;
  float year = 0;      // 0: unknown
};
struct Profile { // 0 = unknown in every field (row 0 of its table)
  int64_t gender = 0, age = 0, occupation = 0, zip = 0;
};

/// One file's lines with their numbers; "\r\n" endings are accepted.
class Lines {
public:
  static llvm::Expected<Lines> open(const std::string &path) {
    auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
    if (!buffer)
      return fail(path + ": cannot read: " + buffer.getError().message());
    Lines l;
    l.path = path;
    l.buffer = std::move(*buffer);
    l.rest = l.buffer->getBuffer();
    l.rest.consume_front("\xEF\xBB\xBF"); // a UTF-8 byte-order mark (files saved by spreadsheets)
    return std::move(l);
  }
  /// The next non-empty line (false at the end).
  bool next(StringRef &line) {
    while (!rest.empty()) {
      std::tie(line, rest) = rest.split('\n');
      ++number;
      line = line.rtrim('\r');
      if (!line.trim().empty())
        return true;
    }
    return false;
  }
  llvm::Error error(const llvm::Twine &msg) const {
    return fail(llvm::Twine(path) + ":" + llvm::Twine(number) + ": " + msg);
  }
  std::string path;
  int64_t number = 0;

private:
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  StringRef rest;
};

/// Fields of a line: CSV with RFC 4180 quotes, or split on a separator.
llvm::Error splitFields(const Lines &in, StringRef line, StringRef sep, bool quotes,
                        std::vector<std::string> &out) {
  out.clear();
  if (!quotes) {
    llvm::SmallVector<StringRef> parts;
    line.split(parts, sep, -1, /*KeepEmpty=*/true);
    for (StringRef p : parts)
      out.push_back(p.str());
    return llvm::Error::success();
  }
  std::string field;
  bool quoted = false, wasQuoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"' && field.empty() && !wasQuoted) {
      quoted = wasQuoted = true;
    } else if (c == sep[0]) {
      out.push_back(std::move(field));
      field.clear();
      wasQuoted = false;
    } else {
      field += c;
    }
  }
  if (quoted)
    return in.error("unterminated quoted field");
  out.push_back(std::move(field));
  return llvm::Error::success();
}

/// Every integer field of every layout (ids, timestamps, ages, codes) is >= 0.
llvm::Error parseInt(const Lines &in, StringRef text, StringRef what, int64_t &out) {
  if (text.trim().getAsInteger(10, out))
    return in.error("'" + what + "' is not an integer: '" + text + "'");
  if (out < 0)
    return in.error("'" + what + "' is negative: '" + text + "' (ids, times and codes are >= 0)");
  return llvm::Error::success();
}

llvm::Error parseRating(const Lines &in, StringRef text, float &out) {
  std::string s = text.trim().str();
  char *end = nullptr;
  double v = s.empty() ? NAN : std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !std::isfinite(v))
    return in.error("'rating' is not a number: '" + text + "'");
  if (v < 0.5 || v > 5.0 || std::fabs(v * 2 - std::round(v * 2)) > 1e-6)
    return in.error("rating " + s + " is not one of 0.5, 1, ..., 5 (half stars)");
  out = static_cast<float>(v);
  return llvm::Error::success();
}

/// The year in a title's last "(dddd)", 0 if none.
float yearOfTitle(StringRef title) {
  title = title.trim();
  size_t open = title.rfind('(');
  int64_t y;
  if (open != StringRef::npos && title.ends_with(")") &&
      !title.substr(open + 1, title.size() - open - 2).getAsInteger(10, y) && y > 1800 &&
      y < 2200)
    return static_cast<float>(y);
  return 0;
}

llvm::Error parseGenres(const Lines &in, StringRef text, Movie &movie) {
  llvm::SmallVector<StringRef> names;
  text.trim().split(names, '|', -1, /*KeepEmpty=*/false);
  for (StringRef name : names) {
    if (name == "Children's")
      name = "Children"; // ml-1m's spelling
    int g = -1;
    for (int k = 0; k < kGenres; ++k)
      if (name == kGenreNames[k])
        g = k;
    if (g < 0)
      return in.error("unknown genre '" + name + "' (expected one of: " +
                      llvm::join(llvm::ArrayRef(kGenreNames), ", ") + ")");
    if (!movie.genres)
      movie.firstGenre = g;
    movie.genres |= 1u << g;
  }
  if (!movie.genres) {
    movie.genres = 1u << kNoGenre;
    movie.firstGenre = kNoGenre;
  }
  return llvm::Error::success();
}

int64_t ageBucket(int64_t years) { // the ml-1m codes: 1 = under 18, 18, 25, 35, 45, 50, 56+
  const int64_t starts[] = {0, 18, 25, 35, 45, 50, 56};
  int64_t b = 0;
  for (int64_t k = 0; k < 7; ++k)
    if (years >= starts[k])
      b = k + 1;
  return b;
}

int64_t zipPrefix(StringRef zip) {
  zip = zip.trim();
  return !zip.empty() && llvm::isDigit(zip[0]) ? 1 + (zip[0] - '0') : 0;
}

/// Everything read from the files.
struct Raw {
  std::string layout;
  std::vector<Rating> ratings;
  llvm::DenseMap<int64_t, Movie> movies;
  std::map<int64_t, Profile> profiles; // empty when the layout has none
  std::map<int64_t, std::vector<int64_t>> tagTimes;
  int64_t tags = 0;
  std::string ratingsFile, moviesFile, usersFile;
};

/// How the ratings file is laid out and what order it promises.
struct RatingsFormat {
  StringRef sep;
  bool csv;     // header and quotes
  int order;    // 0: none (ml-100k), 1: by user, 2: by (user, movie)
};

llvm::Error readRatings(const std::string &path, RatingsFormat f, Raw &raw) {
  auto in = Lines::open(path);
  if (!in)
    return in.takeError();
  StringRef line;
  std::vector<std::string> fields;
  std::array<int, 4> col = {0, 1, 2, 3}; // user, movie, rating, timestamp
  size_t expected = 4;
  if (f.csv) {
    if (!in->next(line))
      return in->error("empty file (expected the header userId,movieId,rating,timestamp)");
    if (auto e = splitFields(*in, line, f.sep, true, fields))
      return e;
    const char *names[] = {"userId", "movieId", "rating", "timestamp"};
    for (int k = 0; k < 4; ++k) {
      auto it = llvm::find(fields, names[k]);
      if (it == fields.end())
        return in->error(llvm::Twine("missing column '") + names[k] + "' in the header '" +
                         line + "' (expected userId,movieId,rating,timestamp)");
      col[k] = static_cast<int>(it - fields.begin());
    }
    expected = fields.size();
  }
  int64_t lastUser = INT64_MIN, lastMovie = INT64_MIN, lastLine = 0;
  while (in->next(line)) {
    if (auto e = splitFields(*in, line, f.sep, f.csv, fields))
      return e;
    if (fields.size() != expected)
      return in->error(llvm::formatv("expected {0} fields separated by '{1}', got {2}{3}",
                                     expected, f.sep == "\t" ? "\\t" : f.sep, fields.size(),
                                     fields.size() == 1 ? " (wrong separator?)" : "")
                           .str());
    Rating r;
    r.line = in->number;
    if (auto e = parseInt(*in, fields[col[0]], "userId", r.user))
      return e;
    if (auto e = parseInt(*in, fields[col[1]], "movieId", r.movie))
      return e;
    if (auto e = parseRating(*in, fields[col[2]], r.rating))
      return e;
    if (auto e = parseInt(*in, fields[col[3]], "timestamp", r.time))
      return e;
    bool unsorted = f.order >= 1 && r.user < lastUser;
    if (f.order == 2 && r.user == lastUser && r.movie <= lastMovie)
      unsorted = r.movie < lastMovie; // equal: a duplicate, reported below
    if (unsorted)
      return in->error(llvm::formatv("rows are not sorted by {0}: user {1}, movie {2} after "
                                     "user {3}, movie {4} (line {5})",
                                     f.order == 2 ? "(userId, movieId)" : "user id", r.user,
                                     r.movie, lastUser, lastMovie, lastLine)
                           .str());
    lastUser = r.user, lastMovie = r.movie, lastLine = r.line;
    raw.ratings.push_back(r);
  }
  if (raw.ratings.empty())
    return fail(path + ": no ratings");
  // Duplicates: one rating per (user, movie).
  std::vector<size_t> order(raw.ratings.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const Rating &x = raw.ratings[a], &y = raw.ratings[b];
    return std::tie(x.user, x.movie, x.line) < std::tie(y.user, y.movie, y.line);
  });
  for (size_t i = 1; i < order.size(); ++i) {
    const Rating &x = raw.ratings[order[i - 1]], &y = raw.ratings[order[i]];
    if (x.user == y.user && x.movie == y.movie)
      return fail(llvm::formatv("{0}:{1}: duplicate rating of movie {2} by user {3} (first at "
                                "line {4})",
                                path, y.line, y.movie, y.user, x.line)
                      .str());
  }
  raw.ratingsFile = path;
  return llvm::Error::success();
}

llvm::Error readMovies(const std::string &path, int kind, Raw &raw) { // 0 csv, 1 dat, 2 u.item
  auto in = Lines::open(path);
  if (!in)
    return in.takeError();
  StringRef line;
  std::vector<std::string> fields;
  if (kind == 0) {
    if (!in->next(line))
      return in->error("empty file (expected the header movieId,title,genres)");
    if (auto e = splitFields(*in, line, ",", true, fields))
      return e;
    if (fields != std::vector<std::string>{"movieId", "title", "genres"})
      return in->error("expected the header movieId,title,genres, got '" + line + "'");
  }
  while (in->next(line)) {
    if (auto e = splitFields(*in, line, kind == 0 ? "," : kind == 1 ? "::" : "|", kind == 0,
                             fields))
      return e;
    size_t expected = kind == 2 ? 24 : 3;
    if (fields.size() != expected)
      return in->error(llvm::formatv("expected {0} fields separated by '{1}', got {2}", expected,
                                     kind == 0 ? "," : kind == 1 ? "::" : "|", fields.size())
                           .str());
    int64_t id;
    if (auto e = parseInt(*in, fields[0], "movieId", id))
      return e;
    Movie movie;
    if (kind == 2) {
      for (int k = 0; k < 19; ++k) {
        StringRef flag = StringRef(fields[5 + k]).trim();
        if (flag != "0" && flag != "1")
          return in->error("genre flag " + llvm::Twine(k + 1) + " is '" + flag +
                           "', expected 0 or 1");
        if (flag == "1") {
          if (!movie.genres)
            movie.firstGenre = k100kGenres[k];
          movie.genres |= 1u << k100kGenres[k];
        }
      }
      if (!movie.genres)
        movie.genres = 1u << kNoGenre;
      StringRef date = StringRef(fields[2]).trim(); // 01-Jan-1995
      int64_t y;
      movie.year = date.size() >= 4 && !date.take_back(4).getAsInteger(10, y)
                       ? static_cast<float>(y)
                       : yearOfTitle(fields[1]);
    } else {
      if (auto e = parseGenres(*in, fields[2], movie))
        return e;
      movie.year = yearOfTitle(fields[1]);
    }
    if (!raw.movies.try_emplace(id, movie).second)
      return in->error("movie " + llvm::Twine(id) + " is listed twice");
  }
  raw.moviesFile = path;
  return llvm::Error::success();
}

llvm::Error readProfiles(const std::string &path, bool ml100k, Raw &raw) {
  auto in = Lines::open(path);
  if (!in)
    return in.takeError();
  StringRef line;
  std::vector<std::string> fields;
  std::vector<std::pair<int64_t, std::string>> occupations; // ml-100k: names
  while (in->next(line)) {
    if (auto e = splitFields(*in, line, ml100k ? "|" : "::", false, fields))
      return e;
    if (fields.size() != 5)
      return in->error(llvm::formatv("expected 5 fields separated by '{0}', got {1}",
                                     ml100k ? "|" : "::", fields.size())
                           .str());
    int64_t id, age;
    if (auto e = parseInt(*in, fields[0], "user id", id))
      return e;
    StringRef gender = StringRef(ml100k ? fields[2] : fields[1]).trim();
    if (gender != "M" && gender != "F")
      return in->error("gender is '" + gender + "', expected M or F");
    if (auto e = parseInt(*in, ml100k ? fields[1] : fields[2], "age", age))
      return e;
    Profile p;
    p.gender = gender == "M" ? 1 : 2;
    p.age = ageBucket(age);
    p.zip = zipPrefix(fields[4]);
    if (ml100k) {
      occupations.emplace_back(id, StringRef(fields[3]).trim().str());
    } else {
      int64_t occ;
      if (auto e = parseInt(*in, fields[3], "occupation", occ))
        return e;
      if (occ < 0 || occ > 30)
        return in->error("occupation " + llvm::Twine(occ) + " is not in 0..30");
      p.occupation = occ + 1;
    }
    if (!raw.profiles.emplace(id, p).second)
      return in->error("user " + llvm::Twine(id) + " is listed twice");
  }
  if (ml100k) { // occupation names -> 1 + their rank among the file's names
    std::set<std::string> names;
    for (auto &o : occupations)
      names.insert(o.second);
    if (names.size() > 31)
      return fail(path + ": more than 31 occupations");
    for (auto &[id, name] : occupations)
      raw.profiles[id].occupation = 1 + std::distance(names.begin(), names.find(name));
  }
  raw.usersFile = path;
  return llvm::Error::success();
}

llvm::Error readTags(const std::string &path, bool csv, Raw &raw) {
  auto in = Lines::open(path);
  if (!in)
    return in.takeError();
  StringRef line;
  std::vector<std::string> fields;
  size_t expected = 4;
  std::array<int, 2> col = {0, 3}; // user, timestamp
  if (csv) {
    if (!in->next(line))
      return llvm::Error::success();
    if (auto e = splitFields(*in, line, ",", true, fields))
      return e;
    auto user = llvm::find(fields, "userId"), time = llvm::find(fields, "timestamp");
    if (user == fields.end() || time == fields.end())
      return in->error("expected the header userId,movieId,tag,timestamp, got '" + line + "'");
    col = {static_cast<int>(user - fields.begin()), static_cast<int>(time - fields.begin())};
    expected = fields.size();
  }
  while (in->next(line)) {
    if (auto e = splitFields(*in, line, csv ? "," : "::", csv, fields))
      return e;
    if (fields.size() < expected || (csv && fields.size() != expected))
      return in->error(llvm::formatv("expected {0} fields separated by '{1}', got {2}", expected,
                                     csv ? "," : "::", fields.size())
                           .str());
    int64_t user, time;
    if (auto e = parseInt(*in, fields[col[0]], "userId", user))
      return e;
    // A tag may hold the separator (ml-10m): the timestamp is the last field.
    if (auto e = parseInt(*in, csv ? fields[col[1]] : fields.back(), "timestamp", time))
      return e;
    raw.tagTimes[user].push_back(time);
    ++raw.tags;
  }
  for (auto &[user, times] : raw.tagTimes)
    std::sort(times.begin(), times.end());
  return llvm::Error::success();
}

bool exists(const std::string &path) { return llvm::sys::fs::exists(path); }

llvm::Error readLayout(StringRef dir, Raw &raw) {
  auto at = [&](StringRef name) {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, name);
    return std::string(p);
  };
  if (!llvm::sys::fs::is_directory(dir))
    return fail(dir + ": not a directory (give the folder of a MovieLens data set)");
  auto need = [&](StringRef name, StringRef layout) -> llvm::Error {
    if (!exists(at(name)))
      return fail(dir + ": " + layout + " layout without " + name);
    return llvm::Error::success();
  };
  if (exists(at("ratings.csv"))) { // ml-latest(-small), ml-20m, ml-25m
    raw.layout = llvm::sys::path::filename(dir).str() + " (CSV: ratings.csv, movies.csv)";
    if (auto e = need("movies.csv", "CSV"))
      return e;
    if (auto e = readRatings(at("ratings.csv"), {",", true, 2}, raw))
      return e;
    if (auto e = readMovies(at("movies.csv"), 0, raw))
      return e;
    if (exists(at("tags.csv")))
      if (auto e = readTags(at("tags.csv"), true, raw))
        return e;
  } else if (exists(at("ratings.dat"))) { // ml-1m, ml-10m
    raw.layout = llvm::sys::path::filename(dir).str() + " ('::': ratings.dat, movies.dat" +
                 (exists(at("users.dat")) ? ", users.dat)" : ")");
    if (auto e = need("movies.dat", "'::'"))
      return e;
    if (auto e = readRatings(at("ratings.dat"), {"::", false, 1}, raw))
      return e;
    if (auto e = readMovies(at("movies.dat"), 1, raw))
      return e;
    if (exists(at("users.dat")))
      if (auto e = readProfiles(at("users.dat"), false, raw))
        return e;
    if (exists(at("tags.dat")))
      if (auto e = readTags(at("tags.dat"), false, raw))
        return e;
  } else if (exists(at("u.data"))) { // ml-100k
    raw.layout = llvm::sys::path::filename(dir).str() + " (ml-100k: u.data, u.item" +
                 (exists(at("u.user")) ? ", u.user)" : ")");
    if (auto e = need("u.item", "ml-100k"))
      return e;
    if (auto e = readRatings(at("u.data"), {"\t", false, 0}, raw))
      return e;
    if (auto e = readMovies(at("u.item"), 2, raw))
      return e;
    if (exists(at("u.user")))
      if (auto e = readProfiles(at("u.user"), true, raw))
        return e;
  } else {
    return fail(dir + ": no MovieLens ratings file (expected ratings.csv, ratings.dat or "
                      "u.data)");
  }
  for (const Rating &r : raw.ratings) {
    if (!raw.movies.count(r.movie))
      return fail(llvm::formatv("{0}:{1}: movie {2} is not in {3}", raw.ratingsFile, r.line,
                                r.movie, raw.moviesFile)
                      .str());
    if (!raw.profiles.empty() && !raw.profiles.count(r.user))
      return fail(llvm::formatv("{0}:{1}: user {2} is not in {3}", raw.ratingsFile, r.line,
                                r.user, raw.usersFile)
                      .str());
  }
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Features
//===----------------------------------------------------------------------===//

enum class Source {
  UserId, Gender, Age, Occupation, Zip, History, // user
  ItemId, Genre, Genres, Rating, Year,           // events and candidates (Rating: events only)
  UserGenre, ItemStats                           // candidates: cross features from the past
};
struct Known {
  const char *name;
  Source source;
  int64_t width; // 0: categorical; rows needed for a fixed table in `rows`
  int64_t rows;
  const char *groups; // u: user, e: S and R events, c: candidates
  const char *what;
};
constexpr int64_t kHistoryWidth = 4, kUserGenreWidth = 4, kItemStatsWidth = 3;
const Known kKnown[] = {
    {"user_id", Source::UserId, 0, 0, "u", "the raw user id (a hashed or dynamic table)"},
    {"gender", Source::Gender, 0, 3, "u", "0 unknown, 1 M, 2 F (ml-100k, ml-1m)"},
    {"age", Source::Age, 0, 8, "u", "age bucket 1..7 as ml-1m codes it, 0 unknown"},
    {"occupation", Source::Occupation, 0, 32, "u", "1 + occupation code, 0 unknown"},
    {"zip_prefix", Source::Zip, 0, 11, "u", "1 + first zip digit, 0 unknown"},
    {"history", Source::History, kHistoryWidth, 0, "u",
     "log1p(past ratings)/5, past mean rating/5, log1p(days since the first)/5, "
     "log1p(past tags)/5"},
    {"item_id", Source::ItemId, 0, 0, "ec", "the raw movie id (a hashed or dynamic table)"},
    {"genre", Source::Genre, 0, kGenres, "ec", "the movie's first genre, 0..19"},
    {"genres", Source::Genres, kGenres, 0, "ec", "multi-hot over the 20 genres"},
    {"rating", Source::Rating, 0, 11, "e", "the event's rating in half stars, 1..10"},
    {"year", Source::Year, 1, 0, "ec", "(release year - 1990) / 20, 0 unknown"},
    {"user_genre", Source::UserGenre, kUserGenreWidth, 0, "c",
     "over the movie's genres, from the user's past: log1p(mean count)/3, mean rating/5, "
     "log1p(days since last rated)/5, never rated"},
    {"item_stats", Source::ItemStats, kItemStatsWidth, 0, "c",
     "from every user's past: log1p(ratings)/5, mean rating/5, log1p(days since the first)/5"},
};

/// The sources of a model's feature list, checked against the vocabulary.
llvm::Expected<std::vector<Source>> resolve(const ModelDesc &m,
                                            const std::vector<FeatureDesc> &features,
                                            char group, StringRef where, const Raw &raw) {
  std::vector<Source> out;
  for (const FeatureDesc &f : features) {
    const Known *k = nullptr;
    for (const Known &c : kKnown)
      if (f.name == c.name && StringRef(c.groups).contains(group))
        k = &c;
    if (!k) {
      std::string names;
      for (const Known &c : kKnown)
        if (StringRef(c.groups).contains(group))
          names += (names.empty() ? "" : ", ") + std::string(c.name);
      return fail(m.path + ": feature '" + f.name + "' in " + where +
                  " is not a MovieLens feature (the reader fills: " + names +
                  "; docs/movielens.md)");
    }
    if (f.isCategorical() != (k->width == 0))
      return fail(m.path + ": feature '" + f.name + "' in " + where + " must be " +
                  (k->width == 0 ? "categorical (a table)"
                                 : "dense with " + std::to_string(k->width) + " values"));
    if (k->width > 0 && f.denseDim != k->width)
      return fail(m.path + ": feature '" + f.name + "' in " + where + " has " +
                  std::to_string(f.denseDim) + " values; MovieLens gives " +
                  std::to_string(k->width));
    if (k->width == 0 && k->rows > 0) {
      const TableDesc *t = m.findTable(f.table);
      if (t->kind == TableDesc::Kind::Fixed && t->rows < k->rows)
        return fail(m.path + ": feature '" + f.name + "' in " + where + " needs a table of at " +
                    "least " + std::to_string(k->rows) + " rows, '" + t->name + "' has " +
                    std::to_string(t->rows));
    }
    bool profile = k->source == Source::Gender || k->source == Source::Age ||
                   k->source == Source::Occupation || k->source == Source::Zip;
    if (profile && raw.profiles.empty())
      return fail(m.path + ": feature '" + f.name + "' in " + where + " needs user profiles " +
                  "(users.dat or u.user), which " + raw.layout + " does not have");
    out.push_back(k->source);
  }
  return out;
}

/// What a user's past holds at a window's start.
struct UserPast {
  int64_t count = 0, first = 0, tags = 0;
  double sum = 0;
  std::array<int64_t, kGenres> genreCount{}, genreLast{};
  std::array<double, kGenres> genreSum{};
  void add(const Rating &r, const Movie &movie) {
    if (count == 0)
      first = r.time;
    ++count;
    sum += r.rating;
    for (int g = 0; g < kGenres; ++g)
      if (movie.genres >> g & 1) {
        ++genreCount[g];
        genreSum[g] += r.rating;
        genreLast[g] = std::max(genreLast[g], r.time);
      }
  }
};
struct ItemPast {
  int64_t count = 0, first = 0;
  double sum = 0;
};

float days(int64_t from, int64_t to) {
  return static_cast<float>(std::max<int64_t>(0, to - from)) / 86400.0f;
}
float logScaled(double x, double scale) { return static_cast<float>(std::log1p(x) / scale); }

class Builder {
public:
  Builder(const ModelDesc &m, const Raw &raw, const MovieLensOptions &o) : m(m), raw(raw), o(o) {}
  llvm::Error run(MovieLensData &out);

private:
  const ModelDesc &m;
  const Raw &raw;
  const MovieLensOptions &o;
  std::vector<Source> userSrc, seqSrc, rtSrc, candSrc;
  std::vector<int> taskLabel; // 0: click, 1: conversion
  std::vector<ItemPast> itemAtWindow; // per rating: its movie's statistics at its window start

  int64_t windowOf(int64_t t) const { return t / o.windowSeconds; }
  void eventRow(const std::vector<Source> &src, const std::vector<FeatureDesc> &schema,
                std::vector<FeatureColumn> &cols, const Rating &r);
  void candidateRow(Batch &b, const Rating &r, size_t index, const UserPast &past,
                    int64_t windowStart);
};

void Builder::eventRow(const std::vector<Source> &src, const std::vector<FeatureDesc> &schema,
                       std::vector<FeatureColumn> &cols, const Rating &r) {
  const Movie &movie = raw.movies.find(r.movie)->second;
  for (size_t f = 0; f < src.size(); ++f) {
    FeatureColumn &c = cols[f];
    switch (src[f]) {
    case Source::ItemId: c.ids.push_back(r.movie); break;
    case Source::Genre: c.ids.push_back(movie.firstGenre); break;
    case Source::Rating: c.ids.push_back(static_cast<int64_t>(std::lround(r.rating * 2))); break;
    case Source::Genres:
      for (int g = 0; g < kGenres; ++g)
        c.values.push_back(static_cast<float>(movie.genres >> g & 1));
      break;
    case Source::Year: c.values.push_back(movie.year > 0 ? (movie.year - 1990) / 20 : 0); break;
    default: break;
    }
  }
  (void)schema;
}

void Builder::candidateRow(Batch &b, const Rating &r, size_t index, const UserPast &past,
                           int64_t windowStart) {
  const Movie &movie = raw.movies.find(r.movie)->second;
  for (size_t f = 0; f < candSrc.size(); ++f) {
    FeatureColumn &c = b.candidate[f];
    switch (candSrc[f]) {
    case Source::ItemId: c.ids.push_back(r.movie); break;
    case Source::Genre: c.ids.push_back(movie.firstGenre); break;
    case Source::Genres:
      for (int g = 0; g < kGenres; ++g)
        c.values.push_back(static_cast<float>(movie.genres >> g & 1));
      break;
    case Source::Year: c.values.push_back(movie.year > 0 ? (movie.year - 1990) / 20 : 0); break;
    case Source::UserGenre: {
      int64_t n = 0, genres = 0, last = -1;
      double sum = 0;
      for (int g = 0; g < kGenres; ++g)
        if (movie.genres >> g & 1) {
          ++genres;
          n += past.genreCount[g];
          sum += past.genreSum[g];
          if (past.genreCount[g])
            last = std::max(last, past.genreLast[g]);
        }
      c.values.push_back(logScaled(double(n) / std::max<int64_t>(1, genres), 3));
      c.values.push_back(n ? static_cast<float>(sum / n / 5) : 0.0f);
      c.values.push_back(n ? logScaled(days(last, windowStart), 5) : 0.0f);
      c.values.push_back(n ? 0.0f : 1.0f);
      break;
    }
    case Source::ItemStats: {
      const ItemPast &it = itemAtWindow[index];
      c.values.push_back(logScaled(double(it.count), 5));
      c.values.push_back(it.count ? static_cast<float>(it.sum / it.count / 5) : 0.0f);
      c.values.push_back(it.count ? logScaled(days(it.first, windowStart), 5) : 0.0f);
      break;
    }
    default: break;
    }
  }
  b.candidateIds.push_back(r.movie);
  b.candidateTimes.push_back(r.time);
  for (size_t t = 0; t < taskLabel.size(); ++t) {
    double threshold = taskLabel[t] == 0 ? o.clickThreshold : o.conversionThreshold;
    b.labels[t].push_back(r.rating >= threshold - 1e-6 ? 1.0f : 0.0f);
  }
}

llvm::Error Builder::run(MovieLensData &out) {
  std::vector<FeatureDesc> cand = m.candidateItem;
  cand.insert(cand.end(), m.candidateCross.begin(), m.candidateCross.end());
  for (auto [src, schema, group, where] :
       {std::tuple{&userSrc, &m.user, 'u', "features.user"},
        std::tuple{&seqSrc, &m.sequence, 'e', "features.sequence"},
        std::tuple{&rtSrc, &m.realtime, 'e', "features.realtime"},
        std::tuple{&candSrc, static_cast<const std::vector<FeatureDesc> *>(&cand), 'c', "features.candidate"}}) {
    auto r = resolve(m, *schema, group, where, raw);
    if (!r)
      return r.takeError();
    *src = std::move(*r);
  }
  for (const TaskDesc &t : m.tasks) {
    StringRef n = t.name;
    if (n == "click" || n == "ctr")
      taskLabel.push_back(0);
    else if (n == "conversion" || n == "ctcvr" || n == "cvr" || n == "like")
      taskLabel.push_back(1);
    else
      return fail(m.path + ": task '" + t.name + "' has no MovieLens label (ctr or click: "
                  "rating >= the click threshold; ctcvr, cvr, conversion or like: rating >= "
                  "the conversion threshold)");
  }
  // Which users, then each one's ratings in time order (ties: file order).
  std::vector<size_t> byUser(raw.ratings.size());
  for (size_t i = 0; i < byUser.size(); ++i)
    byUser[i] = i;
  std::sort(byUser.begin(), byUser.end(), [&](size_t a, size_t b) {
    const Rating &x = raw.ratings[a], &y = raw.ratings[b];
    return std::tie(x.user, x.time, x.line) < std::tie(y.user, y.time, y.line);
  });
  if (o.maxUsers > 0) {
    size_t keep = 0;
    int64_t users = 0, last = INT64_MIN;
    for (; keep < byUser.size(); ++keep) {
      int64_t u = raw.ratings[byUser[keep]].user;
      if (u != last && ++users > o.maxUsers)
        break;
      last = u;
    }
    byUser.resize(keep);
  }
  // Item statistics at each rating's window start, from every (kept) user's
  // ratings before that start: a sweep in time order.
  std::vector<size_t> byTime = byUser;
  std::stable_sort(byTime.begin(), byTime.end(), [&](size_t a, size_t b) {
    return raw.ratings[a].time < raw.ratings[b].time;
  });
  itemAtWindow.assign(raw.ratings.size(), {});
  llvm::DenseMap<int64_t, ItemPast> items;
  size_t added = 0;
  for (size_t i : byTime) {
    int64_t start = windowOf(raw.ratings[i].time) * o.windowSeconds;
    for (; added < byTime.size() && raw.ratings[byTime[added]].time < start; ++added) {
      const Rating &r = raw.ratings[byTime[added]];
      ItemPast &it = items[r.movie];
      if (it.count++ == 0)
        it.first = r.time;
      it.sum += r.rating;
    }
    auto found = items.find(raw.ratings[i].movie);
    if (found != items.end())
      itemAtWindow[i] = found->second;
  }
  // Groups: (user's first rating index in byUser, end, window start).
  struct Group {
    size_t begin, end;
    int64_t start;
    int64_t userGroup, userGroups; // index among the user's groups, and how many
  };
  std::vector<Group> groups;
  for (size_t i = 0; i < byUser.size();) {
    size_t userBegin = i;
    int64_t user = raw.ratings[byUser[i]].user;
    while (i < byUser.size() && raw.ratings[byUser[i]].user == user) {
      size_t g = i;
      int64_t w = windowOf(raw.ratings[byUser[i]].time);
      while (i < byUser.size() && raw.ratings[byUser[i]].user == user &&
             windowOf(raw.ratings[byUser[i]].time) == w)
        ++i;
      groups.push_back({g, i, w * o.windowSeconds, 0, 0});
    }
    int64_t n = 0;
    for (size_t k = groups.size(); k > 0 && groups[k - 1].begin >= userBegin; --k)
      ++n;
    for (int64_t k = 0; k < n; ++k) {
      groups[groups.size() - n + k].userGroup = k;
      groups[groups.size() - n + k].userGroups = n;
    }
  }
  out.groups = static_cast<int64_t>(groups.size());
  // Split boundaries: quantiles of the groups' window starts.
  std::vector<int64_t> starts;
  for (const Group &g : groups)
    starts.push_back(g.start);
  std::sort(starts.begin(), starts.end());
  auto quantile = [&](double q) {
    size_t k = std::min(starts.size() - 1, static_cast<size_t>(q * double(starts.size())));
    return starts[k];
  };
  out.validationStart = quantile(1.0 - o.testFraction - o.validationFraction);
  out.testStart = quantile(1.0 - o.testFraction);
  auto splitOf = [&](const Group &g) { // 0 train, 1 validation, 2 test
    if (o.split == "last_group") {
      if (g.userGroups < 3)
        return 0;
      return g.userGroup == g.userGroups - 1 ? 2 : g.userGroup == g.userGroups - 2 ? 1 : 0;
    }
    return g.start >= out.testStart ? 2 : g.start >= out.validationStart ? 1 : 0;
  };
  Batch *splits[3] = {&out.train, &out.validation, &out.test};
  for (Batch *b : splits) {
    *b = makeEmptyBatch(m);
    b->labels.assign(m.tasks.size(), {});
  }
  // Walk every user's groups with the user's past so far.
  UserPast past;
  int64_t pastUser = INT64_MIN;
  size_t pastEnd = 0; // byUser index up to which `past` holds the user's ratings
  for (const Group &g : groups) {
    const Rating &firstOfGroup = raw.ratings[byUser[g.begin]];
    int64_t user = firstOfGroup.user;
    if (user != pastUser) {
      past = UserPast();
      pastUser = user;
      pastEnd = g.begin;
    }
    for (; pastEnd < g.begin; ++pastEnd) {
      const Rating &r = raw.ratings[byUser[pastEnd]];
      past.add(r, raw.movies.find(r.movie)->second);
    }
    auto tags = raw.tagTimes.find(user);
    past.tags = tags == raw.tagTimes.end()
                    ? 0
                    : std::lower_bound(tags->second.begin(), tags->second.end(), g.start) -
                          tags->second.begin();
    size_t userBegin = g.begin - static_cast<size_t>(past.count);
    size_t beforeR = std::min<size_t>(static_cast<size_t>(o.realtimeBefore), g.begin - userBegin);
    size_t sEnd = g.begin - beforeR;
    size_t sBegin = sEnd - std::min<size_t>(static_cast<size_t>(o.maxSequence), sEnd - userBegin);
    Batch &b = *splits[splitOf(g)];
    for (size_t p = g.begin; p < g.end; p += static_cast<size_t>(o.maxCandidates)) {
      size_t pEnd = std::min(g.end, p + static_cast<size_t>(o.maxCandidates));
      b.userIds.push_back(user);
      ++b.numSamples;
      for (size_t f = 0; f < userSrc.size(); ++f) {
        auto profile = raw.profiles.find(user);
        Profile pr = profile == raw.profiles.end() ? Profile() : profile->second;
        FeatureColumn &c = b.user[f];
        switch (userSrc[f]) {
        case Source::UserId: c.ids.push_back(user); break;
        case Source::Gender: c.ids.push_back(pr.gender); break;
        case Source::Age: c.ids.push_back(pr.age); break;
        case Source::Occupation: c.ids.push_back(pr.occupation); break;
        case Source::Zip: c.ids.push_back(pr.zip); break;
        case Source::History:
          c.values.push_back(logScaled(double(past.count), 5));
          c.values.push_back(past.count ? static_cast<float>(past.sum / past.count / 5) : 0.0f);
          c.values.push_back(past.count ? logScaled(days(past.first, g.start), 5) : 0.0f);
          c.values.push_back(logScaled(double(past.tags), 5));
          break;
        default: break;
        }
      }
      for (size_t k = sBegin; k < sEnd; ++k) {
        const Rating &r = raw.ratings[byUser[k]];
        eventRow(seqSrc, m.sequence, b.sequence, r);
        b.sequenceTimes.push_back(r.time);
      }
      b.sequenceOffsets.push_back(b.sequenceOffsets.back() + int64_t(sEnd - sBegin));
      // R: the events before the window put aside for it, then the group's
      // events up to this piece's last, the most recent maxRealtime of them.
      size_t rEnd = pEnd, rBegin = sEnd;
      if (rEnd - rBegin > static_cast<size_t>(o.maxRealtime))
        rBegin = rEnd - static_cast<size_t>(o.maxRealtime);
      for (size_t k = rBegin; k < rEnd; ++k) {
        const Rating &r = raw.ratings[byUser[k]];
        eventRow(rtSrc, m.realtime, b.realtime, r);
        b.realtimeTimes.push_back(r.time);
      }
      b.realtimeOffsets.push_back(b.realtimeOffsets.back() + int64_t(rEnd - rBegin));
      for (size_t k = p; k < pEnd; ++k)
        candidateRow(b, raw.ratings[byUser[k]], byUser[k], past, g.start);
      b.candidateOffsets.push_back(b.candidateOffsets.back() + int64_t(pEnd - p));
    }
  }
  std::set<int64_t> users;
  for (size_t i : byUser)
    users.insert(raw.ratings[i].user);
  out.users = static_cast<int64_t>(users.size());
  out.ratings = static_cast<int64_t>(byUser.size());
  for (Batch *b : splits)
    if (auto e = validateBatch(m, *b))
      return fail("MovieLens requests do not fit model '" + m.name + "': " +
                  llvm::toString(std::move(e)));
  return llvm::Error::success();
}
} // namespace

llvm::Expected<MovieLensData> mtgr::loadMovieLens(const ModelDesc &m, StringRef dir,
                                                        const MovieLensOptions &o) {
  if (o.windowSeconds < 1 || o.maxSequence < 0 || o.maxRealtime < 1 || o.realtimeBefore < 0 ||
      o.realtimeBefore > o.maxRealtime || o.maxCandidates < 1 || o.maxUsers < 0)
    return fail("MovieLens options: the window, --ml-max-realtime and --ml-max-candidates must "
                "be >= 1, the others >= 0, and --ml-realtime-before at most --ml-max-realtime");
  if (o.maxCandidates > o.maxRealtime)
    return fail(llvm::formatv("MovieLens options: --ml-max-candidates ({0}) must be at most "
                              "--ml-max-realtime ({1}): every candidate's own event is in R",
                              o.maxCandidates, o.maxRealtime)
                    .str());
  if (!(o.validationFraction >= 0 && o.testFraction > 0 &&
        o.validationFraction + o.testFraction < 1))
    return fail("MovieLens options: the test fraction must be > 0, the validation fraction "
                ">= 0, and both together < 1");
  if (o.split != "time" && o.split != "last_group")
    return fail("MovieLens options: split '" + o.split + "' is not time or last_group");
  if (!(o.clickThreshold > 0 && o.conversionThreshold > 0))
    return fail("MovieLens options: label thresholds must be > 0");
  Raw raw;
  if (auto e = readLayout(dir, raw))
    return std::move(e);
  MovieLensData out;
  out.layout = raw.layout;
  out.movies = static_cast<int64_t>(raw.movies.size());
  out.tags = raw.tags;
  Builder builder(m, raw, o);
  if (auto e = builder.run(out))
    return std::move(e);
  return std::move(out);
}

std::string MovieLensData::summary(const ModelDesc &m) const {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "data: " << layout << ": " << users << " users, " << movies << " movies, " << ratings
     << " ratings, " << tags << " tags; " << groups << " request groups\n";
  const char *names[] = {"train", "validation", "test"};
  const Batch *b[] = {&train, &validation, &test};
  for (int k = 0; k < 3; ++k) {
    std::set<int64_t> u(b[k]->userIds.begin(), b[k]->userIds.end());
    os << llvm::formatv("  {0,-10} {1,6} requests  {2,5} users  {3,7} candidates", names[k],
                        b[k]->numSamples, u.size(), b[k]->numCandidates());
    for (size_t t = 0; t < m.tasks.size(); ++t) {
      double pos = 0;
      for (float y : b[k]->labels[t])
        pos += y;
      os << llvm::formatv("  {0} {1:F3}", m.tasks[t].name,
                          pos / std::max<double>(1, double(b[k]->labels[t].size())));
    }
    os << "\n";
  }
  return s;
}

std::string mtgr::movieLensFeatureList() {
  std::string s;
  for (const Known &k : kKnown) {
    std::string groups;
    for (char g : StringRef(k.groups))
      groups += std::string(groups.empty() ? "" : ", ") +
                (g == 'u' ? "user" : g == 'e' ? "sequence, realtime" : "candidate");
    s += llvm::formatv("  {0,-11} {1,-22} {2}: {3}\n", k.name,
                       k.width ? "dense " + std::to_string(k.width)
                               : "categorical" + (k.rows ? " (" + std::to_string(k.rows) + " rows)"
                                                         : std::string()),
                       groups, k.what)
             .str();
  }
  return s;
}
