//===- ModelParser.cpp - YAML model description -> ModelDesc --------------===//
//
// LLVM's YAML parser (LLVM is built without exceptions, so yaml-cpp is out)
// gives line:col for every node. Its nodes must be visited in document order,
// so the document is first copied into a small tree (YNode), which the checks
// then walk freely. The first error is reported and parsing stops.
//
//===----------------------------------------------------------------------===//
#include "model/ModelDesc.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/YAMLParser.h"

#include <cmath>
#include <limits>

using namespace mtgr;
using llvm::SMLoc;
using llvm::StringRef;
using llvm::Twine;

namespace {

/// The spellings of each enum of ModelDesc.h, in enumerator order.
template <typename E> struct Spellings;
#define MTGR_SPELLINGS(E, ...)                                                                     \
  template <> struct Spellings<E> { static constexpr llvm::StringLiteral names[] = {__VA_ARGS__}; };
MTGR_SPELLINGS(TableDesc::Kind, "fixed", "hashed", "dynamic")
MTGR_SPELLINGS(TableDesc::Eviction, "lru", "lfu")
MTGR_SPELLINGS(TrainingDesc::Optimizer, "adam", "adamw")
MTGR_SPELLINGS(TrainingDesc::SparseOptimizer, "rowwise_adagrad", "adam")
MTGR_SPELLINGS(ModelDesc::NNorm, "total", "visible", "constant")
MTGR_SPELLINGS(ModelDesc::NormOrder, "gate_then_norm", "norm_then_gate")
MTGR_SPELLINGS(ModelDesc::NormGroups, "per_group", "shared")
MTGR_SPELLINGS(ModelDesc::Mask, "dynamic", "causal", "causal_targets", "contextual", "intervals")
#undef MTGR_SPELLINGS

template <typename E> StringRef spell(E v) { return Spellings<E>::names[static_cast<size_t>(v)]; }
template <typename E> llvm::ArrayRef<StringRef> choices() {
  static const std::vector<StringRef> all(std::begin(Spellings<E>::names),
                                          std::end(Spellings<E>::names));
  return all;
}

struct YNode {
  enum Kind { Null, Scalar, Map, Seq } kind = Null;
  std::string text; // scalar value
  SMLoc loc;
  std::vector<std::pair<YNode, YNode>> map;
  std::vector<YNode> seq;

  const char *kindName() const {
    switch (kind) {
    case Null: return "nothing";
    case Scalar: return "a scalar";
    case Map: return "a mapping";
    case Seq: return "a list";
    }
    return "?";
  }
};

/// One mapping's entries after the unknown-key check: key -> value node.
struct Fields {
  std::string where; // "model", "tables[1]", "features.user[0]", ...
  const YNode *node = nullptr;
  std::vector<std::pair<const YNode *, const YNode *>> entries;

  const YNode *get(StringRef key) const {
    for (auto &[k, v] : entries)
      if (k->text == key)
        return v;
    return nullptr;
  }
  const YNode *keyNode(StringRef key) const {
    for (auto &[k, v] : entries)
      if (k->text == key)
        return k;
    return nullptr;
  }
};

class Parser {
public:
  Parser(StringRef text, StringRef path, llvm::raw_ostream &diag)
      : path(path.str()), diag(diag) {
    sm.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(text, path),
                          SMLoc());
    // YAML syntax errors come through the source manager: send them to diag.
    sm.setDiagHandler(
        [](const llvm::SMDiagnostic &d, void *ctx) {
          d.print(nullptr, *static_cast<llvm::raw_ostream *>(ctx), false);
        },
        &diag);
  }

  std::optional<ModelDesc> parse();

private:
  std::string path;
  llvm::raw_ostream &diag;
  llvm::SourceMgr sm;
  bool failed = false;
  ModelDesc m;

