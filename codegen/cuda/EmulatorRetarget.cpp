//===- EmulatorRetarget.cpp - NVVM IR -> host code for the emulator -------===//
#include "codegen/cuda/EmulatorRetarget.h"
#include "abi/GpuLaunch.h"
#include "model/Error.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Analysis/ValueTracking.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/InlineAsm.h"
#include "llvm/IR/InstIterator.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/IntrinsicInst.h"
#include "llvm/IR/IntrinsicsNVPTX.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/ReplaceConstant.h"

#include <cstring>
#include <optional>
#include <set>

using namespace mlir::mtgr;

namespace {
/// The emulator's table slot of an NVVM intrinsic, if it has one.
std::optional<int> slotOf(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<int>>(name)
      .Case("llvm.nvvm.read.ptx.sreg.tid.x", MTGR_EMU_TID_X)
      .Case("llvm.nvvm.read.ptx.sreg.tid.y", MTGR_EMU_TID_Y)
      .Case("llvm.nvvm.read.ptx.sreg.tid.z", MTGR_EMU_TID_Z)
      .Case("llvm.nvvm.read.ptx.sreg.ntid.x", MTGR_EMU_NTID_X)
      .Case("llvm.nvvm.read.ptx.sreg.ntid.y", MTGR_EMU_NTID_Y)
      .Case("llvm.nvvm.read.ptx.sreg.ntid.z", MTGR_EMU_NTID_Z)
      .Case("llvm.nvvm.read.ptx.sreg.ctaid.x", MTGR_EMU_CTAID_X)
      .Case("llvm.nvvm.read.ptx.sreg.ctaid.y", MTGR_EMU_CTAID_Y)
      .Case("llvm.nvvm.read.ptx.sreg.ctaid.z", MTGR_EMU_CTAID_Z)
      .Case("llvm.nvvm.read.ptx.sreg.nctaid.x", MTGR_EMU_NCTAID_X)
      .Case("llvm.nvvm.read.ptx.sreg.nctaid.y", MTGR_EMU_NCTAID_Y)
      .Case("llvm.nvvm.read.ptx.sreg.nctaid.z", MTGR_EMU_NCTAID_Z)
      .Case("llvm.nvvm.read.ptx.sreg.laneid", MTGR_EMU_LANEID)
      .Case("llvm.nvvm.read.ptx.sreg.warpsize", MTGR_EMU_WARPSIZE)
      .Case("llvm.nvvm.read.ptx.sreg.clock", MTGR_EMU_CLOCK)
      // The random-delay build's sleeps: a yield to the block's other threads.
      .Case("llvm.nvvm.nanosleep", MTGR_EMU_NANOSLEEP)
      // A whole-block barrier (__syncthreads, gpu.barrier).
      .Case("llvm.nvvm.barrier0", MTGR_EMU_BARRIER)
      .Case("llvm.nvvm.barrier.cta.sync.aligned.all", MTGR_EMU_BARRIER)
      .Case("llvm.nvvm.barrier.cta.sync.all", MTGR_EMU_BARRIER)
      .Default(std::nullopt);
}

/// libdevice functions the host's libm computes under the same name less
/// `__nv_` (the GPU's are approximations within a few ulp: exp is
/// ex2.approx.ftz; the emulator's results are the host's).
bool hostHasLibm(llvm::StringRef name) {
  static const std::set<std::string> known = {
      "expf",  "exp2f", "expm1f", "logf",  "log2f",  "log1pf", "sqrtf", "tanhf", "powf",
      "fabsf", "floorf", "ceilf", "fmaxf", "fminf", "sinf",   "cosf",  "erff",  "fmaf",
      "exp",   "exp2",  "expm1", "log",   "log2",  "log1p",  "sqrt",  "tanh",  "pow",
      "fabs",  "floor", "ceil",  "fmax",  "fmin",  "fma",    "erf"};
  return known.count(name.str()) != 0;
}

/// A call of slot `slot` of the emulator's table.
llvm::CallInst *callTable(llvm::IRBuilder<> &b, llvm::GlobalVariable *table, int slot,
                          llvm::FunctionType *type, llvm::ArrayRef<llvm::Value *> args) {
  llvm::Value *at = b.CreateConstInBoundsGEP2_32(table->getValueType(), table, 0, slot);
  llvm::Value *fn = b.CreateLoad(b.getPtrTy(), at);
  return b.CreateCall(type, fn, args);
}

/// A warp operation: its table slot and mode (abi/GpuLaunch.h), or none.
/// shfl.sync in its four modes, on i32 or f32, with or without the
/// predicate ("...p"); vote.sync all/any/uni/ballot; bar.warp.sync.
std::optional<std::pair<int, int>> warpOpOf(llvm::StringRef name) {
  if (name.consume_front("llvm.nvvm.shfl.sync.")) {
    std::optional<int> mode = llvm::StringSwitch<std::optional<int>>(name.split('.').first)
                                  .Case("idx", 0)
                                  .Case("up", 1)
                                  .Case("down", 2)
                                  .Case("bfly", 3)
                                  .Default(std::nullopt);
    llvm::StringRef type = name.split('.').second;
    if (mode && (type == "i32" || type == "f32" || type == "i32p" || type == "f32p"))
      return std::pair{int(MTGR_EMU_SHFL), *mode};
    return std::nullopt;
  }
  std::optional<int> vote = llvm::StringSwitch<std::optional<int>>(name)
                                .Case("llvm.nvvm.vote.all.sync", 0)
                                .Case("llvm.nvvm.vote.any.sync", 1)
                                .Case("llvm.nvvm.vote.uni.sync", 2)
                                .Case("llvm.nvvm.vote.ballot.sync", 3)
                                .Case("llvm.nvvm.bar.warp.sync", 4)
                                .Default(std::nullopt);
  if (vote)
    return std::pair{int(MTGR_EMU_VOTE), *vote};
  return std::nullopt;
}

/// A call of a warp operation as a call of the emulator's table.
void retargetWarpOp(llvm::CallInst *call, llvm::GlobalVariable *table, int slot, int mode) {
  llvm::IRBuilder<> b(call);
  llvm::Type *i32 = b.getInt32Ty();
  llvm::Value *mask = call->getArgOperand(0);
  if (slot == MTGR_EMU_VOTE) {
    llvm::Value *pred = call->arg_size() > 1 ? b.CreateZExt(call->getArgOperand(1), i32)
                                             : b.getInt32(0);
    auto *type = llvm::FunctionType::get(i32, {i32, i32, i32}, false);
    llvm::Value *r = callTable(b, table, slot, type, {b.getInt32(mode), mask, pred});
    if (!call->getType()->isVoidTy())
      call->replaceAllUsesWith(call->getType()->isIntegerTy(1) ? b.CreateTrunc(r, b.getInt1Ty())
                                                               : r);
    call->eraseFromParent();
    return;
  }
  // shfl: the value as 32 bits; the result's low half, the predicate bit 32.
  llvm::Value *value = call->getArgOperand(1);
  llvm::Type *valueType = value->getType();
  if (valueType->isFloatTy())
    value = b.CreateBitCast(value, i32);
  auto *type = llvm::FunctionType::get(b.getInt64Ty(), {i32, i32, i32, i32, i32}, false);
  llvm::Value *r = callTable(b, table, slot, type,
                             {b.getInt32(mode), mask, value, call->getArgOperand(2),
                              call->getArgOperand(3)});
  llvm::Value *result = b.CreateTrunc(r, i32);
  if (valueType->isFloatTy())
    result = b.CreateBitCast(result, valueType);
  if (auto *pair = llvm::dyn_cast<llvm::StructType>(call->getType())) {
    llvm::Value *pred = b.CreateTrunc(b.CreateLShr(r, 32), b.getInt1Ty());
    llvm::Value *out = llvm::UndefValue::get(pair);
    out = b.CreateInsertValue(out, result, 0);
    result = b.CreateInsertValue(out, pred, 1);
  }
  call->replaceAllUsesWith(result);
  call->eraseFromParent();
}

/// An alloca of `count` i32 at the start of `f` (a lane's registers that
/// the emulator reads or writes while the lane waits).
llvm::AllocaInst *registers(llvm::Function &f, unsigned count) {
  llvm::IRBuilder<> b(&*f.getEntryBlock().getFirstInsertionPt());
  return b.CreateAlloca(llvm::ArrayType::get(b.getInt32Ty(), count));
}

/// Register `i` of a lane's registers (an alloca of `registers`).
llvm::Value *registerAt(llvm::IRBuilder<> &b, llvm::AllocaInst *regs, unsigned i) {
  return b.CreateConstInBoundsGEP2_32(regs->getAllocatedType(), regs, 0, i);
}

/// The value `v` (i32, float or <2 x half|bfloat>) as 32 bits.
llvm::Value *asBits(llvm::IRBuilder<> &b, llvm::Value *v) {
  return v->getType()->isIntegerTy(32) ? v : b.CreateBitCast(v, b.getInt32Ty());
}
llvm::Value *fromBits(llvm::IRBuilder<> &b, llvm::Value *bits, llvm::Type *type) {
  return type->isIntegerTy(32) ? bits : b.CreateBitCast(bits, type);
}

/// The tensor-core and cp.async intrinsics (sm_80): the emulator's slot and
/// mode, or none. mma.sync m16n8k16 row.col with f32 accumulators (bf16:
/// mode 0; f16, "f32.f32": mode 1); ldmatrix m8n8 b16 (matrices | 16 for
/// .trans); cp.async ca/cg of 4, 8, 16 bytes (mode = bytes; + 32 with a
/// source size), commit, wait_group (mode 0), wait_all (mode 1).
std::optional<std::pair<int, int>> tensorOpOf(llvm::Intrinsic::ID id) {
  using namespace llvm::Intrinsic;
  switch (id) {
  case nvvm_mma_m16n8k16_row_col_bf16: return std::pair{int(MTGR_EMU_MMA), 0};
  case nvvm_mma_m16n8k16_row_col_f32_f32: return std::pair{int(MTGR_EMU_MMA), 1};
  case nvvm_ldmatrix_sync_aligned_m8n8_x1_b16: return std::pair{int(MTGR_EMU_LDMATRIX), 1};
  case nvvm_ldmatrix_sync_aligned_m8n8_x2_b16: return std::pair{int(MTGR_EMU_LDMATRIX), 2};
  case nvvm_ldmatrix_sync_aligned_m8n8_x4_b16: return std::pair{int(MTGR_EMU_LDMATRIX), 4};
  case nvvm_ldmatrix_sync_aligned_m8n8_x1_trans_b16: return std::pair{int(MTGR_EMU_LDMATRIX), 17};
  case nvvm_ldmatrix_sync_aligned_m8n8_x2_trans_b16: return std::pair{int(MTGR_EMU_LDMATRIX), 18};
  case nvvm_ldmatrix_sync_aligned_m8n8_x4_trans_b16: return std::pair{int(MTGR_EMU_LDMATRIX), 20};
  case nvvm_cp_async_ca_shared_global_4: return std::pair{int(MTGR_EMU_CP_ASYNC), 4};
  case nvvm_cp_async_ca_shared_global_8: return std::pair{int(MTGR_EMU_CP_ASYNC), 8};
  case nvvm_cp_async_ca_shared_global_16: return std::pair{int(MTGR_EMU_CP_ASYNC), 16};
  case nvvm_cp_async_cg_shared_global_16: return std::pair{int(MTGR_EMU_CP_ASYNC), 16};
  case nvvm_cp_async_ca_shared_global_4_s: return std::pair{int(MTGR_EMU_CP_ASYNC), 4 + 32};
  case nvvm_cp_async_ca_shared_global_8_s: return std::pair{int(MTGR_EMU_CP_ASYNC), 8 + 32};
  case nvvm_cp_async_ca_shared_global_16_s: return std::pair{int(MTGR_EMU_CP_ASYNC), 16 + 32};
  case nvvm_cp_async_cg_shared_global_16_s: return std::pair{int(MTGR_EMU_CP_ASYNC), 16 + 32};
  case nvvm_cp_async_commit_group: return std::pair{int(MTGR_EMU_CP_ASYNC_COMMIT), 0};
  case nvvm_cp_async_wait_group: return std::pair{int(MTGR_EMU_CP_ASYNC_WAIT), 0};
  case nvvm_cp_async_wait_all: return std::pair{int(MTGR_EMU_CP_ASYNC_WAIT), 1};
  case nvvm_wgmma_fence_sync_aligned:
    return std::pair{int(MTGR_EMU_WGMMA_SYNC), 0};
  case nvvm_wgmma_commit_group_sync_aligned:
    return std::pair{int(MTGR_EMU_WGMMA_SYNC), 1};
  case nvvm_wgmma_wait_group_sync_aligned:
    return std::pair{int(MTGR_EMU_WGMMA_SYNC), 2};
  case nvvm_fence_proxy_async_shared_cta:
    return std::pair{int(MTGR_EMU_FENCE_PROXY_ASYNC), 0};
  case nvvm_mbarrier_init:
  case nvvm_mbarrier_init_shared:
    return std::pair{int(MTGR_EMU_MBARRIER_INIT), 0};
  case nvvm_mbarrier_arrive:
  case nvvm_mbarrier_arrive_shared:
  case nvvm_mbarrier_arrive_scope_cta_space_cta:
    return std::pair{int(MTGR_EMU_MBARRIER_ARRIVE), 0};
  case nvvm_mbarrier_arrive_expect_tx_scope_cta_space_cta:
    return std::pair{int(MTGR_EMU_MBARRIER_ARRIVE), 1};
  case nvvm_cp_async_bulk_tensor_g2s_cta_tile_2d:
  case nvvm_cp_async_bulk_tensor_g2s_tile_2d:
    return std::pair{int(MTGR_EMU_TMA_LOAD_2D), 0};
  default: return std::nullopt;
  }
}

llvm::Value *generic(llvm::IRBuilder<> &b, llvm::Value *p) {
  return p->getType()->getPointerAddressSpace() == 0 ? p : b.CreateAddrSpaceCast(p, b.getPtrTy());
}

/// A call of a tensor-core or cp.async intrinsic as a call of the
/// emulator's table (abi/GpuLaunch.h).
void retargetTensorOp(llvm::CallInst *call, llvm::GlobalVariable *table, int slot, int mode) {
  llvm::IRBuilder<> b(call);
  llvm::Function &f = *call->getFunction();
  llvm::Type *i32 = b.getInt32Ty(), *ptr = b.getPtrTy(), *voidTy = b.getVoidTy();
  auto element = [&](llvm::AllocaInst *regs, unsigned i) { return registerAt(b, regs, i); };
  // The result registers as the intrinsic's type (one value or a struct).
  auto results = [&](llvm::AllocaInst *out, unsigned count) {
    llvm::Type *type = call->getType();
    auto *fields = llvm::dyn_cast<llvm::StructType>(type);
    if (!fields) {
      call->replaceAllUsesWith(fromBits(b, b.CreateLoad(i32, element(out, 0)), type));
      return;
    }
    llvm::Value *r = llvm::UndefValue::get(type);
    for (unsigned i = 0; i < count; ++i)
      r = b.CreateInsertValue(
          r, fromBits(b, b.CreateLoad(i32, element(out, i)), fields->getElementType(i)), i);
    call->replaceAllUsesWith(r);
  };
  if (slot == MTGR_EMU_MMA) {
    llvm::AllocaInst *in = registers(f, 10), *out = registers(f, 4);
    for (unsigned i = 0; i < 10; ++i)
      b.CreateStore(asBits(b, call->getArgOperand(i)), element(in, i));
    callTable(b, table, slot, llvm::FunctionType::get(voidTy, {i32, ptr, ptr}, false),
              {b.getInt32(mode), in, out});
    results(out, 4);
  } else if (slot == MTGR_EMU_LDMATRIX) {
    llvm::AllocaInst *out = registers(f, 4);
    callTable(b, table, slot, llvm::FunctionType::get(voidTy, {i32, ptr, ptr}, false),
              {b.getInt32(mode), generic(b, call->getArgOperand(0)), out});
    results(out, mode & 15);
  } else if (slot == MTGR_EMU_CP_ASYNC) {
    int bytes = mode & 31;
    llvm::Value *source = mode & 32 ? call->getArgOperand(2) : b.getInt32(bytes);
    callTable(b, table, slot, llvm::FunctionType::get(voidTy, {ptr, ptr, i32, i32}, false),
              {generic(b, call->getArgOperand(0)), generic(b, call->getArgOperand(1)),
               b.getInt32(bytes), b.CreateZExtOrTrunc(source, i32)});
  } else if (slot == MTGR_EMU_CP_ASYNC_COMMIT || slot == MTGR_EMU_FENCE_PROXY_ASYNC) {
    callTable(b, table, slot, llvm::FunctionType::get(voidTy, {}, false), {});
  } else if (slot == MTGR_EMU_MBARRIER_INIT) {
    callTable(
        b, table, slot, llvm::FunctionType::get(voidTy, {ptr, i32}, false),
        {generic(b, call->getArgOperand(0)), b.CreateZExtOrTrunc(call->getArgOperand(1), i32)});
  } else if (slot == MTGR_EMU_MBARRIER_ARRIVE) {
    // arrive (mode 0) or arrive.expect_tx (mode 1, the bytes its second
    // operand); the result is the arrival's phase (an opaque state to PTX).
    llvm::Value *tx = mode == 1 ? b.CreateZExtOrTrunc(call->getArgOperand(1), i32) : b.getInt32(0);
    llvm::Value *r =
        callTable(b, table, slot, llvm::FunctionType::get(b.getInt64Ty(), {ptr, i32}, false),
                  {generic(b, call->getArgOperand(0)), tx});
    if (!call->getType()->isVoidTy())
      call->replaceAllUsesWith(b.CreateZExtOrTrunc(r, call->getType()));
  } else if (slot == MTGR_EMU_TMA_LOAD_2D) {
    // (dst, mbar, map, c0, c1, then multicast and cache hints and their
    // flags, which change nothing here: one CTA, no cache)
    callTable(b, table, slot, llvm::FunctionType::get(voidTy, {ptr, ptr, ptr, i32, i32}, false),
              {generic(b, call->getArgOperand(0)), generic(b, call->getArgOperand(1)),
               generic(b, call->getArgOperand(2)), call->getArgOperand(3), call->getArgOperand(4)});
  } else if (slot == MTGR_EMU_WGMMA_SYNC) {
    llvm::Value *n = mode == 2 ? b.CreateZExtOrTrunc(call->getArgOperand(0), i32) : b.getInt32(0);
    callTable(b, table, slot, llvm::FunctionType::get(voidTy, {i32, i32}, false),
              {b.getInt32(mode), n});
  } else {
    llvm::Value *n = mode == 1 ? b.getInt32(-1) : b.CreateZExtOrTrunc(call->getArgOperand(0), i32);
    callTable(b, table, slot, llvm::FunctionType::get(voidTy, {i32}, false), {n});
  }
  call->eraseFromParent();
}

/// The mbarrier.try_wait.parity loop MLIR 22 emits for
/// nvvm.mbarrier.try_wait.parity (operands: the barrier, the parity, a time
/// hint): a call of the emulator's mbarrier_wait, which blocks the thread
/// until the phase of that parity has completed. False if `call` is not it.
bool retargetMbarrierWait(llvm::CallInst *call, llvm::GlobalVariable *table) {
  auto *asmCall = llvm::cast<llvm::InlineAsm>(call->getCalledOperand());
  llvm::StringRef text = asmCall->getAsmString();
  if (!text.contains("mbarrier.try_wait.parity.shared.b64") || call->arg_size() != 3 ||
      !call->getType()->isVoidTy())
    return false;
  llvm::IRBuilder<> b(call);
  llvm::Type *i32 = b.getInt32Ty(), *ptr = b.getPtrTy();
  callTable(b, table, MTGR_EMU_MBARRIER_WAIT,
            llvm::FunctionType::get(b.getVoidTy(), {ptr, i32}, false),
            {generic(b, call->getArgOperand(0)), b.CreateZExtOrTrunc(call->getArgOperand(1), i32)});
  call->eraseFromParent();
  return true;
}

/// The wgmma.mma_async inline PTX MLIR 22 emits for nvvm.wgmma.mma_async
/// (NVVMDialect's BasicPtxBuilder): outputs $0 .. $(N/2 - 1) the
/// accumulators, tied inputs, then the two descriptors, scale-d (tested by
/// a setp into p), scale-a, scale-b, transpose-a, transpose-b:
///   { .reg .pred p; setp.ne.b32 p, $66, 0;
///     wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
///       {$0, ..., $31}, $64, $65, p, $67, $68, $69, $70; }
/// A call of it becomes a call of the emulator's wgmma; any other inline
/// asm (but the mbarrier wait) is an error naming it.
llvm::Error retargetWgmma(llvm::CallInst *call, llvm::GlobalVariable *table) {
  auto *asmCall = llvm::cast<llvm::InlineAsm>(call->getCalledOperand());
  llvm::StringRef text = asmCall->getAsmString();
  auto bad = [&](const llvm::Twine &why) {
    return mtgr::fail("the GPU emulator cannot map the inline PTX in '" +
                      call->getFunction()->getName() + "' (" + why +
                      "): " + text.trim().split('\n').first);
  };
  size_t at = text.find("wgmma.mma_async.sync.aligned.m64n");
  if (at == llvm::StringRef::npos)
    return bad("only MLIR's wgmma.mma_async and mbarrier.try_wait.parity are known");
  llvm::StringRef rest = text.drop_front(at + strlen("wgmma.mma_async.sync.aligned.m64n"));
  unsigned n = 0;
  if (rest.consumeInteger(10, n) || !rest.consume_front("k16.f32.") || n % 8 || n < 8 || n > 256)
    return bad("a shape other than m64nNk16 with f32 accumulators");
  bool f16 = rest.starts_with("f16.f16");
  if (!f16 && !rest.starts_with("bf16.bf16"))
    return bad("operands other than bf16 or f16");
  // The operands after the accumulator list: $descA, $descB, p, $scaleA,
  // $scaleB, $tnspA, $tnspB; the scale-d operand from the setp.
  auto operandAfter = [](llvm::StringRef &s) -> std::optional<unsigned> {
    size_t dollar = s.find('$');
    if (dollar == llvm::StringRef::npos)
      return std::nullopt;
    s = s.drop_front(dollar + 1);
    unsigned k;
    if (s.consumeInteger(10, k))
      return std::nullopt;
    return k;
  };
  llvm::StringRef setp = text.substr(text.find("setp.ne.b32 p,"));
  std::optional<unsigned> scaleD = operandAfter(setp);
  llvm::StringRef list = rest.substr(rest.find('}') + 1);
  std::optional<unsigned> ops[6];
  for (auto &o : ops)
    o = operandAfter(list);
  unsigned outputs = n / 2;
  if (!scaleD || !ops[0] || !ops[5] || *ops[0] < outputs)
    return bad("its operand list");
  auto operand = [&](unsigned k) { return call->getArgOperand(k - outputs); };
  // Scale-a and scale-b (negation) must be 1; the transposes are modes.
  auto constant = [&](unsigned k) -> std::optional<int64_t> {
    if (auto *c = llvm::dyn_cast<llvm::ConstantInt>(operand(k)))
      return c->getSExtValue();
    return std::nullopt;
  };
  if (constant(*ops[2]) != 1 || constant(*ops[3]) != 1)
    return bad("negated operands");
  std::optional<int64_t> tnspA = constant(*ops[4]), tnspB = constant(*ops[5]);
  if (!tnspA || !tnspB)
    return bad("transposes that are not constants");

  llvm::IRBuilder<> b(call);
  llvm::Function &f = *call->getFunction();
  llvm::Type *i32 = b.getInt32Ty(), *ptr = b.getPtrTy();
  llvm::AllocaInst *descriptors;
  {
    llvm::IRBuilder<> entry(&*f.getEntryBlock().getFirstInsertionPt());
    descriptors = entry.CreateAlloca(llvm::ArrayType::get(entry.getInt64Ty(), 2));
  }
  llvm::AllocaInst *c = registers(f, outputs), *d = registers(f, outputs);
  auto element = [&](llvm::AllocaInst *regs, unsigned i) { return registerAt(b, regs, i); };
  for (unsigned i = 0; i < outputs; ++i)
    b.CreateStore(asBits(b, call->getArgOperand(i)), element(c, i));
  b.CreateStore(b.CreateZExtOrTrunc(operand(*ops[0]), b.getInt64Ty()), element(descriptors, 0));
  b.CreateStore(b.CreateZExtOrTrunc(operand(*ops[1]), b.getInt64Ty()), element(descriptors, 1));
  llvm::Value *accumulate =
      b.CreateZExt(b.CreateICmpNE(b.CreateZExtOrTrunc(operand(*scaleD), i32), b.getInt32(0)), i32);
  llvm::Value *mode =
      b.CreateOr(b.getInt32(n | (*tnspA != 0) << 11 | (*tnspB != 0) << 12 | int(f16) << 13),
                 b.CreateShl(accumulate, 10));
  callTable(b, table, MTGR_EMU_WGMMA,
            llvm::FunctionType::get(b.getVoidTy(), {i32, ptr, ptr, ptr}, false),
            {mode, descriptors, c, d});
  auto *fields = llvm::dyn_cast<llvm::StructType>(call->getType());
  if (!fields || fields->getNumElements() != outputs)
    return bad("a result that is not a struct of the accumulators");
  llvm::Value *r = llvm::UndefValue::get(fields);
  for (unsigned i = 0; i < outputs; ++i)
    r = b.CreateInsertValue(
        r, fromBits(b, b.CreateLoad(i32, element(d, i)), fields->getElementType(i)), i);
  call->replaceAllUsesWith(r);
  call->eraseFromParent();
  return llvm::Error::success();
}

/// The emulator's table, declared (defined by addKernelTables).
llvm::GlobalVariable *emulatorTable(llvm::Module &m) {
  auto *type = llvm::ArrayType::get(llvm::PointerType::get(m.getContext(), 0), MTGR_EMU_FIELDS);
  if (auto *g = m.getGlobalVariable(MTGR_EMU_TABLE_SYMBOL))
    return g;
  return new llvm::GlobalVariable(m, type, /*isConstant=*/false,
                                  llvm::GlobalValue::ExternalLinkage, nullptr,
                                  MTGR_EMU_TABLE_SYMBOL);
}

bool isKernel(const llvm::Function &f) {
  return f.getCallingConv() == llvm::CallingConv::PTX_Kernel;
}
} // namespace

