//===- DeviceCode.cpp - the kernels as PTX and cubins per architecture ----===//
#include "codegen/cuda/DeviceCode.h"
#include "abi/AbiKinds.h"
#include "model/Error.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <cstdlib>
#include <regex>
#include <sstream>

using namespace mlir;
using namespace mlir::mtgr;

bool mlir::mtgr::isSupportedCudaArch(llvm::StringRef arch) {
  return arch == "sm_90a" || arch == "sm_80";
}

std::string mlir::mtgr::cudaToolkitPath() {
  const char *home = std::getenv("CUDA_HOME");
  return home && *home ? std::string(home) : std::string("/usr/local/cuda");
}

namespace {
/// ptxas's -v report, per entry function.
std::map<std::string, KernelResources> parsePtxasReport(const std::string &report) {
  std::map<std::string, KernelResources> out;
  std::regex entry(R"(Compiling entry function '([^']+)')");
  std::regex frame(R"((\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads)");
  std::regex used(R"(Used (\d+) registers)");
  std::regex smem(R"((\d+) bytes smem)");
  KernelResources *current = nullptr;
  std::istringstream lines(report);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, entry))
      current = &out[m[1]];
    else if (current && std::regex_search(line, m, frame))
      current->stackBytes = std::stoll(m[1]), current->spillStores = std::stoll(m[2]),
      current->spillLoads = std::stoll(m[3]);
    else if (current && std::regex_search(line, m, used)) {
      current->registers = std::stoll(m[1]);
      if (std::regex_search(line, m, smem))
        current->sharedBytes = std::stoll(m[1]);
    }
  }
  return out;
}

llvm::Expected<std::string> runPtxas(const std::string &ptxas, const std::string &arch,
                                     const std::string &ptx, std::string &report) {
  llvm::SmallString<128> ptxPath, cubinPath, logPath;
  for (auto [path, ext] : {std::pair{&ptxPath, "ptx"}, {&cubinPath, "cubin"}, {&logPath, "log"}})
    if (auto ec = llvm::sys::fs::createTemporaryFile("mtgr", ext, *path))
      return ::mtgr::fail("cannot create a temporary file: " + ec.message());
  llvm::FileRemover removePtx(ptxPath), removeCubin(cubinPath), removeLog(logPath);
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(ptxPath, ec);
    if (ec)
      return ::mtgr::fail("cannot write " + ptxPath + ": " + ec.message());
    os << ptx;
  }
  std::string archFlag = "-arch=" + arch;
  llvm::StringRef argv[] = {ptxas, archFlag, "-O3", "-v", "-o", cubinPath, ptxPath};
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, llvm::StringRef(logPath),
                                                llvm::StringRef(logPath)};
  std::string error;
  int rc = llvm::sys::ExecuteAndWait(ptxas, argv, std::nullopt, redirects, 0, 0, &error);
  auto log = llvm::MemoryBuffer::getFile(logPath);
  report = log ? (*log)->getBuffer().str() : "";
  if (rc != 0)
    return ::mtgr::fail("ptxas " + archFlag + " failed (exit " + std::to_string(rc) + ") " + error +
                      ": " + report.substr(0, 2000));
  auto cubin = llvm::MemoryBuffer::getFile(cubinPath);
  if (!cubin)
    return ::mtgr::fail("cannot read the cubin ptxas wrote: " + cubin.getError().message());
  return (*cubin)->getBuffer().str();
}
} // namespace