  bool error(SMLoc loc, const Twine &msg) {
    if (!failed) {
      llvm::SMDiagnostic d = sm.GetMessage(loc, llvm::SourceMgr::DK_Error, msg);
      // The offending line is quoted unless it is too long to read.
      if (d.getLineContents().size() > 200)
        diag << d.getFilename() << ":" << d.getLineNo() << ":" << d.getColumnNo() + 1
             << ": error: " << d.getMessage() << "\n";
      else
        sm.PrintMessage(diag, d);
    }
    failed = true;
    return false;
  }
  bool error(const YNode *n, const Twine &msg) { return error(n->loc, msg); }

  SrcLoc srcLoc(const YNode *n) {
    if (!n)
      return {};
    auto [line, col] = sm.getLineAndColumn(n->loc);
    return {line, col};
  }

  bool build(llvm::yaml::Node *in, YNode &out, int depth = 0);

  // Typed readers. `key` is named in every message.
  bool readFields(const YNode *n, StringRef where,
                  llvm::ArrayRef<StringRef> allowed,
                  llvm::ArrayRef<StringRef> required, Fields &out);
  bool readString(const Fields &f, StringRef key, std::string &out,
                  llvm::ArrayRef<StringRef> choices = {});
  /// A word that must be one of E's spellings, stored as the enum.
  template <typename E> bool readEnum(const Fields &f, StringRef key, E &out) {
    std::string word;
    if (!readString(f, key, word, choices<E>()))
      return false;
    if (!word.empty())
      out = static_cast<E>(llvm::find(choices<E>(), StringRef(word)) - choices<E>().begin());
    return true;
  }
  bool readInt(const Fields &f, StringRef key, int64_t &out, int64_t min,
               int64_t max = std::numeric_limits<int64_t>::max());
  bool readDouble(const Fields &f, StringRef key, double &out);
  bool readBool(const Fields &f, StringRef key, bool &out);
  bool readSizes(const Fields &f, StringRef key, std::vector<int64_t> &out);
  const YNode *listOf(const Fields &f, StringRef key);

  bool parseTables(const Fields &root);
  bool parseFeatures(const Fields &root);
  bool parseFeatureList(const YNode *list, StringRef where,
                        std::vector<FeatureDesc> &out);
  bool parseStack(const Fields &root);
  bool parseTokenizer(const Fields &root);
  bool parseTasks(const Fields &root);
  bool parseTraining(const Fields &root);
};

bool Parser::build(llvm::yaml::Node *in, YNode &out, int depth) {
  out.loc = in->getSourceRange().Start;
  // Bounded recursion: a description nests a few levels; 50,000 levels of
  // [[[...]]] would overflow the stack.
  if (depth > limits::kMaxNesting)
    return error(out.loc, "nesting deeper than " + Twine(limits::kMaxNesting) +
                              " levels: not a model description");
  if (auto *s = llvm::dyn_cast<llvm::yaml::ScalarNode>(in)) {
    llvm::SmallString<64> storage;
    out.kind = YNode::Scalar;
    out.text = s->getValue(storage).str();
    return true;
  }
  if (auto *s = llvm::dyn_cast<llvm::yaml::BlockScalarNode>(in)) {
    out.kind = YNode::Scalar;
    out.text = s->getValue().str();
    return true;
  }
  if (auto *map = llvm::dyn_cast<llvm::yaml::MappingNode>(in)) {
    out.kind = YNode::Map;
    for (llvm::yaml::KeyValueNode &kv : *map) {
      YNode key, value;
      llvm::yaml::Node *k = kv.getKey();
      if (!k || !build(k, key, depth + 1))
        return false;
      if (key.kind != YNode::Scalar)
        return error(key.loc, "keys must be plain words");
      if (llvm::yaml::Node *v = kv.getValue())
        if (!build(v, value, depth + 1))
          return false;
      if (value.kind == YNode::Null && value.loc == SMLoc())
        value.loc = key.loc;
      out.map.emplace_back(std::move(key), std::move(value));
    }
    return true;
  }
  if (auto *seq = llvm::dyn_cast<llvm::yaml::SequenceNode>(in)) {
    out.kind = YNode::Seq;
    for (llvm::yaml::Node &item : *seq) {
      out.seq.emplace_back();
      if (!build(&item, out.seq.back(), depth + 1))
        return false;
    }
    return true;
  }
  if (llvm::isa<llvm::yaml::NullNode>(in)) {
    out.kind = YNode::Null;
    return true;
  }
  if (llvm::isa<llvm::yaml::AliasNode>(in))
    return error(out.loc, "YAML aliases are not supported in model descriptions");
  return error(out.loc, "unsupported YAML node");
}

