"""One report per run, owning the exit code (black's `Report` is the model).

Every command collects what happened into a `RunReport` and ends with
`ctx.exit(report.return_code)`; no command picks an exit status of its own.

    0  done, or clean: everything planned was done, nothing to report
    1  findings (check, audit), or something planned that was not done: a target
       skipped, a file discovery could not read, a write refused, a failed
       series check or build (the same in diff, apply, --branch and series)
    2  usage or environment errors: a KfuncfixError (one line), raised, not counted

A run stopped by a signal keeps the signal's status (130, 143): `stop`.
"""

from __future__ import annotations

from dataclasses import dataclass

from kfuncfix.engine import Plan
from kfuncfix.model import TreeIndex

DONE = 0
FINDINGS = 1


@dataclass
class RunReport:
    findings: int = 0  # lint or audit findings
    skipped: int = 0  # planned targets the rules could not change
    unreadable: int = 0  # files discovery needed but could not read
    failed: int = 0  # outputs not made: refused writes, failed series checks or builds
    stop: int = 0  # the exit status of a run stopped part way (a signal, a full disk)

    def planned(self, index: TreeIndex, plan: Plan | None = None) -> RunReport:
        """Count what one plan (and the index it was made from) left undone."""
        self.unreadable += len(index.unreadable)
        if plan is not None:
            self.skipped += len(plan.skipped)
        return self

    def found(self, count: int) -> RunReport:
        self.findings += count
        return self

    def fail(self, failed: bool = True) -> RunReport:
        self.failed += int(failed)
        return self

    @property
    def return_code(self) -> int:
        if self.stop:
            return self.stop
        if self.findings or self.skipped or self.unreadable or self.failed:
            return FINDINGS
        return DONE
