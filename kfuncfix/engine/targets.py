"""The definitions a rule may rewrite: those of real kfuncs, each once.

fmodret entries name functions that programs attach to, not kfuncs: they
are never targets unless a kfunc or destructor set lists them too.  A
definition shared by several sets (or several names) is one target.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from kfuncfix.model import DTOR, KFUNC, Definition, TreeIndex


@dataclass
class Target:
    """One kfunc definition and the kfunc names that lead to it."""

    definition: Definition
    names: list[str] = field(default_factory=list)

    @property
    def file(self) -> str:
        return self.definition.file


@dataclass(frozen=True)
class Unresolved:
    name: str
    file: str  # the set's file
    line: int  # the set entry's line
    reason: str


DEFAULT_KINDS = (KFUNC, DTOR)


def kfunc_targets(index: TreeIndex, kinds: Iterable[str] = DEFAULT_KINDS
                  ) -> tuple[list[Target], list[Unresolved]]:
    """Targets in file order, and the kfuncs no definition was found for.

    `kinds` are the registration kinds whose entries are targets: kfuncs and
    destructors by default; a rule may add fmodret targets (upstream tags
    some of them, net/bpf/test_run.c).
    """
    wanted = frozenset(kinds)
    targets: dict[tuple[str, int], Target] = {}
    unresolved: dict[str, Unresolved] = {}
    for kfunc in index.kfuncs:
        if kfunc.kind not in wanted:
            continue
        if not kfunc.definitions:
            unresolved.setdefault(kfunc.name, Unresolved(
                kfunc.name, kfunc.set.file, kfunc.entry.span.line,
                kfunc.reason or "no definition found"))
            continue
        for d in kfunc.definitions:
            target = targets.setdefault((d.file, d.func.start), Target(d))
            if kfunc.name not in target.names:
                target.names.append(kfunc.name)
    resolved = {n for t in targets.values() for n in t.names}
    ordered = sorted(targets.values(), key=lambda t: (t.file, t.definition.func.start))
    return ordered, [u for n, u in sorted(unresolved.items()) if n not in resolved]
