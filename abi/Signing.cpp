//===- Signing.cpp - ed25519 key files, signatures (libsodium) ------------===//
#include "abi/Signing.h"
#include "model/Error.h"
#include "llvm/Support/Path.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <sodium.h>

using namespace mtgr;

namespace {
void initSodium() {
  static const bool ok = sodium_init() >= 0;
  (void)ok;
}

std::string hex(const unsigned char *data, size_t n) {
  static const char *digits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i)
    s += digits[data[i] >> 4], s += digits[data[i] & 15];
  return s;
}

bool unhex(llvm::StringRef text, unsigned char *out, size_t n) {
  if (text.size() != 2 * n)
    return false;
  for (size_t i = 0; i < n; ++i) {
    unsigned v;
    if (text.substr(2 * i, 2).getAsInteger(16, v))
      return false;
    out[i] = static_cast<unsigned char>(v);
  }
  return true;
}

/// The lines of a key file that carry keys, with their line numbers.
llvm::Expected<std::vector<std::pair<unsigned, llvm::SmallVector<llvm::StringRef, 3>>>>
keyLines(llvm::StringRef path, std::unique_ptr<llvm::MemoryBuffer> &buffer) {
  auto b = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!b)
    return fail(path, "cannot read: " + b.getError().message());
  buffer = std::move(*b);
  std::vector<std::pair<unsigned, llvm::SmallVector<llvm::StringRef, 3>>> out;
  llvm::SmallVector<llvm::StringRef> lines;
  buffer->getBuffer().split(lines, '\n');
  for (auto [i, line] : llvm::enumerate(lines)) {
    line = line.trim();
    if (line.empty() || line.starts_with("#"))
      continue;
    llvm::SmallVector<llvm::StringRef, 3> words;
    line.split(words, ' ', 2, false);
    out.push_back({static_cast<unsigned>(i + 1), words});
  }
  return out;
}
} // namespace

std::string mtgr::publicKeyLine(const PublicKey &key) {
  return "mtgr-ed25519-public " + hex(key.data(), key.size());
}

llvm::Error mtgr::generateKeyPair(llvm::StringRef prefix) {
  initSodium();
  PublicKey pub;
  SecretKey sec;
  crypto_sign_keypair(pub.data(), sec.data());
  std::string secPath = (prefix + ".key").str(), pubPath = (prefix + ".pub").str();
  {
    std::error_code ec;
    llvm::raw_fd_ostream out(secPath, ec, llvm::sys::fs::OF_Text);
    if (ec)
      return fail(secPath, "cannot write: " + ec.message());
    llvm::sys::fs::setPermissions(secPath, llvm::sys::fs::owner_read | llvm::sys::fs::owner_write);
    out << "mtgr-ed25519-secret " << hex(sec.data(), sec.size()) << "\n";
  }
  sodium_memzero(sec.data(), sec.size());
  std::error_code ec;
  llvm::raw_fd_ostream out(pubPath, ec, llvm::sys::fs::OF_Text);
  if (ec)
    return fail(pubPath, "cannot write: " + ec.message());
  out << publicKeyLine(pub) << " " << llvm::sys::path::filename(prefix) << "\n";
  return llvm::Error::success();
}

llvm::Expected<SecretKey> mtgr::loadSecretKey(llvm::StringRef path) {
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  auto lines = keyLines(path, buffer);
  if (!lines)
    return lines.takeError();
  SecretKey key;
  if (lines->size() != 1 || (*lines)[0].second.size() < 2 ||
      (*lines)[0].second[0] != "mtgr-ed25519-secret" ||
      !unhex((*lines)[0].second[1], key.data(), key.size()))
    return fail(path, "not an mtgr secret key (one line: mtgr-ed25519-secret <128 hex "
                      "digits>; make one with mtgr-keygen)");
  return key;
}

llvm::Expected<std::vector<PublicKey>> mtgr::loadTrustedKeys(llvm::StringRef path) {
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  auto lines = keyLines(path, buffer);
  if (!lines)
    return lines.takeError();
  std::vector<PublicKey> keys;
  for (auto &[lineNo, words] : *lines) {
    PublicKey key;
    if (words.size() < 2 || words[0] != "mtgr-ed25519-public" ||
        !unhex(words[1], key.data(), key.size()))
      return fail(path, llvm::Twine(lineNo) +
                            ": expected 'mtgr-ed25519-public <64 hex digits> [comment]'");
    keys.push_back(key);
  }
  if (keys.empty())
    return fail(path, "no public keys in the file");
  return keys;
}

std::string mtgr::signMessage(llvm::StringRef message, const SecretKey &key) {
  initSodium();
  std::string out(kSignatureBytes, '\0');
  auto *bytes = reinterpret_cast<unsigned char *>(out.data());
  crypto_sign_ed25519_sk_to_pk(bytes, key.data());
  crypto_sign_detached(bytes + 32, nullptr, reinterpret_cast<const unsigned char *>(message.data()),
                       message.size(), key.data());
  return out;
}

bool mtgr::verifySignature(llvm::StringRef message, llvm::StringRef section,
                                 PublicKey &signer) {
  initSodium();
  if (section.size() != kSignatureBytes)
    return false;
  auto *bytes = reinterpret_cast<const unsigned char *>(section.data());
  std::copy_n(bytes, 32, signer.begin());
  return crypto_sign_verify_detached(bytes + 32,
                                     reinterpret_cast<const unsigned char *>(message.data()),
                                     message.size(), signer.data()) == 0;
}
