"""Minimal ELF section reader: enough to pull `.BTF` and see `.BTF_ids`.

Plain `struct` parsing of the section header table, for 32/64-bit and either byte
order. Only section names, offsets and sizes are needed, so program headers,
symbols and relocations are ignored.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from kfuncfix.btf.errors import BTFError

ELF_MAGIC = b"\x7fELF"
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


def read_sections(data: bytes) -> dict[str, Section]:
    """Map section name to Section for every section of an ELF image."""
    end, is64 = _layout(data)
    ehdr = end + ("16xHHIQQQIHHHHHH" if is64 else "16xHHIIIIIHHHHHH")
    if len(data) < struct.calcsize(ehdr):
        raise BTFError(f"ELF: truncated header ({len(data)} bytes)")
    (_, _, _, _, _, shoff, _, _, _, _, shentsize, shnum, shstrndx) = struct.unpack_from(ehdr, data)
    shdr = end + ("IIQQQQIIQQ" if is64 else "IIIIIIIIII")
    want = struct.calcsize(shdr)
    if shoff == 0:
        return {}
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
    out: dict[str, Section] = {}
    for h in raw[1:]:
        name_off, sh_type, flags, _, offset, size = h[:6]
        if name_off >= len(names):
            raise BTFError(f"ELF: section name offset {name_off} out of range")
        stop = names.find(b"\0", name_off)
        name = names[name_off : stop if stop >= 0 else len(names)].decode("utf-8", "replace")
        out.setdefault(name, Section(name, sh_type, flags, offset, size))
    return out


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