bool Parser::readFields(const YNode *n, StringRef where,
                        llvm::ArrayRef<StringRef> allowed,
                        llvm::ArrayRef<StringRef> required, Fields &out) {
  out = Fields();
  out.where = where.str();
  out.node = n;
  if (n->kind != YNode::Map)
    return error(n, Twine("'") + where + "' must be a mapping, got " + n->kindName());
  llvm::StringSet<> seen;
  for (auto &[k, v] : n->map) {
    if (!llvm::is_contained(allowed, StringRef(k.text))) {
      std::string list;
      for (StringRef a : allowed)
        list += (list.empty() ? "" : ", ") + a.str();
      return error(&k, Twine("unknown key '") + k.text + "' in " + where +
                           " (expected one of: " + list + ")");
    }
    if (!seen.insert(k.text).second)
      return error(&k, Twine("duplicate key '") + k.text + "' in " + where);
    out.entries.emplace_back(&k, &v);
  }
  for (StringRef r : required)
    if (!out.get(r))
      return error(n, Twine("missing required key '") + r + "' in " + where);
  return true;
}

static std::string describe(const YNode *v) {
  return v->kind == YNode::Scalar ? "'" + v->text + "'" : v->kindName();
}

bool Parser::readString(const Fields &f, StringRef key, std::string &out,
                        llvm::ArrayRef<StringRef> choices) {
  const YNode *v = f.get(key);
  if (!v)
    return true;
  if (v->kind != YNode::Scalar || v->text.empty())
    return error(v, Twine("key '") + key + "' in " + f.where +
                        ": expected a word, got " + describe(v));
  if (!choices.empty() && !llvm::is_contained(choices, StringRef(v->text))) {
    std::string list;
    for (StringRef c : choices)
      list += (list.empty() ? "" : ", ") + c.str();
    return error(v, Twine("key '") + key + "' in " + f.where + ": '" + v->text +
                        "' is not one of: " + list);
  }
  out = v->text;
  return true;
}

bool Parser::readInt(const Fields &f, StringRef key, int64_t &out, int64_t min,
                     int64_t max) {
  const YNode *v = f.get(key);
  if (!v)
    return true;
  long long value;
  if (v->kind != YNode::Scalar || StringRef(v->text).getAsInteger(10, value))
    return error(v, Twine("key '") + key + "' in " + f.where +
                        ": expected an integer, got " + describe(v));
  if (value < min)
    return error(v, Twine("key '") + key + "' in " + f.where + ": must be >= " +
                        Twine(min) + ", got " + Twine(value));
  if (value > max)
    return error(v, Twine("key '") + key + "' in " + f.where + ": must be <= " +
                        Twine(max) + ", got " + Twine(value));
  out = value;
  return true;
}

bool Parser::readDouble(const Fields &f, StringRef key, double &out) {
  const YNode *v = f.get(key);
  if (!v)
    return true;
  double value;
  if (v->kind != YNode::Scalar || StringRef(v->text).getAsDouble(value) ||
      !std::isfinite(value))
    return error(v, Twine("key '") + key + "' in " + f.where +
                        ": expected a finite number, got " + describe(v));
  out = value;
  return true;
}

