"""`__diag_push(); __diag_ignore_all("-W...", "..."); ... __diag_pop();` blocks.

Before the kernel had `__bpf_kfunc_start_defs()`, files silenced the
missing-prototype warning around their kfuncs with such a pair.  This module
finds the pairs at file level (not inside functions or macros), with the
warnings each one silences, and gives the edits that replace or remove them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kfuncfix.engine.edits import Edit
from kfuncfix.engine.layout import HSPACE, after_eol, is_blank_line, line_end, line_start
from kfuncfix.source.scan import SourceFile

CALL_RE = re.compile(rb"\b__diag_(push|pop)\s*\(\s*\)(\s*;)?")
IGNORE_RE = re.compile(rb"\s*__diag_ignore\w*\s*\(")
SEMICOLON_RE = re.compile(rb"\s*;")
WARNING_RE = re.compile(rb'"(-W[\w=+-]+)"')


@dataclass(frozen=True)
class DiagBlock:
    push_start: int
    push_end: int  # after the last `__diag_ignore...(...);`
    pop_start: int
    pop_end: int  # after `__diag_pop()` and its `;` when it has one
    warnings: tuple[str, ...]
    line: int


def diag_blocks(src: SourceFile) -> list[DiagBlock]:
    """Every file-level push/pop pair, matched like parentheses."""
    bodies = [(f.brace, f.body_end) for f in src.functions]
    stack: list[tuple[int, int, tuple[str, ...]]] = []
    found = []
    for m in CALL_RE.finditer(src.masked):
        if src.is_dead(m.start()) or any(b <= m.start() < e for b, e in bodies):
            continue
        if m.group(1) == b"push":
            end, warnings = _ignores(src, m.end())
            stack.append((m.start(), end, warnings))
        elif stack:
            start, end, warnings = stack.pop()
            found.append(DiagBlock(start, end, m.start(), m.end(), warnings,
                                   src.line_of(start)))
    return sorted(found, key=lambda b: b.push_start)


def _ignores(src: SourceFile, pos: int) -> tuple[int, tuple[str, ...]]:
    """End of the `__diag_ignore*()` calls right after a push, and their warnings."""
    warnings: list[str] = []
    while m := IGNORE_RE.match(src.masked, pos):
        # The scan matched every bracket outside function bodies: the call's `)`.
        close = src.closer.get(m.end() - 1, 0) - 1
        if close < 0:
            break
        warnings += [w.decode() for w in WARNING_RE.findall(src.data[m.end():close])]
        semi = SEMICOLON_RE.match(src.masked, close + 1)
        pos = semi.end() if semi else close + 1
    return pos, tuple(warnings)


def replace_edits(block: DiagBlock, start: bytes, end: bytes, why: str) -> list[Edit]:
    """Turn the push (with its ignores) into `start` and the pop into `end`."""
    return [Edit(block.push_start, block.push_end, start, why),
            Edit(block.pop_start, block.pop_end, end, why)]


def remove_edits(src: SourceFile, block: DiagBlock, why: str) -> list[Edit] | None:
    """Remove both ends with their lines; None if they share lines with other code."""
    edits = []
    for start, end in ((block.push_start, block.push_end), (block.pop_start, block.pop_end)):
        first = line_start(src.data, start)
        last = line_end(src.data, end)
        if src.data[first:start].strip(HSPACE) or src.data[end:last].strip(HSPACE):
            return None
        stop = after_eol(src.data, end)
        # A blank line before and after: keep one of them, not both.  A push right
        # under `#ifdef CONFIG_KEYS` takes its blank line along: the blank line set
        # the pair apart from the code, and the directive starts the block itself.
        above = line_start(src.data, first - 1) if first else 0
        if (first == 0 or is_blank_line(src.data, above)
                or (start == block.push_start and src.data[above:first].lstrip(HSPACE)
                    .startswith(b"#"))) \
                and is_blank_line(src.data, stop):
            stop = after_eol(src.data, stop)
        edits.append(Edit(first, stop, b"", why))
    return edits
