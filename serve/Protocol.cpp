//===- Protocol.cpp - KServe v2 / Open Inference Protocol requests and responses -===//
#include "serve/Protocol.h"
#include "data/Requests.h"
#include "model/Error.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <cstring>

using namespace mtgr;
using namespace mtgr::serve;
namespace json = llvm::json;

int64_t Tensor::elements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

namespace {
llvm::Error bad(const llvm::Twine &what) { return fail(what.str()); }

/// Appends the numbers of a (possibly nested) JSON array, row-major.
template <typename T> bool flatten(const json::Value &v, std::vector<T> &out, int64_t limit) {
  if (const json::Array *a = v.getAsArray()) {
    for (const json::Value &e : *a)
      if (!flatten(e, out, limit))
        return false;
    return true;
  }
  if (static_cast<int64_t>(out.size()) >= limit)
    return false;
  if constexpr (std::is_same_v<T, int64_t>) {
    auto i = v.getAsInteger();
    if (!i)
      return false;
    out.push_back(*i);
  } else {
    auto d = v.getAsNumber();
    if (!d)
      return false;
    out.push_back(static_cast<float>(*d));
  }
  return true;
}

bool flattenStrings(const json::Value &v, std::vector<std::string> &out, int64_t limit) {
  if (const json::Array *a = v.getAsArray()) {
    for (const json::Value &e : *a)
      if (!flattenStrings(e, out, limit))
        return false;
    return true;
  }
  auto s = v.getAsString();
  if (!s || static_cast<int64_t>(out.size()) >= limit)
    return false;
  out.push_back(s->str());
  return true;
}

/// Reads `n` elements of `t`'s datatype from binary data (the extension's
/// layout: little-endian values; BYTES: a 4-byte length before each element).
llvm::Error readBinary(Tensor &t, llvm::StringRef data, int64_t n) {
  auto wrong = [&](const llvm::Twine &why) {
    return bad("input '" + t.name + "': binary data " + why);
  };
  if (t.datatype == "INT64" || t.datatype == "FP32") {
    size_t width = t.datatype == "INT64" ? 8 : 4;
    if (data.size() != static_cast<size_t>(n) * width)
      return wrong(llvm::formatv("of {0} bytes for {1} {2} elements ({3} bytes)", data.size(), n,
                                 t.datatype, static_cast<size_t>(n) * width));
    if (width == 8) {
      t.i64.resize(n);
      std::memcpy(t.i64.data(), data.data(), data.size());
    } else {
      t.f32.resize(n);
      std::memcpy(t.f32.data(), data.data(), data.size());
    }
    return llvm::Error::success();
  }
  size_t at = 0;
  while (at < data.size()) {
    if (data.size() - at < 4)
      return wrong("ends inside an element's length");
    uint32_t len;
    std::memcpy(&len, data.data() + at, 4);
    at += 4;
    if (len > data.size() - at)
      return wrong(llvm::formatv("element {0} says {1} bytes, {2} are left", t.bytes.size(), len,
                                 data.size() - at));
    t.bytes.emplace_back(data.data() + at, len);
    at += len;
  }
  if (static_cast<int64_t>(t.bytes.size()) != n)
    return wrong(llvm::formatv("holds {0} elements, the shape says {1}", t.bytes.size(), n));
  return llvm::Error::success();
}
} // namespace

