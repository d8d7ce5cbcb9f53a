//===- Artifact.cpp - write, read and check .mtgr files -------------------===//
#include "abi/Artifact.h"
#include "model/Error.h"
#include "abi/Container.h"
#include "model/ModelStats.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include "llvm/Config/llvm-config.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/xxhash.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <cstring>

using namespace mtgr;
namespace json = llvm::json;

namespace {
constexpr char kMagic[8] = {'M', 'T', 'G', 'R', 'A', 'R', 'T', '\n'};


json::Array entryPointsJson(const std::vector<EntryPoint> &entryPoints) {
  json::Array entries;
  for (const EntryPoint &e : entryPoints) {
    json::Array args;
    for (const AbiArg &arg : e.args) {
      json::Object o{{"kind", toString(arg.kind)}, {"name", arg.name}};
      if (arg.group != Group::None)
        o["group"] = toString(arg.group);
      if (arg.index >= 0)
        o["index"] = arg.index;
      if (!arg.param.empty())
        o["param"] = arg.param;
      if (!arg.table.empty())
        o["table"] = arg.table;
      if (!arg.slot.empty())
        o["slot"] = arg.slot;
      o["shape"] = json::Array(arg.shape);
      args.push_back(std::move(o));
    }
    entries.push_back(json::Object{{"name", e.name},
                                   {"symbol", e.symbol},
                                   {"args", std::move(args)},
                                   {"working_memory", json::Object{{"fixed", e.fixedBytes},
                                                                   {"per_row", e.bytesPerRow}}}});
  }
  return entries;
}

std::string manifestJson(const Artifact &a) {
  json::Array entries = entryPointsJson(a.entryPoints);
  json::Array params;
  for (const ParamSpec &p : collectParameters(a.model)) {
    json::Object o{{"name", p.name}, {"shape", json::Array(p.shape)}, {"init", p.init}};
    if (p.init == "normal")
      o["std"] = p.std;
    params.push_back(std::move(o));
  }
  json::Array code;
  for (const CodeSection &c : a.code)
    code.push_back(json::Object{{"section", c.name}, {"target", c.target}});
  json::Object manifest{{"format_version", kArtifactVersion},
                        {"compiler_version", a.compilerVersion},
                        {"backend", a.backend},
                        {"numerics", a.numerics},
                        {"code", std::move(code)},
                        {"model_name", a.model.name},
                        {"model_hash", a.modelHash},
                        {"entry_points", std::move(entries)},
                        {"train_step_missing", a.trainStepMissing},
                        {"prefix_split_missing", a.prefixSplitMissing},
                        {"parameters", std::move(params)}};
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::formatv("{0:2}", json::Value(std::move(manifest)));
  return s;
}

llvm::Error readManifest(llvm::StringRef text, llvm::StringRef path, Artifact &a) {
  auto value = json::parse(text);
  if (!value)
    return fail(path, "section 'manifest': invalid JSON: " + llvm::toString(value.takeError()));
  json::Path::Root root("manifest");
  const json::Object *o = value->getAsObject();
  auto str = [&](const json::Object *obj, llvm::StringRef key) -> std::optional<std::string> {
    if (!obj)
      return std::nullopt;
    if (auto s = obj->getString(key))
      return s->str();
    return std::nullopt;
  };
  // The format version first: an older artifact lacks newer fields.
  auto format = o ? o->getInteger("format_version") : std::nullopt;
  if (!format || *format != kArtifactVersion)
    return fail(path, "section 'manifest': format_version " +
                          (format ? llvm::Twine(*format) : llvm::Twine("missing")) +
                          ", this runtime reads version " + llvm::Twine(kArtifactVersion) +
                          ": recompile the model with this mtgr-compile");
  auto compiler = str(o, "compiler_version"), backend = str(o, "backend"),
       hash = str(o, "model_hash");
  const json::Array *entries = o->getArray("entry_points");
  const json::Array *code = o->getArray("code");
  if (!compiler || !backend || !code || !hash || !entries)
    return fail(path, "section 'manifest': missing compiler_version, backend, code, model_hash "
                      "or entry_points");
  if (*compiler != compilerVersion())
    return fail(path, "compiled by '" + *compiler + "', this runtime is '" + compilerVersion() +
                          "': recompile the model with this mtgr-compile");
  a.compilerVersion = *compiler;
  a.trainStepMissing = str(o, "train_step_missing").value_or("");
  a.prefixSplitMissing = str(o, "prefix_split_missing").value_or("");
  a.backend = *backend;
  a.numerics = str(o, "numerics").value_or("");
  if (a.numerics != "fp32" && a.numerics != "bf16")
    return fail(path, "section 'manifest': numerics '" + a.numerics + "' is not fp32 or bf16");
  for (const json::Value &cv : *code) {
    auto section = str(cv.getAsObject(), "section"), target = str(cv.getAsObject(), "target");
    if (!section || !target)
      return fail(path, "section 'manifest': a code entry lacks its section or target");
    a.code.push_back(CodeSection{*section, *target, ""});
  }
  a.modelHash = *hash;
  for (const json::Value &ev : *entries) {
    const json::Object *e = ev.getAsObject();
    EntryPoint ep;
    auto name = str(e, "name"), symbol = str(e, "symbol");
    const json::Array *args = e ? e->getArray("args") : nullptr;
    if (!name || !symbol || !args)
      return fail(path, "section 'manifest': an entry point lacks name, symbol or args");
    ep.name = *name;
    ep.symbol = *symbol;
    const json::Object *memory = e->getObject("working_memory");
    auto fixed = memory ? memory->getInteger("fixed") : std::nullopt;
    auto perRow = memory ? memory->getInteger("per_row") : std::nullopt;
    if (!fixed || !perRow || *fixed < 0 || *perRow < 0)
      return fail(path, "section 'manifest': entry point '" + ep.name +
                            "' lacks its working_memory {fixed, per_row}");
    ep.fixedBytes = *fixed;
    ep.bytesPerRow = *perRow;
    for (const json::Value &av : *args) {
      const json::Object *arg = av.getAsObject();
      auto kind = str(arg, "kind"), argName = str(arg, "name");
      const json::Array *shape = arg ? arg->getArray("shape") : nullptr;
      if (!kind || !argName || !shape)
        return fail(path, "section 'manifest': entry point '" + ep.name + "' argument " +
                              llvm::Twine(ep.args.size()) + " lacks its kind, name or shape");
      auto argKind = parseArgKind(*kind);
      std::string groupText = str(arg, "group").value_or("");
      auto group = parseGroup(groupText);
      std::string where = "section 'manifest': entry point '" + ep.name + "' argument " +
                          std::to_string(ep.args.size()) + " ('" + *argName + "'): ";
      if (!argKind)
        return fail(path, where + "unknown kind '" + *kind + "'");
      if (!group)
        return fail(path, where + "unknown group '" + groupText + "'");
      AbiArg a{*argKind, *argName, *group, -1, str(arg, "param").value_or(""),
               str(arg, "table").value_or(""), str(arg, "slot").value_or(""), {}};
      if (auto index = arg->getInteger("index"))
        a.index = *index;
      for (const json::Value &d : *shape) {
        auto n = d.getAsInteger();
        if (!n || *n < -1)
          return fail(path, "section 'manifest': entry point '" + ep.name + "' argument '" +
                                a.name + "': malformed shape");
        a.shape.push_back(*n);
      }
      ep.args.push_back(std::move(a));
    }
    a.entryPoints.push_back(std::move(ep));
  }
  return llvm::Error::success();
}
} // namespace

