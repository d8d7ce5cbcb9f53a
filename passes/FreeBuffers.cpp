//===- FreeBuffers.cpp - deallocate each buffer after its last use --------===//
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mlir::mtgr {
#define GEN_PASS_DEF_MTGRFREEBUFFERSPASS
#include "passes/Passes.h.inc"
} // namespace mlir::mtgr

using namespace mlir;

namespace {
/// Bytes of one buffer: all of it (static) or per leading row (dynamic).
std::pair<int64_t, bool> bufferBytes(MemRefType type) {
  int64_t bytes = type.getElementType().isIndex() ? 8 : type.getElementTypeBitWidth() / 8;
  bool dynamic = false;
  for (int64_t d : type.getShape())
    ShapedType::isDynamic(d) ? void(dynamic = true) : void(bytes *= d);
  return {bytes, dynamic};
}

struct MTGRFreeBuffersPass
    : mlir::mtgr::impl::MTGRFreeBuffersPassBase<MTGRFreeBuffersPass> {
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (fn.getBody().empty())
      return;
    Block &body = fn.getBody().front();
    DenseMap<Operation *, int64_t> position;
    int64_t n = 0;
    for (Operation &op : body)
      position[&op] = n++;

    struct Live {
      int64_t from, to; // positions of the alloc and of its last use
      int64_t bytes;
      bool perRow;
    };
    SmallVector<Live> buffers;
    SmallVector<std::pair<memref::AllocOp, Operation *>> frees;
    for (auto alloc : body.getOps<memref::AllocOp>()) {
      Operation *last = alloc;
      SmallVector<Value> aliases{alloc.getResult()};
      while (!aliases.empty()) {
        Value v = aliases.pop_back_val();
        for (OpOperand &use : v.getUses()) {
          Operation *user = use.getOwner();
          if (isa<memref::DeallocOp>(user)) {
            alloc.emitError("buffer is already freed: mtgr-free-buffers decides when buffers die");
            return signalPassFailure();
          }
          bool view = isa<ViewLikeOpInterface, memref::CastOp>(user);
          if (view)
            aliases.append(user->result_begin(), user->result_end());
          // A call marked mtgr.kernel_call (a generated kernel: it reads and
          // writes its buffers and keeps none) is a use like any other.
          bool kernelCall = isa<func::CallOp>(user) && user->hasAttr("mtgr.kernel_call");
          bool escapes = isa<func::ReturnOp>(user) || (isa<func::CallOp>(user) && !kernelCall) ||
                         (isa<memref::StoreOp>(user) && use.getOperandNumber() == 0) ||
                         (!view && llvm::any_of(user->getResultTypes(), [](Type t) {
                            return isa<BaseMemRefType>(t);
                          }));
          if (escapes) {
            InFlightDiagnostic d = alloc.emitError("buffer escapes through '")
                                   << user->getName() << "': cannot decide when it dies";
            d.attachNote(user->getLoc()) << "here";
            return signalPassFailure();
          }
          Operation *top = body.findAncestorOpInBlock(*user);
          if (!top) {
            alloc.emitError("buffer used outside the block that allocates it");
            return signalPassFailure();
          }
          if (position[top] > position[last])
            last = top;
        }
      }
      if (last->hasTrait<OpTrait::IsTerminator>()) {
        alloc.emitError("buffer used by the terminator: cannot free it");
        return signalPassFailure();
      }
      auto [bytes, perRow] = bufferBytes(alloc.getType());
      buffers.push_back({position[alloc], position[last], bytes, perRow});
      frees.push_back({alloc, last});
    }
    for (auto [alloc, last] : frees) {
      OpBuilder b(last->getContext());
      b.setInsertionPointAfter(last);
      memref::DeallocOp::create(b, alloc.getLoc(), alloc.getResult());
    }
    if (!fn->hasAttr("mtgr.abi"))
      return;
    // The peak of live buffers over the body: at op i, every buffer
    // allocated at or before i and last used at or after i is live.
    int64_t fixed = 0, perRow = 0;
    for (int64_t i = 0; i < n; ++i) {
      int64_t f = 0, r = 0;
      for (const Live &live : buffers)
        if (live.from <= i && i <= live.to)
          (live.perRow ? r : f) += live.bytes;
      fixed = std::max(fixed, f);
      perRow = std::max(perRow, r);
    }
    Builder b(fn.getContext());
    fn->setAttr("mtgr.memory", b.getDictionaryAttr({b.getNamedAttr("fixed", b.getI64IntegerAttr(fixed)),
                                                    b.getNamedAttr("per_row", b.getI64IntegerAttr(perRow))}));
  }
};
} // namespace