bool Parser::readBool(const Fields &f, StringRef key, bool &out) {
  const YNode *v = f.get(key);
  if (!v)
    return true;
  if (v->kind == YNode::Scalar && (v->text == "true" || v->text == "false")) {
    out = v->text == "true";
    return true;
  }
  return error(v, Twine("key '") + key + "' in " + f.where +
                      ": expected true or false, got " + describe(v));
}

bool Parser::readSizes(const Fields &f, StringRef key, std::vector<int64_t> &out) {
  const YNode *v = f.get(key);
  if (!v)
    return true;
  if (v->kind != YNode::Seq)
    return error(v, Twine("key '") + key + "' in " + f.where +
                        ": expected a list of sizes such as [64, 32], got " +
                        describe(v));
  out.clear();
  for (const YNode &item : v->seq) {
    long long value;
    if (item.kind != YNode::Scalar || StringRef(item.text).getAsInteger(10, value))
      return error(&item, Twine("key '") + key + "' in " + f.where +
                              ": expected an integer size, got " + describe(&item));
    if (value <= 0 || value > limits::kMaxWidth)
      return error(&item, Twine("key '") + key + "' in " + f.where + ": sizes must be in [1, " +
                              Twine(limits::kMaxWidth) + "], got " + Twine(value));
    out.push_back(value);
  }
  return true;
}

const YNode *Parser::listOf(const Fields &f, StringRef key) {
  const YNode *v = f.get(key);
  if (v && v->kind != YNode::Seq) {
    error(v, Twine("key '") + key + "' in " + f.where + ": expected a list, got " +
                 describe(v));
    return nullptr;
  }
  return v;
}

//===----------------------------------------------------------------------===//
// Sections
//===----------------------------------------------------------------------===//

bool Parser::parseTables(const Fields &root) {
  const YNode *list = listOf(root, "tables");
  if (!list)
    return !failed;
  llvm::StringSet<> names;
  for (auto [i, item] : llvm::enumerate(list->seq)) {
    std::string where = "tables[" + std::to_string(i) + "]";
    Fields f;
    TableDesc t;
    if (!readFields(&item, where,
                    {"name", "kind", "rows", "capacity", "dim", "admission_threshold", "eviction"},
                    {"name", "dim"}, f) ||
        !readString(f, "name", t.name) || !readEnum(f, "kind", t.kind) ||
        !readInt(f, "dim", t.dim, 1, limits::kMaxWidth))
      return false;
    t.loc = srcLoc(&item);
    bool dynamic = t.kind == TableDesc::Kind::Dynamic;
    // Fixed and hashed tables have rows; a dynamic table has a capacity.
    StringRef sizeKey = dynamic ? "capacity" : "rows";
    StringRef wrongKey = dynamic ? "rows" : "capacity";
    if (const YNode *k = f.keyNode(wrongKey))
      return error(k, Twine("key '") + wrongKey + "' in " + where + " does not apply to " +
                          toString(t.kind) + " tables (use '" + sizeKey + "')");
    if (!f.get(sizeKey))
      return error(&item, Twine("missing required key '") + sizeKey + "' in " + where);
    if (!readInt(f, sizeKey, t.rows, 1, limits::kMaxRows))
      return false;
    for (StringRef key : {"admission_threshold", "eviction"})
      if (!dynamic && f.keyNode(key))
        return error(f.keyNode(key), Twine("key '") + key + "' in " + where +
                                         " applies to dynamic tables only");
    if (!readInt(f, "admission_threshold", t.admissionThreshold, 0) ||
        !readEnum(f, "eviction", t.eviction))
      return false;
    if (!names.insert(t.name).second)
      return error(f.get("name"), Twine("duplicate table name '") + t.name + "'");
    m.tables.push_back(t);
  }
  return true;
}

