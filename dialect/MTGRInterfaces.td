//===- MTGRInterfaces.td - op interfaces of the mtgr dialect -*- tablegen -*-===//
#ifndef MTGR_INTERFACES_TD
#define MTGR_INTERFACES_TD

include "mlir/IR/OpBase.td"

def MTGR_DifferentiableOpInterface : OpInterface<"DifferentiableOpInterface"> {
  let cppNamespace = "::mlir::mtgr";
  let description = [{
    A kernel-level op's gradient rule (reverse mode), kept next to the op
    (dialect/MTGRGradients.cpp). Given the gradient of each result (null for
    a result nothing depends on), builds ops after the op that compute the
    gradient of each operand; operands without a gradient (layouts, ids,
    masks, timestamps) get a null value. mtgr-generate-train-step walks the
    forward function backwards calling this.
  }];
  let methods = [
    InterfaceMethod<"Builds the operands' gradients from the results' gradients.",
      "::llvm::LogicalResult", "buildGradients",
      (ins "::mlir::OpBuilder &":$builder, "::mlir::ArrayRef<::mlir::Value>":$resultGrads,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>
  ];
}

#endif // MTGR_INTERFACES_TD