llvm::Expected<std::vector<DeviceCode>>
mlir::mtgr::compileDeviceCode(ModuleOp module, llvm::ArrayRef<std::string> archs) {
  std::vector<DeviceCode> out;
  if (archs.empty())
    return out;
  std::string toolkit = cudaToolkitPath();
  std::string ptxas = toolkit + "/bin/ptxas";
  if (!llvm::sys::fs::exists(toolkit + "/nvvm/libdevice/libdevice.10.bc") ||
      !llvm::sys::fs::can_execute(ptxas))
    return ::mtgr::fail("the CUDA toolkit (libdevice and ptxas) is not at " + toolkit +
                      " (set CUDA_HOME; --cuda-arch=none builds an artifact only the emulator "
                      "runs)");
  // One gpu.module holding every kernel (their names are unique).
  MLIRContext *ctx = module.getContext();
  OpBuilder b(ctx);
  OwningOpRef<ModuleOp> merged = ModuleOp::create(module.getLoc());
  (*merged)->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), UnitAttr::get(ctx));
  b.setInsertionPointToStart(merged->getBody());
  auto kernels = gpu::GPUModuleOp::create(b, module.getLoc(), "mtgr_kernels");
  OpBuilder into(kernels.getBodyRegion());
  llvm::StringSet<> seen;
  for (auto gpuModule : module.getOps<gpu::GPUModuleOp>())
    for (Operation &op : gpuModule.getBody()->without_terminator()) {
      auto name = op.getAttrOfType<StringAttr>(SymbolTable::getSymbolAttrName());
      if (name && !seen.insert(name.getValue()).second) {
        auto fn = dyn_cast<FunctionOpInterface>(op);
        if (fn && fn.isExternal())
          continue; // a declaration (libdevice) every kernel module has
        // Every kernel's dynamic shared memory: MLIR's zero-size
        // address-space-3 array, one extern .shared symbol in the PTX.
        if (auto global = dyn_cast<LLVM::GlobalOp>(op))
          if (global.getAddrSpace() == 3)
            if (auto array = dyn_cast<LLVM::LLVMArrayType>(global.getGlobalType()))
              if (array.getNumElements() == 0)
                continue;
        return ::mtgr::fail("two kernel modules define '" + name.getValue() + "'");
      }
      into.setInsertionPointToEnd(kernels.getBody());
      into.clone(op);
    }
  for (const std::string &arch : archs) {
    OwningOpRef<ModuleOp> copy = merged->clone();
    PassManager pm(ctx);
    GpuNVVMAttachTargetOptions target;
    target.chip = arch;
    target.features = "+ptx80";
    target.optLevel = 3;
    pm.addPass(createGpuNVVMAttachTarget(target));
    GpuModuleToBinaryPassOptions binary;
    binary.toolkitPath = toolkit;
    binary.compilationTarget = "isa";
    pm.addPass(createGpuModuleToBinaryPass(binary));
    if (failed(pm.run(*copy)))
      return ::mtgr::fail("generating PTX for " + arch + " failed");
    DeviceCode code;
    code.arch = arch;
    copy->walk([&](gpu::BinaryOp binaryOp) {
      for (Attribute object : binaryOp.getObjects())
        code.ptx += cast<gpu::ObjectAttr>(object).getObject().getValue().str();
    });
    if (code.ptx.empty())
      return ::mtgr::fail("no PTX was generated for " + arch);
    std::string report;
    auto cubin = runPtxas(ptxas, arch, code.ptx, report);
    if (!cubin)
      return cubin.takeError();
    code.cubin = std::move(*cubin);
    code.kernels = parsePtxasReport(report);
    out.push_back(std::move(code));
  }
  return out;
}

std::string mlir::mtgr::kernelMetadata(llvm::ArrayRef<KernelEntry> kernels,
                                       llvm::ArrayRef<DeviceCode> code) {
  llvm::json::Array list;
  for (const KernelEntry &kernel : kernels) {
    const std::string &name = kernel.name;
    llvm::json::Object archs;
    for (const DeviceCode &c : code) {
      auto found = c.kernels.find(name);
      if (found == c.kernels.end())
        continue;
      const KernelResources &r = found->second;
      archs[c.arch] = llvm::json::Object{{"registers", r.registers},
                                         {"shared_bytes", r.sharedBytes},
                                         {"stack_bytes", r.stackBytes},
                                         {"spill_stores", r.spillStores},
                                         {"spill_loads", r.spillLoads}};
    }
    llvm::json::Object record{{"name", name}, {"params", kernel.params}, {"archs", std::move(archs)}};
    if (kernel.family >= 0 && kernel.family < ::mtgr::kNumProfileFamilies) {
      record["family"] = ::mtgr::toString(static_cast<::mtgr::ProfileFamily>(kernel.family));
      record["layer"] = kernel.layer;
    }
    list.push_back(std::move(record));
  }
  llvm::json::Array archNames;
  for (const DeviceCode &c : code)
    archNames.push_back(c.arch);
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::json::Value(llvm::json::Object{{"archs", std::move(archNames)},
                                             {"kernels", std::move(list)}});
  return text;
}
