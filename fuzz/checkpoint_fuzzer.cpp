//===- checkpoint_fuzzer.cpp - checkpoints as Trainer::resume reads them ----===//
//
// Any bytes as a checkpoint, as they are and with the container's checksums
// fixed (so mutations reach the sections): parsed, then checked against the
// fuzz model (parameters, optimiser state, dynamic tables) as resume does; a
// state that fits is serialised again and must parse to the same bytes.
//
//===----------------------------------------------------------------------===//
#include "fuzz/FuzzModels.h"
#include "runtime/Checkpoint.h"

using namespace mtgr;

static void resume(llvm::StringRef bytes) {
  static const ModelDesc &m = fuzz::fuzzModel(fuzz::kMiniModel);
  static const ParamStore shapes = ParamStore::shapesOnly(collectParameters(m));
  auto state = parseCheckpoint(bytes, "fuzz.ckpt");
  if (!state) {
    if (llvm::toString(state.takeError()).empty())
      __builtin_trap();
    return;
  }
  if (auto e = checkStateFits(*state, m, shapes, "fuzz.ckpt")) {
    llvm::consumeError(std::move(e));
    return;
  }
  std::string again = serializeCheckpoint(*state);
  auto reread = parseCheckpoint(again, "rewritten.ckpt");
  if (!reread || serializeCheckpoint(*reread) != again)
    __builtin_trap(); // a state that fits must survive its own round trip
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz::asIsAndResealed(data, size, resume);
  return 0;
}
