//===- BoundKernels.h - a bound module compiled and run on a device -*- C++ -*-===//
//
// For tests of generated code below the model: a module whose entry point
// @mtgr_forward takes raw buffers (`mtgr.abi = []`), compiled by a back end
// into an artifact and called on a device (the CPU, the GPU emulator)
// with host buffers.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_TEST_UNIT_BOUNDKERNELS_H
#define MTGR_TEST_UNIT_BOUNDKERNELS_H

#include "CudaOptions.h"
#include "abi/Artifact.h"
#include "codegen/cuda/Passes.h"
#include "compiler/Backends.h"
#include "frontend/MLIRGen.h"
#include "runtime/Device.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace mtgr::test {
/// Compiles a bound module (entry point @mtgr_forward, `args` buffers) with
/// the back end `target` into an artifact.
inline Artifact compileBound(const std::string &text, const std::string &target, size_t args,
                             const std::string &gemm = "", const std::string &archs = "none") {
  mlir::DialectRegistry registry;
  mlir::mtgr::registerFrontendDialects(registry);
  mlir::mtgr::registerCudaPipelineDialects(registry);
  registry.insert<mlir::memref::MemRefDialect, mlir::arith::ArithDialect, mlir::func::FuncDialect,
                  mlir::scf::SCFDialect, mlir::math::MathDialect, mlir::cf::ControlFlowDialect,
                  mlir::vector::VectorDialect>();
  mlir::MLIRContext context(registry);
  context.disableMultithreading();
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  EXPECT_TRUE(module);
  // The emulator runs the host object: no PTX or cubins (test/tools' ptxas)
  // unless `archs` asks for them (the golden kernels a GPU runs).
  auto backend = mlir::mtgr::createTargetBackend(
      target, target == "cuda" ? mlir::mtgr::test::cudaOptions(gemm, "", "fp32", archs)
                               : mlir::mtgr::BackendOptions{});
  EXPECT_TRUE(static_cast<bool>(backend)) << llvm::toString(backend.takeError());
  mlir::PassManager pm(&context);
  (*backend)->buildLoweringPipeline(pm, /*profile=*/false);
  EXPECT_TRUE(mlir::succeeded(pm.run(*module)));
  Artifact a;
  a.compilerVersion = compilerVersion();
  a.backend = target;
  a.modelHash = hashModelText(""); // a kernel artifact: raw buffers, no model
  EntryPoint e{"forward", "mtgr_forward_packed", {}};
  e.args.resize(args);
  a.entryPoints = {e};
  auto emitted = (*backend)->emit(*module, abiRecord(a.modelHash, a.entryPoints),
                                  mlir::mtgr::EmitStop::Sections);
  EXPECT_TRUE(static_cast<bool>(emitted)) << llvm::toString(emitted.takeError());
  a.code = std::move(emitted->sections);
  return a;
}

/// Host buffers of one call, by argument.
struct Buffers {
  std::vector<std::vector<char>> data;
  std::vector<std::vector<int64_t>> shapes;
  template <typename T> void add(std::vector<T> values, std::vector<int64_t> shape) {
    std::vector<char> bytes(values.size() * sizeof(T));
    if (!bytes.empty())
      std::memcpy(bytes.data(), values.data(), bytes.size());
    data.push_back(std::move(bytes));
    shapes.push_back(std::move(shape));
  }
  template <typename T> std::vector<T> get(size_t i) const {
    std::vector<T> v(data[i].size() / sizeof(T));
    if (!v.empty())
      std::memcpy(v.data(), data[i].data(), data[i].size());
    return v;
  }
};

/// Runs @mtgr_forward of `a` on `device` with the buffers (copied to the
/// device and back when it has memory of its own).
inline void run(Device &device, const Artifact &a, Buffers &buffers) {
  auto exe = device.load(a, "test artifact");
  ASSERT_TRUE(static_cast<bool>(exe)) << llvm::toString(exe.takeError());
  std::vector<BufferView> views;
  for (size_t i = 0; i < buffers.data.size(); ++i) {
    void *p = buffers.data[i].data();
    if (!device.sharesHostMemory()) {
      p = device.allocate(std::max<size_t>(1, buffers.data[i].size()));
      device.copyToDevice(p, buffers.data[i].data(), buffers.data[i].size());
    }
    views.push_back({p, buffers.shapes[i]});
  }
  (*exe)->call(a.entryPoints[0], views, 1);
  device.synchronize();
  if (!device.sharesHostMemory())
    for (size_t i = 0; i < views.size(); ++i) {
      device.copyToHost(buffers.data[i].data(), views[i].data, buffers.data[i].size());
      device.release(views[i].data);
    }
}

} // namespace mtgr::test

#endif
