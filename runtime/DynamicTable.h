//===- DynamicTable.h - embedding rows for raw 64-bit ids ---------*- C++ -*-===//
//
// DESIGN 1.2: a hash map from raw ids to the rows of `tables.<name>.weight`,
// grown during training. Row 0 is the out-of-vocabulary row: ids without a
// row (not admitted yet in training, unknown at inference) read and train
// it. An id gets a row once seen `admissionThreshold` times (0 or 1: at
// first sight). At capacity, a row is evicted: the least recently used (LRU)
// or least frequently used (LFU, ties to the least recent); clocks count
// training steps, never wall time, so runs are reproducible.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_DYNAMICTABLE_H
#define MTGR_RUNTIME_DYNAMICTABLE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace mtgr {

class DynamicTable {
public:
  enum class Policy { LRU, LFU };
  static constexpr int64_t kOovRow = 0;

  DynamicTable(int64_t capacity, int64_t admissionThreshold, Policy policy);

  /// Inference: the id's row, or the OOV row. Changes nothing.
  int64_t lookup(int64_t id) const;

  struct Admission {
    int64_t row;
    bool fresh;           // a new row: the caller re-initialises its weights and state
    int64_t evictedId = 0; // valid when `evicted`
    bool evicted = false;
  };
  /// Training: one sighting of `id` at `step`.
  Admission admit(int64_t id, int64_t step);

  int64_t size() const { return static_cast<int64_t>(rows.size()); }
  int64_t capacity() const { return cap; }
  bool contains(int64_t id) const { return rows.count(id) != 0; }

  /// What re-sharding moves (runtime/TableShards.h): an id's row and clocks.
  struct Entry {
    int64_t row, lastUse, uses;
  };
  /// Every id with a row, and every id seen but not admitted (its sightings).
  const std::unordered_map<int64_t, Entry> &entries() const { return rows; }
  const std::unordered_map<int64_t, int64_t> &pending() const { return sightings; }
  /// An empty table like this one (policy, threshold) of `capacity` rows.
  DynamicTable emptyLike(int64_t capacity) const {
    return DynamicTable(capacity, threshold, policy);
  }
  /// Gives `id` the row `row` (free in this table) with its clocks.
  void place(int64_t id, const Entry &e);
  void setPending(int64_t id, int64_t seen) { sightings[id] = seen; }
  /// Whether `a` would be evicted before `b` (the eviction order).
  bool evictedBefore(const Entry &a, const Entry &b) const { return key(a) < key(b); }
  int64_t admissionThreshold() const { return threshold; }

  /// Bytes that restore the table exactly (checkpoints).
  std::string serialize() const;
  static llvm::Expected<DynamicTable> deserialize(llvm::StringRef bytes);

  bool operator==(const DynamicTable &o) const;

private:
  int64_t cap, threshold;
  Policy policy;
  std::unordered_map<int64_t, Entry> rows;
  std::unordered_map<int64_t, int64_t> sightings; // ids not admitted yet
  std::vector<int64_t> freeRows;                  // a stack; row 0 is never free
  std::map<int64_t, int64_t> idOfRow;
  // Eviction order: (LFU: uses,) lastUse, row.
  std::set<std::tuple<int64_t, int64_t, int64_t>> order;

  std::tuple<int64_t, int64_t, int64_t> key(const Entry &e) const {
    return {policy == Policy::LFU ? e.uses : 0, e.lastUse, e.row};
  }
};

} // namespace mtgr

#endif
