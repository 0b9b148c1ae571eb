"""Add `#include <linux/btf.h>` where a careful developer would: at its sorted place.

Kernel include blocks are often sorted in runs: the new line goes between
two neighbours it sorts between, preferring neighbours from its own
directory (`linux/`).  When no such place exists it follows the last
include of its directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kfuncfix.engine.edits import Edit
from kfuncfix.engine.layout import after_eol, eol_of
from kfuncfix.source.scan import SourceFile

ANGLE_RE = re.compile(r"<\s*([^>\s]+)\s*>\Z")


class CannotPlace(Exception):
    """No include block to put the new line in."""


@dataclass(frozen=True)
class _Include:
    name: str  # `linux/btf.h`; empty for a quoted include
    start: int
    end: int


def includes(src: SourceFile, header: str) -> bool:
    """True if the file itself includes <header> (anywhere, conditionally or not)."""
    return any(_name(d.rest) == header for d in src.directives if d.kind == "include")


def include_edit(src: SourceFile, header: str, why: str) -> Edit:
    """The edit adding `#include <header>` at its sorted place."""
    blocks = _blocks(src)
    line = f"#include <{header}>".encode()
    folder = header.rsplit("/", 1)[0] + "/" if "/" in header else ""
    best: tuple[int, int, bool] | None = None  # (score, offset, after the neighbour)
    for block in blocks:
        for gap in range(len(block) + 1):
            prev = block[gap - 1] if gap else None
            nxt = block[gap] if gap < len(block) else None
            if prev and not (prev.name and prev.name <= header):
                continue
            if nxt and not (nxt.name and header <= nxt.name):
                continue
            score = sum(1 for inc in (prev, nxt) if inc and inc.name.startswith(folder))
            if score and (best is None or score > best[0]):
                anchor = nxt or prev
                assert anchor is not None
                best = (score, anchor.start, nxt is None)
    if best is None:
        flat = [inc for block in blocks for inc in block if inc.name]
        same = [inc for inc in flat if inc.name.startswith(folder)]
        if not (same or flat):
            raise CannotPlace(f"no #include line to add <{header}> next to")
        best = (0, (same or flat)[-1].start, True)
    _, offset, after = best
    eol = eol_of(src.data, offset)
    if not after:
        return Edit(offset, offset, line + eol, why)
    pos = after_eol(src.data, offset)
    if not src.data[:pos].endswith(b"\n"):
        return Edit(pos, pos, eol + line, why)  # the include was the file's last line
    return Edit(pos, pos, line + eol, why)


def _name(rest: str) -> str:
    m = ANGLE_RE.match(rest.strip())
    return m.group(1) if m else ""


def _blocks(src: SourceFile) -> list[list[_Include]]:
    """Runs of unconditional includes on consecutive lines."""
    blocks: list[list[_Include]] = []
    prev_end = -1
    for d in src.directives:
        if d.kind != "include" or src.condition_at(d.start) or src.is_dead(d.start):
            continue
        inc = _Include(_name(d.rest), d.start, d.end)
        if blocks and src.data[prev_end:d.start] == b"\n":
            blocks[-1].append(inc)
        else:
            blocks.append([inc])
        prev_end = d.end
    return blocks
