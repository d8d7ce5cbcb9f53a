//===- HostCode.cpp - an artifact's x86-64 shared object, loaded ----------===//
#include "runtime/cpu/HostCode.h"
#include "model/Error.h"
#include "runtime/PerfMap.h"

#include "llvm/ADT/Twine.h"

#include <atomic>
#include <cstdlib>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

using namespace mtgr;

namespace {
/// A memref descriptor as the generated code reads it:
/// {allocated, aligned, offset, sizes[rank], strides[rank]} (row-major).
void descriptor(std::vector<int64_t> &words, const BufferView &view) {
  auto p = reinterpret_cast<int64_t>(view.data);
  words = {p, p, 0};
  words.insert(words.end(), view.shape.begin(), view.shape.end());
  std::vector<int64_t> strides(view.shape.size(), 1);
  for (int i = static_cast<int>(view.shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * view.shape[i + 1];
  words.insert(words.end(), strides.begin(), strides.end());
}
} // namespace

HostCode::~HostCode() {
  if (library)
    dlclose(library);
  if (codeFile >= 0)
    ::close(codeFile);
}

void *HostCode::symbol(const char *name) const { return dlsym(library, name); }

void HostCode::call(const EntryPoint &entry, llvm::ArrayRef<BufferView> args,
                    const mtgr_environment &table) const {
  std::vector<std::vector<int64_t>> words(args.size());
  std::vector<void *> pointers(args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    descriptor(words[i], args[i]);
    pointers[i] = words[i].data();
  }
  functions.at(entry.name)(pointers.data(), &table);
}

llvm::Expected<std::unique_ptr<HostCode>> HostCode::load(const Artifact &artifact,
                                                         llvm::StringRef sectionName,
                                                         llvm::StringRef where) {
  const CodeSection *section = artifact.section(sectionName);
  if (!section)
    return fail(where + ": no '" + sectionName + "' section");
  std::string why = checkHostTarget(section->target);
  if (!why.empty())
    return fail(where + ": wrong target: " + why);
  std::unique_ptr<HostCode> e(new HostCode());
  // The host code is loaded from memory: an anonymous file, then dlopen.
  // For profiling (MTGR_PERF_MAP=1) it is a file of its own in /tmp instead,
  // kept after the process ends: perf reads a mapped file's symbols (every
  // entry point, attention kernel and parallel region is a function of its
  // own) but not a memfd's.
  const char *perfEnv = getenv("MTGR_PERF_MAP");
  bool perf = perfEnv && *perfEnv && std::string(perfEnv) != "0";
  std::string stagedPath;
  int fd = -1;
  if (perf) {
    static std::atomic<int> staged{0};
    stagedPath = "/tmp/mtgr-host-code-" + std::to_string(getpid()) + "-" +
                 std::to_string(staged++) + ".so";
    fd = ::open(stagedPath.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  } else {
    fd = memfd_create("mtgr-host-code", MFD_CLOEXEC);
  }
  if (fd < 0)
    return fail(perf ? "cannot create " + stagedPath : std::string("memfd_create failed"));
  // The file stays open while the code is loaded: dlopen finds an already
  // loaded object by its path, and a closed descriptor's number (so its
  // /proc/self/fd path) is reused by the next executable's code, which would
  // get this one's library instead of its own.
  e->codeFile = fd;
  const std::string &code = section->bytes;
  for (size_t done = 0; done < code.size();) {
    ssize_t n = ::write(fd, code.data() + done, code.size() - done);
    if (n <= 0)
      return fail("cannot stage the host code for loading");
    done += n;
  }
  std::string path = perf ? stagedPath : "/proc/self/fd/" + std::to_string(fd);
  e->library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!e->library)
    return fail(llvm::Twine("cannot load the host code: ") + dlerror());
  for (const EntryPoint &entry : artifact.entryPoints) {
    auto fn = reinterpret_cast<EntryFn>(dlsym(e->library, entry.symbol.c_str()));
    if (!fn)
      return fail("host code lacks the symbol '" + entry.symbol + "'");
    e->functions[entry.name] = fn;
  }
  if (perf) {
    // And a perf map (/tmp/perf-<pid>.map) of the same functions, for tools
    // that read one.
    Dl_info info;
    auto symbols = elfFunctions(code);
    if (!symbols)
      return symbols.takeError();
    void *any = e->functions.empty() ? nullptr : reinterpret_cast<void *>(e->functions.begin()->second);
    if (!any || !dladdr(any, &info) || !info.dli_fbase)
      return fail("cannot find where the host code was loaded (MTGR_PERF_MAP)");
    auto map = appendPerfMap(*symbols, reinterpret_cast<uint64_t>(info.dli_fbase));
    if (!map)
      return map.takeError();
    llvm::errs() << "host code for perf: " << stagedPath << ", perf map " << *map << " ("
                 << symbols->size() << " functions)\n";
  }
  // The code's own ABI record must be the manifest's: an edited manifest (or
  // model section) would hand the code buffers it does not expect.
  const auto *record = static_cast<const char *>(dlsym(e->library, kAbiRecordSymbol));
  if (!record)
    return fail(where + ": the host code carries no ABI record");
  if (llvm::StringRef(record) != abiRecord(artifact.modelHash, artifact.entryPoints))
    return fail(where + ": the manifest's entry points or model hash differ from the host "
                        "code's ABI record (the manifest was edited after compiling)");
  return std::move(e);
}

