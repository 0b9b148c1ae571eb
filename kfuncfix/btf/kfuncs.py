"""What a built kernel's BTF says about kfuncs.

A function is a kfunc of the BTF when it carries the `bpf_kfunc` decl tag
(pahole 1.26+) or is listed in a kfunc id set of `.BTF_ids` (ELF input only).
ELF input also gives the symbol table, which tells a vanished function from
one the compiler cloned under another name (`foo.isra.0`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfuncfix.btf import elf
from kfuncfix.btf.btf_ids import IdSet8, kfunc_sets, read_id_sets
from kfuncfix.btf.cdecl import func_prototype
from kfuncfix.btf.dwarf import DwarfFunc, is_relocatable, read_functions
from kfuncfix.btf.errors import BTFError
from kfuncfix.btf.reader import BTF, load_btf, parse_btf_file, read_btf_file
from kfuncfix.btf.types import Kind
from kfuncfix.source.prototype import Prototype

BPF_KFUNC_TAG = "bpf_kfunc"
STT_FUNC = 2
# gcc's IPA clones (isra: parameters removed, constprop: constants propagated,
# part: split) and clang's LTO renames.
CLONE_RE = re.compile(r"(?P<base>[^.]+)\.(?P<how>isra|constprop|part|cold|llvm|lto_priv)\b")


@dataclass(frozen=True)
class BTFKfunc:
    name: str
    func_id: int  # 0 when a set lists it but BTF has no FUNC of that name
    prototype: Prototype | None
    decl_tagged: bool
    sets: tuple[str, ...] = ()
    image: str = ""  # the module (or vmlinux) of a whole-kernel audit; "" for one file

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "btf_id": self.func_id or None,
            "prototype": str(self.prototype) if self.prototype else None,
            "decl_tag": self.decl_tagged,
            "sets": list(self.sets),
            **({"image": self.image} if self.image else {}),
        }


@dataclass
class KfuncIndex:
    """A BTF object plus what its ELF file (if any) adds about kfuncs."""

    btf: BTF
    kfuncs: dict[str, BTFKfunc]  # declared by BTF: decl-tagged or in a kfunc set
    decl_tag_count: int  # 0 when the encoder emitted no bpf_kfunc tags at all
    id_sets: list[IdSet8] | None = None  # None: the input had no .BTF_ids
    function_symbols: frozenset[str] | None = None  # None: raw BTF, no symbol table
    clones: dict[str, tuple[str, ...]] = field(default_factory=dict)
    dwarf: dict[str, DwarfFunc] | None = None  # None: no DWARF read (raw BTF, or a vmlinux)

    def only_clones(self, name: str) -> tuple[str, ...]:
        """The clones of name when the symbol table has them and not name itself."""
        if self.function_symbols is None or name in self.function_symbols:
            return ()
        return self.clones.get(name, ())

    def func_id(self, name: str) -> int:
        """The FUNC id of a name, 0 when BTF has none."""
        ids = self.btf.funcs_named(name)
        return ids[0] if ids else 0

    def prototype(self, name: str) -> Prototype | None:
        func_id = self.func_id(name)
        return func_prototype(self.btf, func_id) if func_id else None

    def decl_tagged(self, func_id: int) -> bool:
        btf: BTF | None = self.btf
        while btf is not None and func_id < btf.start_id:
            btf = btf.base
        tags = btf.decl_tags(func_id) if btf else []
        return any(t.name == BPF_KFUNC_TAG and t.component_idx == -1 for t in tags)

    def set_entries(self) -> set[str] | None:
        """Names listed in kfunc sets when the image was built, if known."""
        if self.id_sets is None:
            return None
        return {name for s in kfunc_sets(self.id_sets) for name in s.entries}

    def unresolved(self) -> list[tuple[str, str]]:
        """(set, name) of kfunc set entries with no FUNC in BTF: the kfunc vanished."""
        return sorted(
            (s.name, name)
            for s in kfunc_sets(self.id_sets or [])
            for name in s.entries
            if not self.func_id(name)
        )


def index_kfuncs(
    btf: BTF, id_sets: list[IdSet8] | None = None, symbols: list[elf.Symbol] | None = None
) -> KfuncIndex:
    """Collect the kfuncs a BTF declares, with set membership when sets are known."""
    index = KfuncIndex(btf, {}, btf.decl_tag_count(BPF_KFUNC_TAG), id_sets)
    in_sets: dict[str, list[str]] = {}
    for s in kfunc_sets(id_sets or []):
        names = s.entries or tuple(btf.name(i) for i in s.ids if i and btf.kind(i) == Kind.FUNC)
        for name in names:
            in_sets.setdefault(name, []).append(s.name)
    tagged = {btf.name(i): i for i in btf.tagged(BPF_KFUNC_TAG) if btf.kind(i) == Kind.FUNC}
    for name in sorted(set(tagged) | set(in_sets)):
        func_id = tagged.get(name) or index.func_id(name)
        index.kfuncs[name] = BTFKfunc(
            name,
            func_id,
            func_prototype(btf, func_id) if func_id else None,
            name in tagged,
            tuple(in_sets.get(name, ())),
        )
    if symbols is not None:
        funcs = [s.name for s in symbols if s.type == STT_FUNC]
        index.function_symbols = frozenset(funcs)
        clones: dict[str, list[str]] = {}
        for name in funcs:
            if m := CLONE_RE.match(name):
                clones.setdefault(m.group("base"), []).append(name)
        index.clones = {k: tuple(sorted(v)) for k, v in clones.items()}
    return index


def open_kfuncs(path: Path, base: Path | None = None) -> KfuncIndex:
    """Read a BTF file (raw or ELF) and index its kfuncs."""
    try:
        base_btf = load_btf(base) if base else None
    except BTFError as exc:
        raise BTFError(f"base {base}: {exc}") from None
    data = read_btf_file(Path(path))
    return index_data(data, parse_btf_file(data, base_btf))


def index_data(data: bytes, btf: BTF) -> KfuncIndex:
    """Index the kfuncs of BTF parsed from data, with what data's ELF adds (if it is ELF)."""
    if not elf.is_elf(data):
        return index_kfuncs(btf)
    index = index_kfuncs(btf, read_id_sets(data), elf.read_symbols(data))
    # An object or module is read whole in a second; a vmlinux's DWARF would take hours.
    if is_relocatable(data):
        index.dwarf = read_functions(data)
    return index
