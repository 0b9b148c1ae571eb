"""`add_include`: include a header in every changed `.c` file that lacks it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from kfuncfix.engine.actions.base import Action, AllowedSpan
from kfuncfix.engine.includes import CannotPlace, include_edit, includes
from kfuncfix.engine.plan import ActionInputs, Recorder
from kfuncfix.engine.schema import Table
from kfuncfix.model import TreeIndex

INCLUDE_NAME_RE = re.compile(r"(?!.*(?:^|/)\.\.?(?:/|$))[\w.+-]+(?:/[\w.+-]+)*\Z")


@dataclass(frozen=True)
class AddInclude(Action):
    """Include a header in every changed `.c` file that does not include it itself.

    Runs on the files earlier actions (of this rule and of rules before it)
    changed; the include is part of their fix, not a finding of its own.
    """

    kind: ClassVar[str] = "add_include"
    header: str

    @classmethod
    def parse(cls, table: Table) -> AddInclude:
        header = table.string("header", INCLUDE_NAME_RE, "a header name such as linux/btf.h")
        return cls(header)

    def plan(self, inputs: ActionInputs, rec: Recorder) -> None:
        line = f"#include <{self.header}>".encode()
        for path in inputs.changed_files():
            src = inputs.index.sources[path]
            if not path.endswith(".c") or includes(src, self.header):
                continue
            if any(line in e.text for e in inputs.pending.get(path, ())):
                continue  # an earlier rule adds it already
            try:
                rec.edit(path, [include_edit(src, self.header, f"include <{self.header}>")])
            except CannotPlace as exc:
                rec.skip(f"<{self.header}>", path, 1, str(exc), lint=False)

    def spans(self, index: TreeIndex, path: str) -> list[AllowedSpan]:
        src = index.sources.get(path)
        if src is None or not path.endswith(".c"):
            return []
        data = src.data
        want = f"#include <{self.header}>".encode()

        def check(before: bytes, after: bytes) -> str | None:
            if before or after.strip(b"\r\n") != want:
                return f"not exactly {want.decode()} on a line of its own"
            return None

        # Any line start (or the end of the file) may take the include.
        starts = [0] + [m.end() for m in re.finditer(rb"\n", data)]
        return [AllowedSpan("include", s, s, self.header, check) for s in starts]
