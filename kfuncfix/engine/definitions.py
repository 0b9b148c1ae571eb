"""Rewrite one definition header: drop specifiers, add a prefix or wrap it in a macro.

The result keeps the kernel's layout: continuation lines of the parameter
list that were aligned with its open parenthesis follow it to its new
column, and a line we produce that passes the line limit is broken after the
last parameter comma that fits.  The header's bytes are the only ones
touched; comments, attributes and line endings stay as they are.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from kfuncfix.engine.edits import CannotRewrite, Edit, apply_edits, offset_map
from kfuncfix.engine.layout import (
    HSPACE,
    TAB_WIDTH,
    after_eol,
    eol_of,
    indent,
    indent_end,
    line_end,
    line_start,
    width,
)
from kfuncfix.source.ctokens import ROUND_AND_SQUARE, separators
from kfuncfix.source.header import FunctionDef, Specifier
from kfuncfix.source.scan import SourceFile

SPACE = b" \t\r\n\f\v"
# Attributes kernel code writes alone on a line above a definition; a tag goes
# after such lines, on the line of the return type.  `NAME(...)` specifiers
# (`__printf(2, 0)`, `__attribute__((cold))`) count too.
LINE_ATTRIBUTES = frozenset({
    "__must_check", "__weak", "__cold", "__noreturn", "__maybe_unused", "__always_unused",
    "notrace",
})
NOT_ATTRIBUTE_CALLS = frozenset({"typeof", "__typeof__", "__typeof", "_Atomic"})


@dataclass(frozen=True)
class DefinitionStyle:
    """What a rule does to a definition header (from its definition actions)."""

    prefix: str | None = None  # `__bpf_kfunc`: goes before the first specifier
    wrap: str | None = None  # `BPF_KFUNC`: wraps the whole prototype
    drop: frozenset[str] = frozenset()  # specifiers the new form implies
    already: frozenset[str] = frozenset()  # a specifier or wrapper that means "done"
    line_limit: int = 100

    def is_done(self, func: FunctionDef) -> bool:
        if func.macro:
            return func.name in self.already
        return bool(func.words & self.already)


@dataclass(frozen=True)
class HeaderRewrite:
    edit: Edit
    over_limit: bool  # a line we produced is still past the limit (no comma to break at)


def check_rewritable(src: SourceFile, func: FunctionDef) -> None:
    """Raise CannotRewrite for definitions a rule must not touch."""
    if func.macro:
        raise CannotRewrite(f"defined through the macro {func.name}(); rewrite it by hand")
    if func.is_inline:
        raise CannotRewrite("inline definition: the tag's noinline would contradict it")
    # The scan starts a header after a preprocessor line; text before that line
    # that ends no statement belongs to the same header (`int\n#ifdef X ...`).
    before = _live_end_before(src, func.start)
    split = before and src.masked[before - 1:before] not in (b";", b"}", b")", b"{")
    if any((split and before <= d.start < func.start) or func.start <= d.start < func.brace
           for d in src.directives):
        raise CannotRewrite("a preprocessor line inside the definition header")


def _live_end_before(src: SourceFile, offset: int) -> int:
    """End of the last compiled text before offset: `#if 0` code ends no header."""
    starts = [d.start for d in src.directives]
    pos = offset
    while pos and (src.masked[pos - 1] in SPACE or src.is_dead(pos - 1)):
        if src.masked[pos - 1] in SPACE:
            pos -= 1
            continue
        # Dead code starts after a directive (its `#if 0`): jump back to that line.
        i = bisect.bisect_right(starts, pos - 1) - 1
        if i < 0:
            break
        pos = starts[i]
    return pos


def rewrite_header(
    src: SourceFile, func: FunctionDef, style: DefinitionStyle, why: str
) -> HeaderRewrite:
    """The edit that turns this definition's header into the style's form."""
    check_rewritable(src, func)
    data = src.data
    # Where a wrapper's `)` goes: after trailing attributes, before the `{`.
    close_at = func.params_end + len(src.masked[func.params_end:func.brace].rstrip())
    start = line_start(data, func.start)
    edits = _drop_edits(data, [s for s in func.specifiers if s.text in style.drop], why)
    kept = [s for s in func.specifiers if s.text not in style.drop]
    at = _prefix_at(data, kept, func.name_start)
    eol = eol_of(data, func.params_start)
    if style.wrap:
        edits.append(Edit(at, at, style.wrap.encode() + b"(", why))
        edits.extend(_close_wrap(data, close_at, func.brace, eol, why))
        edits.extend(_join_edit(data, func, at, close_at, style, why))
    else:
        assert style.prefix, "a definition style has a prefix or a wrapper"
        edits.append(Edit(at, at, style.prefix.encode() + b" ", why))
    end = max(line_end(data, close_at), *(e.end for e in edits))
    local = [Edit(e.start - start, e.end - start, e.text, e.why) for e in edits]
    region = data[start:end]
    new = bytearray(apply_edits(region, local, src.path))
    new_masked = bytearray(apply_edits(src.masked[start:end], local, src.path))
    moved = offset_map(local)
    paren = func.params_start - start
    layout = _Layout(new, new_masked, moved(paren), moved(func.params_end - 1 - start), eol,
                     style.line_limit)
    old_line = region[line_start(region, paren):line_end(region, paren)]
    over = layout.run(
        old_col=width(region[line_start(region, paren):paren]),
        first_changed=bytes(new[line_start(new, layout.paren):line_end(new, layout.paren)])
        != old_line,
    )
    return HeaderRewrite(Edit(start, end, bytes(new), why), over)


def _join_edit(data: bytes, func: FunctionDef, at: int, close_at: int,
               style: DefinitionStyle, why: str) -> list[Edit]:
    """Inside a wrapper, a return type on a line of its own joins the name's line
    when the whole prototype then fits the line limit, as upstream wrote
    `BPF_KFUNC(void bpf_testmod_test_mod_kfunc(int i))`.

    Only a short prototype (its parameters on the name's line) is joined: a
    longer one keeps the break its author chose.
    """
    name_line = line_start(data, func.name_start)
    if at >= name_line or line_end(data, close_at) != line_end(data, func.name_start):
        return []
    gap = func.name_start
    while gap > at and data[gap - 1] in SPACE:
        gap -= 1
    # One line break between the return type and the name, nothing else.
    if gap <= at or line_start(data, gap) != line_start(data, at) \
            or indent_end(data, name_line) != func.name_start:
        return []
    join = b"" if data[gap - 1:gap] == b"*" else b" "
    # The joined line: the wrapper, the kept words, the name to the wrapper's `)`.
    joined = (len(style.wrap or "") + 1 + width(data[at:gap]) + len(join)
              + width(data[func.name_start:close_at]) + 1)
    if joined > style.line_limit:
        return []
    return [Edit(gap, func.name_start, join, why)]


def _prefix_at(data: bytes, kept: list[Specifier], name_start: int) -> int:
    """Where a prefix goes: its first specifier, after lines of attributes only.

    `__printf(2, 0)` alone on a line stays above: upstream writes
    `__printf(2, 0)\n__bpf_kfunc void f(...)`.
    """
    if not kept:
        return name_start
    lines: dict[int, list[int]] = {}
    for i, spec in enumerate(kept):
        lines.setdefault(line_start(data, spec.start), []).append(i)
    name_line = line_start(data, name_start)
    for first, indexes in lines.items():
        if first == name_line or not all(_is_attribute(kept, i) for i in indexes):
            return kept[indexes[0]].start
    return kept[0].start


def _is_attribute(specs: list[Specifier], i: int) -> bool:
    text = specs[i].text
    if text.startswith("("):  # the arguments of the attribute before it
        return i > 0 and _is_attribute(specs, i - 1)
    calls = i + 1 < len(specs) and specs[i + 1].text.startswith("(")
    return text in LINE_ATTRIBUTES or (calls and text not in NOT_ATTRIBUTE_CALLS)


def _drop_edits(data: bytes, dropped: list[Specifier], why: str) -> list[Edit]:
    """Remove each dropped specifier with its spacing; a line left empty goes entirely."""
    by_line: dict[int, list[tuple[int, int]]] = {}
    for spec in dropped:
        first = line_start(data, spec.start)
        last = line_end(data, spec.start)
        begin, end = spec.start, indent_end(data, spec.end)
        before = spec.start
        while before > first and data[before - 1] in HSPACE:
            before -= 1
        if end >= last:
            begin = before  # last word of its line: take the spaces before it instead
        elif before > first and data[before - 1] == ord("*"):
            begin = before  # `struct sock * noinline f(` becomes `struct sock *f(`
        by_line.setdefault(first, []).append((begin, min(end, last)))
    edits = []
    for first, ranges in by_line.items():
        merged: list[list[int]] = []
        for begin, end in sorted(ranges):
            if merged and begin <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([begin, end])
        last = line_end(data, first)
        left = bytearray(data[first:last])
        for begin, end in reversed(merged):
            del left[begin - first:end - first]
        if not left.strip(HSPACE):
            edits.append(Edit(first, after_eol(data, first), b"", why))
        else:
            edits.extend(Edit(begin, end, b"", why) for begin, end in merged)
    return edits


def _close_wrap(data: bytes, close_at: int, brace: int, eol: bytes, why: str) -> list[Edit]:
    """The wrapper's `)`, and the `{` moved to its own line when it shared one."""
    if data.find(b"\n", close_at, brace) >= 0:
        return [Edit(close_at, close_at, b")", why)]
    space = brace
    while space > close_at and data[space - 1] in HSPACE:
        space -= 1
    if space == close_at:
        return [Edit(close_at, brace, b")" + eol, why)]
    return [Edit(close_at, close_at, b")", why), Edit(space, brace, eol, why)]


class _Layout:
    """Realign and break the lines of one parameter list, in place."""

    def __init__(self, text: bytearray, masked: bytearray, paren: int, close: int, eol: bytes,
                 limit: int) -> None:
        self.text = text
        self.masked = masked
        self.paren = paren
        self.close = close  # the parameter list's `)`
        self.eol = eol
        self.limit = limit
        self.col = width(text[line_start(text, paren):paren])
        self._depth_pos, self._depth = paren, 0  # see _depth_at

    def run(self, old_col: int, first_changed: bool) -> bool:
        """Returns True if a line we changed stays past the limit."""
        over = False
        pos = line_start(self.text, self.paren)
        first = True
        while pos <= self.close:
            changed = first and first_changed
            if not first and self.col != old_col:
                changed = self._realign(pos, old_col)
            if changed:
                pos, stuck = self._break(pos)
                over = over or stuck
            pos = after_eol(self.text, pos)
            first = False
        return over

    def _replace(self, start: int, end: int, new: bytes) -> None:
        self.text[start:end] = new
        self.masked[start:end] = new
        if start <= self.close:
            self.close += len(new) - (end - start)

    def _realign(self, pos: int, old_col: int) -> bool:
        end = indent_end(self.text, pos)
        if end >= line_end(self.text, pos) or width(self.text[pos:end]) != old_col + 1:
            return False  # blank, or indented some other way: not ours to move
        self._replace(pos, end, indent(self.col + 1))
        return True

    def _break(self, pos: int) -> tuple[int, bool]:
        """Break the line at pos after parameter commas until each piece fits.

        Returns the start of the last line and whether a piece stays past the
        limit (no comma to break it at).  One pass over the line, each piece
        measured only up to the limit, then one replacement: linear in the
        line's length (a 4,000-parameter prototype on one line is 40,000
        bytes).
        """
        end = line_end(self.text, pos)
        # The parameter commas of this line: where it may break.
        commas = set(separators(self.masked, max(pos, self.paren), end, self._depth_at(pos),
                                ROUND_AND_SQUARE)[0])
        pieces: list[bytes | bytearray] = []
        start = i = pos  # the piece being measured begins at `start`
        col = 0  # columns of text[start-of-its-line:i]
        fit = -1  # the last comma of this piece where it could end
        stuck = False
        text, limit = self.text, self.limit
        while i < end:
            byte = text[i]
            col += TAB_WIDTH - col % TAB_WIDTH if byte == 0x09 else byte != 0x0D
            if i in commas and col <= limit and indent_end(text, i + 1) < end:
                fit = i
            i += 1
            if col > limit:
                if fit < 0:
                    stuck = True
                    break
                pieces.append(text[start:fit + 1])
                pieces.append(self.eol + indent(self.col + 1))
                start = i = indent_end(text, fit + 1)
                col, fit = self.col + 1, -1
        last = pos + sum(len(p) for p in pieces)
        pieces.append(text[start:end])
        self._replace(pos, end, b"".join(pieces))
        return last, stuck

    def _depth_at(self, pos: int) -> int:
        """Bracket depth inside the parameter list at pos (0 before its `(`).

        Lines are broken in order, so the count goes on from the last line
        asked for instead of starting over at the `(` (text before pos never
        changes again).
        """
        if pos <= self.paren:
            return 0
        if pos < self._depth_pos:
            self._depth_pos, self._depth = self.paren, 0
        _, self._depth = separators(self.masked, self._depth_pos, pos, self._depth,
                                    ROUND_AND_SQUARE)
        self._depth_pos = pos
        return self._depth
