//===- Protocol.h - KServe v2 / Open Inference Protocol requests and responses -===//
//
// The HTTP-independent half of mtgr-serve (docs/serving.md): an inference
// request body (JSON, optionally followed by the binary tensor data
// extension's raw bytes) decoded into tensors, the tensors into a Batch of
// the model, and the scores into a response. Every size and shape is checked
// against the limits before anything is allocated for it; errors name the
// input and what is wrong (the server answers them with 400).
//
// Inputs of an mtgr model (model metadata lists them):
//   "requests"            BYTES [n]: one JSON request per element (docs/requests.md)
// or columns, as the C API's batch builder takes them:
//   "user_ids"            INT64 [B] (optional)
//   "<group>.offsets"     INT64 [B + 1], group sequence, realtime, candidate
//   "<group>.time"        INT64 [rows]
//   "<group>.<feature>"   INT64 [rows] (categorical) or FP32 [rows, width] (dense);
//                         group user (one row per sample), sequence, realtime, candidate
// Outputs: "<task>" FP32 [K], each candidate's probability, in request order.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_SERVE_PROTOCOL_H
#define MTGR_SERVE_PROTOCOL_H

#include "runtime/Batch.h"

#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <vector>

namespace mtgr::serve {

struct Limits {
  uint64_t maxBodyBytes = 64 << 20; // the whole request body, after decompression
  int64_t maxSamples = 256;         // users per request
  int64_t maxCandidates = 4096;     // candidates per request
  int64_t maxTokens = 1 << 20;      // tokens per request (every group)
  int64_t maxElements = 1 << 26;    // elements of one tensor
};

struct Tensor {
  std::string name, datatype; // datatype: INT64, FP32 or BYTES
  std::vector<int64_t> shape;
  std::vector<int64_t> i64;
  std::vector<float> f32;
  std::vector<std::string> bytes;
  int64_t elements() const;
};

struct InferRequest {
  std::string id;
  std::vector<Tensor> inputs;
  /// Requested outputs (empty: every task); binary: the binary extension.
  std::vector<std::pair<std::string, bool>> outputs;
  bool binaryByDefault = false; // parameters.binary_data_output
};

/// Decodes a request body: JSON, then (with `jsonLength`, the
/// Inference-Header-Content-Length header) the binary tensor data of the
/// inputs whose parameters give binary_data_size, in order.
llvm::Expected<InferRequest>
parseInferRequest(llvm::StringRef body, std::optional<uint64_t> jsonLength, const Limits &limits);

/// The batch the tensors describe, checked (validateBatch) and within limits.
llvm::Expected<Batch> batchFromTensors(const ModelDesc &m, const std::vector<Tensor> &inputs,
                                       const Limits &limits);

/// The response: JSON, and with binary outputs the binary data after it
/// (`jsonLength` receives the JSON's length for Inference-Header-Content-Length,
/// 0 when all outputs are JSON). `scores`: per task, K probabilities.
std::string inferResponse(const ModelDesc &m, llvm::StringRef modelName, llvm::StringRef version,
                          const InferRequest &request,
                          const std::vector<std::vector<float>> &scores, uint64_t &jsonLength,
                          std::string &error);

/// Model metadata (GET /v2/models/{name}): its inputs and outputs.
std::string modelMetadata(const ModelDesc &m, llvm::StringRef name, llvm::StringRef version,
                          const std::string &platform);

} // namespace mtgr::serve

#endif
