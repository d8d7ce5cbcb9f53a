//===- kserve_fuzzer.cpp - mtgr-serve's inference request decoder ----------===//
//
// Any bytes as a KServe v2 inference request body for both fuzz models: the
// first 4 bytes (when present) choose the Inference-Header-Content-Length
// (none, or a split of the rest into JSON and binary tensor data). Refused
// with a message, or tensors whose batch is refused with a message or
// validates and stays within the limits (serve/Protocol.h).
//
//===----------------------------------------------------------------------===//
#include "fuzz/FuzzModels.h"
#include "serve/Protocol.h"

#include "llvm/Support/raw_ostream.h"

#include <cstring>

using namespace mtgr;

static void decodeAgainst(const ModelDesc &m, llvm::StringRef body,
                          std::optional<uint64_t> jsonLength) {
  serve::Limits limits;
  limits.maxBodyBytes = 1 << 20, limits.maxElements = 1 << 16;
  limits.maxSamples = 16, limits.maxCandidates = 256, limits.maxTokens = 4096;
  auto request = serve::parseInferRequest(body, jsonLength, limits);
  if (!request) {
    if (llvm::toString(request.takeError()).empty())
      __builtin_trap();
    return;
  }
  for (const serve::Tensor &t : request->inputs)
    if (t.elements() > limits.maxElements)
      __builtin_trap();
  auto batch = serve::batchFromTensors(m, request->inputs, limits);
  if (!batch) {
    if (llvm::toString(batch.takeError()).empty())
      __builtin_trap();
    return;
  }
  if (auto e = validateBatch(m, *batch)) {
    llvm::errs() << "a decoded batch validateBatch refuses: " << llvm::toString(std::move(e))
                 << "\n";
    __builtin_trap();
  }
  if (batch->numSamples > limits.maxSamples || batch->numCandidates() > limits.maxCandidates ||
      batch->totalTokens(m) > limits.maxTokens)
    __builtin_trap();
  // Scores of the right shape encode into a response.
  std::vector<std::vector<float>> scores(m.tasks.size(),
                                         std::vector<float>(batch->numCandidates(), 0.5f));
  uint64_t headerLength = 0;
  std::string error;
  (void)serve::inferResponse(m, "fuzz", "1", *request, scores, headerLength, error);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::optional<uint64_t> jsonLength;
  llvm::StringRef body(reinterpret_cast<const char *>(data), size);
  if (size >= 4 && std::memcmp(data, "MTGR", 4) == 0) { // "MTGR" + u16 length + body
    if (size < 6)
      return 0;
    jsonLength = static_cast<uint64_t>(data[4]) | (static_cast<uint64_t>(data[5]) << 8);
    body = body.drop_front(6);
  }
  decodeAgainst(fuzz::fuzzModel(fuzz::kMiniModel), body, jsonLength);
  decodeAgainst(fuzz::fuzzModel(fuzz::kIntervalsModel), body, jsonLength);
  return 0;
}