bool Parser::parseFeatureList(const YNode *list, StringRef where,
                              std::vector<FeatureDesc> &out) {
  if (list->kind != YNode::Seq)
    return error(list, Twine("'") + where + "' must be a list of features, got " +
                           list->kindName());
  llvm::StringSet<> names;
  for (auto [i, item] : llvm::enumerate(list->seq)) {
    std::string at = (where + "[" + Twine(i) + "]").str();
    Fields f;
    FeatureDesc feat;
    if (!readFields(&item, at, {"name", "table", "dense"}, {"name"}, f) ||
        !readString(f, "name", feat.name) || !readString(f, "table", feat.table) ||
        !readInt(f, "dense", feat.denseDim, 1, limits::kMaxWidth))
      return false;
    for (const char *reserved : kReservedFeatureNames)
      if (feat.name == reserved)
        return error(f.get("name"), Twine("feature name '") + feat.name + "' in " + where +
                                        " is reserved: request files use the keys time, id, "
                                        "labels and intervals for themselves, and served "
                                        "requests <group>.offsets");
    feat.loc = srcLoc(&item);
    if (f.get("table") && f.get("dense"))
      return error(&item, Twine("feature '") + feat.name + "' in " + where +
                              " has both 'table' and 'dense': a feature is either "
                              "categorical or dense");
    if (!f.get("table") && !f.get("dense"))
      return error(&item, Twine("feature '") + feat.name + "' in " + where +
                              " needs 'table: NAME' (categorical) or 'dense: WIDTH'");
    if (feat.isCategorical()) {
      const TableDesc *t = m.findTable(feat.table);
      if (!t)
        return error(f.get("table"), Twine("feature '") + feat.name +
                                         "' refers to table '" + feat.table +
                                         "', which is not declared under 'tables'");
      feat.width = t->dim;
    } else {
      feat.width = feat.denseDim;
    }
    if (!names.insert(feat.name).second)
      return error(f.get("name"), Twine("duplicate feature name '") + feat.name +
                                      "' in " + where);
    out.push_back(feat);
  }
  return true;
}

bool Parser::parseFeatures(const Fields &root) {
  Fields f, cand;
  if (!readFields(root.get("features"), "features",
                  {"user", "sequence", "realtime", "candidate"}, {}, f))
    return false;
  auto require = [&](StringRef key) {
    if (!f.get(key))
      return error(f.node, Twine("missing required key '") + key + "' in features");
    return true;
  };
  if (!require("user") || !parseFeatureList(f.get("user"), "features.user", m.user) ||
      !require("sequence") ||
      !parseFeatureList(f.get("sequence"), "features.sequence", m.sequence))
    return false;
  // R events have S's schema unless the description gives R its own.
  if (const YNode *r = f.get("realtime")) {
    if (!parseFeatureList(r, "features.realtime", m.realtime))
      return false;
  } else {
    m.realtime = m.sequence;
  }
  if (!require("candidate") ||
      !readFields(f.get("candidate"), "features.candidate", {"item", "cross"},
                  {"item"}, cand) ||
      !parseFeatureList(cand.get("item"), "features.candidate.item",
                        m.candidateItem))
    return false;
  if (const YNode *c = cand.get("cross"))
    if (!parseFeatureList(c, "features.candidate.cross", m.candidateCross))
      return false;
  struct Group { const std::vector<FeatureDesc> &list; const char *key; };
  for (Group g : {Group{m.user, "features.user"}, Group{m.sequence, "features.sequence"},
                  Group{m.candidateItem, "features.candidate.item"}})
    if (g.list.empty())
      return error(f.node, Twine("'") + g.key + "' needs at least one feature");
  return true;
}

