"""Whether a tree has retired a rule's macro: its header no longer defines it.

`KF_TRUSTED_ARGS` left Linux's include/linux/btf.h when trusted arguments became
the default: on such a tree an entry still naming it does not compile, and
`check` reports it without being asked (a rule's `lint = "when-retired"`).  A
tree without the header, or whose header defines none of the macro's family
(`KF_`: a kernel from before kfunc flags), did not retire it: it never had it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from kfuncfix.model import TreeIndex
from kfuncfix.source.scan import scan

if TYPE_CHECKING:
    from kfuncfix.engine.rule import RetiredMacro

# Reads a tree file at the plan's revision (see `kfuncfix.engine.macrodef.Reader`).
Reader = Callable[[str], "bytes | None"]


def is_retired(index: TreeIndex, retired: RetiredMacro | None, read: Reader | None) -> bool:
    """True when the tree's header exists, does not define the retired macro, and
    (with a `family`) defines another macro of that family."""
    if retired is None:
        return False
    src = index.sources.get(retired.header)
    if src is None:
        data = read(retired.header) if read is not None else None
        if data is None:
            return False
        src = scan(retired.header, data)
    if src.defines(retired.macro):
        return False
    family = retired.family
    return not family or any(d.kind == "define" and d.rest.startswith(family)
                             for d in src.directives)
