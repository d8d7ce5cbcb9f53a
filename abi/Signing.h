//===- Signing.h - ed25519 signatures of artifacts (libsodium) ----*- C++ -*-===//
//
// An artifact is executable code: loading it runs its host.so. A signed
// artifact carries a "signature" section (the signer's 32-byte public key,
// then the 64-byte ed25519 signature of Artifact::signedMessage()); a
// runtime with trusted keys configured refuses an unsigned or wrongly signed
// artifact before any of its code is mapped.
//
// Key files are text, one key per line (docs/cpu-backend.md):
//   public:  "mtgr-ed25519-public <64 hex digits> [comment]"
//   secret:  "mtgr-ed25519-secret <128 hex digits>"   (written with mode 0600)
// A trusted-keys file holds any number of public-key lines; blank lines and
// lines starting with '#' are skipped.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_ABI_SIGNING_H
#define MTGR_ABI_SIGNING_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <array>
#include <string>
#include <vector>

namespace mtgr {

using PublicKey = std::array<unsigned char, 32>;
using SecretKey = std::array<unsigned char, 64>;
constexpr size_t kSignatureBytes = 32 + 64; // public key, then signature

/// Writes a fresh key pair to `<prefix>.pub` and `<prefix>.key`.
llvm::Error generateKeyPair(llvm::StringRef prefix);
llvm::Expected<SecretKey> loadSecretKey(llvm::StringRef path);
llvm::Expected<std::vector<PublicKey>> loadTrustedKeys(llvm::StringRef path);
std::string publicKeyLine(const PublicKey &key);

/// The signature section's bytes for `message`.
std::string signMessage(llvm::StringRef message, const SecretKey &key);
/// True if `section` (kSignatureBytes) signs `message`; `signer` gets its key.
bool verifySignature(llvm::StringRef message, llvm::StringRef section, PublicKey &signer);

/// Which artifacts may load. With no trusted keys and `requireSignature`
/// false, unsigned artifacts load as ever; otherwise an artifact must be
/// signed by one of `trusted`.
struct TrustPolicy {
  std::vector<PublicKey> trusted;
  bool requireSignature = false;
  bool active() const { return requireSignature || !trusted.empty(); }
};

} // namespace mtgr

#endif
