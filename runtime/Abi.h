//===- Abi.h - the typed interface between generated code and the runtime -===//
//
// An artifact's manifest lists every argument of every entry point as a typed
// ABI entry (AbiArg: kind, group, index, parameter). bindEntryPoint resolves
// them against the model once, when a session is created: each one must name
// something the model has, with the shape the model gives it, or the artifact
// is refused with the argument named. Calls then use the resolved Bindings and
// never look at names.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_ABI_H
#define MTGR_RUNTIME_ABI_H

#include "abi/Artifact.h"

namespace mtgr {

struct Binding {
  ArgKind kind;
  Group group = Group::None;
  size_t index = 0;                   // feature in the group's schema, or task
  const FeatureDesc *feature = nullptr; // feature-bound kinds (into the model)
  const TableDesc *table = nullptr;     // embedding, unique_rows, row_index, embedding grads
  std::string param;                  // param, state, param_grad, grad_input
  std::string slot;                   // state: m | v | acc
  /// Pairs a train_step gradient with apply_update's input of the same
  /// gradient, from the typed fields (a parameter, or a group and feature).
  std::string gradientKey() const;
};

/// Feature `index` of group `g` in the ABI's order (candidate: item
/// features, then cross features), inside `m` (nullptr if
/// there is none).
const FeatureDesc *featureAt(const ModelDesc &m, Group g, size_t index);

/// Resolves and checks every argument of `entry` against `m`; the bindings
/// point into `m`, which must outlive them. Errors read
/// "<where>: manifest: entry point 'forward' argument 3: unknown input 'user.agx'".
llvm::Expected<std::vector<Binding>> bindEntryPoint(const ModelDesc &m, const EntryPoint &entry,
                                                    llvm::StringRef where);

} // namespace mtgr

#endif