llvm::Expected<InferRequest> mtgr::serve::parseInferRequest(llvm::StringRef body,
                                                            std::optional<uint64_t> jsonLength,
                                                            const Limits &limits) {
  if (body.size() > limits.maxBodyBytes)
    return bad(llvm::formatv("request body of {0} bytes, more than the limit of {1}", body.size(),
                             limits.maxBodyBytes));
  if (jsonLength && *jsonLength > body.size())
    return bad(llvm::formatv("Inference-Header-Content-Length {0} is more than the body's {1} "
                             "bytes",
                             *jsonLength, body.size()));
  llvm::StringRef jsonText = jsonLength ? body.take_front(*jsonLength) : body;
  llvm::StringRef binary = jsonLength ? body.drop_front(*jsonLength) : llvm::StringRef();
  auto parsed = json::parse(jsonText);
  if (!parsed)
    return bad("request JSON: " + llvm::toString(parsed.takeError()));
  const json::Object *o = parsed->getAsObject();
  if (!o)
    return bad("request JSON: not an object");
  InferRequest r;
  if (const json::Value *id = o->get("id")) {
    auto s = id->getAsString();
    if (!s)
      return bad("request 'id' is not a string");
    r.id = s->str();
  }
  if (const json::Object *p = o->getObject("parameters"))
    r.binaryByDefault = p->getBoolean("binary_data_output").value_or(false);
  const json::Array *inputs = o->getArray("inputs");
  if (!inputs)
    return bad("request JSON: no 'inputs' array");
  for (const json::Value &iv : *inputs) {
    const json::Object *in = iv.getAsObject();
    Tensor t;
    auto name = in ? in->getString("name") : std::nullopt;
    auto datatype = in ? in->getString("datatype") : std::nullopt;
    const json::Array *shape = in ? in->getArray("shape") : nullptr;
    if (!name || !datatype || !shape)
      return bad(llvm::formatv("input {0}: needs 'name', 'datatype' and 'shape'", r.inputs.size()));
    t.name = name->str(), t.datatype = datatype->str();
    if (t.datatype != "INT64" && t.datatype != "FP32" && t.datatype != "BYTES")
      return bad("input '" + t.name + "': datatype " + t.datatype +
                 " (mtgr models take INT64, FP32 and BYTES)");
    int64_t n = 1;
    for (const json::Value &d : *shape) {
      auto dim = d.getAsInteger();
      if (!dim || *dim < 0 || *dim > limits.maxElements)
        return bad("input '" + t.name + "': a shape dimension is not an integer in [0, " +
                   std::to_string(limits.maxElements) + "]");
      t.shape.push_back(*dim);
      n *= *dim;
      if (n > limits.maxElements)
        return bad(
            llvm::formatv("input '{0}': more than {1} elements", t.name, limits.maxElements));
    }
    std::optional<int64_t> binarySize;
    if (const json::Object *p = in->getObject("parameters"))
      binarySize = p->getInteger("binary_data_size");
    if (binarySize) {
      if (*binarySize < 0 || static_cast<uint64_t>(*binarySize) > binary.size())
        return bad(llvm::formatv("input '{0}': binary_data_size {1}, but {2} bytes of binary "
                                 "data are left",
                                 t.name, *binarySize, binary.size()));
      if (auto e = readBinary(t, binary.take_front(*binarySize), n))
        return std::move(e);
      binary = binary.drop_front(*binarySize);
    } else {
      const json::Value *data = in->get("data");
      if (!data)
        return bad("input '" + t.name + "': no 'data' and no binary_data_size");
      bool ok = t.datatype == "INT64"  ? flatten(*data, t.i64, n)
                : t.datatype == "FP32" ? flatten(*data, t.f32, n)
                                       : flattenStrings(*data, t.bytes, n);
      int64_t got = static_cast<int64_t>(t.i64.size() + t.f32.size() + t.bytes.size());
      if (!ok || got != n)
        return bad(llvm::formatv("input '{0}': 'data' is not {1} {2} values (the shape's)", t.name,
                                 n, t.datatype));
    }
    for (const Tensor &other : r.inputs)
      if (other.name == t.name)
        return bad("input '" + t.name + "' given twice");
    r.inputs.push_back(std::move(t));
  }
  if (!binary.empty())
    return bad(llvm::formatv("{0} bytes of binary data that no input claims", binary.size()));
  if (const json::Array *outputs = o->getArray("outputs"))
    for (const json::Value &ov : *outputs) {
      const json::Object *out = ov.getAsObject();
      auto name = out ? out->getString("name") : std::nullopt;
      if (!name)
        return bad("an output without a 'name'");
      bool binaryOut = r.binaryByDefault;
      if (const json::Object *p = out->getObject("parameters"))
        binaryOut = p->getBoolean("binary_data").value_or(binaryOut);
      r.outputs.push_back({name->str(), binaryOut});
    }
  return r;
}

namespace {
/// The schema of one group of the batch (features in ABI order).
struct GroupSchema {
  const char *name;
  std::vector<FeatureDesc> features;
  std::vector<int64_t> *offsets, *times;
  std::vector<FeatureColumn> *columns;
};
} // namespace

