"""Rename the START/END macro pair of a BTF id set: `BTF_SET8_*` to `BTF_KFUNCS_*`."""

from __future__ import annotations

from kfuncfix.engine.edits import Edit
from kfuncfix.errors import KfuncfixError
from kfuncfix.model import IdSet, Span
from kfuncfix.source.scan import SourceFile

KFUNC_REGISTRATION = "register_btf_kfunc_id_set"


def refusal(idset: IdSet) -> str | None:
    """Why this kfunc set must keep its macros, or None."""
    others = sorted({r for r in idset.registered_by if r != KFUNC_REGISTRATION})
    if others:
        return f"also registered with {', '.join(others)}: not only a kfunc set"
    if idset.end_span is None:
        return "no END macro found"
    return None


def rename_edits(src: SourceFile, idset: IdSet, old: str, new: str, why: str) -> list[Edit]:
    """Edits renaming `OLD_START(x)`/`OLD_END(x)` to `NEW_START(x)`/`NEW_END(x)`."""
    assert idset.end_span is not None
    edits = []
    for span, suffix in ((idset.start_span, "_START"), (idset.end_span, "_END")):
        edits.append(_rename(src, span, old + suffix, new + suffix, why))
    return edits


def _rename(src: SourceFile, span: Span, old: str, new: str, why: str) -> Edit:
    found = src.data[span.start:span.start + len(old)]
    if found != old.encode():
        raise KfuncfixError(f"{src.path}:{span.line}: expected {old}, found {found!r}")
    return Edit(span.start, span.start + len(old), new.encode(), why)
