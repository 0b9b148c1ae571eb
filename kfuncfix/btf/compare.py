"""Compare a source prototype (pycparser) with the one BTF recorded.

Both sides spell types as C, but not identically: DWARF names integer types
`long unsigned int` where source writes `unsigned long`, and an array parameter
is a pointer once compiled. Types are normalised before comparing, and a type
the source spells with a macro or `typeof` is reported as not comparable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kfuncfix.source.ctokens import tokens
from kfuncfix.source.prototype import Prototype

INT_WORDS = frozenset({"signed", "unsigned", "short", "long", "int", "char"})
# A source type with one of these cannot be checked against DWARF's spelling:
# macros, typeof, and function types (the source spelling keeps parameter names).
OPAQUE_RE = re.compile(r"\b(?:typeof|__typeof__|__typeof|_Generic)\b|\b[A-Z][A-Z0-9_]*[A-Z]\b|\(")
ARRAY_PARAM_RE = re.compile(r"^(?P<elem>.*?)\s*\[[^\]]*\]$")


@dataclass(frozen=True)
class Mismatch:
    what: str  # "count", "name", "type", "return", "variadic"
    index: int  # parameter index, -1 for the return type and the whole list
    source: str
    btf: str

    def describe(self) -> str:
        if self.what == "count":
            return f"{self.btf} parameters in BTF, {self.source} in source"
        if self.what == "variadic":
            return f"variadic in source: {self.source}, in BTF: {self.btf}"
        where = "return type" if self.index < 0 else f"parameter {self.index + 1}"
        label = "name" if self.what == "name" else "type"
        return f"{where} {label}: source `{self.source}`, BTF `{self.btf}`"


def _canonical_int(words: list[str]) -> str:
    """`unsigned long` and `long unsigned int` both become `unsigned long int`."""
    unsigned = "unsigned" in words
    if "char" in words:
        return "unsigned char" if unsigned else ("signed char" if "signed" in words else "char")
    size = "short " if "short" in words else "long " * words.count("long")
    return f"{'unsigned ' if unsigned else ''}{size}int"


def normalize(ctype: str, param: bool = False) -> str:
    """A canonical spelling of a C type name, for equality tests only."""
    ctype = ctype.strip()
    if param and (m := ARRAY_PARAM_RE.match(ctype)):
        ctype = f"{m.group('elem')} *"  # an array parameter is a pointer
    out: list[str] = []
    run: list[str] = []
    for tok in [*tokens(ctype), ""]:
        if tok in INT_WORDS:
            run.append(tok)
            continue
        if run:
            out.append(_canonical_int(run))
            run = []
        if tok:
            out.append(tok)
    return re.sub(r" ?([*(),\[\]]) ?", r"\1", " ".join(out))


def comparable(ctype: str) -> bool:
    return not OPAQUE_RE.search(ctype)


def compare(source: Prototype, btf: Prototype) -> list[Mismatch]:
    """Differences between the source prototype and BTF's, most telling first."""
    out: list[Mismatch] = []
    if len(source.params) != len(btf.params):
        out.append(Mismatch("count", -1, str(len(source.params)), str(len(btf.params))))
        return out
    if source.variadic != btf.variadic:
        out.append(Mismatch("variadic", -1, str(source.variadic), str(btf.variadic)))
    pairs = list(zip(source.params, btf.params, strict=True))
    for i, (sp, bp) in enumerate(pairs):
        if sp.name and bp.name and sp.name != bp.name:
            out.append(Mismatch("name", i, sp.name, bp.name))
    if _differs(source.return_type, btf.return_type, param=False):
        out.append(Mismatch("return", -1, source.return_type, btf.return_type))
    for i, (sp, bp) in enumerate(pairs):
        if _differs(sp.type, bp.type, param=True):
            out.append(Mismatch("type", i, sp.type, bp.type))
    return out


def _differs(source: str, btf: str, param: bool) -> bool:
    return comparable(source) and normalize(source, param) != normalize(btf, param)