llvm::Expected<Batch> mtgr::serve::batchFromTensors(const ModelDesc &m,
                                                    const std::vector<Tensor> &inputs,
                                                    const Limits &limits) {
  auto find = [&](llvm::StringRef name) -> const Tensor * {
    for (const Tensor &t : inputs)
      if (t.name == name)
        return &t;
    return nullptr;
  };
  Batch b;
  if (const Tensor *requests = find("requests")) {
    if (inputs.size() != 1)
      return bad("input 'requests' comes alone: the other inputs describe the same batch as "
                 "columns");
    if (requests->datatype != "BYTES")
      return bad("input 'requests' must be BYTES (one JSON request per element), not " +
                 requests->datatype);
    std::string text;
    for (const std::string &line : requests->bytes) {
      if (line.find('\n') != std::string::npos)
        return bad("input 'requests': an element holds a newline (one request per element)");
      text += line + "\n";
    }
    auto read = readRequests(m, text, "requests");
    if (!read)
      return read.takeError();
    b = std::move(*read);
  } else {
    b = makeEmptyBatch(m);
    std::vector<FeatureDesc> cand = m.candidateItem;
    cand.insert(cand.end(), m.candidateCross.begin(), m.candidateCross.end());
    GroupSchema groups[] = {
        {"sequence", m.sequence, &b.sequenceOffsets, &b.sequenceTimes, &b.sequence},
        {"realtime", m.realtime, &b.realtimeOffsets, &b.realtimeTimes, &b.realtime},
        {"candidate", cand, &b.candidateOffsets, &b.candidateTimes, &b.candidate}};
    auto need = [&](const std::string &name,
                    const char *datatype) -> llvm::Expected<const Tensor *> {
      const Tensor *t = find(name);
      if (!t)
        return bad("missing input '" + name + "' (" + datatype + ")");
      if (t->datatype != datatype)
        return bad("input '" + name + "' must be " + datatype + ", not " + t->datatype);
      return t;
    };
    for (GroupSchema &g : groups) {
      auto offsets = need(std::string(g.name) + ".offsets", "INT64");
      if (!offsets)
        return offsets.takeError();
      *g.offsets = (*offsets)->i64;
      auto times = need(std::string(g.name) + ".time", "INT64");
      if (!times)
        return times.takeError();
      *g.times = (*times)->i64;
    }
    b.numSamples = static_cast<int64_t>(b.candidateOffsets.size()) - 1;
    if (b.numSamples < 0)
      return bad("input 'candidate.offsets' is empty (B + 1 entries)");
    auto fill = [&](const char *group, const std::vector<FeatureDesc> &schema,
                    std::vector<FeatureColumn> &columns) -> llvm::Error {
      columns.resize(schema.size());
      for (size_t f = 0; f < schema.size(); ++f) {
        std::string name = std::string(group) + "." + schema[f].name;
        auto t = need(name, schema[f].isCategorical() ? "INT64" : "FP32");
        if (!t)
          return t.takeError();
        if (schema[f].isCategorical())
          columns[f].ids = (*t)->i64;
        else
          columns[f].values = (*t)->f32;
      }
      return llvm::Error::success();
    };
    if (auto e = fill("user", m.user, b.user))
      return std::move(e);
    for (GroupSchema &g : groups)
      if (auto e = fill(g.name, g.features, *g.columns))
        return std::move(e);
    if (const Tensor *ids = find("user_ids")) {
      if (ids->datatype != "INT64")
        return bad("input 'user_ids' must be INT64");
      b.userIds = ids->i64;
    } else {
      for (int64_t u = 0; u < b.numSamples; ++u)
        b.userIds.push_back(u);
    }
    if (static_cast<int64_t>(b.userIds.size()) != b.numSamples)
      return bad(llvm::formatv("input 'user_ids' has {0} ids for {1} samples", b.userIds.size(),
                               b.numSamples));
    for (int64_t c = 0; c < b.numCandidates(); ++c)
      b.candidateIds.push_back(c);
  }
  // Limits before validation (which walks every row).
  if (b.numSamples > limits.maxSamples)
    return bad(llvm::formatv("{0} samples (users) in one request, more than the limit of {1}",
                             b.numSamples, limits.maxSamples));
  if (b.numCandidates() > limits.maxCandidates)
    return bad(llvm::formatv("{0} candidates in one request, more than the limit of {1}",
                             b.numCandidates(), limits.maxCandidates));
  if (auto e = validateBatch(m, b))
    return std::move(e);
  if (b.totalTokens(m) > limits.maxTokens)
    return bad(llvm::formatv("{0} tokens in one request, more than the limit of {1}",
                             b.totalTokens(m), limits.maxTokens));
  return b;
}

