"""`check`: a plan rendered as findings, for a tree, a patch or commits.

A finding is a planned change: `path:line: ERROR: rule: message` (checkpatch
style; ERROR for a kfunc the compiler may inline or drop, WARNING for a
convention).  For a patch or a commit, `findings` with `added` keeps what is
on the lines it adds (set entries, definition headers); `kfuncfix.commitlint`
adds what its tree has and the tree before it had not.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kfuncfix.engine import FileChange, Plan, Result, Status, apply_edits
from kfuncfix.model import KFUNC, IdSet, Kfunc, TreeIndex
from kfuncfix.outputs.diff import unified_diff
from kfuncfix.pathquote import quote_path
from kfuncfix.words import plural

TOOL = "kfuncfix"


@dataclass(frozen=True)
class Finding:
    """One line of `check` output."""

    severity: str  # "error" or "warning"
    rule: str
    file: str
    line: int
    message: str
    kfunc: str | None
    fix: str  # the change as a diff, empty for remarks without a fix

    def text(self) -> str:
        # Names as git prints them (core.quotePath): a newline cannot forge a line.
        where = quote_path(self.file)
        return f"{where}:{self.line}: {self.severity.upper()}: {self.rule}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "severity": self.severity, "path": self.file,
                "line": self.line, "kfunc": self.kfunc, "message": self.message,
                "fix": self.fix}


def findings(index: TreeIndex, result: Plan, added: dict[str, set[int]] | None = None,
             with_fix: bool = False, undefined: bool = True) -> list[Finding]:
    """The plan's findings (and what its rules could not resolve, as warnings);
    with `added` (lines a patch adds, by file), only those the patch touches;
    `with_fix` renders each fix as a diff (for JSON); `undefined` reports the
    uses of a macro the tree does not define (off for a patch alone: an earlier
    patch of its series may define it)."""
    out = []
    touches = _Touched(index, added) if added is not None else None
    for r in result.findings:
        if touches is None or touches(r):
            out.append(Finding(r.severity, r.rule, r.file, r.line, r.message, r.kfunc,
                               _fix(index, r) if with_fix else ""))
    for r in result.results:
        macro = result.undefined_in_use.get(r.rule) if undefined else None
        skipped = r.status == Status.SKIPPED and r.lint
        uses_undefined = r.status == Status.ALREADY and macro is not None
        if not (skipped or uses_undefined) or not (touches is None or touches(r)):
            continue
        what = f"kfunc {r.name}" if r.kfunc else r.name
        if uses_undefined:
            # Tagged by hand, or by an `apply` without --with-definition.
            out.append(Finding("error", r.rule, r.file, r.line,
                               f"{what} uses {macro}, which this tree does not define: it "
                               "does not compile (`kfuncfix apply --with-definition` adds it)",
                               r.kfunc, ""))
            continue
        message = f"{what}: {r.message}"
        if r.severity == "error":
            message += " (change it by hand)"
        out.append(Finding(r.severity, r.rule, r.file, r.line, message, r.kfunc, ""))
    return sorted(out, key=lambda f: (f.file, f.line, f.rule))


def _fix(index: TreeIndex, r: Result) -> str:
    src = index.sources.get(r.file)
    if src is None or not r.edits:
        return ""
    change = FileChange(r.file, src.data, apply_edits(src.data, r.edits, r.file), [],
                        sorted(r.edits, key=lambda e: e.start))
    return unified_diff([change]).decode("utf-8", "replace")


class _Touched:
    """Whether a patch touches what a result is about; the kfuncs and sets are
    looked up by name once, so that filtering stays linear in the results."""

    def __init__(self, index: TreeIndex, added: dict[str, set[int]]) -> None:
        self.added = added
        self.kfuncs: dict[str, list[Kfunc]] = {}
        for k in index.kfuncs:
            self.kfuncs.setdefault(k.name, []).append(k)
        self.sets: dict[tuple[str, str], list[IdSet]] = {}
        for s in index.sets:
            self.sets.setdefault((s.name, s.file), []).append(s)

    def __call__(self, r: Result) -> bool:
        """The patch adds a line of what the result is about: its own line, the set
        entry of its kfunc, a line of its kfunc's definition header, or its set."""
        added = self.added
        if r.line in added.get(r.file, ()):
            return True
        names = {n.strip() for n in r.name.split(",")} | ({r.kfunc} if r.kfunc else set())
        for k in (k for name in names for k in self.kfuncs.get(name, ())):
            if k.entry.span.line in added.get(k.set.file, ()):
                return True
            for d in k.definitions:
                lines = added.get(d.file)
                if lines:
                    first = d.source.line_of(d.func.start)
                    last = d.source.line_of(d.func.brace)
                    if any(first <= n <= last for n in lines):
                        return True
        return any(s.end_span is not None and any(
            s.start_span.line <= n <= s.end_span.line for n in added.get(s.file, ()))
            for s in self.sets.get((r.name, r.file), ()))


def has_kfunc_sets(index: TreeIndex) -> bool:
    """The tree registers BTF id sets of kfuncs (Linux 5.18 and later do)."""
    return any(s.kind == KFUNC for s in index.sets) or bool(index.kfuncs)


def b4_report(found: Iterable[Finding], scope: str) -> str:
    """b4's review check JSON: one object for the tool, pass, warn or fail."""
    items = list(found)
    errors = sum(1 for f in items if f.severity == "error")
    status = "fail" if errors else ("warn" if items else "pass")
    summary = (f"{plural(len(items), 'finding')} in {scope}: {plural(errors, 'error')}" if items
               else f"no kfunc findings in {scope}")
    details = "\n".join(f.text() for f in items)
    return json.dumps([{"tool": TOOL, "status": status, "summary": summary,
                        "details": details}], indent=2)
