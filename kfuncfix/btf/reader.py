"""Read BTF: raw blobs (`/sys/kernel/btf/*`), split BTF, and `.BTF` of ELF files.

Loading only walks the type section once to find where each record starts and
which records are FUNCs and DECL_TAGs; records are decoded on demand. That
keeps a 5 MB vmlinux BTF (~150k types) well under a second in pure Python.
"""

from __future__ import annotations

import mmap
import os
import stat
import struct
import sys
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

from kfuncfix.btf import elf
from kfuncfix.btf.errors import BTFError, SplitBTFError
from kfuncfix.btf.types import (
    FIXED_WORDS,
    MAX_KIND,
    VLEN_WORDS,
    BTFType,
    Enumerator,
    Kind,
    Member,
)

BTF_MAGIC = 0xEB9F
BTF_VERSION = 1
HEADER_FMT = "HBBIIIII"
HEADER_SIZE = struct.calcsize("<" + HEADER_FMT)
BTF_SECTION = ".BTF"
DISTILLED_BASE_SECTION = ".BTF.base"

# Per-kind word counts as lists: list indexing is the cheapest lookup in the hot loop.
_FIXED = [FIXED_WORDS.get(k, 0) for k in range(MAX_KIND + 1)]
_PER_VLEN = [VLEN_WORDS.get(k, 0) for k in range(MAX_KIND + 1)]


def _signed(word: int) -> int:
    return word - (1 << 32) if word & 0x80000000 else word


