"""The small set of actions a rule file combines, registered by the name rules use.

Definition actions (`drop_specifiers`, `insert_prefix`, `wrap_prototype`)
together describe one new form for every kfunc definition header; they run
first.  File actions (`add_include`, `diag_block`, `rename_set_macro`) then
run in the order the rule lists them and may look at what was done so far.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from kfuncfix.engine.definitions import CannotRewrite, DefinitionStyle, rewrite_header
from kfuncfix.engine.diagblocks import DiagBlock, diag_blocks, remove_edits, replace_edits
from kfuncfix.engine.includes import CannotPlace, include_edit, includes
from kfuncfix.engine.plan import PlanContext, Skip
from kfuncfix.engine.schema import IDENT_RE, Table
from kfuncfix.engine.setmacros import refusal, rename_edits
from kfuncfix.model import KFUNC
from kfuncfix.source.scan import SourceFile

INCLUDE_NAME_RE = re.compile(r"(?!.*(?:^|/)\.\.?(?:/|$))[\w.+-]+(?:/[\w.+-]+)*\Z")
WARNING_FLAG_RE = re.compile(r"-W[\w=+-]+\Z")
ONE_LINE_RE = re.compile(r"[^\n\r]*\Z")
LEADING_IDENT_RE = re.compile(r"[A-Za-z_]\w*")


class Action(ABC):
    """One step of a rule, built from its `[[actions]]` table."""

    kind: ClassVar[str]

    @classmethod
    @abstractmethod
    def parse(cls, table: Table) -> Action: ...


class DefinitionAction(Action):
    """Part of the new form of kfunc definition headers (see `definition_style`)."""


class FileAction(Action):
    @abstractmethod
    def run(self, ctx: PlanContext, style: DefinitionStyle | None) -> None: ...


@dataclass(frozen=True)
class DropSpecifiers(DefinitionAction):
    """Remove specifiers the new form implies (`noinline`, `__used`)."""

    kind: ClassVar[str] = "drop_specifiers"
    words: tuple[str, ...]

    @classmethod
    def parse(cls, table: Table) -> DropSpecifiers:
        return cls(table.identifiers("words"))


@dataclass(frozen=True)
class InsertPrefix(DefinitionAction):
    """Put a word (`__bpf_kfunc`) before the first specifier of the definition."""

    kind: ClassVar[str] = "insert_prefix"
    text: str
    already: tuple[str, ...]

    @classmethod
    def parse(cls, table: Table) -> InsertPrefix:
        text = table.string("text", IDENT_RE, "a C identifier")
        return cls(text, table.identifiers("already", required=False) or (text,))


@dataclass(frozen=True)
class WrapPrototype(DefinitionAction):
    """Wrap the whole prototype in a macro: `BPF_KFUNC(int f(void))`."""

    kind: ClassVar[str] = "wrap_prototype"
    macro: str
    already: tuple[str, ...]

    @classmethod
    def parse(cls, table: Table) -> WrapPrototype:
        macro = table.string("macro", IDENT_RE, "a C identifier")
        return cls(macro, table.identifiers("already", required=False) or (macro,))


@dataclass(frozen=True)
class AddInclude(FileAction):
    """Include a header in every changed `.c` file that does not include it itself."""

    kind: ClassVar[str] = "add_include"
    header: str

    @classmethod
    def parse(cls, table: Table) -> AddInclude:
        header = table.string("header", INCLUDE_NAME_RE, "a header name such as linux/btf.h")
        return cls(header)

    def run(self, ctx: PlanContext, style: DefinitionStyle | None) -> None:
        for path in ctx.changed_files():
            src = ctx.index.sources[path]
            if not path.endswith(".c") or includes(src, self.header):
                continue
            try:
                ctx.add(path, include_edit(src, self.header, f"include <{self.header}>"))
            except CannotPlace as exc:
                ctx.skipped.append(Skip(f"<{self.header}>", path, 1, str(exc)))


@dataclass(frozen=True)
class DiagBlockAction(FileAction):
    """Replace (or, with empty texts, remove) the __diag_push/pop pair around kfuncs."""

    kind: ClassVar[str] = "diag_block"
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

    def run(self, ctx: PlanContext, style: DefinitionStyle | None) -> None:
        for path in sorted({t.file for t in ctx.targets if ctx.in_scope(t.file)}):
            src = ctx.index.sources[path]
            defs = [t for t in ctx.targets if t.file == path]
            for block in diag_blocks(src):
                inside = [t for t in defs
                          if block.push_end <= t.definition.func.start < block.pop_start]
                if inside:
                    self._one(ctx, style, src, block, [n for t in inside for n in t.names])

    def _one(self, ctx: PlanContext, style: DefinitionStyle | None, src: SourceFile,
             block: DiagBlock, names: list[str]) -> None:
        where = ("__diag_push", src.path, block.line)
        others = [w for w in block.warnings if w not in self.warnings]
        if others or not block.warnings:
            what = f"it also silences {', '.join(others)}" if others else "no warning named"
            ctx.notes.append(Skip(*where, f"kept: {what}"))
            return
        if src.condition_at(block.push_start) != src.condition_at(block.pop_start):
            ctx.skipped.append(Skip(*where, "push and pop are under different #if conditions"))
            return
        why = f"diag block around {names[0]}" + (f" and {len(names) - 1} more" if names[1:] else "")
        if self.start and self._holds_start(src, block):
            ctx.skipped.append(Skip(*where, f"already holds a {self.start.rstrip(';')} block; "
                                    "merge the two by hand"))
            return
        if self.start:
            edits = replace_edits(block, self.start.encode(), self.end.encode(), why)
        else:
            needing = _still_needed(ctx, style, src, block)
            if needing:
                more = f" and {len(needing) - 1} more still need" if needing[1:] else " still needs"
                ctx.notes.append(Skip(*where, f"kept: {needing[0]}(){more} it"))
                return
            found = remove_edits(src, block, why)
            if found is None:
                ctx.skipped.append(Skip(*where, "shares its lines with other code"))
                return
            edits = found
        for edit in edits:
            ctx.add(src.path, edit, kfuncs=names)

    def _holds_start(self, src: SourceFile, block: DiagBlock) -> bool:
        """True if the replacement macro is already used inside the block."""
        name = LEADING_IDENT_RE.match(self.start)
        if name is None:
            return False
        call = re.compile(rb"\b%s\s*\(" % re.escape(name.group().encode()))
        return call.search(src.masked, block.push_end, block.pop_start) is not None


def _still_needed(ctx: PlanContext, style: DefinitionStyle | None, src: SourceFile,
                  block: DiagBlock) -> list[str]:
    """Global functions in the block that would warn without it."""
    wrap = style.wrap if style else None
    needing = []
    for func in src.functions:
        if not block.push_end <= func.start < block.pop_start or src.is_dead(func.name_start):
            continue
        if func.is_static and not func.macro:
            continue
        if wrap and ((src.path, func.start) in ctx.rewritten or (func.macro and func.name == wrap)):
            continue  # the wrapper declares it
        needing.append(func.name)
    return needing


@dataclass(frozen=True)
class RenameSetMacro(FileAction):
    """`OLD_START(x)`/`OLD_END(x)` to `NEW_START(x)`/`NEW_END(x)`, for kfunc sets only."""

    kind: ClassVar[str] = "rename_set_macro"
    old: str
    new: str

    @classmethod
    def parse(cls, table: Table) -> RenameSetMacro:
        old = table.string("from", IDENT_RE, "a macro name prefix like BTF_SET8")
        new = table.string("to", IDENT_RE, "a macro name prefix like BTF_KFUNCS")
        return cls(old, new)

    def run(self, ctx: PlanContext, style: DefinitionStyle | None) -> None:
        for idset in ctx.index.sets:
            if idset.kind != KFUNC or idset.macro != self.old or not ctx.in_scope(idset.file):
                continue
            reason = refusal(idset)
            if reason:
                ctx.skipped.append(Skip(idset.name, idset.file, idset.start_span.line, reason))
                continue
            src = ctx.index.sources[idset.file]
            for edit in rename_edits(src, idset, self.old, self.new, f"set {idset.name}"):
                ctx.add(idset.file, edit, sets=[idset.name])


ACTIONS: dict[str, type[Action]] = {
    cls.kind: cls
    for cls in (DropSpecifiers, InsertPrefix, WrapPrototype, AddInclude, DiagBlockAction,
                RenameSetMacro)
}


def parse_action(table: Table) -> Action:
    kind = table.string("type", IDENT_RE, "an action name")
    cls = ACTIONS.get(kind)
    if cls is None:
        raise table.fail("type", f"unknown action {kind!r} (known: {', '.join(sorted(ACTIONS))})")
    action = cls.parse(table)
    table.done()
    return action


def definition_style(actions: tuple[Action, ...], line_limit: int,
                     table: Table) -> DefinitionStyle | None:
    """The definition form the rule's definition actions describe, if it has any."""
    if not any(isinstance(a, DefinitionAction) for a in actions):
        return None
    forms = [a for a in actions if isinstance(a, InsertPrefix | WrapPrototype)]
    if len(forms) != 1:
        raise table.fail("actions", "definition actions need exactly one insert_prefix or "
                         f"wrap_prototype (found {len(forms)})")
    form = forms[0]
    drop = frozenset(w for a in actions if isinstance(a, DropSpecifiers) for w in a.words)
    if isinstance(form, InsertPrefix):
        return DefinitionStyle(prefix=form.text, drop=drop, already=frozenset(form.already),
                               line_limit=line_limit)
    return DefinitionStyle(wrap=form.macro, drop=drop, already=frozenset(form.already),
                           line_limit=line_limit)


def rewrite_definitions(ctx: PlanContext, style: DefinitionStyle) -> None:
    """Give every kfunc definition in scope the style's form, or say why not."""
    for missing in ctx.unresolved:
        if ctx.in_scope(missing.file):
            ctx.skipped.append(Skip(missing.name, missing.file, missing.line, missing.reason))
    verb = f"wrap in {style.wrap}()" if style.wrap else f"tag {style.prefix}"
    for target in ctx.targets:
        if not ctx.in_scope(target.file):
            continue
        d = target.definition
        label = ", ".join(target.names)
        if style.is_done(d.func):
            ctx.already_done.extend(target.names)
            continue
        try:
            result = rewrite_header(d.source, d.func, style, f"{verb}: {label}")
        except CannotRewrite as exc:
            ctx.skipped.append(Skip(label, d.file, d.line, str(exc)))
            continue
        ctx.add(d.file, result.edit, kfuncs=target.names)
        ctx.rewritten.add((d.file, d.func.start))
        if result.over_limit:
            ctx.notes.append(Skip(label, d.file, d.line, f"a line stays past {style.line_limit} "
                                  "columns: no parameter comma to break it at"))
