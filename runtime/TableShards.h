//===- TableShards.h - embedding tables split across ranks --------*- C++ -*-===//
//
// Issue 27, docs/scale-out.md: with `--shard-tables` each rank holds a part
// of every embedding table (its rows, their optimiser state, a dynamic
// table's id map of its own) instead of all of it. Where a key lives:
//
// - fixed and hashed tables by row: row g on rank g % ranks, at local row
//   g / ranks;
// - dynamic tables by a hash of the raw id: each rank a dynamic table of
//   about capacity / ranks rows, admitting and evicting its own ids (per
//   shard, as TorchRec does). Local row 0 of every shard is a replica of the
//   one out-of-vocabulary row, kept equal on every rank (each applies the
//   same update to it).
//
// Re-sharding (a checkpoint of N shards resumed on M ranks, or gathered into
// one whole table) moves every row with its optimiser state and clocks.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_TABLESHARDS_H
#define MTGR_RUNTIME_TABLESHARDS_H

#include "model/ModelDesc.h"
#include "runtime/DynamicTable.h"
#include "runtime/Params.h"

#include <map>
#include <string>
#include <vector>

namespace mtgr {

/// Where the keys of the tables live when they are split over `ranks`.
struct TablePlacement {
  int ranks = 1, rank = 0;
  /// What a lookup is placed by: a fixed or hashed table's row, a dynamic
  /// table's raw id.
  static int64_t keyOf(const TableDesc &t, int64_t id);
  int owner(const TableDesc &t, int64_t key) const;
  /// A fixed or hashed table's row on its owner.
  int64_t localRow(const TableDesc &t, int64_t key) const;
  /// The rows rank `rank` of `ranks` holds of table `t` (a dynamic table:
  /// its shard's capacity, the OOV replica included).
  static int64_t localRows(const TableDesc &t, int ranks, int rank);
  int64_t localRows(const TableDesc &t) const { return localRows(t, ranks, rank); }
};

/// One rank's part of every embedding table (or, as shard 0 of 1, the whole).
struct TableShard {
  std::map<std::string, Tensor> weights; // tables.<name>.weight: [rows here, dim]
  OptimizerState slots;                  // their acc / m / v, as many rows
  std::map<std::string, DynamicTable> dynamic;
};

/// Copies the tables' part of a training state (weights, their optimiser
/// slots, dynamic tables).
TableShard tablesOf(const ModelDesc &m, const ParamStore &params, const OptimizerState &slots,
                    const std::map<std::string, DynamicTable> &dynamic);
/// Replaces the tables' part of a training state by `shard`.
void putTables(TableShard shard, ParamStore &params, OptimizerState &slots,
               std::map<std::string, DynamicTable> &dynamic);

/// Part `rank` of `ranks` of tables held as `from` (part q of from.size()):
/// every row moved with its optimiser state; a dynamic table's ids with
/// their clocks and sightings, the least evictable kept where a smaller
/// shard cannot hold them all. from.size() == ranks returns from[rank].
TableShard reshard(const ModelDesc &m, const std::vector<TableShard> &from, int ranks, int rank);

} // namespace mtgr

#endif
