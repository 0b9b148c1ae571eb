"""Where a rule may change a file, worked out from the index, and a check of a plan's edits.

Shared by the whole-tree tests.  The spans a rule may touch come from the
tree as discovery saw it before the rule ran, not from the rule's own code:

    header   a kfunc definition, from the start of its first line to the end
             of the line holding its `{` (specifiers, declarator, realigned
             continuation lines)
    include  an insertion of exactly `#include <HEADER>` on a line of its own
    diag     the lines of a file-level __diag_push()...ignore and __diag_pop(),
             with the blank line after them that a removal takes along
    set      the START/END macro names of a kfunc set
    define   an insertion of the rule's macro definition text into its header
    doc      the note about that macro appended to the rule's documentation file

Each edit must lie in a span of a kind the rule has, and say what a rule of
that kind says: the header keeps its tokens in order, but for the words the
rule adds and drops.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from kfuncfix.engine import Edit, FileChange, Rule
from kfuncfix.engine.actions import AddInclude, DiagBlockAction, RenameSetMacro
from kfuncfix.engine.diagblocks import diag_blocks
from kfuncfix.engine.layout import after_eol, is_blank_line, line_start
from kfuncfix.model import DTOR, KFUNC, TreeIndex

TOKEN_RE = re.compile(rb"[A-Za-z_]\w*|\d\w*|\S")


@dataclass(frozen=True)
class Span:
    kind: str
    start: int
    end: int
    name: str = ""


def tokens(data: bytes) -> list[bytes]:
    return TOKEN_RE.findall(data)


def allowed_spans(index: TreeIndex, rule: Rule, path: str) -> list[Span]:
    """Every span of `path` that `rule` may change, by kind."""
    src = index.sources.get(path)
    if src is None:
        return []
    data = src.data
    spans: list[Span] = []
    if rule.style is not None:
        for kfunc in index.kfuncs:
            if kfunc.kind not in (KFUNC, DTOR):
                continue
            for d in kfunc.definitions:
                if d.file == path:
                    spans.append(Span("header", line_start(data, d.func.start),
                                      after_eol(data, d.func.brace), kfunc.name))
    if any(isinstance(a, DiagBlockAction) for a in rule.actions):
        for block in diag_blocks(src):
            for start, end in ((block.push_start, block.push_end),
                               (block.pop_start, block.pop_end)):
                stop = after_eol(data, end)
                if is_blank_line(data, stop):
                    stop = after_eol(data, stop)
                spans.append(Span("diag", line_start(data, start), stop))
    if any(isinstance(a, RenameSetMacro) for a in rule.actions):
        for idset in index.sets:
            if idset.file == path:
                for span in (idset.start_span, idset.end_span):
                    if span is not None:
                        spans.append(Span("set", span.start, span.end, idset.name))
    return spans


def unchanged_outside(old: bytes, new: bytes, edits: Iterable[Edit]) -> bool:
    """Old and new bytes agree everywhere but in the edits (walked here, not applied)."""
    pos = shift = 0
    for edit in sorted(edits, key=lambda e: e.start):
        if old[pos:edit.start] != new[pos + shift:edit.start + shift]:
            return False
        if new[edit.start + shift:edit.start + shift + len(edit.text)] != edit.text:
            return False
        shift += len(edit.text) - (edit.end - edit.start)
        pos = edit.end
    return old[pos:] == new[pos + shift:]


def stray_edits(index: TreeIndex, rule: Rule, change: FileChange) -> list[str]:
    """The change's edits that are not what the rule may do where they are."""
    old = change.old
    spans = allowed_spans(index, rule, change.path)
    includes = [a.header for a in rule.actions if isinstance(a, AddInclude)]
    stray = []
    for edit in change.edits:
        where = f"{change.path}@{edit.start}: {edit.why}"
        inside = [s for s in spans if s.start <= edit.start <= edit.end <= s.end]
        line = edit.text.strip(b"\r\n")
        if edit.start == edit.end and line in {b"#include <%s>" % h.encode() for h in includes}:
            if edit.start and old[edit.start - 1:edit.start] != b"\n" \
                    and edit.start != len(old):
                stray.append(f"{where}: include not at a line start")
            continue
        definition = rule.definition
        text = edit.text.replace(b"\r\n", b"\n")
        if (definition is not None and change.path == definition.header
                and edit.start == edit.end and definition.text.strip().encode() in text):
            continue
        if (definition is not None and definition.doc_text and change.path
                == definition.doc_file and edit.start == edit.end == len(old)
                and definition.doc_text.strip().encode() in text):
            continue
        if not inside:
            stray.append(f"{where}: outside every span the rule may change")
            continue
        problem = _wrong_text(rule, inside[0], old[edit.start:edit.end], edit.text)
        if problem:
            stray.append(f"{where}: {problem}")
    return stray


def _wrong_text(rule: Rule, span: Span, before: bytes, after: bytes) -> str | None:
    if span.kind == "header":
        style = rule.style
        assert style is not None
        drop = {w.encode() for w in style.drop}
        kept = [t for t in tokens(before) if t not in drop]
        new = tokens(after)
        if style.prefix:
            new = [t for t in new if t != style.prefix.encode()]
            if len(tokens(after)) - len(new) != 1:
                return f"{style.prefix} not added exactly once"
        else:
            assert style.wrap
            at = new.index(style.wrap.encode()) if style.wrap.encode() in new else -1
            if at < 0 or new[at + 1:at + 2] != [b"("] or b")" not in new:
                return f"not wrapped in {style.wrap}()"
            close = len(new) - 1 - new[::-1].index(b")")
            new = new[:at] + new[at + 2:close] + new[close + 1:]
        return None if new == kept else "header tokens changed beyond the rule's words"
    if span.kind == "diag":
        action = next(a for a in rule.actions if isinstance(a, DiagBlockAction))
        if after not in (b"", action.start.encode(), action.end.encode()):
            return f"diag lines become {after!r}"
        if not re.fullmatch(rb"(?:__diag_\w+\([^;]*\);?)+", re.sub(rb"\s", b"", before)):
            return f"removes more than __diag lines: {before!r}"
        return None
    action = next(a for a in rule.actions if isinstance(a, RenameSetMacro))
    for suffix in (b"_START", b"_END"):
        if (before, after) == (action.old.encode() + suffix, action.new.encode() + suffix):
            return None
    return f"set macro {before!r} becomes {after!r}"
