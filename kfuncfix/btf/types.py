"""The BTF type kinds and the decoded form of one type record.

Layout facts come from the kernel's `include/uapi/linux/btf.h`: every record is
a 12-byte `struct btf_type` followed by kind-specific data whose size depends
only on the kind and `vlen`, all in 4-byte words.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Kind(IntEnum):
    UNKN = 0
    INT = 1
    PTR = 2
    ARRAY = 3
    STRUCT = 4
    UNION = 5
    ENUM = 6
    FWD = 7
    TYPEDEF = 8
    VOLATILE = 9
    CONST = 10
    RESTRICT = 11
    FUNC = 12
    FUNC_PROTO = 13
    VAR = 14
    DATASEC = 15
    FLOAT = 16
    DECL_TAG = 17
    TYPE_TAG = 18
    ENUM64 = 19


# Words of kind-specific data after the 3-word header: fixed part, then per vlen item.
FIXED_WORDS: dict[int, int] = {Kind.INT: 1, Kind.ARRAY: 3, Kind.VAR: 1, Kind.DECL_TAG: 1}
VLEN_WORDS: dict[int, int] = {
    Kind.STRUCT: 3,
    Kind.UNION: 3,
    Kind.ENUM: 2,
    Kind.FUNC_PROTO: 2,
    Kind.DATASEC: 3,
    Kind.ENUM64: 3,
}
MAX_KIND = max(Kind)

# Kinds whose third header word is a type id rather than a size.
REF_KINDS = frozenset(
    {
        Kind.PTR,
        Kind.TYPEDEF,
        Kind.VOLATILE,
        Kind.CONST,
        Kind.RESTRICT,
        Kind.FUNC,
        Kind.FUNC_PROTO,
        Kind.VAR,
        Kind.DECL_TAG,
        Kind.TYPE_TAG,
    }
)

LINKAGE_NAMES = {0: "static", 1: "global", 2: "extern"}


@dataclass(frozen=True)
class Member:
    """A struct/union member, a FUNC_PROTO parameter or a DATASEC variable.

    `offset` is the bit offset of a member, or the byte offset of a DATASEC
    variable; `size` is a member's bitfield size or a variable's byte size.
    """

    name: str
    type_id: int
    offset: int = 0
    size: int = 0


@dataclass(frozen=True)
class Enumerator:
    name: str
    value: int


@dataclass(frozen=True)
class BTFType:
    """One decoded type record; fields a kind does not use keep their defaults."""

    id: int
    kind: Kind
    name: str
    vlen: int = 0
    kind_flag: bool = False
    size: int = 0  # INT, STRUCT, UNION, ENUM, ENUM64, DATASEC, FLOAT
    ref: int = 0  # referenced type: pointee, typedef target, FUNC's proto, return type, ...
    members: tuple[Member, ...] = ()
    enumerators: tuple[Enumerator, ...] = ()
    int_encoding: int = 0  # INT: 1 signed, 2 char, 4 bool
    int_bits: int = 0
    int_offset: int = 0
    array_index_type: int = 0
    array_nelems: int = 0
    linkage: int = 0  # FUNC (stored in vlen) and VAR
    component_idx: int = -1  # DECL_TAG: -1 tags the type itself, else a member/param index
