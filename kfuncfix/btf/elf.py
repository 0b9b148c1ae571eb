"""Minimal ELF reader: sections (to pull `.BTF` and `.BTF_ids`) and the symbol table.

Plain `struct` parsing for 32/64-bit and either byte order. Symbols are needed
to find the BTF id sets in `.BTF_ids` and compiler clones (`foo.isra.0`);
program headers and relocations are ignored.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from kfuncfix.btf.errors import BTFError

ELF_MAGIC = b"\x7fELF"
SHT_SYMTAB = 2
SHT_NOBITS = 8
SHF_COMPRESSED = 0x800
SHN_XINDEX = 0xFFFF
ELFCOMPRESS_ZLIB = 1


@dataclass(frozen=True)
class Section:
    name: str
    type: int
    flags: int
    offset: int
    size: int
    index: int = 0
    addr: int = 0  # virtual address in linked images; 0 in relocatable objects
    link: int = 0


@dataclass(frozen=True)
class Symbol:
    name: str
    value: int
    size: int
    type: int  # STT_*: 1 object, 2 function
    shndx: int  # index of the section the symbol is defined in


def is_elf(data: bytes) -> bool:
    return data[:4] == ELF_MAGIC


def _layout(data: bytes) -> tuple[str, bool]:
    """Return the struct byte-order prefix and whether the file is 64-bit."""
    if len(data) < 16 or not is_elf(data):
        raise BTFError("not an ELF file (bad magic at offset 0)")
    ei_class, ei_data = data[4], data[5]
    if ei_class not in (1, 2):
        raise BTFError(f"ELF: unknown class {ei_class} at offset 4")
    if ei_data not in (1, 2):
        raise BTFError(f"ELF: unknown data encoding {ei_data} at offset 5")
    return ("<" if ei_data == 1 else ">"), ei_class == 2


def struct_prefix(data: bytes) -> str:
    """The `struct` byte-order character for an ELF image's data."""
    return _layout(data)[0]


def read_sections(data: bytes) -> dict[str, Section]:
    """Map section name to Section (the first of that name) for an ELF image."""
    out: dict[str, Section] = {}
    for sec in section_list(data):
        out.setdefault(sec.name, sec)
    return out


def section_list(data: bytes) -> list[Section]:
    """Every section of an ELF image in index order, the null section 0 excluded."""
    end, is64 = _layout(data)
    ehdr = end + ("16xHHIQQQIHHHHHH" if is64 else "16xHHIIIIIHHHHHH")
    if len(data) < struct.calcsize(ehdr):
        raise BTFError(f"ELF: truncated header ({len(data)} bytes)")
    (_, _, _, _, _, shoff, _, _, _, _, shentsize, shnum, shstrndx) = struct.unpack_from(ehdr, data)
    shdr = end + ("IIQQQQIIQQ" if is64 else "IIIIIIIIII")
    want = struct.calcsize(shdr)
    if shoff == 0:
        return []
    if shentsize < want:
        raise BTFError(f"ELF: section header entry size {shentsize} < {want}")
    if shoff + shentsize > len(data):
        raise BTFError(f"ELF: section header table at offset {shoff} is past end of file")

    def header(i: int) -> tuple[int, ...]:
        at = shoff + i * shentsize
        if at + want > len(data):
            raise BTFError(f"ELF: section header {i} at offset {at} is past end of file")
        return struct.unpack_from(shdr, data, at)

    first = header(0)
    # Extended numbering: real counts live in section 0 when they overflow 16 bits.
    if shnum == 0:
        shnum = first[5]
    if shstrndx == SHN_XINDEX:
        shstrndx = first[6]
    if shoff + shnum * shentsize > len(data):
        raise BTFError(f"ELF: {shnum} section headers at offset {shoff} overrun the file")
    raw = [header(i) for i in range(shnum)]
    if not 0 < shstrndx < shnum:
        raise BTFError(f"ELF: section name table index {shstrndx} out of range")
    names = _section_bytes(data, raw[shstrndx], "section name table")
    out: list[Section] = []
    for index, h in enumerate(raw[1:], start=1):
        name_off, sh_type, flags, addr, offset, size, link = h[:7]
        out.append(Section(_cstr(names, name_off), sh_type, flags, offset, size, index, addr, link))
    return out


def _cstr(table: bytes, offset: int) -> str:
    if offset >= len(table):
        raise BTFError(f"ELF: string offset {offset} out of range ({len(table)} bytes)")
    stop = table.find(b"\0", offset)
    return table[offset : stop if stop >= 0 else len(table)].decode("utf-8", "replace")


def _section_bytes(data: bytes, h: tuple[int, ...], what: str) -> bytes:
    offset, size = h[4], h[5]
    if offset + size > len(data):
        raise BTFError(f"ELF: {what} at offset {offset} size {size} is past end of file")
    return data[offset : offset + size]


def section_data(data: bytes, sec: Section) -> bytes:
    """Contents of a section, decompressed when SHF_COMPRESSED (zlib only)."""
    if sec.type == SHT_NOBITS:
        raise BTFError(f"ELF: section {sec.name} has no file contents (SHT_NOBITS)")
    if sec.offset + sec.size > len(data):
        raise BTFError(
            f"ELF: section {sec.name} at offset {sec.offset} size {sec.size} is past end of file"
        )
    body = data[sec.offset : sec.offset + sec.size]
    if not sec.flags & SHF_COMPRESSED:
        return body
    end, is64 = _layout(data)
    chdr = end + ("IIQQ" if is64 else "III")
    if len(body) < struct.calcsize(chdr):
        raise BTFError(f"ELF: compressed section {sec.name} too short for its header")
    ch_type = struct.unpack_from(chdr, body)[0]
    if ch_type != ELFCOMPRESS_ZLIB:
        raise BTFError(f"ELF: section {sec.name} uses unsupported compression type {ch_type}")
    try:
        return zlib.decompress(body[struct.calcsize(chdr) :])
    except zlib.error as exc:
        raise BTFError(f"ELF: section {sec.name} does not decompress: {exc}") from None


def read_symbols(data: bytes, sections: list[Section] | None = None) -> list[Symbol]:
    """The entries of `.symtab` (empty for stripped files)."""
    sections = section_list(data) if sections is None else sections
    symtab = next((s for s in sections if s.type == SHT_SYMTAB), None)
    if symtab is None:
        return []
    by_index = {s.index: s for s in sections}
    strtab = by_index.get(symtab.link)
    if strtab is None:
        raise BTFError(f"ELF: symbol table links to missing string table {symtab.link}")
    names = section_data(data, strtab)
    end, is64 = _layout(data)
    # Field order differs between the 32- and 64-bit Sym layouts.
    fmt = struct.Struct(end + ("IBBHQQ" if is64 else "IIIBBH"))
    body = section_data(data, symtab)
    body = body[: len(body) - len(body) % fmt.size]
    out: list[Symbol] = []
    for fields in fmt.iter_unpack(body):
        if is64:
            name_off, info, _, shndx, value, size = fields
        else:
            name_off, value, size, info, _, shndx = fields
        if name_off:
            out.append(Symbol(_cstr(names, name_off), value, size, info & 0xF, shndx))
    return out