bool Parser::parseStack(const Fields &root) {
  using namespace limits;
  if (!readString(root, "name", m.name) || !readInt(root, "layers", m.layers, 0, kMaxLayers) ||
      !readInt(root, "d_model", m.dModel, 1, kMaxWidth) ||
      !readInt(root, "heads", m.heads, 1, kMaxHeads) ||
      !readInt(root, "dqk", m.dqk, 1, kMaxWidth) || !readInt(root, "dv", m.dv, 1, kMaxWidth) ||
      !readDouble(root, "alpha", m.alpha) || !readEnum(root, "norm_order", m.normOrder) ||
      !readEnum(root, "norm_groups", m.normGroups) || !readEnum(root, "mask", m.mask) ||
      !readDouble(root, "dropout", m.dropout))
    return false;
  m.layersLoc = srcLoc(root.keyNode("layers"));
  // dqk = dv = d_model / heads unless given; then d_model need not divide.
  const YNode *headsKey = root.keyNode("heads") ? root.keyNode("heads") : root.node;
  if (m.layers > 0 && (!root.get("dqk") || !root.get("dv")) && m.dModel % m.heads != 0)
    return error(headsKey, Twine("d_model = ") + Twine(m.dModel) +
                               " is not divisible by heads = " + Twine(m.heads) +
                               " (give dqk and dv explicitly, or change heads)");
  if (!root.get("dqk"))
    m.dqk = m.dModel / m.heads;
  if (!root.get("dv"))
    m.dv = m.dModel / m.heads;
  if (root.get("alpha")) {
    if (m.alpha <= 0)
      return error(root.get("alpha"), "key 'alpha' in model: must be positive");
  } else {
    m.alpha = 1.0 / std::sqrt(static_cast<double>(m.dqk));
  }
  if (root.get("dropout") && !(m.dropout >= 0.0 && m.dropout < 1.0))
    return error(root.get("dropout"), "key 'dropout' in model: must be in [0, 1)");
  if (const YNode *n = root.get("n_norm")) {
    double c;
    if (n->kind == YNode::Scalar && (n->text == "total" || n->text == "visible")) {
      m.nNorm = n->text == "total" ? ModelDesc::NNorm::Total : ModelDesc::NNorm::Visible;
    } else if (n->kind == YNode::Scalar && !StringRef(n->text).getAsDouble(c)) {
      if (!(c > 0.0) || !std::isfinite(c))
        return error(n, "key 'n_norm' in model: a constant must be positive, got '" +
                            n->text + "'");
      m.nNorm = ModelDesc::NNorm::Constant;
      m.nNormConstant = c;
    } else {
      return error(n, "key 'n_norm' in model: expected total, visible or a positive "
                      "number, got " + describe(n));
    }
  }
  if (const YNode *r = root.get("rab")) {
    Fields f;
    if (!readFields(r, "rab", {"positions", "time_buckets"},
                    {"positions", "time_buckets"}, f) ||
        !readInt(f, "positions", m.rabMaxPos, 1, limits::kMaxRabPositions) ||
        !readInt(f, "time_buckets", m.rabTimeBuckets, 1, limits::kMaxTimeBuckets))
      return false;
    m.rab = true;
  }
  return true;
}

bool Parser::parseTokenizer(const Fields &root) {
  Fields f;
  if (const YNode *t = root.get("tokenizer")) {
    if (!readFields(t, "tokenizer",
                    {"sequence_mlp", "realtime_mlp", "candidate_mlp", "candidate_context"},
                    {}, f) ||
        !readSizes(f, "sequence_mlp", m.sequenceMlp) ||
        !readSizes(f, "realtime_mlp", m.realtimeMlp) ||
        !readSizes(f, "candidate_mlp", m.candidateMlp) ||
        !readBool(f, "candidate_context", m.candidateContext))
      return false;
    m.realtimeOwnMlp = f.get("realtime_mlp") != nullptr;
  }
  if (!m.realtimeOwnMlp &&
      ModelDesc::totalWidth(m.realtime) != ModelDesc::totalWidth(m.sequence)) {
    const YNode *at = root.get("tokenizer") ? root.get("tokenizer") : root.get("features");
    return error(at, Twine("realtime events are ") +
                         Twine(ModelDesc::totalWidth(m.realtime)) +
                         " wide but sequence events " +
                         Twine(ModelDesc::totalWidth(m.sequence)) +
                         ": they cannot share MLP_seq; give tokenizer.realtime_mlp");
  }
  return true;
}

