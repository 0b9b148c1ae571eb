"""Whether a tree has retired a rule's macro: its header exists and no longer defines it.

`KF_TRUSTED_ARGS` left Linux's include/linux/btf.h when trusted arguments became
the default: on such a tree an entry still naming it does not compile, and
`check` reports it without being asked (a rule's `lint = "when-retired"`).  A
tree without the header says nothing either way.
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
    """True when the tree's header exists and does not define the retired macro."""
    if retired is None:
        return False
    src = index.sources.get(retired.header)
    if src is None:
        data = read(retired.header) if read is not None else None
        if data is None:
            return False
        src = scan(retired.header, data)
    return not src.defines(retired.macro)
