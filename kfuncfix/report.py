"""Turn a TreeIndex into records and findings: what `list` and `check` print."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from kfuncfix.model import (
    DTOR,
    FMODRET,
    KFUNC,
    TAGGED,
    TAGGED_AT_DECLARATION,
    UNRESOLVED,
    UNTAGGED,
    Definition,
    Kfunc,
    TreeIndex,
)
from kfuncfix.words import plural

KIND_ORDER = {KFUNC: 0, DTOR: 1, FMODRET: 2}


@dataclass
class Record:
    """One kfunc definition (or one unresolved kfunc), merged over the sets naming it."""

    name: str
    file: str | None
    line: int | None
    set: str
    set_file: str
    set_line: int
    sets: list[str]
    kind: str
    kinds: list[str]
    flags: list[str]
    condition: list[str]
    status: str
    reason: str
    risks: list[str]
    unused_params: list[str]
    prototype: str | None
    params: list[dict[str, Any]] | None = field(default=None)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def records(index: TreeIndex) -> list[Record]:
    """One record per (kfunc, definition), sorted by file and line; unresolved last."""
    merged: dict[tuple[str, str | None, int | str], Record] = {}
    for k in sorted(index.kfuncs, key=lambda k: KIND_ORDER[k.kind]):
        definitions: list[Definition | None] = [*k.definitions] or [None]
        for d in definitions:
            key = (k.name, d.file, d.func.start) if d else (k.name, None, k.set.file)
            rec = merged.get(key)
            if rec is None:
                merged[key] = _record(k, d)
                continue
            if k.set.name not in rec.sets:
                rec.sets.append(k.set.name)
            if k.kind not in rec.kinds:
                rec.kinds.append(k.kind)
    return sorted(
        merged.values(),
        key=lambda r: (r.file is None, r.file or r.set_file, r.line or r.set_line, r.name),
    )


def _record(k: Kfunc, d: Definition | None) -> Record:
    proto = d.prototype if d else None
    return Record(
        name=k.name,
        file=d.file if d else None,
        line=d.line if d else None,
        set=k.set.name,
        set_file=k.set.file,
        set_line=k.entry.span.line,
        sets=[k.set.name],
        kind=k.kind,
        kinds=[k.kind],
        flags=list(k.flags),
        condition=list(k.condition),
        status=UNRESOLVED if d is None else d.status,
        reason=k.reason,
        risks=list(d.risks) if d else [],
        unused_params=list(d.unused_params) if d else [],
        prototype=str(proto) if proto else None,
        params=proto.to_json()["params"] if proto else None,
    )


def summary(index: TreeIndex, recs: list[Record]) -> str:
    kfunc_sets = sum(1 for s in index.sets if s.kind in (KFUNC, DTOR, FMODRET))
    counts = {s: sum(1 for r in recs if r.status == s)
              for s in (TAGGED, TAGGED_AT_DECLARATION, UNTAGGED, UNRESOLVED)}
    names = len({r.name for r in recs})
    at_declaration = (f"{counts[TAGGED_AT_DECLARATION]} tagged at declaration, "
                      if counts[TAGGED_AT_DECLARATION] else "")
    return (
        f"{plural(names, 'kfunc')} in {plural(kfunc_sets, 'registered set')}, "
        f"{plural(len(recs), 'definition')}: "
        f"{counts[TAGGED]} tagged, {at_declaration}{counts[UNTAGGED]} untagged, "
        f"{counts[UNRESOLVED]} unresolved"
    )
