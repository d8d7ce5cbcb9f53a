//===- Abi.cpp - resolve and check an artifact's typed ABI ----------------===//
#include "runtime/Abi.h"

#include "model/ModelStats.h"

#include "llvm/ADT/StringSwitch.h"

#include <set>

using namespace mtgr;

namespace {
std::string shapeText(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + (shape[i] < 0 ? std::string("?") : std::to_string(shape[i]));
  return s + "]";
}
} // namespace

std::string Binding::gradientKey() const {
  if (!param.empty())
    return "param:" + param;
  return std::string("rows:") + toString(group).str() + ":" + std::to_string(index);
}

const FeatureDesc *mtgr::featureAt(const ModelDesc &m, Group g, size_t index) {
  const std::vector<FeatureDesc> *list = g == Group::User       ? &m.user
                                         : g == Group::Sequence ? &m.sequence
                                         : g == Group::Realtime ? &m.realtime
                                         : g == Group::Candidate ? &m.candidateItem
                                                                 : nullptr;
  if (!list)
    return nullptr;
  if (g == Group::Candidate && index >= list->size()) {
    index -= list->size();
    list = &m.candidateCross;
  }
  return index < list->size() ? &(*list)[index] : nullptr;
}

llvm::Expected<std::vector<Binding>> mtgr::bindEntryPoint(const ModelDesc &m,
                                                                const EntryPoint &entry,
                                                                llvm::StringRef where) {
  std::map<std::string, std::vector<int64_t>> paramShapes;
  for (const ParamSpec &p : collectParameters(m))
    paramShapes[p.name] = p.shape;

  std::vector<Binding> out;
  std::set<size_t> outputs;
  for (size_t i = 0; i < entry.args.size(); ++i) {
    const AbiArg &arg = entry.args[i];
    auto bad = [&](const llvm::Twine &what) {
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     where + ": manifest: entry point '" + entry.name +
                                         "' argument " + llvm::Twine(i) + " ('" + arg.name +
                                         "'): " + what);
    };
    Binding b{arg.kind, arg.group, 0, nullptr, nullptr, "", arg.slot};
    // The shape the model gives this argument (-1: a run-time size).
    std::vector<int64_t> expected;
    // Gradients of a lookup's rows are named after the lookup's input.
    std::string prefix =
        b.kind == ArgKind::EmbeddingGrad || b.kind == ArgKind::EmbeddingGradInput
            ? "embedding_grad:"
            : "";
    auto needFeature = [&](bool categorical) -> llvm::Error {
      if (b.group == Group::None || b.group == Group::Tokens)
        return bad("needs a feature group, not '" + toString(arg.group) + "'");
      // The binding points into the model itself (which outlives it).
      const FeatureDesc *f = arg.index < 0 ? nullptr : featureAt(m, b.group, arg.index);
      if (!f || arg.name != prefix + toString(b.group).str() + "." + f->name)
        return bad("unknown input '" + arg.name + "'");
      b.index = arg.index;
      b.feature = f;
      if (b.feature->isCategorical() != categorical)
        return bad(llvm::Twine("input '") + arg.name + "' is " +
                   (categorical ? "dense" : "categorical") + ", the entry point reads it as " +
                   (categorical ? "ids" : "values"));
      if (categorical) {
        b.table = m.findTable(b.feature->table);
        if (!arg.table.empty() && arg.table != b.feature->table)
          return bad("input '" + arg.name + "' reads table '" + b.feature->table + "', not '" +
                     arg.table + "'");
      }
      return llvm::Error::success();
    };
    auto needParam = [&](llvm::StringRef name) -> llvm::Error {
      auto it = paramShapes.find(name.str());
      if (it == paramShapes.end())
        return bad("unknown parameter '" + name + "'");
      b.param = name.str();
      expected = it->second;
      return llvm::Error::success();
    };
    auto needTask = [&](llvm::StringRef prefix) -> llvm::Error {
      if (arg.index < 0 || static_cast<size_t>(arg.index) >= m.tasks.size() ||
          arg.name != prefix.str() + m.tasks[arg.index].name)
        return bad("unknown task '" + arg.name + "'");
      b.index = arg.index;
      expected = {-1, 1};
      return llvm::Error::success();
    };
    llvm::Error e = llvm::Error::success();
    switch (b.kind) {
    case ArgKind::Input:
      if (!(e = needFeature(false)))
        expected = {-1, b.feature->denseDim};
      break;
    case ArgKind::Embedding:
    case ArgKind::EmbeddingGrad:
    case ArgKind::EmbeddingGradInput:
      if (!(e = needFeature(true)))
        expected = {-1, b.table->dim};
      break;
    case ArgKind::RowIndex:
      if (!(e = needFeature(true)))
        expected = {-1};
      break;
    case ArgKind::Offsets:
      if (b.group == Group::None || b.group == Group::User)
        e = bad("offsets need a jagged group, not '" + toString(arg.group) + "'");
      else if (b.group == Group::Tokens && m.mask != ModelDesc::Mask::Intervals)
        e = bad("token offsets, but the model's mask is not 'intervals'");
      expected = {-1};
      break;
    case ArgKind::Time:
      if (b.group != Group::Sequence && b.group != Group::Realtime && b.group != Group::Candidate)
        e = bad("timestamps of group '" + toString(arg.group) + "'");
      expected = {-1};
      break;
    case ArgKind::Intervals:
      if (m.mask != ModelDesc::Mask::Intervals || m.layers == 0)
        e = bad("mask intervals, but the model's mask is not 'intervals'");
      expected = {-1, 3, 2};
      break;
    case ArgKind::Labels:
      e = needTask("labels.");
      break;
    case ArgKind::Output:
      if (!(e = needTask("")) && !outputs.insert(b.index).second)
        e = bad("task '" + arg.name + "' is output twice");
      break;
    case ArgKind::AttentionWork:
      if (m.layers == 0)
        e = bad("attention work counts, but the model has no HSTU layers");
      expected = {2};
      break;
    case ArgKind::PrefixKeys:
    case ArgKind::PrefixValues:
      if (b.group != Group::Prefix || arg.index < 0 || arg.index >= m.layers)
        e = bad("prefix rows of layer " + llvm::Twine(arg.index) + ", group '" +
                toString(arg.group) + "': the model has " + llvm::Twine(m.layers) +
                " layers and these need group 'prefix'");
      b.index = static_cast<size_t>(std::max<int64_t>(arg.index, 0));
      expected = {-1, m.heads * (b.kind == ArgKind::PrefixKeys ? m.dqk : m.dv)};
      break;
    case ArgKind::Hidden:
      if (m.layers == 0)
        e = bad("hidden states, but the model has no HSTU layers");
      expected = {-1, m.dModel};
      break;
    case ArgKind::Param:
      e = needParam(arg.name);
      break;
    case ArgKind::ParamGrad:
    case ArgKind::GradInput:
      e = needParam(arg.param);
      break;
    case ArgKind::State:
      if (!(e = needParam(arg.name))) {
        if (arg.slot == "acc")
          expected = {expected[0]};
        else if (arg.slot != "m" && arg.slot != "v")
          e = bad("unknown optimiser slot '" + arg.slot + "'");
      }
      break;
    case ArgKind::UniqueRows:
      if (!(b.table = m.findTable(arg.table)))
        e = bad("unknown table '" + arg.table + "'");
      expected = {-1};
      break;
    case ArgKind::Rng: // {seed, step, first token of the range in the step}
      expected = {3};
      break;
    case ArgKind::Loss: // a scalar
      expected = {};
      break;
    }
    if (e)
      return std::move(e);
    // A dynamic compiled size takes whatever the runtime passes; a static
    // one must be the model's.
    bool fits = arg.shape.size() == expected.size();
    for (size_t d = 0; fits && d < expected.size(); ++d)
      fits = arg.shape[d] == -1 || arg.shape[d] == expected[d];
    if (!fits)
      return bad("compiled with shape " + shapeText(arg.shape) + ", the model gives " +
                 shapeText(expected));
    out.push_back(std::move(b));
  }
  if ((entry.name == "forward" || entry.name == "score_candidates") &&
      outputs.size() != m.tasks.size())
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   where + ": manifest: entry point '" + entry.name + "' outputs " +
                                       llvm::Twine(outputs.size()) + " of the model's " +
                                       llvm::Twine(m.tasks.size()) + " tasks");
  return out;
}
