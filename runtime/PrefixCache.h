//===- PrefixCache.h - per-user encoded U and S rows, reused across requests -===//
//
// A repeat user's U and S rows are the same in every layer while U and S are
// unchanged (DESIGN 1.6; the compiler's prefix split, passes/SplitPrefix.cpp):
// the cache keeps encode_prefix's keys and values per (user, version) and
// scores a batch with score_candidates, encoding only the users it misses, in
// one call. LRU under a byte cap; optional bf16 storage (half the bytes,
// rounding the cached rows to 8 significant bits: docs/serving.md gives the
// measured error). On a GPU the entries used last also live in device memory
// (a second LRU tier under Options::deviceBytes, held by the session), so a
// repeat user's rows are not copied to the device again.
//
// Thread rule: one score() at a time per cache (a mutex serialises them), and
// the cache's session must not run other calls meanwhile. Entries belong to
// the parameters they were encoded with: clear() after the parameters change.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_PREFIXCACHE_H
#define MTGR_RUNTIME_PREFIXCACHE_H

#include "runtime/Session.h"

#include <list>
#include <map>
#include <memory>
#include <mutex>

namespace mtgr {

/// A hash of sample b's U and S inputs (profile features, S events and their
/// times): the version of the user's prefix when the caller gives none.
uint64_t prefixInputsHash(const ModelDesc &m, const Batch &batch, int64_t b);

class PrefixCache {
public:
  struct Options {
    uint64_t maxBytes = uint64_t(1) << 30; // the rows kept, all users together
    bool bf16 = false;                     // store the rows in bf16
    /// On a device with memory of its own (a GPU): the bytes of rows kept in
    /// its memory, least recently used dropped first (they stay in the host
    /// tier above, and cross again when used). Kept in f32 there.
    uint64_t deviceBytes = uint64_t(1) << 30;
  };
  struct Stats {
    int64_t hits = 0, misses = 0, evictions = 0; // samples found / encoded; entries dropped
    int64_t entries = 0;
    uint64_t bytes = 0;
  };

  explicit PrefixCache(Options options) : options(options) {}

  /// Scores `batch` through `session` (which must have the prefix split):
  /// samples whose (user id, version) is cached skip encode_prefix, the
  /// others are encoded in one call and kept. `versions`: one per sample (the
  /// caller's version of that user's U and S), or empty: prefixInputsHash.
  /// Scores equal session.forward(batch)'s to rounding (bf16: to the
  /// rounding of the cached rows).
  llvm::Expected<ForwardResult> score(Session &session, const Batch &batch,
                                      const std::vector<uint64_t> &versions = {});

  Stats stats() const;
  void clear();

private:
  using Key = std::pair<int64_t, uint64_t>; // user id, version
  /// One user's rows: per layer K [rows, h dqk] and V [rows, h dv], in f32
  /// or as bf16 bits.
  struct Entry {
    uint64_t id = 0; // the rows' name on the device (PrefixRows::Piece::id)
    int64_t rows = 0;
    std::vector<std::vector<float>> keys, values;
    std::vector<std::vector<uint16_t>> keys16, values16;
    uint64_t bytes = 0;
  };
  struct Slot {
    std::shared_ptr<const Entry> entry;
    std::list<Key>::iterator age; // in `lru`, most recent first
  };
  std::shared_ptr<const Entry> find(const Key &key);
  /// Keeps `entry` (dropping the least recently used beyond the cap; their
  /// device copies in `session` go with them).
  void insert(Session &session, const Key &key, std::shared_ptr<const Entry> entry);

  Options options;
  mutable std::mutex mutex;
  std::map<Key, Slot> slots;
  std::list<Key> lru;
  Stats counts;
};

} // namespace mtgr

#endif
