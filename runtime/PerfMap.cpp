//===- PerfMap.cpp - name the generated code for perf ---------------------===//
#include "runtime/PerfMap.h"
#include "model/Error.h"

#include "llvm/Support/FormatVariadic.h"

#include <cstring>
#include <elf.h>
#include <fstream>
#include <unistd.h>

using namespace mtgr;

namespace {
template <typename T> bool readAt(llvm::StringRef elf, uint64_t offset, T &out) {
  if (offset > elf.size() || elf.size() - offset < sizeof(T))
    return false;
  std::memcpy(&out, elf.data() + offset, sizeof(T));
  return true;
}
} // namespace

llvm::Expected<std::vector<CodeSymbol>> mtgr::elfFunctions(llvm::StringRef elf) {
  Elf64_Ehdr header;
  if (!readAt(elf, 0, header) || std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 ||
      header.e_ident[EI_CLASS] != ELFCLASS64)
    return fail("host code", "not an ELF64 object");
  if (header.e_shentsize != sizeof(Elf64_Shdr))
    return fail("host code", "unexpected section header size");
  std::vector<Elf64_Shdr> sections(header.e_shnum);
  for (size_t i = 0; i < sections.size(); ++i)
    if (!readAt(elf, header.e_shoff + i * sizeof(Elf64_Shdr), sections[i]))
      return fail("host code", "section header " + llvm::Twine(i) + " lies outside the file");
  // The full symbol table when the linker kept it, else the dynamic one.
  const Elf64_Shdr *table = nullptr;
  for (uint32_t type : {uint32_t(SHT_SYMTAB), uint32_t(SHT_DYNSYM)}) {
    for (const Elf64_Shdr &s : sections)
      if (s.sh_type == type) {
        table = &s;
        break;
      }
    if (table)
      break;
  }
  if (!table)
    return std::vector<CodeSymbol>{};
  if (table->sh_link >= sections.size())
    return fail("host code", "symbol table links to no string table");
  const Elf64_Shdr &strings = sections[table->sh_link];
  if (strings.sh_offset > elf.size() || elf.size() - strings.sh_offset < strings.sh_size)
    return fail("host code", "string table lies outside the file");
  std::vector<CodeSymbol> out;
  for (uint64_t at = 0; at + sizeof(Elf64_Sym) <= table->sh_size; at += sizeof(Elf64_Sym)) {
    Elf64_Sym sym;
    if (!readAt(elf, table->sh_offset + at, sym))
      return fail("host code", "symbol table lies outside the file");
    if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF || sym.st_size == 0)
      continue;
    if (sym.st_name >= strings.sh_size)
      return fail("host code", "symbol name outside the string table");
    const char *name = elf.data() + strings.sh_offset + sym.st_name;
    size_t length = strnlen(name, strings.sh_size - sym.st_name);
    out.push_back({sym.st_value, sym.st_size, std::string(name, length)});
  }
  return out;
}

llvm::Expected<std::string> mtgr::appendPerfMap(const std::vector<CodeSymbol> &symbols,
                                                     uint64_t base) {
  std::string path = "/tmp/perf-" + std::to_string(getpid()) + ".map";
  std::ofstream f(path, std::ios::app);
  for (const CodeSymbol &s : symbols)
    f << llvm::formatv("{0:x-} {1:x-} {2}\n", base + s.offset, s.size, s.name).str();
  f.close();
  if (!f)
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "cannot write " + path);
  return path;
}
