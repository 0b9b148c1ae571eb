"""The BTF id sets of an ELF image, read from `.BTF_ids` and its symbols.

The kernel's `BTF_SET8_START(name)` emits a local symbol `__BTF_ID__set8__name`
at an 8-byte header (count, flags) and `BTF_ID_FLAGS(func, f)` one symbol
`__BTF_ID__func__f__<n>` per entry. resolve_btfids later fills in the ids and
sorts the pairs, so entry names are taken from the symbols (which survive the
sort) and the resolved ids are used only when the symbols are gone.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from kfuncfix.btf import elf
from kfuncfix.btf.errors import BTFError

BTF_IDS_SECTION = ".BTF_ids"
SET8_PREFIX = "__BTF_ID__set8__"
FUNC_ENTRY_RE = re.compile(r"__BTF_ID__func__(?P<name>\w+?)__\d+\Z")
SET8_HEADER = 8
SET8_PAIR = 8
# BTF_KFUNCS_START marks kfunc sets with this flag (Linux 6.9+); older kernels
# used plain BTF_SET8_START for kfunc sets and little else.
BTF_SET8_KFUNCS = 1 << 0


@dataclass(frozen=True)
class IdSet8:
    """One 8-byte-entry BTF id set as linked into the image."""

    name: str
    flags: int
    entries: tuple[str, ...]  # function names, from the entry symbols
    ids: tuple[int, ...]  # the ids resolve_btfids wrote (0 when unresolved)

    @property
    def is_kfunc_set(self) -> bool:
        return bool(self.flags & BTF_SET8_KFUNCS)


def read_id_sets(data: bytes) -> list[IdSet8] | None:
    """Every set8 of an ELF image, or None when it has no `.BTF_ids` section."""
    sections = elf.section_list(data)
    ids_sec = next((s for s in sections if s.name == BTF_IDS_SECTION), None)
    if ids_sec is None:
        return None
    body = elf.section_data(data, ids_sec)
    end = elf.struct_prefix(data)
    symbols = [s for s in elf.read_symbols(data, sections) if s.shndx == ids_sec.index]
    entries = sorted(
        (s.value - ids_sec.addr, m.group("name"))
        for s in symbols
        if (m := FUNC_ENTRY_RE.match(s.name))
    )
    out: list[IdSet8] = []
    for sym in symbols:
        if not sym.name.startswith(SET8_PREFIX):
            continue
        start = sym.value - ids_sec.addr
        if not 0 <= start <= len(body) - SET8_HEADER:
            raise BTFError(f"ELF: set {sym.name} at offset {start} is outside {BTF_IDS_SECTION}")
        count, flags = struct.unpack_from(end + "II", body, start)
        # The END macro sizes the symbol; without it fall back to the stored count.
        stop = start + (sym.size or SET8_HEADER + SET8_PAIR * count)
        if stop > len(body):
            raise BTFError(f"ELF: set {sym.name} runs past the end of {BTF_IDS_SECTION}")
        ids = tuple(
            struct.unpack_from(end + "I", body, at)[0]
            for at in range(start + SET8_HEADER, stop - SET8_PAIR + 1, SET8_PAIR)
        )
        names = tuple(name for off, name in entries if start + SET8_HEADER <= off < stop)
        out.append(IdSet8(sym.name[len(SET8_PREFIX) :], flags, names, ids))
    return out


def kfunc_sets(sets: list[IdSet8]) -> list[IdSet8]:
    """The sets that list kfuncs: flagged ones, or every set8 on kernels before the flag."""
    flagged = [s for s in sets if s.is_kfunc_set]
    return flagged or list(sets)
