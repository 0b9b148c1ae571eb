"""`rename_set_macro`: `OLD_START(x)`/`OLD_END(x)` to `NEW_START(x)`/`NEW_END(x)`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from kfuncfix.engine.actions.base import Action, AllowedSpan
from kfuncfix.engine.plan import ActionInputs, Recorder
from kfuncfix.engine.schema import IDENT_RE, Table
from kfuncfix.engine.setmacros import refusal, rename_edits
from kfuncfix.model import KFUNC, TreeIndex


@dataclass(frozen=True)
class RenameSetMacro(Action):
    """Rename the macros of kfunc sets only; fmodret and other sets keep theirs."""

    kind: ClassVar[str] = "rename_set_macro"
    old: str
    new: str

    @classmethod
    def parse(cls, table: Table) -> RenameSetMacro:
        old = table.string("from", IDENT_RE, "a macro name prefix like BTF_SET8")
        new = table.string("to", IDENT_RE, "a macro name prefix like BTF_KFUNCS")
        return cls(old, new)

    def plan(self, inputs: ActionInputs, rec: Recorder) -> None:
        for idset in inputs.index.sets:
            if idset.kind != KFUNC or idset.macro != self.old or not inputs.in_scope(idset.file):
                continue
            line = idset.start_span.line
            reason = refusal(idset)
            if reason:
                rec.skip(idset.name, idset.file, line, reason)
                continue
            src = inputs.index.sources[idset.file]
            edits = rename_edits(src, idset, self.old, self.new, f"set {idset.name}")
            rec.edit(idset.file, edits, sets=[idset.name], name=idset.name, line=line,
                     finding=f"kfunc set {idset.name} is declared with {self.old}_START(), "
                             f"not {self.new}_START()")

    def spans(self, index: TreeIndex, path: str) -> list[AllowedSpan]:
        pairs = {(self.old + s).encode(): (self.new + s).encode() for s in ("_START", "_END")}

        def check(before: bytes, after: bytes) -> str | None:
            ok = pairs.get(before) == after
            return None if ok else f"set macro {before!r} becomes {after!r}"

        return [AllowedSpan("set", span.start, span.end, idset.name, check)
                for idset in index.sets if idset.file == path
                for span in (idset.start_span, idset.end_span) if span is not None]
