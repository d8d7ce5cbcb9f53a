//===- SessionConfig.cpp - session options from a user's settings ---------===//
#include "app/SessionConfig.h"

#include <cctype>
#include <cstdlib>

using namespace mtgr;

std::optional<uint64_t> mtgr::parseByteSize(llvm::StringRef text) {
  uint64_t scale = 1;
  if (!text.empty()) {
    char unit = static_cast<char>(std::toupper(static_cast<unsigned char>(text.back())));
    int shift = unit == 'K' ? 10 : unit == 'M' ? 20 : unit == 'G' ? 30 : unit == 'T' ? 40 : 0;
    if (shift) {
      scale = uint64_t(1) << shift;
      text = text.drop_back();
    }
  }
  uint64_t value;
  if (text.getAsInteger(10, value) || value == 0 || value > (UINT64_MAX >> 1) / scale)
    return std::nullopt;
  return value * scale;
}

llvm::Expected<TrustPolicy> mtgr::trustPolicyFrom(llvm::StringRef keysPath,
                                                        bool requireSignature) {
  TrustPolicy policy;
  std::string path = keysPath.str();
  if (path.empty())
    if (const char *env = std::getenv("MTGR_TRUSTED_KEYS"); env && *env)
      path = env;
  if (!path.empty()) {
    auto keys = loadTrustedKeys(path);
    if (!keys)
      return keys.takeError();
    policy.trusted = std::move(*keys);
  }
  policy.requireSignature = requireSignature;
  return policy;
}
