//===- mtgr-opt.cpp - mlir-opt for mtgr ------------------------------------===//
//
// MlirOptMain with the mtgr dialect, its passes, and the upstream dialects
// later stages use. A model description (.yaml / .yml) is accepted directly:
// it is imported to mtgr IR first (locations point into the YAML), then
// treated like any .mlir input.
//
//===----------------------------------------------------------------------===//
#include "dialect/MTGRDialect.h"
#include "frontend/MLIRGen.h"
#include "model/ModelDesc.h"
#include "codegen/common/Passes.h"
#include "codegen/cpu/Passes.h"
#include "codegen/cuda/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "passes/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;

/// Imports a model description and returns it printed as MLIR with its
/// locations, so the YAML positions survive into MlirOptMain's parse.
static std::unique_ptr<llvm::MemoryBuffer> importModel(llvm::StringRef path,
                                                       DialectRegistry &registry) {
  std::optional<mlir::mtgr::ModelDesc> desc = mlir::mtgr::loadModelDesc(path, llvm::errs());
  if (!desc)
    return nullptr;
  MLIRContext context(registry);
  OwningOpRef<ModuleOp> module = mlir::mtgr::buildModule(context, *desc);
  if (!module)
    return nullptr;
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os, OpPrintingFlags().enableDebugInfo(/*enable=*/true,
                                                      /*prettyForm=*/false));
  // Op locations point into the YAML; the buffer's own name marks it generated.
  return llvm::MemoryBuffer::getMemBufferCopy(text, ("<imported " + path + ">").str());
}

int main(int argc, char **argv) {
  DialectRegistry registry;
  mlir::mtgr::registerPipelineDialects(registry);
  // The CPU back end's host steps run on these (mtgr-compile --print-pipeline
  // prints them; each replays here).
  registry.insert<omp::OpenMPDialect, LLVM::LLVMDialect, cf::ControlFlowDialect>();
  // The CUDA back end's steps after mtgr-lower-to-gpu: outlining, the NVVM
  // target, gpu-module-to-binary (PTX through LLVM's NVPTX back end).
  mlir::mtgr::registerCudaPipelineDialects(registry);
  registerConversionPasses();
  registerGPUPasses();
  mlir::mtgr::registerMTGRPasses();
  mlir::mtgr::registerMTGRCodegenPasses();
  mlir::mtgr::registerMTGRCpuPasses();
  mlir::mtgr::registerMTGRCudaPasses();
  registerTransformsPasses();

  auto [inputFile, outputFile] = registerAndParseCLIOptions(
      argc, argv,
      "mtgr optimizer driver\n\n"
      "Reads mtgr IR (.mlir) or a model description (.yaml, .yml), runs the\n"
      "given passes and prints the result. Examples:\n"
      "  mtgr-opt examples/models/tiny.yaml\n"
      "  mtgr-opt examples/models/tiny.yaml --mtgr-decompose-layers\n"
      "  mtgr-opt model.mlir --mtgr-decompose-layers --cse\n",
      registry);
  MlirOptMainConfig config = MlirOptMainConfig::createFromCLOptions();

  std::unique_ptr<llvm::MemoryBuffer> input;
  if (mlir::mtgr::isModelDescPath(inputFile)) {
    input = importModel(inputFile, registry);
  } else {
    std::string error;
    input = openInputFile(inputFile, &error);
    if (!input)
      llvm::errs() << error << "\n";
  }
  if (!input)
    return 1;
  std::string error;
  auto output = openOutputFile(outputFile, &error);
  if (!output) {
    llvm::errs() << error << "\n";
    return 1;
  }
  if (failed(MlirOptMain(output->os(), std::move(input), registry, config)))
    return 1;
  output->keep();
  return 0;
}
