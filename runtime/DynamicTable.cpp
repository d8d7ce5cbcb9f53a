//===- DynamicTable.cpp - embedding rows for raw 64-bit ids ---------------===//
#include "runtime/DynamicTable.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <set>

using namespace mtgr;

DynamicTable::DynamicTable(int64_t capacity, int64_t admissionThreshold, Policy policy)
    : cap(capacity), threshold(std::max<int64_t>(1, admissionThreshold)), policy(policy) {
  for (int64_t r = capacity - 1; r >= 1; --r) // row 0 is the OOV row
    freeRows.push_back(r);
}

int64_t DynamicTable::lookup(int64_t id) const {
  auto it = rows.find(id);
  return it == rows.end() ? kOovRow : it->second.row;
}

DynamicTable::Admission DynamicTable::admit(int64_t id, int64_t step) {
  if (auto it = rows.find(id); it != rows.end()) {
    order.erase(key(it->second));
    it->second.lastUse = step;
    it->second.uses += 1;
    order.insert(key(it->second));
    return {it->second.row, false};
  }
  if (++sightings[id] < threshold || cap <= 1)
    return {kOovRow, false};
  sightings.erase(id);
  Admission a{kOovRow, true};
  if (freeRows.empty()) {
    auto victim = *order.begin();
    int64_t row = std::get<2>(victim);
    a.evictedId = idOfRow[row];
    a.evicted = true;
    order.erase(order.begin());
    rows.erase(a.evictedId);
    freeRows.push_back(row);
  }
  a.row = freeRows.back();
  freeRows.pop_back();
  Entry e{a.row, step, 1};
  rows[id] = e;
  idOfRow[a.row] = id;
  order.insert(key(e));
  return a;
}

void DynamicTable::place(int64_t id, const Entry &e) {
  // Rows placed in the order a new table hands them out (1, 2, ...) are
  // found at the top of the stack.
  auto free = !freeRows.empty() && freeRows.back() == e.row
                  ? freeRows.end() - 1
                  : std::find(freeRows.begin(), freeRows.end(), e.row);
  assert(free != freeRows.end() && !rows.count(id) && "a free row for a new id");
  freeRows.erase(free);
  rows[id] = e;
  idOfRow[e.row] = id;
  order.insert(key(e));
}

namespace {
void putI64(std::string &out, int64_t v) { out.append(reinterpret_cast<const char *>(&v), 8); }
} // namespace

std::string DynamicTable::serialize() const {
  std::string out;
  putI64(out, cap);
  putI64(out, threshold);
  putI64(out, policy == Policy::LFU);
  // Sorted, so equal tables serialise to equal bytes.
  std::vector<std::pair<int64_t, Entry>> entries(rows.begin(), rows.end());
  std::sort(entries.begin(), entries.end(),
            [](const auto &a, const auto &b) { return a.first < b.first; });
  putI64(out, entries.size());
  for (auto &[id, e] : entries) {
    putI64(out, id);
    putI64(out, e.row);
    putI64(out, e.lastUse);
    putI64(out, e.uses);
  }
  std::vector<std::pair<int64_t, int64_t>> seen(sightings.begin(), sightings.end());
  std::sort(seen.begin(), seen.end());
  putI64(out, seen.size());
  for (auto &[id, n] : seen) {
    putI64(out, id);
    putI64(out, n);
  }
  putI64(out, freeRows.size());
  for (int64_t r : freeRows)
    putI64(out, r);
  return out;
}

llvm::Expected<DynamicTable> DynamicTable::deserialize(llvm::StringRef bytes) {
  size_t at = 0;
  bool ok = true;
  auto get = [&]() -> int64_t {
    if (at + 8 > bytes.size()) {
      ok = false;
      return 0;
    }
    int64_t v;
    std::memcpy(&v, bytes.data() + at, 8);
    at += 8;
    return v;
  };
  auto bad = [] {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "dynamic table: truncated or corrupted state");
  };
  int64_t cap = get(), threshold = get(), lfu = get();
  if (!ok || cap < 1 || threshold < 0 || (lfu != 0 && lfu != 1))
    return bad();
  // Built empty, then filled: the rows come from the file (and are checked),
  // never allocated from its claimed capacity.
  DynamicTable t(1, threshold, lfu ? Policy::LFU : Policy::LRU);
  t.cap = cap;
  t.freeRows.clear();
  int64_t n = get();
  for (int64_t i = 0; ok && i < n; ++i) {
    int64_t id = get();
    Entry e{get(), get(), get()};
    if (e.row < 1 || e.row >= cap || t.idOfRow.count(e.row) || t.rows.count(id))
      return bad();
    t.rows[id] = e;
    t.idOfRow[e.row] = id;
    t.order.insert(t.key(e));
  }
  int64_t pending = get();
  for (int64_t i = 0; ok && i < pending; ++i) {
    int64_t id = get();
    t.sightings[id] = get();
  }
  int64_t free = get();
  std::set<int64_t> freeSet;
  for (int64_t i = 0; ok && i < free; ++i) {
    int64_t row = get();
    // Every row but the OOV row is either in use or free, exactly once.
    if (row < 1 || row >= cap || t.idOfRow.count(row) || !freeSet.insert(row).second)
      return bad();
    t.freeRows.push_back(row);
  }
  if (!ok || at != bytes.size() ||
      static_cast<int64_t>(t.rows.size() + t.freeRows.size()) != cap - 1)
    return bad();
  return t;
}

bool DynamicTable::operator==(const DynamicTable &o) const { return serialize() == o.serialize(); }