std::string mtgr::compilerVersion() {
  return "mtgr 0.1 (LLVM " LLVM_VERSION_STRING ")";
}

std::string mtgr::abiRecord(llvm::StringRef modelHash,
                                  const std::vector<EntryPoint> &entries) {
  json::Object record{{"model_hash", modelHash}, {"entry_points", entryPointsJson(entries)}};
  std::string s;
  llvm::raw_string_ostream os(s);
  os << json::Value(std::move(record));
  return s;
}

std::string mtgr::hashModelText(llvm::StringRef text) {
  return llvm::formatv("{0:x16}", llvm::xxh3_64bits(text)).str();
}

std::string mtgr::checkHostTarget(llvm::StringRef target) {
  llvm::SmallVector<llvm::StringRef, 3> parts;
  target.split(parts, ';');
  if (parts.size() != 3)
    return "malformed target '" + target.str() + "'";
  llvm::Triple want(parts[0]), host(llvm::sys::getDefaultTargetTriple());
  if (want.getArch() != host.getArch() || want.getOS() != host.getOS())
    return "built for " + parts[0].str() + ", this machine is " + host.str();
  auto hostFeatures = llvm::sys::getHostCPUFeatures();
  llvm::SmallVector<llvm::StringRef> features;
  parts[2].split(features, ',', -1, false);
  // LLVM's feature list of a named CPU holds x87, which every x86-64 CPU
  // has and the host's feature detection does not report (--cpu=haswell
  // code was refused on the machines it runs on), and system features that
  // only an intrinsic or inline assembly emits, never the compiled loops,
  // and that hypervisors and firmware often hide (--cpu=icelake-server code
  // was refused for 'pconfig' on an AVX-512 machine that runs the rest).
  static const llvm::StringSet<> kSystemOnly = {
      "x87",        "sgx",       "pconfig",     "kl",        "widekl",        "waitpkg",
      "serialize",  "shstk",     "ptwrite",     "tsxldtrk",  "uintr",         "hreset",
      "enqcmd",     "invpcid",   "rdpid",       "rdpru",     "rdrnd",         "rdseed",
      "clflushopt", "clwb",      "wbnoinvd",    "xsave",     "xsaveopt",      "xsavec",
      "xsaves",     "fsgsbase",  "movdiri",     "movdir64b", "cldemote",      "rtm",
      "mwaitx",     "clzero",    "pku",         "lwp",       "amx-tile",      "amx-int8",
      "amx-bf16",   "amx-fp16",  "amx-complex", "amx-fp8",   "amx-transpose", "amx-avx512",
      "amx-tf32",   "amx-movrs", "usermsr",     "prefetchi", "cmpccxadd",     "raoint",
      "movrs"};
  for (llvm::StringRef f : features)
    if (f.consume_front("+") && !kSystemOnly.contains(f) && !hostFeatures.lookup(f))
      return "built for CPU '" + parts[1].str() + "' using '" + f.str() +
             "', which this CPU lacks (recompile on this machine)";
  return "";
}

