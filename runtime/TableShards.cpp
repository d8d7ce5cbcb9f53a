//===- TableShards.cpp - embedding tables split across ranks ---------------===//
#include "runtime/TableShards.h"
#include "runtime/Batch.h"

#include <algorithm>

using namespace mtgr;

namespace {
std::string weightName(const TableDesc &t) { return "tables." + t.name + ".weight"; }

/// The optimiser slots a table may have, with their floats per row.
std::vector<std::pair<std::string, int64_t>> slotsOf(const TableDesc &t) {
  return {{"acc", 1}, {"m", t.dim}, {"v", t.dim}};
}
} // namespace

int64_t TablePlacement::keyOf(const TableDesc &t, int64_t id) {
  return t.kind == TableDesc::Kind::Dynamic ? id : tableRow(t, id);
}

int TablePlacement::owner(const TableDesc &t, int64_t key) const {
  if (ranks < 2)
    return 0;
  // Dynamic ids by a hash of their own (not the hashed tables' row hash),
  // fixed and hashed tables' rows round-robin.
  uint64_t h = t.kind == TableDesc::Kind::Dynamic
                   ? splitmix64(static_cast<uint64_t>(key) ^ 0x6a09e667f3bcc909ull)
                   : static_cast<uint64_t>(key);
  return static_cast<int>(h % static_cast<uint64_t>(ranks));
}

int64_t TablePlacement::localRow(const TableDesc &, int64_t key) const { return key / ranks; }

int64_t TablePlacement::localRows(const TableDesc &t, int ranks, int rank) {
  // Rows g < total with g % ranks == rank; a dynamic table's shards each
  // add a replica of the OOV row 0 to their share of rows 1 .. capacity - 1.
  auto share = [&](int64_t total) { return total > rank ? (total - rank + ranks - 1) / ranks : 0; };
  if (t.kind == TableDesc::Kind::Dynamic)
    return 1 + share(t.rows - 1);
  return share(t.rows);
}

TableShard mtgr::tablesOf(const ModelDesc &m, const ParamStore &params, const OptimizerState &slots,
                          const std::map<std::string, DynamicTable> &dynamic) {
  TableShard s;
  for (const TableDesc &t : m.tables) {
    std::string name = weightName(t);
    s.weights[name] = params.get(name);
    for (auto &[slot, width] : slotsOf(t))
      if (auto it = slots.find(optimizerSlot(name, slot)); it != slots.end())
        s.slots[it->first] = it->second;
    if (auto it = dynamic.find(t.name); it != dynamic.end())
      s.dynamic.emplace(t.name, it->second);
  }
  return s;
}

void mtgr::putTables(TableShard shard, ParamStore &params, OptimizerState &slots,
                     std::map<std::string, DynamicTable> &dynamic) {
  for (auto &[name, weight] : shard.weights) {
    for (const char *slot : {"acc", "m", "v"})
      slots.erase(optimizerSlot(name, slot));
    params.set(name, std::move(weight));
  }
  for (auto &[name, buffer] : shard.slots)
    slots[name] = std::move(buffer);
  for (auto &[name, table] : shard.dynamic)
    dynamic.insert_or_assign(name, std::move(table));
}

TableShard mtgr::reshard(const ModelDesc &m, const std::vector<TableShard> &from, int ranks,
                         int rank) {
  const int n = static_cast<int>(from.size());
  if (n == ranks)
    return from[static_cast<size_t>(rank)];
  TablePlacement to{ranks, rank};
  TableShard out;
  for (const TableDesc &t : m.tables) {
    const std::string name = weightName(t);
    const int64_t rows = to.localRows(t), d = t.dim;
    Tensor &weight = out.weights[name];
    weight.shape = {rows, d};
    weight.data.assign(static_cast<size_t>(rows * d), 0.0f);
    // A slot some part has (a missing or mis-sized one reads as zeros, as
    // the optimiser starts it).
    std::vector<std::pair<std::string, int64_t>> slots;
    for (auto &[slot, width] : slotsOf(t)) {
      std::string key = optimizerSlot(name, slot);
      if (std::any_of(from.begin(), from.end(),
                      [&](const TableShard &s) { return s.slots.count(key) != 0; })) {
        slots.push_back({key, width});
        out.slots[key].assign(static_cast<size_t>(rows * width), 0.0f);
      }
    }
    auto move = [&](int q, int64_t fromRow, int64_t toRow) {
      const TableShard &src = from[static_cast<size_t>(q)];
      const Tensor &w = src.weights.at(name);
      std::copy_n(w.data.begin() + fromRow * d, d, weight.data.begin() + toRow * d);
      for (auto &[key, width] : slots) {
        auto it = src.slots.find(key);
        if (it != src.slots.end() && static_cast<int64_t>(it->second.size()) == w.shape[0] * width)
          std::copy_n(it->second.begin() + fromRow * width, width,
                      out.slots[key].begin() + toRow * width);
      }
    };
    if (t.kind != TableDesc::Kind::Dynamic) {
      for (int64_t local = 0; local < rows; ++local) {
        int64_t g = local * ranks + rank;
        move(static_cast<int>(g % n), g / n, local);
      }
      continue;
    }
    const DynamicTable &first = from.front().dynamic.at(t.name);
    DynamicTable table = first.emptyLike(rows);
    move(0, DynamicTable::kOovRow, DynamicTable::kOovRow); // the replicas are equal
    struct Held {
      int64_t id;
      DynamicTable::Entry entry;
      int from;
    };
    std::vector<Held> mine;
    for (int q = 0; q < n; ++q) {
      const DynamicTable &part = from[static_cast<size_t>(q)].dynamic.at(t.name);
      for (auto &[id, e] : part.entries())
        if (to.owner(t, id) == rank)
          mine.push_back({id, e, q});
      for (auto &[id, seen] : part.pending())
        if (to.owner(t, id) == rank)
          table.setPending(id, seen);
    }
    // More ids than rows: the ones the eviction order would drop first go.
    std::sort(mine.begin(), mine.end(), [&](const Held &a, const Held &b) {
      if (table.evictedBefore(a.entry, b.entry) != table.evictedBefore(b.entry, a.entry))
        return table.evictedBefore(a.entry, b.entry);
      return a.id < b.id;
    });
    size_t room = static_cast<size_t>(rows - 1);
    if (mine.size() > room)
      mine.erase(mine.begin(), mine.end() - static_cast<std::ptrdiff_t>(room));
    std::sort(mine.begin(), mine.end(), [](const Held &a, const Held &b) { return a.id < b.id; });
    for (size_t k = 0; k < mine.size(); ++k) {
      DynamicTable::Entry e = mine[k].entry;
      int64_t fromRow = e.row;
      e.row = static_cast<int64_t>(k) + 1;
      table.place(mine[k].id, e);
      move(mine[k].from, fromRow, e.row);
    }
    out.dynamic.emplace(t.name, std::move(table));
  }
  return out;
}
