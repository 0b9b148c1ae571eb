"""What threatens a kfunc definition: the compiler inlining it, LTO dropping it.

A marked definition (its tag stands for `__used noinline`) is safe from both,
whether the mark is on the definition or on an earlier declaration (the
compiler merges attributes).  An unmarked one is judged by its own words.
"""

from __future__ import annotations

from kfuncfix.model import (
    RISK_GLOBAL_NO_USED,
    RISK_MACRO_DEFINITION,
    RISK_NO_PROTOTYPE,
    RISK_STATIC_INLINE,
    RISK_STATIC_NO_NOINLINE,
    RISK_UNUSED_PARAMS,
)
from kfuncfix.source.header import INLINE


def of_macro_made(marked: bool) -> list[str]:
    """A definition a macro makes (`BPF_CALL_2(f, ...)`): unknown unless the macro marks it."""
    return [] if marked else [RISK_MACRO_DEFINITION]


def of_definition(words: frozenset[str], marked: bool, parsed: bool, unused: bool) -> list[str]:
    """Risks of a plain definition; `words` are its own and its declarations'."""
    found: list[str] = []
    if not parsed:
        found.append(RISK_NO_PROTOTYPE)
    if not marked:
        static = "static" in words
        if static and words & INLINE:
            found.append(RISK_STATIC_INLINE)
        elif static and "noinline" not in words:
            found.append(RISK_STATIC_NO_NOINLINE)
        elif not static and "__used" not in words:
            found.append(RISK_GLOBAL_NO_USED)
    if unused:
        found.append(RISK_UNUSED_PARAMS)
    return found
