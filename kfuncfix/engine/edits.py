"""Byte-range replacements, and applying them to a file's exact bytes.

Every rewrite is a list of `Edit`s on the original bytes; nothing outside
their ranges can change, whatever the file's encoding or line endings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kfuncfix.errors import KfuncfixError


class CannotRewrite(Exception):
    """What a rule targets cannot be changed safely here (a definition made by a
    macro, an entry whose flags hold a comment, ...): it is skipped and must be
    changed by hand; the message says why."""


@dataclass(frozen=True)
class Edit:
    """Replace data[start:end] with `text`; `why` says what for (`tag bpf_foo`)."""

    start: int
    end: int
    text: bytes
    why: str = ""


def _ordered(edits: Iterable[Edit], what: str) -> list[Edit]:
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.start < before.end:
            raise KfuncfixError(
                f"{what}: two rewrites overlap at byte {after.start} "
                f"({before.why or 'edit'} / {after.why or 'edit'})"
            )
    return ordered


def apply_edits(data: bytes, edits: Iterable[Edit], what: str = "file") -> bytes:
    """The bytes with every edit applied; overlapping edits are refused."""
    out: list[bytes] = []
    pos = 0
    for edit in _ordered(edits, what):
        out.append(data[pos:edit.start])
        out.append(edit.text)
        pos = edit.end
    out.append(data[pos:])
    return b"".join(out)


def offset_map(edits: Iterable[Edit]) -> Callable[[int], int]:
    """Where an untouched byte offset of the old text lands in the new text."""
    ordered = _ordered(edits, "text")

    def mapped(offset: int) -> int:
        shift = 0
        for edit in ordered:
            # An insertion exactly at `offset` goes before that byte, so it counts.
            if edit.end > offset:
                break
            shift += len(edit.text) - (edit.end - edit.start)
        return offset + shift

    return mapped
