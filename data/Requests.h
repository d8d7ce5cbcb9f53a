//===- Requests.h - request files (JSON Lines) --------------------*- C++ -*-===//
//
// One line per request (one user's sample): profile features, S and R events
// with timestamps, candidates with features and optional labels. Format:
// docs/requests.md. S and R are sorted by (time, input order) on reading.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_DATA_REQUESTS_H
#define MTGR_DATA_REQUESTS_H

#include "runtime/Batch.h"

namespace mtgr {

/// Reads requests; errors name the file, line and field.
llvm::Expected<Batch> readRequests(const ModelDesc &m, llvm::StringRef text,
                                   llvm::StringRef path);
llvm::Expected<Batch> loadRequests(const ModelDesc &m, llvm::StringRef path);

/// Writes a batch as request lines (labels included when present).
void writeRequests(const ModelDesc &m, const Batch &batch, llvm::raw_ostream &os);

} // namespace mtgr

#endif
