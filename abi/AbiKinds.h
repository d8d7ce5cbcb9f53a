//===- AbiKinds.h - the vocabulary generated code and the runtime share -*- C++ -*-===//
//
// One table per vocabulary, spelled once: the kinds of an entry point's
// arguments, the token groups, the profile families. The compiler writes
// these names into the artifact's manifest and the code's ABI record
// (codegen/common/BindEntryPoints.cpp, compiler/Compiler.cpp); the runtime parses
// them back into the same enums (runtime/Abi.cpp). Neither side spells the
// strings itself.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_ABI_ABIKINDS_H
#define MTGR_ABI_ABIKINDS_H

#include "model/Namespace.h"

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>

namespace mtgr {

/// The entry points an artifact may have, in the order they are compiled:
/// the model's forward, training (train_step's gradients, apply_update's
/// optimiser step) and the prefix split's pair (passes/SplitPrefix.cpp).
constexpr llvm::StringLiteral kEntryPointNames[] = {"forward", "train_step", "apply_update",
                                                    "encode_prefix", "score_candidates"};

/// What an entry point's argument holds.
enum class ArgKind {
  Input,
  Offsets,
  Embedding,
  Time,
  Intervals,
  Labels,
  Param,
  Output,
  Hidden, // forward
  Rng,
  Loss,
  ParamGrad,
  EmbeddingGrad,
  State,
  UniqueRows,
  RowIndex, // training
  GradInput,
  EmbeddingGradInput,
  AttentionWork, // forward: {pairs computed, visible pairs} of a tile list (i64)
  // The prefix split (passes/SplitPrefix.cpp): one layer's keys or values of
  // the U and S rows, encode_prefix's outputs and score_candidates' inputs.
  PrefixKeys,
  PrefixValues,
};
/// The typed role of an entry point's argument or result in the IR
/// (`#mtgr.role`, dialect/MTGRBase.td): what the caller's value is. Binding
/// (codegen/common/BindEntryPoints.cpp) turns each into buffers of ArgKinds.
enum class RoleKind {
  Feature,
  Time,
  Intervals,
  Labels,
  Logits,
  Output,
  Loss,
  Grad,
  EmbeddingGrad,
  PrefixKeys,
  PrefixValues, // a layer's K or V of the U and S rows (index: the layer)
};
/// A token group of a batch; Tokens = every token of a sample (intervals);
/// Prefix = its U and S tokens (the rows encode_prefix computes).
enum class Group { None, User, Sequence, Realtime, Candidate, Tokens, Prefix };

/// The op families a profile sums time over (mtgr-lower-to-loops{profile};
/// runtime/Profile.h). The numbers are what the generated code passes.
enum class ProfileFamily : int64_t {
  Projections, Attention, Masks, Norms, Elementwise, Tokens, Loss, Optimizer
};
constexpr int64_t kNumProfileFamilies = 8;

llvm::StringRef toString(ArgKind k);
llvm::StringRef toString(RoleKind k);
llvm::StringRef toString(Group g); // "" for Group::None
llvm::StringRef toString(ProfileFamily f);
std::optional<ArgKind> parseArgKind(llvm::StringRef s);
std::optional<RoleKind> parseRoleKind(llvm::StringRef s);
std::optional<Group> parseGroup(llvm::StringRef s); // "" is Group::None
std::optional<ProfileFamily> parseProfileFamily(llvm::StringRef s);

} // namespace mtgr

#endif