const CodeSection *Artifact::section(llvm::StringRef name) const {
  for (const CodeSection &c : code)
    if (c.name == name)
      return &c;
  return nullptr;
}

const EntryPoint *Artifact::entry(llvm::StringRef name) const {
  for (const EntryPoint &e : entryPoints)
    if (e.name == name)
      return &e;
  return nullptr;
}

std::string Artifact::serialize() const {
  Sections sections{{"manifest", manifestJson(*this)}, {"model", modelText}};
  for (const CodeSection &c : code)
    sections.push_back({c.name, c.bytes});
  if (!signature.empty())
    sections.push_back({"signature", signature});
  return packSections(llvm::StringRef(kMagic, sizeof(kMagic)), kArtifactVersion, sections);
}

std::string Artifact::signedMessage() const {
  std::string message = "mtgr artifact signature v1\n";
  std::string manifest = manifestJson(*this);
  std::vector<llvm::StringRef> parts{manifest, modelText};
  for (const CodeSection &c : code)
    parts.push_back(c.bytes);
  for (llvm::StringRef part : parts) {
    uint64_t n = part.size();
    message.append(reinterpret_cast<const char *>(&n), 8);
    message += part;
  }
  return message;
}

llvm::Error Artifact::checkTrust(const TrustPolicy &policy) const {
  if (!policy.active())
    return llvm::Error::success();
  std::string where = path.empty() ? "artifact" : path;
  if (policy.trusted.empty())
    return fail(where, "a signature is required, but no trusted keys are configured "
                       "(--trusted-keys=FILE or MTGR_TRUSTED_KEYS)");
  if (signature.empty())
    return fail(where, "the artifact is unsigned, and only artifacts signed by a trusted key "
                       "may load (sign with mtgr-compile --sign-key)");
  PublicKey signer;
  if (!verifySignature(signedMessage(), signature, signer))
    return fail(where, "the signature does not match the artifact's contents (changed after "
                       "signing, or not signed by the key it names)");
  if (std::find(policy.trusted.begin(), policy.trusted.end(), signer) == policy.trusted.end())
    return fail(where, "signed by " + publicKeyLine(signer) + ", which is not a trusted key");
  return llvm::Error::success();
}