class BTF:
    """One BTF object; split BTF keeps a reference to its base.

    Type ids are global: a split BTF's own types start at `start_id`, the base's
    type count, and string offsets below the base's string size name base strings.
    """

    def __init__(
        self,
        words: array[int],
        offsets: array[int],
        strings: bytes,
        byte_order: str,
        base: BTF | None,
        funcs: list[int],
        decl_tags: list[int],
    ) -> None:
        self._words = words
        self._offsets = offsets
        self._strings = strings
        self.byte_order = byte_order
        self.base = base
        self.start_id = base.end_id if base else 1
        self._str_start = base.str_end if base else 0
        self._func_ids = funcs
        self._tag_ids = decl_tags
        self._funcs_by_name: dict[str, list[int]] | None = None
        self._tags_by_target: dict[int, list[BTFType]] | None = None
        self._cache: dict[int, BTFType] = {}

    @property
    def count(self) -> int:
        """Number of types this object defines (its base's not included)."""
        return len(self._offsets)

    @property
    def end_id(self) -> int:
        """One past the highest type id, counting the base and void (id 0)."""
        return self.start_id + len(self._offsets)

    @property
    def str_end(self) -> int:
        return self._str_start + len(self._strings)

    def string(self, offset: int) -> str:
        if offset < self._str_start:
            assert self.base is not None  # _str_start is non-zero only with a base
            return self.base.string(offset)
        local = offset - self._str_start
        if local >= len(self._strings):
            raise BTFError(f"BTF: string offset {offset} past the string section ({self.str_end})")
        stop = self._strings.find(b"\0", local)
        return self._strings[local : stop if stop >= 0 else len(self._strings)].decode(
            "utf-8", "replace"
        )

    def _at(self, type_id: int) -> int:
        """Word index of an own type's record, or a clear error for a bad id."""
        index = type_id - self.start_id
        if not 0 <= index < len(self._offsets):
            raise BTFError(f"BTF: type id {type_id} out of range (1..{self.end_id - 1})")
        return int(self._offsets[index])

    def kind(self, type_id: int) -> Kind:
        if type_id == 0:
            return Kind.UNKN
        if type_id < self.start_id and self.base is not None:
            return self.base.kind(type_id)
        return Kind((self._words[self._at(type_id) + 1] >> 24) & 0x1F)

    def name(self, type_id: int) -> str:
        if type_id == 0:
            return "void"
        if type_id < self.start_id and self.base is not None:
            return self.base.name(type_id)
        return self.string(self._words[self._at(type_id)])

    def type(self, type_id: int) -> BTFType:
        """The decoded record of a type id; id 0 is `void`."""
        if type_id == 0:
            return BTFType(0, Kind.UNKN, "void")
        if type_id < self.start_id and self.base is not None:
            return self.base.type(type_id)
        cached = self._cache.get(type_id)
        if cached is None:
            cached = self._decode(type_id)
            self._cache[type_id] = cached
        return cached

    def _decode(self, type_id: int) -> BTFType:
        w = self._words
        at = self._at(type_id)
        name_off, info, size_or_type = w[at], w[at + 1], w[at + 2]
        kind = Kind((info >> 24) & 0x1F)
        vlen = info & 0xFFFF
        common: dict[str, Any] = {
            "id": type_id,
            "kind": kind,
            "name": self.string(name_off),
            "vlen": vlen,
            "kind_flag": bool(info >> 31),
        }
        data = at + 3
        if kind == Kind.INT:
            word = w[data]
            return BTFType(
                **common,
                size=size_or_type,
                int_encoding=(word >> 24) & 0x0F,
                int_offset=(word >> 16) & 0xFF,
                int_bits=word & 0xFF,
            )
        if kind == Kind.ARRAY:
            return BTFType(
                **common, ref=w[data], array_index_type=w[data + 1], array_nelems=w[data + 2]
            )
        if kind in (Kind.STRUCT, Kind.UNION):
            members = []
            for i in range(vlen):
                m_name, m_type, m_off = w[data + 3 * i : data + 3 * i + 3]
                # With kind_flag, the high 8 bits of the offset hold the bitfield size.
                bits, off = (m_off >> 24, m_off & 0xFFFFFF) if info >> 31 else (0, m_off)
                members.append(Member(self.string(m_name), m_type, off, bits))
            return BTFType(**common, size=size_or_type, members=tuple(members))
        if kind == Kind.ENUM:
            conv = _signed if info >> 31 else int
            values = tuple(
                Enumerator(self.string(w[data + 2 * i]), conv(w[data + 2 * i + 1]))
                for i in range(vlen)
            )
            return BTFType(**common, size=size_or_type, enumerators=values)
        if kind == Kind.ENUM64:
            values64 = []
            for i in range(vlen):
                e_name, lo, hi = w[data + 3 * i : data + 3 * i + 3]
                value = (hi << 32) | lo
                if info >> 31 and value >> 63:
                    value -= 1 << 64
                values64.append(Enumerator(self.string(e_name), value))
            return BTFType(**common, size=size_or_type, enumerators=tuple(values64))
        if kind == Kind.FUNC_PROTO:
            params = tuple(
                Member(self.string(w[data + 2 * i]), w[data + 2 * i + 1]) for i in range(vlen)
            )
            return BTFType(**common, ref=size_or_type, members=params)
        if kind == Kind.DATASEC:
            entries = tuple(
                Member(self.name(w[data + 3 * i]), *w[data + 3 * i : data + 3 * i + 3])
                for i in range(vlen)
            )
            return BTFType(**common, size=size_or_type, members=entries)
        if kind == Kind.VAR:
            return BTFType(**common, ref=size_or_type, linkage=w[data])
        if kind == Kind.DECL_TAG:
            return BTFType(**common, ref=size_or_type, component_idx=_signed(w[data]))
        if kind == Kind.FUNC:
            return BTFType(**common, ref=size_or_type, linkage=vlen)
        if kind in (Kind.FLOAT, Kind.FWD):
            return BTFType(**common, size=size_or_type if kind == Kind.FLOAT else 0)
        return BTFType(**common, ref=size_or_type)  # PTR, TYPEDEF, qualifiers, TYPE_TAG

    def types(self) -> Iterator[BTFType]:
        """Every own type in id order."""
        for type_id in range(self.start_id, self.end_id):
            yield self.type(type_id)

    def func_ids(self) -> list[int]:
        """Ids of this object's own FUNC records."""
        return list(self._func_ids)

    def funcs_named(self, name: str) -> list[int]:
        """FUNC ids with this name, own first, then the base's."""
        if self._funcs_by_name is None:
            index: dict[str, list[int]] = {}
            for type_id in self._func_ids:
                index.setdefault(self.name(type_id), []).append(type_id)
            self._funcs_by_name = index
        found = list(self._funcs_by_name.get(name, ()))
        if self.base is not None:
            found += self.base.funcs_named(name)
        return found

    def _tag_index(self) -> dict[int, list[BTFType]]:
        if self._tags_by_target is None:
            index: dict[int, list[BTFType]] = {}
            for tag_id in self._tag_ids:
                tag = self.type(tag_id)
                index.setdefault(tag.ref, []).append(tag)
            self._tags_by_target = index
        return self._tags_by_target

    def decl_tags(self, type_id: int) -> list[BTFType]:
        """DECL_TAG records of this object (not its base) that point at type_id."""
        return list(self._tag_index().get(type_id, ()))

    def tagged(self, tag: str) -> list[int]:
        """Own type ids that carry `tag` as a whole-declaration decl tag."""
        return sorted(
            target
            for target, tags in self._tag_index().items()
            if any(t.name == tag and t.component_idx == -1 for t in tags)
        )

    def decl_tag_count(self, tag: str) -> int:
        return sum(1 for tag_id in self._tag_ids if self.name(tag_id) == tag)


