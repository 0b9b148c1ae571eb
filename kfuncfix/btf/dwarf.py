"""What DWARF says about how a function can be called (pyelftools does the reading).

BTF copies a function's prototype from DWARF's declaration; whether the
machine code still follows that prototype only DWARF's out-of-line instance
tells: `DW_AT_calling_convention DW_CC_nocall` (clang changed the ABI, e.g.
folded a constant argument in), a parameter with `DW_AT_const_value` (the
body assumes that value: clang-14's way of saying the same) or without any
location (the value is not kept; harmless only if the body never reads it).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from elftools.common.exceptions import ELFError
from elftools.dwarf.die import DIE
from elftools.elf.elffile import ELFFile

from kfuncfix.btf.errors import BTFError

DW_CC_NOCALL = 3
LOCATION = "location"
CONSTANT = "const-value"
NO_LOCATION = "none"
ET_REL = 1  # e_type of a relocatable object


@dataclass(frozen=True)
class Param:
    name: str
    state: str  # LOCATION, CONSTANT or NO_LOCATION
    value: int | None = None  # the constant, for CONSTANT


@dataclass(frozen=True)
class DwarfFunc:
    """The out-of-line instance of one function (None fields: it has none)."""

    name: str
    out_of_line: bool  # False: only an abstract or inlined copy
    nocall: bool
    params: tuple[Param, ...]

    @property
    def constant_params(self) -> list[Param]:
        return [p for p in self.params if p.state == CONSTANT]

    @property
    def unlocated_params(self) -> list[Param]:
        return [p for p in self.params if p.state == NO_LOCATION]

    def to_json(self) -> dict[str, Any]:
        return {
            "out_of_line": self.out_of_line,
            "nocall": self.nocall,
            "params": [{"name": p.name, "state": p.state, "value": p.value} for p in self.params],
        }

    @classmethod
    def from_json(cls, name: str, data: dict[str, Any]) -> DwarfFunc:
        params = tuple(Param(p["name"], p["state"], p["value"]) for p in data["params"])
        return cls(name, bool(data["out_of_line"]), bool(data["nocall"]), params)


def is_relocatable(data: bytes) -> bool:
    """An object or module (ET_REL): small enough to read its DWARF whole.

    Read from the header bytes: `data` may map a vmlinux of hundreds of MB.
    """
    if len(data) < 18 or data[:4] != b"\x7fELF" or data[5] not in (1, 2):
        return False
    order = "<" if data[5] == 1 else ">"
    return bool(struct.unpack_from(order + "H", data, 16)[0] == ET_REL)


def read_functions(
    data: bytes, names: Collection[str] | None = None, unit: str | None = None
) -> dict[str, DwarfFunc] | None:
    """Per function name (all, or only `names`): its DWARF evidence; None without DWARF.

    `unit`: only the compilation units whose name ends with it (one source file
    of a vmlinux: the others' DIEs are never parsed).
    """
    try:
        elf = ELFFile(io.BytesIO(data))
        if not elf.has_dwarf_info() or elf.get_section_by_name(".debug_info") is None:
            return None
        dwarf = elf.get_dwarf_info()
        out: dict[str, DwarfFunc] = {}
        for cu in dwarf.iter_CUs():
            top = cu.get_top_DIE()
            if unit is not None and not (_name(top) or "").endswith(unit):
                continue
            # C functions are children of the unit: their bodies need not be parsed.
            for die in top.iter_children():
                if die.tag != "DW_TAG_subprogram":
                    continue
                name = _name(die)
                if name is None or (names is not None and name not in names):
                    continue
                found = _evidence(name, die)
                known = out.get(name)
                # The out-of-line instance wins over an abstract or declaration DIE.
                if known is None or (found.out_of_line and not known.out_of_line):
                    out[name] = found
        return out
    except (ELFError, KeyError, ValueError, AssertionError) as exc:
        raise BTFError(f"DWARF unreadable: {exc}") from None


def _origin(die: DIE) -> DIE | None:
    for attr in ("DW_AT_abstract_origin", "DW_AT_specification"):
        if attr in die.attributes:
            return die.get_DIE_from_attribute(attr)
    return None


def _name(start: DIE) -> str | None:
    die: DIE | None = start
    seen = 0
    while die is not None and seen < 4:  # origin chains are short; a loop is malformed input
        if "DW_AT_name" in die.attributes:
            value = die.attributes["DW_AT_name"].value
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        die = _origin(die)
        seen += 1
    return None


def _attr(die: DIE, attr: str) -> Any:
    """An attribute of die or, failing that, of its abstract origin."""
    if attr in die.attributes:
        return die.attributes[attr].value
    origin = _origin(die)
    if origin is not None and attr in origin.attributes:
        return origin.attributes[attr].value
    return None


def _evidence(name: str, die: DIE) -> DwarfFunc:
    out_of_line = "DW_AT_low_pc" in die.attributes or "DW_AT_ranges" in die.attributes
    nocall = _attr(die, "DW_AT_calling_convention") == DW_CC_NOCALL
    params: list[Param] = []
    seen: set[str] = set()
    for child in die.iter_children():
        if child.tag != "DW_TAG_formal_parameter":
            continue
        pname = _name(child) or f"#{len(params)}"
        seen.add(pname)
        if "DW_AT_location" in child.attributes:
            params.append(Param(pname, LOCATION))
        elif "DW_AT_const_value" in child.attributes:
            value = child.attributes["DW_AT_const_value"].value
            params.append(Param(pname, CONSTANT, value if isinstance(value, int) else None))
        else:
            params.append(Param(pname, NO_LOCATION))
    # gcc leaves out of a concrete instance the parameters it dropped.
    origin = _origin(die)
    if out_of_line and origin is not None:
        for child in origin.iter_children():
            dropped = _name(child) if child.tag == "DW_TAG_formal_parameter" else None
            if dropped is not None and dropped not in seen:
                params.append(Param(dropped, NO_LOCATION))
    return DwarfFunc(name, out_of_line, nocall, tuple(params))
