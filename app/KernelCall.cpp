//===- KernelCall.cpp - an entry point called on raw buffers ---------------===//
#include "app/KernelCall.h"
#include "model/Error.h"

#include "llvm/Support/FormatVariadic.h"

#include <cstring>

using namespace mtgr;

llvm::Expected<std::map<std::string, Tensor>>
mtgr::callOnBuffers(const Artifact &artifact, Device &device, llvm::StringRef entryName,
                    const std::map<std::string, Tensor> &inputs, llvm::StringRef where) {
  const EntryPoint *entry = artifact.entry(entryName);
  if (!entry) {
    std::string names;
    for (const EntryPoint &e : artifact.entryPoints)
      names += (names.empty() ? "" : ", ") + e.name;
    return fail("artifact has no entry point '" + entryName + "' (it has: " + names + ")");
  }
  size_t count = entry->args.size();
  std::map<std::string, Tensor> buffers;
  for (size_t i = 0; i < count; ++i) {
    std::string name = "arg" + std::to_string(i);
    auto it = inputs.find(name);
    if (it == inputs.end())
      return fail(where + ": no '" + name + "' (entry point '" + entryName + "' takes " +
                  llvm::Twine(count) + " buffers, arg0 .. arg" + llvm::Twine(count - 1) + ")");
    buffers[name] = it->second;
  }
  for (const auto &[name, tensor] : inputs)
    if (!buffers.count(name))
      return fail(where + ": '" + name + "' is not an argument of entry point '" + entryName +
                  "' (it takes " + llvm::Twine(count) + " buffers, arg0 .. arg" +
                  llvm::Twine(count ? count - 1 : 0) + ")");
  auto executable = device.load(artifact, artifact.path.empty() ? "artifact" : artifact.path);
  if (!executable)
    return executable.takeError();
  std::vector<BufferView> views;
  for (size_t i = 0; i < count; ++i) {
    Tensor &t = buffers["arg" + std::to_string(i)];
    size_t bytes = t.data.size() * sizeof(float);
    void *p = t.data.data();
    if (!device.sharesHostMemory()) {
      p = device.allocate(std::max<size_t>(bytes, 1));
      device.copyToDevice(p, t.data.data(), bytes);
    }
    views.push_back(BufferView{p, t.shape});
  }
  (*executable)->call(*entry, views, 1);
  device.synchronize();
  if (!device.sharesHostMemory())
    for (size_t i = 0; i < count; ++i) {
      Tensor &t = buffers["arg" + std::to_string(i)];
      device.copyToHost(t.data.data(), views[i].data, t.data.size() * sizeof(float));
      device.release(views[i].data);
    }
  return buffers;
}

bool mtgr::compareBits(const std::map<std::string, Tensor> &got,
                       const std::map<std::string, Tensor> &expected, llvm::StringRef expectedPath,
                       llvm::raw_ostream &os) {
  bool same = true;
  size_t elements = 0;
  for (const auto &[name, want] : expected) {
    auto it = got.find(name);
    if (it == got.end()) {
      os << "FAIL: " << name << ": in " << expectedPath << " but not a buffer of the call\n";
      same = false;
      continue;
    }
    const Tensor &have = it->second;
    if (have.shape != want.shape) {
      os << "FAIL: " << name << ": " << have.data.size() << " elements, " << expectedPath << " has "
         << want.data.size() << " (another shape)\n";
      same = false;
      continue;
    }
    elements += want.data.size();
    for (size_t i = 0; i < want.data.size(); ++i) {
      uint32_t a, b;
      std::memcpy(&a, &have.data[i], 4);
      std::memcpy(&b, &want.data[i], 4);
      if (a == b)
        continue;
      size_t differing = 0;
      for (size_t j = i; j < want.data.size(); ++j)
        differing += std::memcmp(&have.data[j], &want.data[j], 4) != 0;
      os << llvm::formatv("FAIL: {0}[{1}]: {2} (bits {3:x8}), {4} has {5} (bits {6:x8}); {7} "
                          "of its {8} elements differ\n",
                          name, i, have.data[i], a, expectedPath, want.data[i], b, differing,
                          want.data.size());
      same = false;
      break;
    }
  }
  if (same)
    os << "PASS: " << expected.size() << " buffers (" << elements << " elements) bit-identical to "
       << expectedPath << "\n";
  return same;
}
