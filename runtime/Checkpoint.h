//===- Checkpoint.h - everything a training run needs to resume ---*- C++ -*-===//
//
// Parameters, optimiser state, dynamic embedding tables, step, data position
// and seeds, in the sectioned format of Container.h ("MTGRCKP\n"), written
// atomically: a crash at any moment leaves the previous checkpoint loadable.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_CHECKPOINT_H
#define MTGR_RUNTIME_CHECKPOINT_H

#include "runtime/DynamicTable.h"
#include "runtime/Params.h"

#include <map>
#include <optional>

namespace mtgr {

struct TrainState {
  std::string modelHash; // the model the state belongs to
  int64_t step = 0;      // optimiser steps done
  int64_t epoch = 0, stepInEpoch = 0; // data position
  uint64_t seed = 0;     // data order and dropout stream
  ParamStore params;
  OptimizerState optimizer; // Adam moments, row-wise Adagrad accumulators
  std::map<std::string, DynamicTable> tables;        // dynamic tables
  /// A manifest (tables sharded over ranks, runtime/TableShards.h): the
  /// embedding tables are not in this file but in one file per shard, named
  /// here (next to it) with each file's xxh3 digest; shard q of
  /// shardFiles.size() is a checkpoint holding only the tables' part.
  std::vector<std::string> shardFiles;
  std::vector<uint64_t> shardDigests;
};

std::string serializeCheckpoint(const TrainState &state);
llvm::Expected<TrainState> parseCheckpoint(llvm::StringRef bytes, llvm::StringRef path);
llvm::Error saveCheckpoint(llvm::StringRef path, const TrainState &state);
llvm::Expected<TrainState> loadCheckpoint(llvm::StringRef path);
/// Whether a parsed state fits model `m` with parameters `params` (names and
/// shapes): every parameter present with its shape and finite, nothing extra,
/// optimiser state of the right owners and sizes, every dynamic table of
/// `params` there with as many rows as its weight (its capacity; a shard's:
/// its share). `params` may be a part of the model's: a manifest's dense
/// ones, a shard's tables. The model hash is not compared here: a crafted file
/// may carry the right hash and anything else.
llvm::Error checkStateFits(const TrainState &state, const ModelDesc &m, const ParamStore &params,
                           llvm::StringRef path);

} // namespace mtgr

#endif
