//===- LaunchMetadata.cpp - a CUDA artifact's kernel records --------------===//
#include "runtime/cuda/LaunchMetadata.h"
#include "abi/AbiKinds.h"
#include "model/Error.h"

#include "llvm/Support/JSON.h"

using namespace mtgr;

llvm::Expected<LaunchMetadata> mtgr::parseLaunchMetadata(llvm::StringRef json,
                                                         llvm::StringRef where) {
  auto bad = [&](const std::string &why) {
    return fail(where + ": section cuda.kernels: " + why);
  };
  auto value = llvm::json::parse(json);
  if (!value)
    return bad("not JSON: " + llvm::toString(value.takeError()));
  const llvm::json::Object *root = value->getAsObject();
  const llvm::json::Array *archs = root ? root->getArray("archs") : nullptr;
  const llvm::json::Array *kernels = root ? root->getArray("kernels") : nullptr;
  if (!archs || !kernels)
    return bad("no 'archs' or 'kernels' list");
  LaunchMetadata m;
  for (const llvm::json::Value &a : *archs) {
    auto name = a.getAsString();
    if (!name)
      return bad("an architecture that is not a string");
    m.archs.push_back(name->str());
  }
  for (size_t i = 0; i < kernels->size(); ++i) {
    const llvm::json::Object *k = (*kernels)[i].getAsObject();
    auto name = k ? k->getString("name") : std::nullopt;
    auto params = k ? k->getInteger("params") : std::nullopt;
    const llvm::json::Object *resources = k ? k->getObject("archs") : nullptr;
    if (!name || !params || *params < 0 || !resources)
      return bad("kernel " + std::to_string(i) + " lacks its name, parameter words or archs");
    KernelRecord r{name->str(), *params, {}};
    if (auto family = k->getString("family")) {
      auto parsed = parseProfileFamily(*family);
      auto layer = k->getInteger("layer");
      if (!parsed || !layer || *layer < -1)
        return bad("kernel '" + r.name + "' has an unknown family '" + family->str() +
                   "' or no layer");
      r.family = static_cast<int64_t>(*parsed);
      r.layer = *layer;
    }
    for (const auto &[arch, v] : *resources) {
      const llvm::json::Object *o = v.getAsObject();
      auto registers = o ? o->getInteger("registers") : std::nullopt;
      auto shared = o ? o->getInteger("shared_bytes") : std::nullopt;
      if (!registers || !shared)
        return bad("kernel '" + r.name + "' on " + arch.str() + " lacks registers or shared_bytes");
      r.resources[arch.str()] = {*registers, *shared};
    }
    m.kernels.push_back(std::move(r));
  }
  return m;
}

llvm::Error mtgr::checkKernelTable(const LaunchMetadata &metadata, const mtgr_gpu_kernel *table,
                                   llvm::StringRef where) {
  size_t n = 0;
  for (const mtgr_gpu_kernel *k = table; k->name; ++k, ++n) {
    if (n >= metadata.kernels.size())
      return fail(where + ": the host code launches more kernels than section cuda.kernels lists (" +
                  std::to_string(metadata.kernels.size()) + "): the metadata was edited or "
                  "belongs to other code");
    const KernelRecord &r = metadata.kernels[n];
    if (r.name != k->name || r.params != k->params)
      return fail(where + ": kernel " + std::to_string(n) + " is '" + k->name + "' with " +
                  std::to_string(k->params) + " parameter words in the host code, '" + r.name +
                  "' with " + std::to_string(r.params) + " in section cuda.kernels: the "
                  "metadata was edited or belongs to other code");
  }
  if (n != metadata.kernels.size())
    return fail(where + ": section cuda.kernels lists " + std::to_string(metadata.kernels.size()) +
                " kernels, the host code has " + std::to_string(n));
  return llvm::Error::success();
}

llvm::Expected<GpuHostCode> mtgr::loadGpuHostCode(const Artifact &artifact,
                                                  llvm::StringRef where,
                                                  llvm::StringRef runner) {
  if (!artifact.section(kCudaHostCodeSection))
    return fail(where + ": no '" + kCudaHostCodeSection + "' section: compiled by the '" +
                artifact.backend + "' back end; " + runner +
                " runs artifacts of `mtgr-compile --target=cuda`");
  GpuHostCode out;
  auto code = HostCode::load(artifact, kCudaHostCodeSection, where);
  if (!code)
    return code.takeError();
  out.code = std::move(*code);
  // Code of another memory plan would read (or pass) buffers where they
  // are not: recompiling is the only remedy.
  auto *abi = static_cast<const int64_t *>(out.code->symbol(MTGR_GPU_HOST_ABI_SYMBOL));
  int64_t version = abi ? *abi : 1;
  if (version != MTGR_GPU_HOST_ABI)
    return fail(where + ": the CUDA host code keeps its buffers by plan " +
                std::to_string(version) + ", this runtime runs plan " +
                std::to_string(MTGR_GPU_HOST_ABI) +
                " (integer buffers on the host: abi/GpuLaunch.h); recompile it with this "
                "mtgr-compile");
  out.kernels = static_cast<const mtgr_gpu_kernel *>(out.code->symbol(MTGR_GPU_KERNELS_SYMBOL));
  if (!out.kernels)
    return fail(where + ": the CUDA host code lacks its kernel table (" +
                MTGR_GPU_KERNELS_SYMBOL + ")");
  // The launch metadata must describe this code's kernels.
  const CodeSection *metadata = artifact.section("cuda.kernels");
  if (!metadata)
    return fail(where + ": no 'cuda.kernels' section (the launch metadata)");
  auto parsed = parseLaunchMetadata(metadata->bytes, where);
  if (!parsed)
    return parsed.takeError();
  if (llvm::Error e = checkKernelTable(*parsed, out.kernels, where))
    return std::move(e);
  out.metadata = std::move(*parsed);
  return std::move(out);
}

void *GpuHostBlocks::allocate(HostPool &pool, uint64_t bytes) {
  void *block = pool.allocate(64, bytes);
  std::lock_guard<std::mutex> guard(lock);
  blocks.insert(block);
  return block;
}

bool GpuHostBlocks::release(HostPool &pool, void *block) {
  {
    std::lock_guard<std::mutex> guard(lock);
    if (!blocks.erase(block))
      return false;
  }
  pool.free(block);
  return true;
}
