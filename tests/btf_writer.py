"""Write BTF blobs: synthetic BTF for the benchmark and for reader tests.

Encodes the same layout the reader decodes (`include/uapi/linux/btf.h`), in
either byte order, optionally as split BTF on top of a base.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

from kfuncfix.btf.reader import BTF, BTF_MAGIC, BTF_VERSION, HEADER_FMT, HEADER_SIZE
from kfuncfix.btf.types import Kind


class BTFWriter:
    """Accumulates types and strings; each add method returns the new type id."""

    def __init__(self, base: BTF | None = None) -> None:
        self.next_id = base.end_id if base else 1
        self._str_start = base.str_end if base else 0
        # Split BTF shares the base's empty string, so its own section starts with a name.
        self._strings = bytearray() if base else bytearray(b"\0")
        self._offsets: dict[str, int] = {"": 0}
        self._words: list[int] = []

    def string(self, text: str) -> int:
        if text not in self._offsets:
            self._offsets[text] = self._str_start + len(self._strings)
            self._strings += text.encode() + b"\0"
        return self._offsets[text]

    def add(
        self,
        kind: Kind,
        name: str,
        size_or_type: int,
        vlen: int = 0,
        kind_flag: bool = False,
        data: Iterable[int] = (),
    ) -> int:
        """Append one raw record: header words, then kind-specific data words."""
        info = (int(kind_flag) << 31) | (int(kind) << 24) | (vlen & 0xFFFF)
        self._words += [self.string(name), info, size_or_type & 0xFFFFFFFF]
        self._words += [w & 0xFFFFFFFF for w in data]
        self.next_id += 1
        return self.next_id - 1

    def int_type(self, name: str, size: int, signed: bool = True, char: bool = False) -> int:
        encoding = (1 if signed else 0) | (2 if char else 0)
        return self.add(Kind.INT, name, size, data=[(encoding << 24) | (size * 8)])

    def ref(self, kind: Kind, target: int, name: str = "") -> int:
        """PTR, TYPEDEF, CONST, VOLATILE, RESTRICT or TYPE_TAG."""
        return self.add(kind, name, target)

    def array(self, elem: int, index_type: int, nelems: int) -> int:
        return self.add(Kind.ARRAY, "", 0, data=[elem, index_type, nelems])

    def composite(
        self, kind: Kind, name: str, size: int, members: Sequence[tuple[str, int, int, int]]
    ) -> int:
        """STRUCT or UNION; members are (name, type, bit offset, bitfield size)."""
        bitfields = any(bits for _, _, _, bits in members)
        data: list[int] = []
        for m_name, m_type, offset, bits in members:
            data += [self.string(m_name), m_type, (bits << 24 | offset) if bitfields else offset]
        return self.add(kind, name, size, len(members), bitfields, data)

    def enum(self, name: str, values: Sequence[tuple[str, int]], size: int = 4) -> int:
        signed = any(v < 0 for _, v in values)
        if size <= 4:
            data = [w for n, v in values for w in (self.string(n), v)]
            return self.add(Kind.ENUM, name, size, len(values), signed, data)
        data = [w for n, v in values for w in (self.string(n), v & 0xFFFFFFFF, (v >> 32))]
        return self.add(Kind.ENUM64, name, size, len(values), signed, data)

    def fwd(self, name: str, union: bool = False) -> int:
        return self.add(Kind.FWD, name, 0, kind_flag=union)

    def func_proto(
        self, ret: int, params: Sequence[tuple[str, int]], variadic: bool = False
    ) -> int:
        data = [w for n, t in params for w in (self.string(n), t)]
        if variadic:
            data += [0, 0]
        return self.add(Kind.FUNC_PROTO, "", ret, len(params) + variadic, data=data)

    def func(self, name: str, proto: int, linkage: int = 1) -> int:
        return self.add(Kind.FUNC, name, proto, vlen=linkage)

    def var(self, name: str, type_id: int, linkage: int = 1) -> int:
        return self.add(Kind.VAR, name, type_id, data=[linkage])

    def datasec(self, name: str, size: int, entries: Sequence[tuple[int, int, int]]) -> int:
        """entries are (VAR id, byte offset, byte size)."""
        data = [w for entry in entries for w in entry]
        return self.add(Kind.DATASEC, name, size, len(entries), data=data)

    def float_type(self, name: str, size: int) -> int:
        return self.add(Kind.FLOAT, name, size)

    def decl_tag(self, name: str, target: int, component_idx: int = -1) -> int:
        return self.add(Kind.DECL_TAG, name, target, data=[component_idx])

    def to_bytes(self, byte_order: str = "little") -> bytes:
        end = "<" if byte_order == "little" else ">"
        types = struct.pack(f"{end}{len(self._words)}I", *self._words)
        header = struct.pack(
            end + HEADER_FMT,
            BTF_MAGIC,
            BTF_VERSION,
            0,
            HEADER_SIZE,
            0,
            len(types),
            len(types),
            len(self._strings),
        )
        return header + types + bytes(self._strings)