bool Parser::parseTasks(const Fields &root) {
  const YNode *list = listOf(root, "tasks");
  if (!list)
    return false;
  if (list->seq.empty())
    return error(list, "'tasks' needs at least one task");
  llvm::StringSet<> names;
  for (auto [i, item] : llvm::enumerate(list->seq)) {
    std::string where = "tasks[" + std::to_string(i) + "]";
    Fields f;
    TaskDesc t;
    if (!readFields(&item, where, {"name", "weight", "mlp"}, {"name"}, f) ||
        !readString(f, "name", t.name) || !readDouble(f, "weight", t.weight) ||
        !readSizes(f, "mlp", t.hidden))
      return false;
    if (t.weight < 0)
      return error(f.get("weight"), Twine("key 'weight' in ") + where + ": must be >= 0");
    if (!names.insert(t.name).second)
      return error(f.get("name"), Twine("duplicate task name '") + t.name + "'");
    t.loc = srcLoc(&item);
    m.tasks.push_back(t);
  }
  return true;
}

bool Parser::parseTraining(const Fields &root) {
  const YNode *n = root.get("training");
  if (!n)
    return true;
  Fields f;
  TrainingDesc &t = m.training;
  int64_t seed = 0;
  if (!readFields(n, "training",
                  {"optimizer", "lr", "betas", "eps", "weight_decay", "sparse_optimizer",
                   "sparse_lr", "candidates_per_step", "tokens_per_step", "seed"},
                  {}, f) ||
      !readEnum(f, "optimizer", t.optimizer) || !readDouble(f, "lr", t.lr) ||
      !readDouble(f, "eps", t.eps) || !readDouble(f, "weight_decay", t.weightDecay) ||
      !readEnum(f, "sparse_optimizer", t.sparseOptimizer) ||
      !readDouble(f, "sparse_lr", t.sparseLr) ||
      !readInt(f, "candidates_per_step", t.candidatesPerStep, 1, limits::kMaxPerStep) ||
      !readInt(f, "tokens_per_step", t.tokensPerStep, 1, limits::kMaxPerStep) ||
      !readInt(f, "seed", seed, 0))
    return false;
  t.seed = static_cast<uint64_t>(seed);
  if (t.optimizer == TrainingDesc::Optimizer::AdamW && !f.get("weight_decay"))
    t.weightDecay = 0.01; // PyTorch's AdamW default
  for (StringRef key : {"lr", "eps", "sparse_lr"})
    if (const YNode *v = f.get(key)) {
      double value = 0;
      StringRef(v->text).getAsDouble(value);
      if (value <= 0)
        return error(v, Twine("key '") + key + "' in training: must be positive");
    }
  if (t.weightDecay < 0)
    return error(f.get("weight_decay"), "key 'weight_decay' in training: must be >= 0");
  if (const YNode *b = f.get("betas")) {
    if (b->kind != YNode::Seq || b->seq.size() != 2)
      return error(b, "key 'betas' in training: expected [beta1, beta2]");
    double v[2];
    for (int i = 0; i < 2; ++i)
      if (b->seq[i].kind != YNode::Scalar || StringRef(b->seq[i].text).getAsDouble(v[i]) ||
          !(v[i] >= 0.0 && v[i] < 1.0))
        return error(&b->seq[i], "key 'betas' in training: each beta must be in [0, 1)");
    t.beta1 = v[0];
    t.beta2 = v[1];
  }
  return true;
}

