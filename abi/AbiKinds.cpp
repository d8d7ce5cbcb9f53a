//===- AbiKinds.cpp - the shared vocabulary's one spelling ----------------===//
#include "abi/AbiKinds.h"

#include "llvm/ADT/ArrayRef.h"

using namespace mtgr;

namespace {
template <typename Enum> struct Spelling {
  Enum value;
  const char *text;
};

constexpr Spelling<ArgKind> kArgKinds[] = {
    {ArgKind::Input, "input"},
    {ArgKind::Offsets, "offsets"},
    {ArgKind::Embedding, "embedding"},
    {ArgKind::Time, "time"},
    {ArgKind::Intervals, "intervals"},
    {ArgKind::Labels, "labels"},
    {ArgKind::Param, "param"},
    {ArgKind::Output, "output"},
    {ArgKind::Hidden, "hidden"},
    {ArgKind::Rng, "rng"},
    {ArgKind::Loss, "loss"},
    {ArgKind::ParamGrad, "param_grad"},
    {ArgKind::EmbeddingGrad, "embedding_grad"},
    {ArgKind::State, "state"},
    {ArgKind::UniqueRows, "unique_rows"},
    {ArgKind::RowIndex, "row_index"},
    {ArgKind::GradInput, "grad_input"},
    {ArgKind::EmbeddingGradInput, "embedding_grad_input"},
    {ArgKind::AttentionWork, "attention_work"},
    {ArgKind::PrefixKeys, "prefix_keys"},
    {ArgKind::PrefixValues, "prefix_values"},
};

constexpr Spelling<RoleKind> kRoleKinds[] = {
    {RoleKind::Feature, "feature"},
    {RoleKind::Time, "time"},
    {RoleKind::Intervals, "intervals"},
    {RoleKind::Labels, "labels"},
    {RoleKind::Logits, "logits"},
    {RoleKind::Output, "output"},
    {RoleKind::Loss, "loss"},
    {RoleKind::Grad, "grad"},
    {RoleKind::EmbeddingGrad, "embedding_grad"},
    {RoleKind::PrefixKeys, "prefix_keys"},
    {RoleKind::PrefixValues, "prefix_values"},
};

constexpr Spelling<Group> kGroups[] = {
    {Group::None, ""},
    {Group::User, "user"},
    {Group::Sequence, "sequence"},
    {Group::Realtime, "realtime"},
    {Group::Candidate, "candidate"},
    {Group::Tokens, "tokens"},
    {Group::Prefix, "prefix"},
};

constexpr Spelling<ProfileFamily> kProfileFamilies[] = {
    {ProfileFamily::Projections, "projections"}, {ProfileFamily::Attention, "attention"},
    {ProfileFamily::Masks, "masks"},             {ProfileFamily::Norms, "norms"},
    {ProfileFamily::Elementwise, "elementwise"}, {ProfileFamily::Tokens, "tokens"},
    {ProfileFamily::Loss, "loss"},               {ProfileFamily::Optimizer, "optimizer"},
};
static_assert(std::size(kProfileFamilies) == kNumProfileFamilies);

template <typename Enum, size_t N>
llvm::StringRef spell(const Spelling<Enum> (&table)[N], Enum value) {
  for (const Spelling<Enum> &s : table)
    if (s.value == value)
      return s.text;
  return "";
}
template <typename Enum, size_t N>
std::optional<Enum> parse(const Spelling<Enum> (&table)[N], llvm::StringRef text) {
  for (const Spelling<Enum> &s : table)
    if (text == s.text)
      return s.value;
  return std::nullopt;
}
} // namespace

llvm::StringRef mtgr::toString(ArgKind k) { return spell(kArgKinds, k); }
llvm::StringRef mtgr::toString(RoleKind k) { return spell(kRoleKinds, k); }
llvm::StringRef mtgr::toString(Group g) { return spell(kGroups, g); }
llvm::StringRef mtgr::toString(ProfileFamily f) { return spell(kProfileFamilies, f); }
std::optional<ArgKind> mtgr::parseArgKind(llvm::StringRef s) { return parse(kArgKinds, s); }
std::optional<RoleKind> mtgr::parseRoleKind(llvm::StringRef s) { return parse(kRoleKinds, s); }
std::optional<Group> mtgr::parseGroup(llvm::StringRef s) { return parse(kGroups, s); }
std::optional<ProfileFamily> mtgr::parseProfileFamily(llvm::StringRef s) {
  return parse(kProfileFamilies, s);
}
