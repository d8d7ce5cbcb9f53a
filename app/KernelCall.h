//===- KernelCall.h - an entry point called on raw buffers -----*- C++ -*-===//
//
// `mtgr-run call`: a kernel artifact's entry point (abi/Artifact.h
// kernelsOnly: the tests' tensor-core micro-kernels) called once on
// buffers from a .npz archive (arg0, arg1, ... in the entry point's order,
// float32 arrays, raw bits allowed), every buffer read back after the
// call; and a bit-for-bit comparison with recorded outputs (bench/gpu's
// golden outputs from a GPU, checked on the emulator in CI).
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_APP_KERNELCALL_H
#define MTGR_APP_KERNELCALL_H

#include "abi/Artifact.h"
#include "runtime/Device.h"
#include "runtime/Params.h"

#include "llvm/Support/raw_ostream.h"

#include <map>

namespace mtgr {

/// Calls entry point `entry` of `artifact` on `device` with `inputs`
/// (exactly arg0 .. argN-1 for its N arguments); returns every buffer after
/// the call, by the same names. Errors name the argument and the archive
/// (`where`).
llvm::Expected<std::map<std::string, Tensor>>
callOnBuffers(const Artifact &artifact, Device &device, llvm::StringRef entry,
              const std::map<std::string, Tensor> &inputs, llvm::StringRef where);

/// Compares `got` with `expected` bit for bit, for every buffer `expected`
/// has (which `got` must have, with its shape); writes one line per buffer
/// that differs (its first differing element, both values and bits) or a
/// PASS line. Returns whether all are identical.
bool compareBits(const std::map<std::string, Tensor> &got,
                 const std::map<std::string, Tensor> &expected, llvm::StringRef expectedPath,
                 llvm::raw_ostream &os);

} // namespace mtgr

#endif