llvm::Expected<std::vector<EmulatedKernel>>
mlir::mtgr::retargetForEmulator(llvm::Module &m, const llvm::Triple &triple,
                                const llvm::DataLayout &layout) {
  m.setTargetTriple(triple);
  m.setDataLayout(layout);
  if (auto *annotations = m.getNamedMetadata("nvvm.annotations"))
    m.eraseNamedMetadata(annotations);
  llvm::LLVMContext &ctx = m.getContext();
  llvm::GlobalVariable *table = emulatorTable(m);
  auto *i32 = llvm::Type::getInt32Ty(ctx);
  auto *i64 = llvm::Type::getInt64Ty(ctx);
  auto *ptr = llvm::PointerType::get(ctx, 0);

  // Declarations: NVVM intrinsics by table slot, libdevice by libm name.
  std::string unknown;
  std::set<llvm::Function *> synchronising; // functions with a barrier
  for (llvm::Function &f : llvm::make_early_inc_range(m)) {
    f.removeFnAttr("target-cpu");
    f.removeFnAttr("target-features");
    if (!f.isDeclaration())
      continue;
    llvm::StringRef name = f.getName();
    if (std::optional<std::pair<int, int>> warp = warpOpOf(name)) {
      // Warp operations need every lane at the same point: fibers.
      for (llvm::User *u : llvm::make_early_inc_range(f.users())) {
        auto *call = llvm::dyn_cast<llvm::CallInst>(u);
        if (!call)
          return mtgr::fail("the NVVM intrinsic '" + name + "' is used other than by a call");
        synchronising.insert(call->getFunction());
        retargetWarpOp(call, table, warp->first, warp->second);
      }
      f.eraseFromParent();
      continue;
    }
    if (std::optional<std::pair<int, int>> op = tensorOpOf(f.getIntrinsicID())) {
      for (llvm::User *u : llvm::make_early_inc_range(f.users())) {
        auto *call = llvm::dyn_cast<llvm::CallInst>(u);
        if (!call)
          return mtgr::fail("the NVVM intrinsic '" + name + "' is used other than by a call");
        // mma.sync and ldmatrix gather the warp's lanes, wgmma's the
        // warpgroup's: fibers.
        if (op->first == MTGR_EMU_MMA || op->first == MTGR_EMU_LDMATRIX ||
            op->first == MTGR_EMU_WGMMA_SYNC)
          synchronising.insert(call->getFunction());
        retargetTensorOp(call, table, op->first, op->second);
      }
      f.eraseFromParent();
      continue;
    }
    if (name == "llvm.nvvm.setmaxnreg.inc.sync.aligned.u32" ||
        name == "llvm.nvvm.setmaxnreg.dec.sync.aligned.u32") {
      // A warpgroup's register budget (warp-specialised kernels): nothing
      // to emulate, the host has its own registers. (ptxas checks the
      // counts; that a whole warpgroup executes it alike is the kernel's
      // structure: a branch on the warpgroup.)
      for (llvm::User *u : llvm::make_early_inc_range(f.users()))
        if (auto *call = llvm::dyn_cast<llvm::CallInst>(u))
          call->eraseFromParent();
      if (!f.use_empty())
        return mtgr::fail("the NVVM intrinsic '" + name + "' is used other than by a call");
      f.eraseFromParent();
      continue;
    }
    if (name == "llvm.nvvm.prefetch.global.L2" || name == "llvm.nvvm.prefetch.L2") {
      // A cache hint: no effect but that its address must be one the
      // kernel may read (a byte of it, through the access check).
      for (llvm::User *u : llvm::make_early_inc_range(f.users())) {
        auto *call = llvm::dyn_cast<llvm::CallInst>(u);
        if (!call)
          return mtgr::fail("the NVVM intrinsic '" + name + "' is used other than by a call");
        llvm::IRBuilder<> b(call);
        callTable(b, table, MTGR_EMU_GLOBAL_ACCESS,
                  llvm::FunctionType::get(ptr, {ptr, i64, i32}, false),
                  {generic(b, call->getArgOperand(0)), b.getInt64(1), b.getInt32(0)});
        call->eraseFromParent();
      }
      f.eraseFromParent();
      continue;
    }
    if (name.starts_with("llvm.nvvm.")) {
      std::optional<int> slot = slotOf(name);
      if (!slot) {
        unknown += (unknown.empty() ? "" : ", ") + name.str();
        continue;
      }
      for (llvm::User *u : llvm::make_early_inc_range(f.users())) {
        auto *call = llvm::dyn_cast<llvm::CallInst>(u);
        if (!call)
          return mtgr::fail("the NVVM intrinsic '" + name + "' is used other than by a call");
        llvm::IRBuilder<> b(call);
        llvm::SmallVector<llvm::Value *> args;
        llvm::FunctionType *type;
        if (*slot == MTGR_EMU_BARRIER || *slot == MTGR_EMU_NANOSLEEP) {
          // Both suspend the thread: the kernel runs on fibers.
          synchronising.insert(call->getFunction());
          args.push_back(call->arg_empty() ? b.getInt32(0) : call->getArgOperand(0));
          type = llvm::FunctionType::get(b.getVoidTy(), {i32}, false);
        } else {
          type = llvm::FunctionType::get(i32, {}, false);
        }
        llvm::CallInst *replaced = callTable(b, table, *slot, type, args);
        if (!call->getType()->isVoidTy())
          call->replaceAllUsesWith(replaced);
        call->eraseFromParent();
      }
      f.eraseFromParent();
      continue;
    }
    if (name.starts_with("__nv_")) {
      llvm::StringRef host = name.drop_front(5);
      if (host == "rsqrtf" || host == "rsqrt") {
        // 1 / sqrt(x): the host has no rsqrt.
        llvm::Type *t = f.getReturnType();
        llvm::FunctionCallee sqrt = m.getOrInsertFunction(host == "rsqrtf" ? "sqrtf" : "sqrt",
                                                          llvm::FunctionType::get(t, {t}, false));
        f.setLinkage(llvm::GlobalValue::InternalLinkage);
        llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "", &f));
        b.CreateRet(b.CreateFDiv(llvm::ConstantFP::get(t, 1.0), b.CreateCall(sqrt, {f.getArg(0)})));
        continue;
      }
      if (!hostHasLibm(host)) {
        unknown += (unknown.empty() ? "" : ", ") + name.str();
        continue;
      }
      if (llvm::Function *existing = m.getFunction(host)) {
        f.replaceAllUsesWith(existing);
        f.eraseFromParent();
      } else {
        f.setName(host);
      }
    }
  }
  // Inline PTX: MLIR's wgmma.mma_async (a warpgroup operation) and its
  // mbarrier.try_wait.parity loop.
  for (llvm::Function &f : m) {
    llvm::SmallVector<llvm::CallInst *> asmCalls;
    for (llvm::Instruction &inst : llvm::instructions(f))
      if (auto *call = llvm::dyn_cast<llvm::CallInst>(&inst))
        if (call->isInlineAsm())
          asmCalls.push_back(call);
    for (llvm::CallInst *call : asmCalls) {
      // Both block the thread until others get somewhere: fibers.
      synchronising.insert(&f);
      if (retargetMbarrierWait(call, table))
        continue;
      if (llvm::Error e = retargetWgmma(call, table))
        return std::move(e);
    }
  }
  if (!unknown.empty())
    return mtgr::fail("the GPU emulator does not know " + unknown +
                      " (codegen/cuda/EmulatorRetarget.cpp lists what it maps)");

  // Loads and stores of memory that is not the thread's stack ask the
  // emulator first.
  auto *access = llvm::FunctionType::get(ptr, {ptr, i64, i32}, false);
  for (llvm::Function &f : m) {
    if (f.isDeclaration())
      continue;
    llvm::SmallVector<std::pair<llvm::Instruction *, unsigned>> accesses;
    for (llvm::Instruction &inst : llvm::instructions(f)) {
      if (auto *l = llvm::dyn_cast<llvm::LoadInst>(&inst))
        accesses.push_back({l, l->getPointerOperandIndex()});
      else if (auto *s = llvm::dyn_cast<llvm::StoreInst>(&inst))
        accesses.push_back({s, s->getPointerOperandIndex()});
      else if (auto *a = llvm::dyn_cast<llvm::AtomicRMWInst>(&inst))
        accesses.push_back({a, a->getPointerOperandIndex()});
      else if (auto *x = llvm::dyn_cast<llvm::AtomicCmpXchgInst>(&inst))
        accesses.push_back({x, x->getPointerOperandIndex()});
      else if (llvm::isa<llvm::MemIntrinsic>(&inst))
        return mtgr::fail("kernel code in '" + f.getName() +
                          "' copies or fills memory with an intrinsic, which the GPU emulator "
                          "does not check yet");
    }
    for (auto [inst, operand] : accesses) {
      llvm::Value *p = inst->getOperand(operand);
      if (llvm::isa<llvm::AllocaInst>(llvm::getUnderlyingObject(p, 0)))
        continue;
      if (p == table || llvm::getUnderlyingObject(p, 0) == table)
        continue; // the emulator's own table
      llvm::Type *valueType = llvm::isa<llvm::StoreInst>(inst)
                                  ? llvm::cast<llvm::StoreInst>(inst)->getValueOperand()->getType()
                              : llvm::isa<llvm::AtomicCmpXchgInst>(inst)
                                  ? llvm::cast<llvm::AtomicCmpXchgInst>(inst)->getCompareOperand()->getType()
                                  : inst->getType();
      bool write = !llvm::isa<llvm::LoadInst>(inst);
      auto *pointerType = llvm::cast<llvm::PointerType>(p->getType());
      int slot = pointerType->getAddressSpace() == 3 ? MTGR_EMU_SHARED_ACCESS
                                                     : MTGR_EMU_GLOBAL_ACCESS;
      llvm::IRBuilder<> b(inst);
      llvm::Value *generic = pointerType->getAddressSpace() == 0
                                 ? p
                                 : b.CreateAddrSpaceCast(p, ptr);
      llvm::Value *allowed = callTable(
          b, table, slot, access,
          {generic, b.getInt64(layout.getTypeStoreSize(valueType)), b.getInt32(write)});
      inst->setOperand(operand, pointerType->getAddressSpace() == 0
                                    ? allowed
                                    : b.CreateAddrSpaceCast(allowed, pointerType));
    }
  }

  // Shared memory: the module's address-space-3 globals laid out in one
  // host arena, the emulated shared window. A shared address as an integer
  // (ptrtoint of an address-space-3 pointer, what wgmma descriptors, swizzle
  // patterns and mbarrier addresses are computed from) is its offset in the
  // window, as on a GPU, not a host address: ptrtoint subtracts the
  // arena's host address and inttoptr adds it back.
  // Dynamic shared memory (an address-space-3 global without an
  // initializer or of no size) starts after the static part, 1024-aligned, and may take up to
  // kEmulatedDynamicShared bytes (the launch says how many).
  std::vector<std::pair<std::string, int64_t>> shared;
  std::vector<llvm::GlobalVariable *> sharedGlobals;
  for (llvm::GlobalVariable &g : m.globals())
    if (g.getAddressSpace() == 3)
      sharedGlobals.push_back(&g);
  int64_t dynamicOffset = -1;
  if (!sharedGlobals.empty()) {
    int64_t bytes = 0;
    std::vector<int64_t> offsets(sharedGlobals.size(), -1);
    for (size_t i = 0; i < sharedGlobals.size(); ++i) {
      llvm::GlobalVariable *g = sharedGlobals[i];
      int64_t size = layout.getTypeAllocSize(g->getValueType());
      if (g->isDeclaration() || size == 0)
        continue; // dynamic (MLIR's is a zero-size array): placed below
      int64_t align = std::max<int64_t>(16, g->getAlign() ? g->getAlign()->value() : 16);
      bytes = (bytes + align - 1) / align * align;
      offsets[i] = bytes;
      bytes += size;
    }
    int64_t staticBytes = bytes;
    for (size_t i = 0; i < sharedGlobals.size(); ++i)
      if (offsets[i] < 0) {
        dynamicOffset = (staticBytes + 1023) / 1024 * 1024;
        offsets[i] = dynamicOffset;
        bytes = dynamicOffset + kEmulatedDynamicShared;
      }
    auto *arenaType = llvm::ArrayType::get(llvm::Type::getInt8Ty(ctx), bytes);
    auto *arena = new llvm::GlobalVariable(m, arenaType, false, llvm::GlobalValue::InternalLinkage,
                                           llvm::Constant::getNullValue(arenaType),
                                           // A name no other module linked beside this one has.
                                           "mtgr_emu_shared." + m.getModuleIdentifier(), nullptr,
                                           llvm::GlobalValue::NotThreadLocal, 3);
    arena->setAlignment(llvm::Align(1024));
    for (size_t i = 0; i < sharedGlobals.size(); ++i) {
      llvm::GlobalVariable *g = sharedGlobals[i];
      g->replaceAllUsesWith(llvm::ConstantExpr::getInBoundsGetElementPtr(
          llvm::Type::getInt8Ty(ctx), arena, llvm::ConstantInt::get(i64, offsets[i])));
      g->eraseFromParent();
    }
    llvm::convertUsersOfConstantsToInstructions({arena});
    for (llvm::Function &f : m) {
      if (f.isDeclaration())
        continue;
      llvm::SmallVector<llvm::Instruction *> casts;
      for (llvm::Instruction &inst : llvm::instructions(f))
        if ((llvm::isa<llvm::PtrToIntInst>(inst) &&
             inst.getOperand(0)->getType()->getPointerAddressSpace() == 3) ||
            (llvm::isa<llvm::IntToPtrInst>(inst) && inst.getType()->getPointerAddressSpace() == 3))
          casts.push_back(&inst);
      for (llvm::Instruction *cast : casts) {
        llvm::IRBuilder<> b(cast);
        llvm::Value *base = b.CreatePtrToInt(arena, i64);
        if (llvm::isa<llvm::PtrToIntInst>(cast)) {
          llvm::Value *host = b.CreatePtrToInt(cast->getOperand(0), i64);
          cast->replaceAllUsesWith(b.CreateZExtOrTrunc(b.CreateSub(host, base), cast->getType()));
        } else {
          llvm::Value *offset = b.CreateZExtOrTrunc(cast->getOperand(0), i64);
          cast->replaceAllUsesWith(
              b.CreateGEP(b.getInt8Ty(), arena, offset, "", /*isInBounds=*/false));
        }
        cast->eraseFromParent();
      }
    }
    // The static part, then (if any) the dynamic part as a negative size:
    // its capacity (abi/GpuLaunch.h).
    shared.push_back({arena->getName().str(), dynamicOffset < 0 ? bytes : dynamicOffset});
    if (dynamicOffset >= 0)
      shared.push_back({arena->getName().str(), -kEmulatedDynamicShared});
  }

  // A trampoline per kernel: one GPU thread from the launch's words.
  std::vector<EmulatedKernel> kernels;
  for (llvm::Function &f : llvm::make_early_inc_range(m)) {
    if (f.isDeclaration() || !isKernel(f))
      continue;
    EmulatedKernel k;
    k.name = f.getName().str();
    k.trampoline = "mtgr_emu_thread_" + k.name;
    k.params = f.arg_size();
    k.shared = shared;
    // (MLIR's kernels call no functions of their own but libm's.)
    k.barriers = synchronising.count(&f) != 0;
    f.setCallingConv(llvm::CallingConv::C);
    f.setLinkage(llvm::GlobalValue::InternalLinkage);
    auto *type = llvm::FunctionType::get(i32, {ptr, i64}, false);
    // External until the kernel table refers to it (the linker drops an
    // internal function nothing refers to yet).
    auto *t = llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage, k.trampoline, m);
    auto *entry = llvm::BasicBlock::Create(ctx, "entry", t);
    auto *wrong = llvm::BasicBlock::Create(ctx, "wrong_count", t);
    auto *run = llvm::BasicBlock::Create(ctx, "run", t);
    llvm::IRBuilder<> b(entry);
    b.CreateCondBr(b.CreateICmpEQ(t->getArg(1), b.getInt64(k.params)), run, wrong);
    b.SetInsertPoint(wrong);
    b.CreateRet(b.getInt32(1));
    b.SetInsertPoint(run);
    llvm::SmallVector<llvm::Value *> args;
    for (llvm::Argument &a : f.args())
      args.push_back(b.CreateLoad(a.getType(), b.CreateConstGEP1_64(i64, t->getArg(0), a.getArgNo())));
    b.CreateCall(&f, args);
    b.CreateRet(b.getInt32(0));
    kernels.push_back(std::move(k));
  }
  return kernels;
}