std::optional<ModelDesc> Parser::parse() {
  llvm::yaml::Stream stream(sm.getMemoryBuffer(sm.getMainFileID())->getMemBufferRef(),
                            sm);
  YNode doc;
  auto it = stream.begin();
  if (it == stream.end() || !it->getRoot()) {
    error(SMLoc::getFromPointer(sm.getMemoryBuffer(1)->getBufferStart()),
          "empty model description");
    return std::nullopt;
  }
  bool built = build(it->getRoot(), doc);
  if (stream.failed() || !built || failed)
    return std::nullopt;
  if (++it != stream.end() && it->getRoot() &&
      !llvm::isa<llvm::yaml::NullNode>(it->getRoot())) {
    error(it->getRoot()->getSourceRange().Start,
          "a model description is a single YAML document");
    return std::nullopt;
  }
  if (doc.kind == YNode::Null) {
    error(doc.loc, "empty model description");
    return std::nullopt;
  }
  m.path = path;
  Fields root;
  if (!readFields(&doc, "model",
                  {"name", "layers", "d_model", "heads", "dqk", "dv", "alpha", "n_norm",
                   "norm_order", "norm_groups", "mask", "dropout", "rab", "tables", "features",
                   "tokenizer", "tasks", "training"},
                  {}, root))
    return std::nullopt;
  // Sections are checked in dependency order; a required key is reported
  // missing only once everything before it is valid, so that the first error
  // is the one nearest the top of the file.
  auto require = [&](StringRef key) {
    if (!root.get(key))
      return error(&doc, Twine("missing required key '") + key + "' in model");
    return true;
  };
  if (!parseStack(root) || !require("name") || !require("layers") ||
      !require("d_model") || !parseTables(root) || !require("features") ||
      !parseFeatures(root) || !parseTokenizer(root) || !require("tasks") ||
      !parseTasks(root) || !parseTraining(root))
    return std::nullopt;
  return std::move(m);
}

} // namespace

StringRef mtgr::toString(TableDesc::Kind v) { return spell(v); }
StringRef mtgr::toString(TableDesc::Eviction v) { return spell(v); }
StringRef mtgr::toString(TrainingDesc::Optimizer v) { return spell(v); }
StringRef mtgr::toString(TrainingDesc::SparseOptimizer v) { return spell(v); }
StringRef mtgr::toString(ModelDesc::NNorm v) { return spell(v); }
StringRef mtgr::toString(ModelDesc::NormOrder v) { return spell(v); }
StringRef mtgr::toString(ModelDesc::NormGroups v) { return spell(v); }
StringRef mtgr::toString(ModelDesc::Mask v) { return spell(v); }

const TableDesc *ModelDesc::findTable(StringRef name) const {
  for (const TableDesc &t : tables)
    if (t.name == name)
      return &t;
  return nullptr;
}

int64_t ModelDesc::totalWidth(const std::vector<FeatureDesc> &features) {
  int64_t w = 0;
  for (const FeatureDesc &f : features)
    w += f.width;
  return w;
}

int64_t ModelDesc::contextWidth() const {
  if (!candidateContext)
    return 0;
  return totalWidth(user) + totalWidth(sequence) + totalWidth(realtime);
}

std::optional<ModelDesc> mtgr::parseModelDesc(StringRef text, StringRef path,
                                              llvm::raw_ostream &diag) {
  return Parser(text, path, diag).parse();
}

std::optional<ModelDesc> mtgr::loadModelDesc(StringRef path, llvm::raw_ostream &diag) {
  auto buffer = llvm::MemoryBuffer::getFileOrSTDIN(path, /*IsText=*/true);
  if (!buffer) {
    diag << path << ": error: cannot read model description: "
         << buffer.getError().message() << "\n";
    return std::nullopt;
  }
  return parseModelDesc((*buffer)->getBuffer(), path, diag);
}

bool mtgr::isModelDescPath(StringRef path) {
  return path.ends_with(".yaml") || path.ends_with(".yml");
}
