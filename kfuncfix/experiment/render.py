"""The experiment's rows as Markdown matrices, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter

from kfuncfix.experiment.probe import SHAPES
from kfuncfix.experiment.run import Result, Row
from kfuncfix.experiment.verdict import VERDICTS

FIELDS = ("compiler", "pahole", "marker", "file", "kfunc", "shape", "verdict", "detail")
LEGEND = {
    "ok": "in BTF with the source's prototype",
    "no-location": "in BTF; a parameter has no DWARF location (harmless only if unused)",
    "const-param": "in BTF; DWARF says a parameter was folded to a constant",
    "nocall": "in BTF; DWARF says DW_CC_nocall (the ABI was changed)",
    "mismatch": "in BTF with another prototype",
    "btf-names-clone": "in BTF under its name, but only a clone exists",
    "clone-only": "not in BTF; only a .isra/.constprop/.part clone was emitted",
    "gone": "not in BTF, no usable symbol",
    "compile-error": "the marker does not compile here",
    "not-run": "not measured (budget spent, or pahole failed)",
}


def to_json(result: Result) -> str:
    return json.dumps({"rows": [r.to_json() for r in result.rows], "notes": result.notes,
                       "seconds": round(result.seconds, 1), "complete": result.complete},
                      indent=2)


def to_csv(result: Result) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for r in result.rows:
        writer.writerow([getattr(r, f) for f in FIELDS])
    return out.getvalue()


def to_markdown(result: Result) -> str:
    lines: list[str] = []
    groups: dict[tuple[str, str], list[Row]] = {}
    for r in result.rows:
        groups.setdefault((r.compiler, r.pahole), []).append(r)
    for (compiler, pahole), rows in groups.items():
        probe = [r for r in rows if r.shape]
        files = [r for r in rows if not r.shape]
        if probe:
            lines += [f"### Probe, {compiler}, pahole {pahole}: marker x shape", ""]
            lines += _shape_table(probe) + [""]
        if files:
            lines += [f"### Kernel files, {compiler}, pahole {pahole}: marker x file", ""]
            lines += _file_table(files) + [""]
    used = {r.verdict for r in result.rows}
    lines += [f"- `{v}`: {LEGEND[v]}" for v in VERDICTS if v in used]
    shapes = sorted({r.shape for r in result.rows if r.shape})
    if shapes:
        names = {code: what for code, what in SHAPES.values()}
        lines.append("- shapes: " + "; ".join(f"{s} {names[s]}" for s in shapes))
    lines += [f"- note: {n}" for n in result.notes]
    lines.append(f"- time: {result.seconds:.0f} s"
                 + ("" if result.complete else " (budget spent: some cells not run)"))
    return "\n".join(lines)


def _markers(rows: list[Row]) -> list[str]:
    return list(dict.fromkeys(r.marker for r in rows))


def _shape_table(rows: list[Row]) -> list[str]:
    shapes = sorted({r.shape for r in rows}, key=lambda s: (s[0] != "G", s))
    cell = {(r.marker, r.shape): r.verdict for r in rows}
    out = ["| marker | " + " | ".join(shapes) + " |", "|---" * (len(shapes) + 1) + "|"]
    for m in _markers(rows):
        out.append(f"| {_name(m)} | " + " | ".join(cell.get((m, s), "") for s in shapes) + " |")
    return out


def _file_table(rows: list[Row]) -> list[str]:
    files = list(dict.fromkeys(r.file for r in rows))
    counts: dict[tuple[str, str], Counter[str]] = {}
    for r in rows:
        counts.setdefault((r.marker, r.file), Counter())[r.verdict] += 1
    out = ["| marker | " + " | ".join(files) + " |", "|---" * (len(files) + 1) + "|"]
    for m in _markers(rows):
        cells = []
        for f in files:
            c = counts.get((m, f), Counter())
            cells.append(", ".join(f"{c[v]} {v}" for v in VERDICTS if c[v]))
        out.append(f"| {_name(m)} | " + " | ".join(cells) + " |")
    return out


def _name(marker: str) -> str:
    return f"`{marker}`" if marker != "none" else "none"
