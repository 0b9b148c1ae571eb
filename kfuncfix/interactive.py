"""`apply --interactive`: review the planned rewrite kfunc by kfunc, as `git add -p` does.

Each unit (a kfunc, or a file for rules that change no definition) is shown
as its own diff with the reason for it; the answers pick the units, and the
rule is planned again over the accepted ones only, so that what is written
is exactly a plan the engine made (includes and realignment included).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from kfuncfix.engine import Plan, plan
from kfuncfix.model import TreeIndex
from kfuncfix.outputs.diff import unified_diff

HELP = """y - apply this change
n - do not apply this change
a - apply this change and all later ones
q - quit; apply none of this or the later changes
? - print help"""

Ask = Callable[[str], str]
Show = Callable[[str], None]


@dataclass(frozen=True)
class Unit:
    title: str  # "kfunc bpf_x (kernel/bpf/helpers.c:12)" or a path
    reason: str
    kfunc: str | None
    path: str


def units(index: TreeIndex, result: Plan) -> list[Unit]:
    """The pieces to review, in file order."""
    by_name = {k.name: k for k in index.kfuncs}
    out = []
    for change in result.files.values():
        if not change.kfuncs:
            what = ", ".join(change.sets) or "macro lines"
            out.append(Unit(change.path, f"rewrites {what}", None, change.path))
            continue
        for name in change.kfuncs:
            k = by_name.get(name)
            reason = ""
            if k is not None:
                risks = sorted({r for d in k.definitions for r in d.risks})
                reason = f"set {k.set.name}"
                if k.flags:
                    reason += f", flags {' | '.join(k.flags)}"
                if risks:
                    reason += f", risks: {', '.join(risks)}"
            out.append(Unit(f"kfunc {name} ({change.path})", reason, name, change.path))
    return out


def _restricted(index: TreeIndex, names: set[str]) -> TreeIndex:
    return dataclasses.replace(index, kfuncs=[k for k in index.kfuncs if k.name in names])


def unit_diff(index: TreeIndex, result: Plan, unit: Unit, color: bool) -> bytes:
    """The diff of one unit alone."""
    if unit.kfunc is None:
        part = plan(index, result.rules, [unit.path])
    else:
        part = plan(_restricted(index, {unit.kfunc}), result.rules, [unit.path])
    return unified_diff(list(part.files.values()), {}, color)


def review(index: TreeIndex, result: Plan, ask: Ask, show: Show, color: bool) -> Plan:
    """Ask about every unit; return the plan of the accepted ones."""
    todo = units(index, result)
    accepted: list[Unit] = []
    take_rest = False
    for number, unit in enumerate(todo, 1):
        if take_rest:
            accepted.append(unit)
            continue
        show(unit_diff(index, result, unit, color).decode("utf-8", "replace"))
        show(f"# {unit.title}: {unit.reason}" if unit.reason else f"# {unit.title}")
        while True:
            answer = ask(f"({number}/{len(todo)}) Apply this change [y,n,a,q,?]? ").strip()[:1]
            if answer in ("y", "n", "a", "q"):
                break
            show(HELP)
        if answer == "q":
            break
        if answer in ("y", "a"):
            accepted.append(unit)
        take_rest = answer == "a"
    names = {u.kfunc for u in accepted if u.kfunc}
    paths = sorted({u.path for u in accepted})
    if not paths:
        return dataclasses.replace(result, files={}, definition=[], results=[])
    return plan(_restricted(index, names) if names else index, result.rules, paths)
