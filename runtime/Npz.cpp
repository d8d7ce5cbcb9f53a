//===- Npz.cpp - parameters as NumPy .npz archives (libzip) ---------------===//
#include "runtime/Npz.h"
#include "model/Error.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>
#include <cstring>
#include <zip.h>

using namespace mtgr;

namespace {
std::string npyHeader(llvm::ArrayRef<int64_t> shape) {
  std::string dims; // Python tuple syntax: (), (a,), (a, b)
  for (size_t i = 0; i < shape.size(); ++i)
    dims += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1)
    dims += ",";
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // magic (6) + version (2) + length (2) + dict, padded to 64 bytes, ends in \n.
  size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  std::string h("\x93NUMPY\x01\x00", 8);
  uint16_t len = dict.size();
  h.append(reinterpret_cast<const char *>(&len), 2);
  return h + dict;
}

/// Parses an .npy member into a float tensor.
llvm::Error parseNpy(llvm::StringRef path, llvm::StringRef name, llvm::StringRef bytes, Tensor &t) {
  auto bad = [&](const llvm::Twine &msg) { return fail(path, "member '" + name + "': " + msg); };
  if (bytes.size() < 10 || !bytes.starts_with(llvm::StringRef("\x93NUMPY", 6)))
    return bad("not an .npy array");
  uint8_t major = bytes[6];
  size_t headerLen, offset;
  if (major == 1) {
    headerLen = static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
    offset = 10;
  } else {
    if (bytes.size() < 12)
      return bad("truncated header");
    uint32_t len;
    std::memcpy(&len, bytes.data() + 8, 4);
    headerLen = len;
    offset = 12;
  }
  if (bytes.size() < offset + headerLen)
    return bad("truncated header");
  llvm::StringRef header = bytes.substr(offset, headerLen);
  llvm::StringRef data = bytes.substr(offset + headerLen);
  auto field = [&](llvm::StringRef key) -> llvm::StringRef {
    size_t at = header.find("'" + key.str() + "'");
    if (at == llvm::StringRef::npos)
      return {};
    llvm::StringRef rest = header.substr(at + key.size() + 2).ltrim(" :");
    return rest;
  };
  llvm::StringRef descr = field("descr");
  bool f4 = descr.starts_with("'<f4'"), f8 = descr.starts_with("'<f8'");
  if (!f4 && !f8)
    return bad("dtype " + descr.take_until([](char c) { return c == ','; }) +
               " is not float32 or float64");
  if (field("fortran_order").starts_with("True"))
    return bad("Fortran-ordered arrays are not supported (save a C-contiguous array)");
  llvm::StringRef shape = field("shape");
  if (!shape.consume_front("("))
    return bad("no shape in the header");
  shape = shape.take_until([](char c) { return c == ')'; });
  t.shape.clear();
  llvm::SmallVector<llvm::StringRef> dims;
  shape.split(dims, ',', -1, false);
  for (llvm::StringRef d : dims) {
    d = d.trim();
    if (d.empty())
      continue;
    int64_t v;
    if (d.getAsInteger(10, v) || v < 0 || v > (int64_t(1) << 40))
      return bad("bad shape entry '" + d + "'");
    t.shape.push_back(v);
  }
  int64_t n = 1;
  for (int64_t d : t.shape)
    if (d != 0 && n > (int64_t(1) << 40) / d)
      return bad("shape has more than 2^40 elements");
    else
      n *= d;
  size_t width = f4 ? 4 : 8;
  if (data.size() != static_cast<size_t>(n) * width)
    return bad(llvm::formatv("expected {0} bytes of data for its shape, got {1}", n * width,
                             data.size()));
  t.data.resize(n);
  if (f4) {
    if (n) // an empty vector's data() may be null, which memcpy must not get
      std::memcpy(t.data.data(), data.data(), n * 4);
  } else {
    for (int64_t i = 0; i < n; ++i) {
      double v;
      std::memcpy(&v, data.data() + i * 8, 8);
      t.data[i] = static_cast<float>(v);
    }
  }
  return llvm::Error::success();
}
} // namespace

