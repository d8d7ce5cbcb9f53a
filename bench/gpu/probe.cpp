//===- probe.cpp - mtgr-run devices, built to carry to a GPU machine ------===//
// The same listing as `mtgr-run devices` (app/Devices.cpp over
// runtime/cuda/CudaDriver.cpp), linked against static LLVM Support so that
// it starts on a machine without LLVM (bench/gpu/build.sh).
#include "app/Devices.h"

int main() { return mtgr::describeDevices(llvm::outs()) > 0 ? 0 : 1; }