def _byte_order(data: bytes) -> str:
    if len(data) < 2:
        raise BTFError("BTF: input is empty or shorter than the magic number")
    magic_le = struct.unpack_from("<H", data)[0]
    if magic_le == BTF_MAGIC:
        return "little"
    if magic_le == 0x9FEB:
        return "big"
    raise BTFError(f"not BTF: bad magic 0x{data[0]:02x}{data[1]:02x} at offset 0")


def parse_btf(data: bytes, base: BTF | None = None) -> BTF:
    """Parse one BTF blob; pass `base` for split BTF (modules)."""
    order = _byte_order(data)
    end = "<" if order == "little" else ">"
    if len(data) < HEADER_SIZE:
        raise BTFError(f"BTF: truncated header ({len(data)} of {HEADER_SIZE} bytes)")
    _, version, _, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(
        end + HEADER_FMT, data
    )
    if version != BTF_VERSION:
        raise BTFError(f"BTF: unsupported version {version} at offset 2")
    if not HEADER_SIZE <= hdr_len <= len(data):
        raise BTFError(f"BTF: header length {hdr_len} at offset 4 is invalid")
    for what, off, size in (("type", type_off, type_len), ("string", str_off, str_len)):
        if hdr_len + off + size > len(data):
            raise BTFError(
                f"BTF: {what} section at offset {hdr_len + off} size {size} is past the end "
                f"of the data ({len(data)} bytes): truncated?"
            )
    if type_off % 4 or type_len % 4:
        raise BTFError(f"BTF: type section offset {type_off} / length {type_len} not 4-aligned")
    strings = data[hdr_len + str_off : hdr_len + str_off + str_len]
    if strings and strings[-1] != 0:
        raise BTFError("BTF: string section does not end with NUL")
    if base is None and strings[:1] != b"\0":
        raise SplitBTFError(
            "BTF: string section does not start with NUL: this is split (module) BTF, "
            "readable only with its base BTF"
        )
    words = array("I")
    if words.itemsize != 4:  # pragma: no cover - every CPython platform has a 4-byte 'I'
        raise BTFError("BTF: this Python has no 32-bit unsigned array type")
    words.frombytes(data[hdr_len + type_off : hdr_len + type_off + type_len])
    if order != sys.byteorder:
        words.byteswap()
    offsets, funcs, tags = _scan(words, base.end_id if base else 1)
    return BTF(words, offsets, strings, order, base, funcs, tags)