llvm::Error Artifact::write(llvm::StringRef path) const {
  return writeFileAtomically(path, serialize());
}

llvm::Expected<Artifact> Artifact::parse(llvm::StringRef bytes, llvm::StringRef path) {
  // An artifact of another format version (an older compiler's) says how to
  // get a readable one.
  if (bytes.size() >= 12 && bytes.starts_with(llvm::StringRef(kMagic, sizeof(kMagic)))) {
    uint32_t version;
    std::memcpy(&version, bytes.data() + 8, 4);
    if (version != kArtifactVersion)
      return fail(path, "format version " + llvm::Twine(version) + ", this runtime reads version " +
                            llvm::Twine(kArtifactVersion) +
                            ": recompile the model with this mtgr-compile");
  }
  auto unpacked = unpackSections(bytes, llvm::StringRef(kMagic, sizeof(kMagic)),
                                 kArtifactVersion, path, "an mtgr artifact");
  if (!unpacked)
    return unpacked.takeError();
  std::map<std::string, llvm::StringRef> &sections = *unpacked;
  Artifact a;
  a.path = path.str();
  for (const char *required : {"manifest", "model"})
    if (!sections.count(required))
      return fail(path, llvm::Twine("section '") + required + "' is missing");
  if (auto e = readManifest(sections["manifest"], path, a))
    return std::move(e);
  a.modelText = sections["model"].str();
  for (CodeSection &c : a.code) {
    auto it = sections.find(c.name);
    if (it == sections.end() || c.name == "manifest" || c.name == "model" || c.name == "signature")
      return fail(path, "section '" + c.name + "' (code the manifest lists) is missing");
    c.bytes = it->second.str();
  }
  if (sections.count("signature")) {
    if (sections["signature"].size() != kSignatureBytes)
      return fail(path, "section 'signature' has " + llvm::Twine(sections["signature"].size()) +
                            " bytes, not " + llvm::Twine(kSignatureBytes));
    a.signature = sections["signature"].str();
  }
  if (hashModelText(a.modelText) != a.modelHash)
    return fail(path, "section 'model' does not match the manifest's model hash");
  // A kernel artifact (tests' micro-kernels, `mtgr-run call`): code with
  // raw buffer arguments and no model.
  if (a.kernelsOnly())
    return a;
  std::string diag;
  llvm::raw_string_ostream os(diag);
  auto model = parseModelDesc(a.modelText, (path + ":model").str(), os);
  if (!model)
    return fail(path, "section 'model': " + diag);
  a.model = std::move(*model);
  return a;
}

llvm::Expected<Artifact> Artifact::read(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return fail(path, "cannot read: " + buffer.getError().message());
  return parse((*buffer)->getBuffer(), path);
}
