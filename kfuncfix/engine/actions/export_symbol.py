"""`export_symbol`: a line `MACRO(name);` after each kfunc definition's closing brace.

Proposed on the list as `EXPORT_SYMBOL_KFUNC(name);`: kfuncs marked the way
`EXPORT_SYMBOL_GPL()` marks exported functions, on the line after the
definition.  Static definitions cannot be exported: they are reported, not
changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from kfuncfix.engine.actions.base import DEFAULT_TARGET_KINDS, Action, AllowedSpan
from kfuncfix.engine.edits import Edit
from kfuncfix.engine.layout import after_eol, eol_of
from kfuncfix.engine.plan import ActionInputs, Recorder
from kfuncfix.engine.schema import IDENT_RE, Table
from kfuncfix.model import TreeIndex

SPACE = b" \t"


@dataclass(frozen=True)
class ExportSymbol(Action):
    """`MACRO(name);` on its own line right after the definition's `}`."""

    kind: ClassVar[str] = "export_symbol"
    target_kinds: ClassVar[tuple[str, ...]] = DEFAULT_TARGET_KINDS
    macro: str

    @classmethod
    def parse(cls, table: Table) -> ExportSymbol:
        return cls(table.string("macro", IDENT_RE, "a C identifier"))

    def plan(self, inputs: ActionInputs, rec: Recorder) -> None:
        for target in inputs.targets:
            d = target.definition
            if not inputs.in_scope(d.file):
                continue
            name, func, data = d.func.name, d.func, d.source.data
            if func.macro or func.body_end < 0:
                # func.name is then the macro's: say which kfunc, and through what.
                how = f"the macro {name}()" if func.macro else "a macro"
                rec.skip(target.names[0], d.file, d.line,
                         f"defined through {how}; export it by hand", kfunc=target.names[0])
                continue
            if func.is_static:
                rec.note(name, d.file, d.line, f"static: not exported with {self.macro}()")
                continue
            if self._follows(data, func.body_end, name):
                for kfunc in target.names:
                    rec.done(kfunc, d.file, d.line)
                continue
            end = func.body_end
            rest = data[end:after_eol(data, end)].strip(SPACE + b"\r\n")
            if rest:
                rec.skip(name, d.file, d.line, "code follows the closing brace on its line",
                         kfunc=name)
                continue
            pos = after_eol(data, end)
            eol = eol_of(data, end)
            lead = b"" if data[:pos].endswith(b"\n") else eol
            text = lead + f"{self.macro}({name});".encode() + eol
            rec.edit(d.file, [Edit(pos, pos, text, f"export {name}")], kfuncs=target.names,
                     finding=f"kfunc {name} is not exported with {self.macro}()", name=name,
                     line=d.line, severity="warning")

    def _follows(self, data: bytes, end: int, name: str) -> bool:
        """The definition is already followed by MACRO(name);."""
        pattern = rb"\s*%s\s*\(\s*%s\s*\)\s*;" % (re.escape(self.macro.encode()),
                                                   re.escape(name.encode()))
        return re.match(pattern, data[end:end + 4 * len(name) + 200]) is not None

    def spans(self, index: TreeIndex, path: str) -> list[AllowedSpan]:
        src = index.sources.get(path)
        if src is None:
            return []
        spans = []
        for k in index.kfuncs:
            for d in k.definitions:
                if d.file != path or d.func.body_end < 0:
                    continue
                want = f"{self.macro}({d.func.name});".encode()

                def check(before: bytes, after: bytes, want: bytes = want) -> str | None:
                    ok = not before and after.strip(b"\r\n") == want
                    return None if ok else f"not exactly {want.decode()} on a line of its own"

                pos = after_eol(src.data, d.func.body_end)
                spans.append(AllowedSpan("export", pos, pos, d.func.name, check))
        return spans