def _scan(words: array[int], start_id: int) -> tuple[array[int], list[int], list[int]]:
    """Record offsets; one pass, each step at least 3 words, so it always ends."""
    fixed, per_vlen = _FIXED, _PER_VLEN
    offsets = array("I")
    funcs: list[int] = []
    tags: list[int] = []
    n = len(words)
    i = 0
    while i < n:
        if i + 3 > n:
            raise BTFError(f"BTF: type {start_id + len(offsets)} truncated at byte {4 * i}")
        info = words[i + 1]
        kind = (info >> 24) & 0x1F
        if not 0 < kind <= MAX_KIND:
            raise BTFError(
                f"BTF: type {start_id + len(offsets)} has unknown kind {kind} at byte {4 * i}"
            )
        if kind == Kind.FUNC:
            funcs.append(start_id + len(offsets))
        elif kind == Kind.DECL_TAG:
            tags.append(start_id + len(offsets))
        offsets.append(i)
        i += 3 + fixed[kind] + per_vlen[kind] * (info & 0xFFFF)
    if i != n:
        raise BTFError(
            f"BTF: type {start_id + len(offsets) - 1} runs past the end of the type section "
            f"({4 * n} bytes): truncated?"
        )
    return offsets, funcs, tags


def btf_section(data: bytes, section: str = BTF_SECTION) -> bytes | None:
    """The contents of an ELF section holding BTF, or None when there is none."""
    sec = elf.read_sections(data).get(section)
    return elf.section_data(data, sec) if sec else None


def parse_btf_file(data: bytes, base: BTF | None = None) -> BTF:
    """Parse raw BTF or the `.BTF` section of an ELF image.

    A module's ELF carrying a distilled base (`.BTF.base`, Linux 6.12+) is read
    against that base when no other base is given.
    """
    if not elf.is_elf(data):
        return parse_btf(data, base)
    raw = btf_section(data)
    if raw is None:
        raise BTFError("ELF: no .BTF section (kernel built without CONFIG_DEBUG_INFO_BTF?)")
    if base is None:
        distilled = btf_section(data, DISTILLED_BASE_SECTION)
        if distilled is not None:
            base = parse_btf(distilled)
    return parse_btf(raw, base)


def load_btf(path: Path, base: Path | None = None) -> BTF:
    """Read a BTF file (raw or ELF), with an optional base BTF file for split BTF."""
    base_btf = parse_btf_file(read_btf_file(Path(base))) if base else None
    return parse_btf_file(read_btf_file(Path(path)), base_btf)


def read_btf_file(path: Path) -> bytes:
    """The bytes of a BTF input, never more than its headers describe.

    Only a regular file is read: a FIFO would block forever and `/dev/zero`
    never ends (reading it whole grew to gigabytes).  Raw BTF is read up to
    the end of the sections its header gives; an ELF file is mapped, so only
    the sections its section headers point at are read (a vmlinux with
    debug info is mostly DWARF we never touch).  Raises BTFError (also for a
    file that cannot be opened).
    """
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise BTFError(exc.strerror or str(exc)) from None
    with open(fd, "rb", buffering=0) as f:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise BTFError(f"not a regular file ({_file_kind(info.st_mode)})")
        head = _read_up_to(f, HEADER_SIZE)
        if elf.is_elf(head):
            try:
                # mmap gives len(), slices and struct.unpack_from as bytes do.
                return cast(bytes, mmap.mmap(fd, 0, access=mmap.ACCESS_READ))
            except (OSError, ValueError):  # a file system that cannot map (some sysfs files)
                return head + _read_up_to(f, info.st_size - len(head))
        size = _raw_btf_size(head)
        if size is None:
            return head  # not BTF, or a short header: parse_btf says which
        if size > info.st_size:
            raise BTFError(f"BTF: header describes {size} bytes, the file has {info.st_size}: "
                           "truncated?")
        return head + _read_up_to(f, size - len(head))


def _read_up_to(f: BinaryIO, size: int) -> bytes:
    """size bytes or up to the end of the file (sysfs gives a page per read call)."""
    chunks = []
    while size > 0:
        chunk = f.read(min(size, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _raw_btf_size(head: bytes) -> int | None:
    """Bytes raw BTF takes by its header: header length + the furthest section end."""
    if len(head) < HEADER_SIZE:
        return None
    for end in "<>":
        magic, _, _, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(
            end + HEADER_FMT, head)
        if magic == BTF_MAGIC:
            return max(HEADER_SIZE, int(hdr_len + max(type_off + type_len, str_off + str_len)))
    return None


def _file_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return f"mode {mode:o}"
