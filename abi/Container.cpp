//===- Container.cpp - sectioned, checksummed files, written atomically ---===//
#include "abi/Container.h"
#include "model/Error.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/xxhash.h"

#include <cstring>
#include <fcntl.h>
#include <unistd.h>

using namespace mtgr;

namespace {
constexpr size_t kNameBytes = 16, kEntryBytes = kNameBytes + 3 * 8, kHeaderBytes = 16;

template <typename T> void put(std::string &out, T v) {
  out.append(reinterpret_cast<const char *>(&v), sizeof(T));
}
template <typename T> T get(const char *p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
} // namespace

std::string mtgr::packSections(llvm::StringRef magic, uint32_t version,
                                     const Sections &sections) {
  std::string out = magic.str();
  put<uint32_t>(out, version);
  put<uint32_t>(out, sections.size());
  uint64_t offset = kHeaderBytes + sections.size() * kEntryBytes + 8;
  for (auto &[name, data] : sections) {
    char field[kNameBytes] = {};
    std::memcpy(field, name.data(), std::min(name.size(), kNameBytes));
    out.append(field, kNameBytes);
    put<uint64_t>(out, offset);
    put<uint64_t>(out, data.size());
    put<uint64_t>(out, llvm::xxh3_64bits(data));
    offset += data.size();
  }
  put<uint64_t>(out, llvm::xxh3_64bits(out));
  for (auto &section : sections)
    out += section.second;
  return out;
}

llvm::Expected<std::map<std::string, llvm::StringRef>>
mtgr::unpackSections(llvm::StringRef bytes, llvm::StringRef magic, uint32_t version,
                           llvm::StringRef path, llvm::StringRef what) {
  if (!bytes.starts_with(magic) && !magic.starts_with(bytes))
    return fail(path, "not " + what + " (bad magic)");
  if (bytes.size() < kHeaderBytes)
    return fail(path, "truncated: " + llvm::Twine(bytes.size()) + " bytes, the header needs " +
                          llvm::Twine(kHeaderBytes));
  uint32_t v = get<uint32_t>(bytes.data() + 8), count = get<uint32_t>(bytes.data() + 12);
  if (v != version)
    return fail(path, "format version " + llvm::Twine(v) + ", this runtime reads version " +
                          llvm::Twine(version));
  if (count > 4096)
    return fail(path, "corrupted header: " + llvm::Twine(count) + " sections");
  size_t tableEnd = kHeaderBytes + count * kEntryBytes;
  if (bytes.size() < tableEnd + 8)
    return fail(path, "truncated: the section table needs " + llvm::Twine(tableEnd + 8) +
                          " bytes, the file has " + llvm::Twine(bytes.size()));
  if (get<uint64_t>(bytes.data() + tableEnd) != llvm::xxh3_64bits(bytes.take_front(tableEnd)))
    return fail(path, "corrupted: header checksum mismatch");
  std::map<std::string, llvm::StringRef> sections;
  for (uint32_t i = 0; i < count; ++i) {
    const char *e = bytes.data() + kHeaderBytes + i * kEntryBytes;
    std::string name(e, strnlen(e, kNameBytes));
    uint64_t offset = get<uint64_t>(e + kNameBytes), size = get<uint64_t>(e + kNameBytes + 8);
    uint64_t hash = get<uint64_t>(e + kNameBytes + 16);
    if (offset > bytes.size() || size > bytes.size() - offset)
      return fail(path, "truncated: section '" + name + "' ends at byte " +
                            llvm::Twine(offset + size) + ", the file has " +
                            llvm::Twine(bytes.size()));
    llvm::StringRef data = bytes.substr(offset, size);
    if (llvm::xxh3_64bits(data) != hash)
      return fail(path, "section '" + name + "': checksum mismatch (corrupted)");
    sections[name] = data;
  }
  return sections;
}

bool mtgr::resealChecksums(std::string &bytes) {
  if (bytes.size() < kHeaderBytes)
    return false;
  uint32_t count = get<uint32_t>(bytes.data() + 12);
  if (count > 4096)
    return false;
  size_t tableEnd = kHeaderBytes + size_t(count) * kEntryBytes;
  if (bytes.size() < tableEnd + 8)
    return false;
  for (uint32_t i = 0; i < count; ++i) {
    char *e = bytes.data() + kHeaderBytes + i * kEntryBytes;
    uint64_t offset = get<uint64_t>(e + kNameBytes), size = get<uint64_t>(e + kNameBytes + 8);
    if (offset > bytes.size() || size > bytes.size() - offset)
      continue; // the reader reports it as truncated
    uint64_t hash = llvm::xxh3_64bits(llvm::StringRef(bytes).substr(offset, size));
    std::memcpy(e + kNameBytes + 16, &hash, 8);
  }
  uint64_t hash = llvm::xxh3_64bits(llvm::StringRef(bytes).take_front(tableEnd));
  std::memcpy(bytes.data() + tableEnd, &hash, 8);
  return true;
}

llvm::Error mtgr::writeFileAtomically(llvm::StringRef path, llvm::StringRef bytes) {
  llvm::SmallString<256> tmp(path);
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return fail(path, "cannot write " + tmp + ": " + std::strerror(errno));
  for (size_t done = 0; done < bytes.size();) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      std::string why = std::strerror(errno);
      ::close(fd);
      return fail(path, "write failed: " + why);
    }
    done += n;
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    return fail(path, llvm::Twine("cannot flush to disk: ") + std::strerror(errno));
  if (auto ec = llvm::sys::fs::rename(tmp, path))
    return fail(path, "cannot rename the temporary file: " + ec.message());
  llvm::SmallString<256> dir(path);
  llvm::sys::path::remove_filename(dir);
  if (dir.empty())
    dir = ".";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) { // the rename itself reaches the disk
    ::fsync(dfd);
    ::close(dfd);
  }
  return llvm::Error::success();
}
