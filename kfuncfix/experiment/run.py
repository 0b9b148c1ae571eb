"""Run the matrix: every target x compiler x marker, one row per kfunc."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from kfuncfix.btf.errors import BTFError
from kfuncfix.experiment.compilers import Compiler
from kfuncfix.experiment.markers import Marker
from kfuncfix.experiment.probe import KfuncUnderTest
from kfuncfix.experiment.verdict import COMPILE_ERROR, NOT_RUN, classify, read_evidence
from kfuncfix.outputs.kbuild import tool_version

Progress = Callable[[str], None]


class Target(Protocol):
    label: str
    kfuncs: list[KfuncUnderTest]

    def compile(self, compiler: Compiler, marker: Marker, scratch: Path) -> tuple[Path | None, str]:
        ...


@dataclass(frozen=True)
class Row:
    compiler: str
    pahole: str
    marker: str
    file: str
    kfunc: str
    shape: str
    verdict: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Result:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    complete: bool = True


def run_matrix(targets: Sequence[Target], compilers: Sequence[Compiler],
               markers: Sequence[Marker], budget: float | None, progress: Progress,
               result: Result | None = None) -> Result:
    """Compile and judge each cell; past the budget the remaining cells are `not-run`."""
    result = result or Result()
    start = time.monotonic()
    pahole = tool_version(["pahole", "--version"])
    cells = [(t, c, m) for t in targets for c in compilers for m in markers]
    with tempfile.TemporaryDirectory(prefix="kfuncfix-experiment-") as tmp:
        for number, (target, compiler, marker) in enumerate(cells, 1):
            def row(k: KfuncUnderTest, verdict: str, detail: str,
                    t: Target = target, c: Compiler = compiler, m: Marker = marker) -> Row:
                return Row(c.label, pahole, m.name, t.label, k.name, k.shape, verdict, detail)

            if budget is not None and time.monotonic() - start > budget:
                result.complete = False
                result.rows += [row(k, NOT_RUN, "budget spent") for k in target.kfuncs]
                continue
            progress(f"[{number}/{len(cells)}] {target.label}: {compiler.label}, "
                     f"marker {marker.name or 'none'}")
            scratch = Path(tmp) / f"{number}"
            scratch.mkdir()
            obj, error = target.compile(compiler, marker, scratch)
            if obj is None:
                result.rows += [row(k, COMPILE_ERROR, error) for k in target.kfuncs]
                continue
            try:
                evidence = read_evidence(obj, scratch)
            except BTFError as exc:
                result.notes.append(f"{target.label} ({compiler.label}, {marker.name}): {exc}")
                result.rows += [row(k, NOT_RUN, str(exc)) for k in target.kfuncs]
                continue
            for k in target.kfuncs:
                result.rows.append(row(k, *classify(evidence, k.name, k.prototype)))
    result.seconds += time.monotonic() - start
    return result