std::string mtgr::serve::inferResponse(const ModelDesc &m, llvm::StringRef modelName,
                                       llvm::StringRef version, const InferRequest &request,
                                       const std::vector<std::vector<float>> &scores,
                                       uint64_t &jsonLength, std::string &error) {
  std::vector<std::pair<size_t, bool>> wanted; // task, binary
  if (request.outputs.empty())
    for (size_t t = 0; t < m.tasks.size(); ++t)
      wanted.push_back({t, request.binaryByDefault});
  for (const auto &[name, binary] : request.outputs) {
    size_t t = 0;
    while (t < m.tasks.size() && m.tasks[t].name != name)
      ++t;
    if (t == m.tasks.size()) {
      error = "unknown output '" + name + "' (the outputs are the model's tasks)";
      return "";
    }
    wanted.push_back({t, binary});
  }
  json::Array outputs;
  std::string binaryData;
  for (auto [t, binary] : wanted) {
    const std::vector<float> &s = scores[t];
    json::Object out{{"name", m.tasks[t].name},
                     {"datatype", "FP32"},
                     {"shape", json::Array{static_cast<int64_t>(s.size())}}};
    if (binary) {
      out["parameters"] = json::Object{{"binary_data_size", static_cast<int64_t>(s.size() * 4)}};
      binaryData.append(reinterpret_cast<const char *>(s.data()), s.size() * 4);
    } else {
      json::Array data;
      for (float x : s)
        data.push_back(static_cast<double>(x));
      out["data"] = std::move(data);
    }
    outputs.push_back(std::move(out));
  }
  json::Object response{
      {"model_name", modelName}, {"model_version", version}, {"outputs", std::move(outputs)}};
  if (!request.id.empty())
    response["id"] = request.id;
  std::string text;
  llvm::raw_string_ostream os(text);
  os << json::Value(std::move(response));
  os.flush();
  jsonLength = binaryData.empty() ? 0 : text.size();
  return text + binaryData;
}

std::string mtgr::serve::modelMetadata(const ModelDesc &m, llvm::StringRef name,
                                       llvm::StringRef version, const std::string &platform) {
  json::Array inputs;
  // shape [-1] or [-1, width]
  auto add = [&](const std::string &n, const char *type, int64_t width = 0) {
    json::Array shape{-1};
    if (width)
      shape.push_back(width);
    inputs.push_back(json::Object{{"name", n}, {"datatype", type}, {"shape", std::move(shape)}});
  };
  auto addFeature = [&](const std::string &group, const FeatureDesc &f) {
    if (f.isCategorical())
      add(group + "." + f.name, "INT64");
    else
      add(group + "." + f.name, "FP32", f.denseDim);
  };
  add("requests", "BYTES");
  add("user_ids", "INT64");
  for (const FeatureDesc &f : m.user)
    addFeature("user", f);
  std::vector<FeatureDesc> cand = m.candidateItem;
  cand.insert(cand.end(), m.candidateCross.begin(), m.candidateCross.end());
  for (auto [group, schema] :
       {std::pair{"sequence", &m.sequence}, std::pair{"realtime", &m.realtime},
        std::pair{"candidate", static_cast<const std::vector<FeatureDesc> *>(&cand)}}) {
    add(std::string(group) + ".offsets", "INT64");
    add(std::string(group) + ".time", "INT64");
    for (const FeatureDesc &f : *schema)
      addFeature(group, f);
  }
  json::Array outputs;
  for (const TaskDesc &t : m.tasks)
    outputs.push_back(
        json::Object{{"name", t.name}, {"datatype", "FP32"}, {"shape", json::Array{-1}}});
  json::Object o{{"name", name},
                 {"versions", json::Array{version}},
                 {"platform", platform},
                 {"inputs", std::move(inputs)},
                 {"outputs", std::move(outputs)}};
  std::string text;
  llvm::raw_string_ostream os(text);
  os << json::Value(std::move(o));
  return os.str();
}
