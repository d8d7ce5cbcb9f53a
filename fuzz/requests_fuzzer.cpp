//===- requests_fuzzer.cpp - request files (JSON Lines) ----------------------===//
//
// Any bytes as a request file for both fuzz models: refused with a message
// naming line and field, or a batch that validateBatch accepts, that slices
// and that writes back into a file reading to the same batch.
//
//===----------------------------------------------------------------------===//
#include "data/Requests.h"
#include "fuzz/FuzzModels.h"
#include "runtime/Batch.h"

#include "llvm/Support/raw_ostream.h"

using namespace mtgr;

static void readAgainst(const ModelDesc &m, llvm::StringRef text) {
  auto batch = readRequests(m, text, "fuzz.jsonl");
  if (!batch) {
    if (llvm::toString(batch.takeError()).empty())
      __builtin_trap();
    return;
  }
  if (auto e = validateBatch(m, *batch)) {
    llvm::errs() << "the reader returned a batch validateBatch refuses: "
                 << llvm::toString(std::move(e)) << "\n";
    __builtin_trap();
  }
  if (batch->numSamples > 1)
    (void)sliceBatch(m, *batch, 1, batch->numSamples);
  std::string again;
  llvm::raw_string_ostream os(again);
  writeRequests(m, *batch, os);
  auto reread = readRequests(m, again, "rewritten.jsonl");
  if (!reread) {
    llvm::errs() << "a batch's own request file does not read: "
                 << llvm::toString(reread.takeError()) << "\n";
    __builtin_trap();
  }
  std::string twice;
  llvm::raw_string_ostream os2(twice);
  writeRequests(m, *reread, os2);
  if (twice != again) { // writing is not a fixed point
    llvm::errs() << "written:\n" << again << "written again:\n" << twice;
    __builtin_trap();
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  readAgainst(fuzz::fuzzModel(fuzz::kMiniModel), text);
  readAgainst(fuzz::fuzzModel(fuzz::kIntervalsModel), text);
  return 0;
}
