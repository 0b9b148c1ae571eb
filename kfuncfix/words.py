"""Counted nouns in what kfuncfix prints and writes: `1 kfunc`, `68 kfuncs`."""

from __future__ import annotations


def plural(count: int, noun: str) -> str:
    """`1 kfunc`, `2 kfuncs`, `1 patch`, `3 patches`, `0 new warnings`."""
    if count == 1:
        return f"{count} {noun}"
    return f"{count} {noun}{'es' if noun.endswith(('s', 'sh', 'ch', 'x')) else 's'}"