void mlir::mtgr::addKernelTables(llvm::Module &host, llvm::ArrayRef<EmulatedKernel> kernels) {
  llvm::LLVMContext &ctx = host.getContext();
  auto *ptr = llvm::PointerType::get(ctx, 0);
  auto *i64 = llvm::Type::getInt64Ty(ctx);
  llvm::GlobalVariable *table = emulatorTable(host);
  table->setInitializer(llvm::Constant::getNullValue(table->getValueType()));
  auto *sharedType = llvm::StructType::get(ctx, {ptr, i64});
  auto *record = llvm::StructType::get(ctx, {ptr, ptr, i64, i64, i64, ptr});
  std::vector<llvm::Constant *> records;
  for (const EmulatedKernel &k : kernels) {
    llvm::Function *run = host.getFunction(k.trampoline);
    if (!run)
      llvm::report_fatal_error(llvm::Twine("the trampoline ") + k.trampoline + " was lost");
    run->setLinkage(llvm::GlobalValue::InternalLinkage);
    auto *name = llvm::ConstantDataArray::getString(ctx, k.name);
    auto *nameGlobal = new llvm::GlobalVariable(host, name->getType(), true,
                                                llvm::GlobalValue::PrivateLinkage, name);
    std::vector<llvm::Constant *> regions;
    int64_t staticBytes = 0;
    for (const auto &[global, bytes] : k.shared) {
      // The dynamic part starts where the static part ends, 1024-aligned.
      llvm::Constant *base =
          llvm::ConstantExpr::getAddrSpaceCast(host.getGlobalVariable(global, true), ptr);
      if (bytes < 0)
        base = llvm::ConstantExpr::getInBoundsGetElementPtr(
            llvm::Type::getInt8Ty(ctx), base,
            llvm::ConstantInt::get(i64, (staticBytes + 1023) / 1024 * 1024));
      else
        staticBytes = bytes;
      regions.push_back(
          llvm::ConstantStruct::get(sharedType, {base, llvm::ConstantInt::get(i64, bytes)}));
    }
    llvm::Constant *regionArray = llvm::ConstantPointerNull::get(ptr);
    if (!regions.empty()) {
      auto *type = llvm::ArrayType::get(sharedType, regions.size());
      regionArray = new llvm::GlobalVariable(host, type, true, llvm::GlobalValue::PrivateLinkage,
                                             llvm::ConstantArray::get(type, regions));
    }
    records.push_back(llvm::ConstantStruct::get(
        record, {nameGlobal, run, llvm::ConstantInt::get(i64, k.params),
                 llvm::ConstantInt::get(i64, k.barriers), llvm::ConstantInt::get(i64, regions.size()),
                 regionArray}));
  }
  records.push_back(llvm::Constant::getNullValue(record));
  new llvm::GlobalVariable(host, i64, true, llvm::GlobalValue::ExternalLinkage,
                           llvm::ConstantInt::get(i64, MTGR_EMU_FIELDS), MTGR_EMU_FIELDS_SYMBOL);
  new llvm::GlobalVariable(host, i64, true, llvm::GlobalValue::ExternalLinkage,
                           llvm::ConstantInt::get(i64, MTGR_GPU_HOST_ABI),
                           MTGR_GPU_HOST_ABI_SYMBOL);
  auto *type = llvm::ArrayType::get(record, records.size());
  new llvm::GlobalVariable(host, type, true, llvm::GlobalValue::ExternalLinkage,
                           llvm::ConstantArray::get(type, records), MTGR_GPU_KERNELS_SYMBOL);
}
