//===- NoMpi.cpp - a build without MPI ------------------------------------===//
#include "model/Error.h"
#include "runtime/Collective.h"

using namespace mtgr;

bool mtgr::haveMpi() { return false; }

llvm::Expected<std::unique_ptr<Collective>> mtgr::createMpiCollective() {
  return fail("this mtgr was built without MPI: install Debian's libopenmpi-dev and openmpi-bin "
              "(scripts/setup.sh does) and build again to train on several ranks");
}
