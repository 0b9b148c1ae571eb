"""Render an AuditReport as text for people or JSON for tools."""

from __future__ import annotations

import json

from kfuncfix.btf.audit import AuditReport, Finding, KfuncCheck
from kfuncfix.words import plural


def to_json(report: AuditReport, btf_path: str, tree: str | None) -> str:
    return json.dumps({"btf": btf_path, "tree": tree, **report.to_json()}, indent=2)


def to_text(report: AuditReport, tree: bool) -> str:
    lines = _checks(report.checks) if tree else _declared(report)
    if report.findings:
        lines.append("")
        lines.extend(line for f in report.findings for line in _finding(f))
    lines.extend(f"note: {n}" for n in report.notes)
    count = len(report.findings)
    lines.append(plural(count, "finding"))
    return "\n".join(lines)


def _declared(report: AuditReport) -> list[str]:
    kfuncs = report.btf_kfuncs
    tagged = sum(k.decl_tagged for k in kfuncs)
    in_sets = sum(bool(k.sets) for k in kfuncs)
    lines = [f"{plural(len(kfuncs), 'kfunc')} in BTF ({tagged} decl-tagged bpf_kfunc, "
             f"{in_sets} in id sets)"]
    for k in kfuncs:
        marks = (["tag"] if k.decl_tagged else []) + [f"set {s}" for s in k.sets]
        marks += [f"in {k.image}"] if k.image else []
        proto = str(k.prototype) if k.prototype else f"{k.name}: no FUNC in BTF"
        lines.append(f"  {proto}  [{', '.join(marks)}]")
    return lines


def _yes(value: bool | None) -> str:
    return "-" if value is None else "yes" if value else "no"


def _checks(checks: list[KfuncCheck]) -> list[str]:
    width = max([len(c.name) for c in checks] + [5])
    # A whole-kernel audit says which image (vmlinux or a module) each was looked up in.
    images = max([len(c.image) for c in checks if c.image] + [0])
    column = f"{'IMAGE':<{max(images, 5)}}  " if images else ""
    lines = [f"{'KFUNC':<{width}}  {column}BTF  TAG  PROTO     WHERE"]
    for c in checks:
        where = f"{c.file}:{c.line}" if c.file else "(no definition found)"
        state = c.prototype if c.built else "not built"
        flags = f"{_yes(c.in_btf):<3}  {_yes(c.decl_tag):<3}"
        image = f"{c.image:<{max(images, 5)}}  " if images else ""
        lines.append(f"{c.name:<{width}}  {image}{flags}  {state:<8}  {where}")
    return lines


def _finding(f: Finding) -> list[str]:
    where = f"{f.file}:{f.line}: " if f.file else ""
    where += f"[{f.image}] " if f.image and f.image != "vmlinux" else ""
    return [
        f"{where}{f.kfunc}: {f.problem}: {f.detail}",
        f"    cause: {f.cause}",
        f"    fix: {f.fix}",
    ]
