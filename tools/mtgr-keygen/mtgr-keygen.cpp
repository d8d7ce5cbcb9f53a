//===- mtgr-keygen.cpp - make an ed25519 key pair for signing artifacts ---===//
//
//   mtgr-keygen -o release      writes release.key (secret, mode 0600) and
//                               release.pub (a line for a trusted-keys file)
//
//===----------------------------------------------------------------------===//
#include "abi/Signing.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/WithColor.h"

namespace cl = llvm::cl;

namespace {
cl::OptionCategory category("mtgr-keygen options");
cl::opt<std::string> prefix("o", cl::desc("Write PREFIX.key and PREFIX.pub"), cl::Required,
                            cl::value_desc("prefix"), cl::cat(category));
cl::opt<bool> force("force", cl::desc("Overwrite existing key files"), cl::cat(category));
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "mtgr-keygen: make an ed25519 key pair for signing artifacts\n\n"
      "  mtgr-keygen -o release\n"
      "  mtgr-compile model.yaml --sign-key=release.key -o model.mtgr\n"
      "  mtgr-run infer model.mtgr --trusted-keys=release.pub\n\n"
      "PREFIX.key holds the secret key (keep it private: mode 0600); PREFIX.pub one line\n"
      "'mtgr-ed25519-public <hex> <name>' to collect into a trusted-keys file.\n");
  for (const char *ext : {".key", ".pub"})
    if (!force && llvm::sys::fs::exists(prefix + ext)) {
      llvm::WithColor::error(llvm::errs(), "mtgr-keygen")
          << prefix << ext << " exists (use --force to overwrite)\n";
      return 1;
    }
  if (auto e = mtgr::generateKeyPair(prefix)) {
    llvm::WithColor::error(llvm::errs(), "mtgr-keygen") << llvm::toString(std::move(e)) << "\n";
    return 1;
  }
  llvm::outs() << "wrote " << prefix << ".key (secret) and " << prefix << ".pub\n";
  return 0;
}
