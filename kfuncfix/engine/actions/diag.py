"""`diag_block`: replace (or, with empty texts, remove) the __diag_push/pop pair
that silences missing-prototype warnings around kfunc definitions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from kfuncfix.engine.actions.base import DEFAULT_TARGET_KINDS, Action, AllowedSpan
from kfuncfix.engine.diagblocks import DiagBlock, diag_blocks, remove_edits, replace_edits
from kfuncfix.engine.edits import Edit
from kfuncfix.engine.layout import after_eol, is_blank_line, line_start
from kfuncfix.engine.plan import ActionInputs, Recorder
from kfuncfix.engine.schema import Table
from kfuncfix.model import TreeIndex
from kfuncfix.source.scan import SourceFile

if TYPE_CHECKING:
    from kfuncfix.engine.rule import Rule

WARNING_FLAG_RE = re.compile(r"-W[\w=+-]+\Z")
ONE_LINE_RE = re.compile(r"[^\n\r]*\Z")
LEADING_IDENT_RE = re.compile(r"[A-Za-z_]\w*")
DIAG_LINES_RE = re.compile(rb"(?:__diag_\w+\([^;]*\);?)+")


@dataclass(frozen=True)
class DiagBlockAction(Action):
    """Replace (or, with empty texts, remove) the __diag_push/pop pair around kfuncs."""

    kind: ClassVar[str] = "diag_block"
    target_kinds: ClassVar[tuple[str, ...]] = DEFAULT_TARGET_KINDS
    warnings: tuple[str, ...]
    start: str
    end: str

    @classmethod
    def parse(cls, table: Table) -> DiagBlockAction:
        warnings = table.strings("warnings", pattern=WARNING_FLAG_RE,
                                 form="a warning option such as -Wmissing-prototypes")
        start = table.string("start", ONE_LINE_RE, "one line", default="")
        end = table.string("end", ONE_LINE_RE, "one line", default="")
        if bool(start) != bool(end):
            raise table.fail("end" if start else "start",
                             "give both start and end (or neither, to remove the pair)")
        return cls(warnings, start, end)

    def plan(self, inputs: ActionInputs, rec: Recorder) -> None:
        files = sorted({t.file for t in inputs.targets if inputs.in_scope(t.file)})
        for path in files:
            src = inputs.index.sources[path]
            defs = [t for t in inputs.targets if t.file == path]
            for block in diag_blocks(src):
                inside = [t for t in defs
                          if block.push_end <= t.definition.func.start < block.pop_start]
                if inside:
                    self._one(inputs, rec, src, block, [n for t in inside for n in t.names])

    def _one(self, inputs: ActionInputs, rec: Recorder, src: SourceFile, block: DiagBlock,
             names: list[str]) -> None:
        where = ("__diag_push", src.path, block.line)
        others = [w for w in block.warnings if w not in self.warnings]
        if others or not block.warnings:
            what = f"it also silences {', '.join(others)}" if others else "no warning named"
            rec.note(*where, f"kept: {what}")
            return
        if src.condition_at(block.push_start) != src.condition_at(block.pop_start):
            rec.skip(*where, "push and pop are under different #if conditions")
            return
        why = f"diag block around {names[0]}" + (f" and {len(names) - 1} more" if names[1:] else "")
        if self.start and self._holds_start(src, block):
            rec.skip(*where, f"already holds a {self.start.rstrip(';')} block; "
                     "merge the two by hand")
            return
        if self.start:
            edits = replace_edits(block, self.start.encode(), self.end.encode(), why)
            finding = (f"the __diag_push() block around {names[0]}() should be "
                       f"{self.start.rstrip(';')} ... {self.end.rstrip(';')}")
        else:
            needing = _still_needed(inputs, src, block)
            if needing:
                more = f" and {len(needing) - 1} more still need" if needing[1:] else " still needs"
                rec.note(*where, f"kept: {needing[0]}(){more} it")
                return
            found = remove_edits(src, block, why)
            if found is None:
                rec.skip(*where, "shares its lines with other code")
                return
            edits = found
            finding = f"the __diag_push() block around {names[0]}() is no longer needed"
        rec.edit(src.path, edits, kfuncs=names, finding=finding, name="__diag_push",
                 line=block.line)

    def _holds_start(self, src: SourceFile, block: DiagBlock) -> bool:
        """True if the replacement macro is already used inside the block."""
        name = LEADING_IDENT_RE.match(self.start)
        if name is None:
            return False
        call = re.compile(rb"\b%s\s*\(" % re.escape(name.group().encode()))
        return call.search(src.masked, block.push_end, block.pop_start) is not None

    def spans(self, index: TreeIndex, path: str) -> list[AllowedSpan]:
        src = index.sources.get(path)
        if src is None:
            return []
        data = src.data
        texts = (b"", self.start.encode(), self.end.encode())

        def check(before: bytes, after: bytes) -> str | None:
            if after not in texts:
                return f"diag lines become {after!r}"
            if not DIAG_LINES_RE.fullmatch(re.sub(rb"\s", b"", before)):
                return f"removes more than __diag lines: {before!r}"
            return None

        spans = []
        for block in diag_blocks(src):
            for start, end in ((block.push_start, block.push_end),
                               (block.pop_start, block.pop_end)):
                stop = after_eol(data, end)
                if is_blank_line(data, stop):
                    stop = after_eol(data, stop)
                spans.append(AllowedSpan("diag", line_start(data, start), stop, "", check))
        return spans

    def example_edits(self, src: SourceFile, rewritten: Sequence[int],
                      rule: Rule) -> list[Edit]:
        """The example's __diag_push() block, when every definition inside was
        rewritten: renamed, or (a wrapper declares them all) removed, tidily."""
        edits: list[Edit] = []
        for block in diag_blocks(src):
            inside = [f.start for f in src.functions
                      if block.push_end <= f.start < block.pop_start]
            if not inside or any(f not in rewritten for f in inside):
                continue
            if any(w not in self.warnings for w in block.warnings):
                continue
            if self.start:
                edits += [Edit(block.push_start, block.push_end, self.start.encode(),
                               "example diag"),
                          Edit(block.pop_start, block.pop_end, self.end.encode(),
                               "example diag")]
            elif rule.style is not None and rule.style.wrap:
                edits += _tidy_example(src.data,
                                       remove_edits(src, block, "example diag") or [])
        return edits


def _still_needed(inputs: ActionInputs, src: SourceFile, block: DiagBlock) -> list[str]:
    """Global functions in the block that would warn without it."""
    style = inputs.rule.style
    wrap = style.wrap if style else None
    needing = []
    for func in src.functions:
        if not block.push_end <= func.start < block.pop_start or src.is_dead(func.name_start):
            continue
        if func.is_static and not func.macro:
            continue
        if wrap and (inputs.edited_at(src.path, func.start) or (func.macro and func.name == wrap)):
            continue  # the wrapper declares it
        needing.append(func.name)
    return needing


def _tidy_example(data: bytes, edits: list[Edit]) -> list[Edit]:
    """A removed push takes the one-line comment above it along (`/* Disables missing
    prototype warnings */` says what the pair is for); a removed pop that ends the
    example takes the blank lines before it, so the example ends at its last code."""
    if len(edits) != 2:
        return edits
    push, pop = edits
    before = data.rfind(b"\n", 0, max(push.start - 1, 0)) + 1 if push.start else 0
    comment = data[before:push.start].strip()
    if push.start and comment.startswith(b"/*") and comment.endswith(b"*/") \
            and b"*/" not in comment[2:-2]:
        end = push.end
        if before == 0 and data[end:data.find(b"\n", end) + 1].strip() == b"":
            end = data.find(b"\n", end) + 1  # nor a blank line to start the example
        push = Edit(before, end, push.text, push.why)
    start = pop.start
    if data[pop.end:].strip() == b"":
        while start and data[:start].endswith(b"\n") and (
                data[data.rfind(b"\n", 0, start - 1) + 1:start].strip() == b""):
            start = data.rfind(b"\n", 0, start - 1) + 1
        # The example's last line keeps its end of line: take the one before it instead.
        pop = Edit(max(start - 1, push.end), pop.end - 1 if data.endswith(b"\n") else pop.end,
                   pop.text, pop.why)
    return [push, pop]