llvm::Expected<std::map<std::string, Tensor>>
mtgr::parseNpz(llvm::StringRef bytes, llvm::StringRef path,
                     const std::map<std::string, uint64_t> *maxBytes) {
  // libzip reads the archive from memory; the source does not copy `bytes`.
  zip_error_t ze;
  zip_error_init(&ze);
  zip_source_t *source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &ze);
  zip_t *archive = source ? zip_open_from_source(source, ZIP_RDONLY, &ze) : nullptr;
  if (!archive) {
    if (source)
      zip_source_free(source);
    std::string msg = zip_error_strerror(&ze);
    zip_error_fini(&ze);
    return fail(path, "cannot open as a zip archive (.npz): " + msg);
  }
  zip_error_fini(&ze);
  // Every error path below frees the archive first: names are copied out of
  // it (libzip owns the strings it returns).
  auto failClosed = [&](const llvm::Twine &msg) {
    std::string text = msg.str();
    zip_discard(archive);
    return fail(path, text);
  };
  std::map<std::string, Tensor> out;
  zip_int64_t n = zip_get_num_entries(archive, 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    const char *rawName = zip_get_name(archive, i, 0);
    if (!rawName)
      return failClosed("member " + llvm::Twine(i) + ": unreadable name");
    std::string name = rawName;
    std::string param = llvm::StringRef(name).ends_with(".npy")
                            ? name.substr(0, name.size() - 4)
                            : name;
    zip_stat_t st;
    if (zip_stat_index(archive, i, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
      return failClosed("member '" + name + "': no size in the archive's directory");
    // The size comes from the archive's directory, which anyone can write:
    // bound it by what the parameter can need before allocating.
    if (maxBytes) {
      auto limit = maxBytes->find(param);
      if (limit == maxBytes->end())
        return failClosed("'" + param + "' is not a parameter of this model");
      if (st.size > limit->second)
        return failClosed("member '" + name + "' claims " + llvm::Twine(st.size) +
                          " bytes, more than parameter '" + param + "' can hold (" +
                          llvm::Twine(limit->second) + " bytes as float64 with its header)");
    }
    std::string bytes;
    if (st.size > bytes.max_size())
      return failClosed("member '" + name + "' claims " + llvm::Twine(st.size) + " bytes");
    bytes.resize(st.size);
    zip_file_t *f = zip_fopen_index(archive, i, 0);
    if (!f || zip_fread(f, bytes.data(), st.size) != static_cast<zip_int64_t>(st.size)) {
      if (f)
        zip_fclose(f);
      return failClosed("member '" + name + "': cannot read (corrupted archive?)");
    }
    zip_fclose(f);
    Tensor t;
    if (auto e = parseNpy(path, name, bytes, t)) {
      zip_discard(archive);
      return std::move(e);
    }
    out[param] = std::move(t);
  }
  zip_discard(archive);
  return out;
}

llvm::Error mtgr::writeNpz(llvm::StringRef path, const ParamStore &params, bool compress) {
  std::string tmp = (path + ".tmp").str();
  llvm::sys::fs::remove(tmp);
  int err = 0;
  zip_t *archive = zip_open(tmp.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  if (!archive)
    return fail(path, "cannot create the archive");
  std::vector<std::string> members; // must outlive zip_close
  for (const std::string &name : params.names()) {
    const Tensor &t = params.get(name);
    std::string &bytes = members.emplace_back(npyHeader(t.shape));
    bytes.append(reinterpret_cast<const char *>(t.data.data()), t.data.size() * 4);
  }
  size_t i = 0;
  for (const std::string &name : params.names()) {
    const std::string &bytes = members[i++];
    zip_source_t *src = zip_source_buffer(archive, bytes.data(), bytes.size(), 0);
    zip_int64_t index = src ? zip_file_add(archive, (name + ".npy").c_str(), src, ZIP_FL_OVERWRITE)
                            : -1;
    if (index < 0) {
      if (src)
        zip_source_free(src);
      zip_discard(archive);
      return fail(path, "cannot add '" + name + "' to the archive");
    }
    zip_set_file_compression(archive, index, compress ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
    // A fixed time stamp (1980-01-01, the first DOS date) instead of "now":
    // the same parameters always give the same bytes (a resumed run can be
    // compared with an uninterrupted one byte for byte).
    zip_file_set_dostime(archive, index, /*time=*/0, /*date=*/(0 << 9) | (1 << 5) | 1, 0);
  }
  if (zip_close(archive) != 0) {
    std::string msg = zip_strerror(archive);
    zip_discard(archive);
    return fail(path, "cannot write the archive: " + msg);
  }
  if (auto ec = llvm::sys::fs::rename(tmp, path))
    return fail(path, "cannot rename the temporary file: " + ec.message());
  return llvm::Error::success();
}

llvm::Error mtgr::loadParams(llvm::StringRef path, ParamStore &params) {
  auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!file)
    return fail(path, "cannot read: " + file.getError().message());
  return loadParams((*file)->getBuffer(), path, params);
}

llvm::Error mtgr::loadParams(llvm::StringRef bytes, llvm::StringRef path,
                                   ParamStore &params) {
  // A member may hold its parameter as float64 behind a header of up to 64 KiB.
  std::map<std::string, uint64_t> maxBytes;
  for (const std::string &name : params.names())
    maxBytes[name] =
        static_cast<uint64_t>(params.get(name).numel()) * 8 + (64 << 10);
  auto tensors = parseNpz(bytes, path, &maxBytes);
  if (!tensors)
    return tensors.takeError();
  for (const std::string &name : params.names()) {
    auto it = tensors->find(name);
    if (it == tensors->end())
      return fail(path, "parameter '" + name + "' is missing");
    const Tensor &want = params.get(name);
    if (it->second.shape != want.shape) {
      auto str = [](const std::vector<int64_t> &s) {
        std::string r;
        for (int64_t d : s)
          r += (r.empty() ? "" : ", ") + std::to_string(d);
        return "[" + r + "]";
      };
      return fail(path, "parameter '" + name + "' has shape " + str(it->second.shape) +
                            ", the model expects " + str(want.shape));
    }
  }
  for (auto &[name, t] : *tensors) {
    if (!params.has(name))
      return fail(path, "'" + name + "' is not a parameter of this model");
    for (size_t i = 0; i < t.data.size(); ++i)
      if (!std::isfinite(t.data[i]))
        return fail(path, "parameter '" + name + "' element " + llvm::Twine(i) + " is " +
                              (std::isnan(t.data[i]) ? "NaN" : "infinite") +
                              " (as float32): parameters must be finite");
  }
  for (auto &[name, t] : *tensors)
    params.get(name).data = std::move(t.data);
  return llvm::Error::success();
}
