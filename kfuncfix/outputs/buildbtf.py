"""The BTF one compiled object yields, and what it says about the kfuncs a patch touches.

Kbuild encodes BTF only when it links vmlinux or a module.  For one object
we do what the link step would: `pahole -J` on a copy (pahole writes the
`.BTF` section into the file it reads, and the build directory's object must
stay as Kbuild made it), then read that BTF with kfuncfix.btf and run its
audit for the kfuncs defined in the object's source.  Decl tags are not
checked: pahole adds them at link time, from the id sets of the whole image.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kfuncfix.btf import elf
from kfuncfix.btf.audit import MISDESCRIBED, MISSING, PROTOTYPE, SourceKfunc, audit_tree
from kfuncfix.btf.dwarf import DwarfFunc, read_functions
from kfuncfix.btf.errors import BTFError
from kfuncfix.btf.kfuncs import STT_FUNC, index_kfuncs
from kfuncfix.btf.reader import btf_section, parse_btf
from kfuncfix.errors import KfuncfixError

OK = "ok"
STATE_MISSING = "missing"
STATE_MISMATCH = "mismatch"
STATE_MISDESCRIBED = "misdescribed"  # in BTF, but not what the machine code takes


@dataclass(frozen=True)
class ObjectBTF:
    """What pahole -J made of one object: its .BTF section and its function symbols.

    The symbols tell a vanished function from one gcc cloned (`foo.isra.0`).
    """

    raw: bytes
    function_symbols: tuple[str, ...]
    dwarf: dict[str, DwarfFunc] | None = None  # None: not read (a cached result)


@dataclass(frozen=True)
class KfuncState:
    """One kfunc in one object's BTF: ok, missing, or a FUNC with another prototype."""

    name: str
    file: str | None
    line: int
    state: str  # OK, STATE_MISSING or STATE_MISMATCH
    detail: str = ""  # the audit's finding and cause when not OK

    @property
    def ok(self) -> bool:
        return self.state == OK

    def describe(self) -> str:
        if self.ok:
            return "in BTF, prototype matches the source"
        return f"{self.state}: {self.detail}"


@dataclass(frozen=True)
class KfuncChange:
    """A kfunc a patch touches: its BTF right before the patch and right after it."""

    before: KfuncState | None  # None: its object was not built before the patch
    after: KfuncState

    @property
    def name(self) -> str:
        return self.after.name

    @property
    def fixed(self) -> bool:
        return self.before is not None and not self.before.ok and self.after.ok

    @property
    def broken(self) -> bool:
        return not self.after.ok


def encode_btf(obj: Path, scratch: Path) -> ObjectBTF:
    """pahole -J on a copy of obj (in scratch); KfuncfixError when pahole fails."""
    scratch.mkdir(parents=True, exist_ok=True)
    copy = scratch / obj.name
    shutil.copyfile(obj, copy)
    try:
        done = subprocess.run(["pahole", "-J", str(copy)], capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:
            raise KfuncfixError(f"pahole -J {obj} failed: {done.stderr.strip()}")
        data = copy.read_bytes()
    finally:
        copy.unlink(missing_ok=True)
    raw = btf_section(data)
    if raw is None:
        raise KfuncfixError(f"pahole -J wrote no .BTF section for {obj} (built without -g?)")
    names = tuple(s.name for s in elf.read_symbols(data) if s.type == STT_FUNC)
    try:
        dwarf = read_functions(data)
    except BTFError:
        dwarf = None  # the DWARF checks are extra evidence, not a reason to stop
    return ObjectBTF(raw, names, dwarf)


def kfunc_states(btf: ObjectBTF, sources: Iterable[SourceKfunc]) -> dict[str, KfuncState]:
    """The audit of these kfuncs against one object's BTF, one state per kfunc."""
    wanted = list(sources)
    if not wanted:
        return {}
    try:
        parsed = parse_btf(btf.raw)
    except BTFError as exc:
        raise KfuncfixError(f"BTF from pahole unreadable: {exc}") from exc
    symbols = [elf.Symbol(name, 0, 0, STT_FUNC, 0) for name in btf.function_symbols]
    index = index_kfuncs(parsed, None, symbols)
    index.dwarf = btf.dwarf
    report = audit_tree(index, wanted)
    findings = {(f.kfunc, f.problem): f for f in report.findings}
    out: dict[str, KfuncState] = {}
    for check in report.checks:
        if not check.in_btf:
            found = findings.get((check.name, MISSING))
            state = STATE_MISSING
        elif check.prototype == "mismatch":
            found = findings.get((check.name, PROTOTYPE))
            state = STATE_MISMATCH
        else:
            found = next((findings[(check.name, p)] for p in MISDESCRIBED
                          if (check.name, p) in findings), None)
            state = STATE_MISDESCRIBED if found else OK
        detail = f"{found.detail} ({found.cause})" if found else ""
        out[check.name] = KfuncState(check.name, check.file, check.line, state, detail)
    return out


def changes(before: dict[str, KfuncState] | None, after: dict[str, KfuncState],
            names: Sequence[str]) -> list[KfuncChange]:
    """Before/after pairs for the named kfuncs that the after-BTF audit checked."""
    return [KfuncChange(before.get(n) if before is not None else None, after[n])
            for n in names if n in after]
